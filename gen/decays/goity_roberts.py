"""Goity-Roberts matrix element of non-resonant B -> D(*) pi l nu (DEC model GOITY_ROBERTS).

Goity, Roberts, hep-ph/9406236 (PRD 51 (1995) 3459): heavy-meson chiral perturbation theory with
heavy-quark symmetry; the pion is emitted from the B* pole (B* - B splitting 46 MeV), from the
D(*) line, and through the P-wave charm states (their contributions, the "resonant" part with
couplings alpha_1..3, mass splittings and widths, table I of the paper). Transcribed from
EvtGen's ``EvtGoityRoberts`` (DecayBDpilnuGR, DecayBDstarpilnuGR), which removes the pole terms of
the D*, D** that the DEC file generates as separate resonant modes; constants as there:
g = 0.5, f_pi = 93 MeV, alpha = (-1.430, -0.140, 0.690), Delta m_T - i Gamma/2 = (0.392 - 0.520 i,
0.709 - 0.2025 i, 0.563 - 0.0955 i) GeV, Isgur-Wise functions of the ISGW-type wave functions
(beta_S, beta_P, beta_D = 0.285, 0.280, 0.260 GeV, Lambda-bar = 0.75 GeV). One change: EvtGen's
h1 (D* pi) has ``alpha3*xi1*(p.v)/(f0*mb*md*(p.v)+dmt3)``, dimensionally inconsistent; here, as in
every other term, ``/(f0*mb*md*((p.v)+dmt3))`` (numerically close: f0 mb md ~ 1 GeV^3).

|M|^2 = L_{mu nu} H^{mu nu}, summed over spins, with the V - A lepton tensor of b -> c l- nubar,
L^{mu nu} = 8 (l^mu n^nu + n^mu l^nu - g^{mu nu} l.n - i eps^{mu nu a b} l_a n_b) (eps^{0123} =
+1; the convention of tests/gen/test_llsw.py, checked against the helicity amplitudes there) and
H = J J^+ (D pi) or Omega Pi Omega^+ with the spin-1 projector Pi = -g + v' v' (D* pi).
EvtGen's ``dual(T)^{mu nu}`` is eps^{mu nu a b} T_ab with eps^{0123} = -1 (EvtTensor4C::dual),
i.e. minus ours. For l+ (B mesons with a b-bar) the weight is that of the CP-conjugate decay,
|M|^2 at the parity-reflected momenta (no weak phase in these amplitudes).

The generic decayer makes these four-body modes in flat phase space and accepts them against
``weight1`` (hit-or-miss) with a per-mode bound from a pilot (``pilot_wmax``).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from gen.jit import kernel
from gen.phasespace import genbod1

NONE, D_PI, DSTAR_PI = 0, 1, 2

# EvtGoityRoberts constants (hep-ph/9406236 table I)
_G = 0.5
_F0 = 0.093
_ALPHA1, _ALPHA2, _ALPHA3 = -1.430, -0.140, 0.690
_DMB = complex(0.0460, -0.5 * 0.00001)
_DMD = complex(0.1421, -0.5 * 0.00006)
_DMT1 = complex(0.392, -0.5 * 1.040)
_DMT2 = complex(0.709, -0.5 * 0.405)
_DMT3 = complex(0.563, -0.5 * 0.191)
_BETA_S, _BETA_P, _BETA_D = 0.285, 0.280, 0.260
_LAMBDA_BAR = 0.750
#: pilot points per mode and the safety factor of the bound
PILOT_POINTS = 20000
WMAX_SAFETY = 1.5


@kernel
def _dot(a, b):
    return a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3]


def _levi_civita() -> np.ndarray:
    eps = np.zeros((4, 4, 4, 4))
    for perm in itertools.permutations(range(4)):
        inv = sum(perm[i] > perm[j] for i in range(4) for j in range(i + 1, 4))
        eps[perm] = -1.0 if inv % 2 else 1.0  # eps^{0123} = +1
    return eps


#: eps^{mu nu alpha beta}, eps^{0123} = +1 (a compile-time constant of the kernels)
EPS = _levi_civita()
_METRIC = np.array([1.0, -1.0, -1.0, -1.0])


@kernel
def _eps3(a, b, c):
    """X^mu = eps^{mu nu alpha beta} a_nu b_alpha c_beta from contravariant a, b, c."""
    out = np.zeros(4, np.complex128)
    for mu in range(4):
        acc = 0.0 + 0.0j
        for nu in range(4):
            for al in range(4):
                for be in range(4):
                    e = EPS[mu, nu, al, be]
                    if e != 0.0:
                        acc += (e * _METRIC[nu] * _METRIC[al] * _METRIC[be]
                                * a[nu] * b[al] * c[be])
        out[mu] = acc
    return out


@kernel
def _eps2(x, y):
    """E^{mu nu} = eps^{mu nu alpha beta} x_alpha y_beta from contravariant x, y."""
    out = np.zeros((4, 4), np.complex128)
    for mu in range(4):
        for nu in range(4):
            acc = 0.0 + 0.0j
            for al in range(4):
                for be in range(4):
                    e = EPS[mu, nu, al, be]
                    if e != 0.0:
                        acc += e * _METRIC[al] * _METRIC[be] * x[al] * y[be]
            out[mu, nu] = acc
    return out


@kernel
def _dual_outer(x, y):
    """EvtGen's dual(x (x) y)^{mu nu} = -eps^{mu nu a b} x_a y_b (eps^{0123} = +1)."""
    return -_eps2(x, y)


@kernel
def _isgur_wise(w):
    """(xi, xi1, rho1, rho2) of EvtGoityRoberts (ISGW-type Gaussian wave functions)."""
    bs, bp, bd, lb = _BETA_S, _BETA_P, _BETA_D, _LAMBDA_BAR
    bsp = bs * bs + bp * bp
    bsd = bs * bs + bd * bd
    xi = math.exp(lb * lb * (1.0 - w * w) / (4.0 * bs * bs))
    xi1 = -math.sqrt(2.0 / 3.0) * (lb * lb * (w * w - 1.0) / (4.0 * bs * bs)) * xi
    rho1 = (math.sqrt(0.5) * (lb / bs) * (2.0 * bs * bp / bsp) ** 2.5
            * math.exp(lb * lb * (1.0 - w * w) / (2.0 * bsp)))
    rho2 = (math.sqrt(1.0 / 8.0) * (lb * lb / (bs * bs)) * (2.0 * bs * bd / bsd) ** 3.5
            * math.exp(lb * lb * (1.0 - w * w) / (2.0 * bsd)))
    return xi, xi1, rho1, rho2


@kernel
def _lepton_tensor(l, n):
    """L^{mu nu} of b -> c l- nubar (module docstring), contravariant."""
    ln = _dot(l, n)
    e = _eps2(l, n)
    out = np.zeros((4, 4), np.complex128)
    for mu in range(4):
        for nu in range(4):
            g = _METRIC[mu] if mu == nu else 0.0
            out[mu, nu] = 8.0 * (l[mu] * n[nu] + n[mu] * l[nu] - g * ln - 1j * e[mu, nu])
    return out


@kernel
def _contract(lep, had):
    """L_{mu nu} H^{mu nu} (both contravariant), real part."""
    s = 0.0
    for mu in range(4):
        gm = 1.0 if mu == 0 else -1.0
        for nu in range(4):
            gn = 1.0 if nu == 0 else -1.0
            s += (gm * gn * lep[mu, nu] * had[mu, nu]).real
    return s


@kernel
def weight1(kind, m_b, m_d, p_d, p_pi, p_l, p_n, reflect):
    """Spin-summed |M|^2 (arbitrary units) of B -> D(*) pi l nu at the four-momenta (px, py,
    pz, e) in the B rest frame; m_b, m_d nominal masses (EvtPDL mean masses in EvtGen);
    ``reflect``: l+ (CP conjugate, parity-reflected momenta)."""
    s = -1.0 if reflect else 1.0
    v = np.array([1.0, 0.0, 0.0, 0.0])
    md_act = math.sqrt(max(p_d[3] ** 2 - p_d[0] ** 2 - p_d[1] ** 2 - p_d[2] ** 2, 1e-12))
    vp = np.array([p_d[3], s * p_d[0], s * p_d[1], s * p_d[2]]) / md_act
    pi = np.array([p_pi[3], s * p_pi[0], s * p_pi[1], s * p_pi[2]])
    lv = np.array([p_l[3], s * p_l[0], s * p_l[1], s * p_l[2]])
    nv = np.array([p_n[3], s * p_n[0], s * p_n[1], s * p_n[2]])
    w = _dot(v, vp)
    xi, xi1, rho1, rho2 = _isgur_wise(w)
    pv = _dot(pi, v)
    pvp = _dot(pi, vp)
    mb, md, g, f0 = m_b, m_d, _G, _F0
    a1c, a2c, a3c = _ALPHA1, _ALPHA2, _ALPHA3
    eb = pv + _DMB
    e1, e2, e3 = pv + _DMT1, pv + _DMT2, pv + _DMT3
    # -eps^{mu nu a b} v_nu vp_a pi_b = EvtGen's dual(vp (x) pi).cont2(v)
    dvp = -_eps3(v, vp, pi)
    lep = _lepton_tensor(lv, nv)
    had = np.zeros((4, 4), np.complex128)
    if kind == D_PI:
        # EvtGoityRoberts::DecayBDpilnuGR (non-resonant: B* pole; resonant: D** tails)
        h = g * xi / eb / (2 * f0 * mb * md)
        a1 = -g * xi * (1 + w) / eb / (2 * f0)
        a2 = g * xi * (_dot(pi, v + vp) / eb) / (2 * f0 * mb)
        a3 = 0.0 + 0.0j
        h += (a2c * rho2 * (w - 1) / e2 / (6 * f0 * mb * md)
              + a3c * xi1 / e3 / (2 * f0 * mb * md))
        a1 += (-a2c * rho2 * (w * w - 1) / e2 / (6 * f0)
               - a3c * xi1 * (1 + w) / e3 / (2 * f0))
        a2 += (a1c * rho1 * (pv / e1) / (2 * f0 * mb)
               + a2c * rho2 * (0.5 * _dot(pi, w * vp - v) + _dot(pi, vp - w * v))
               / (3 * f0 * mb * e2)
               + a3c * xi1 * (_dot(pi, v + vp) / e3) / (2 * f0 * mb))
        a3 += (-a1c * rho1 * (pv / e1) / (2 * f0 * md)
               - a2c * rho2 * (_dot(pi, vp - w * v) / e2) / (2 * f0 * md))
        cur = -1j * h * mb * md * dvp + a1 * pi + a2 * mb * v + a3 * md * vp
        for mu in range(4):
            for nu in range(4):
                had[mu, nu] = cur[mu] * np.conj(cur[nu])
        return _contract(lep, had)
    # EvtGoityRoberts::DecayBDstarpilnuGR
    h1 = -g * xi * pv / (f0 * mb * md * eb)
    h2 = -g * xi / (f0 * mb * eb)
    h3 = -(g * xi / (f0 * md)) * (1.0 / eb - (1.0 + w) / pvp)
    f1 = -(g * xi / (2 * f0 * mb)) * (1.0 / eb - 1.0 / (pvp + _DMD))
    f5 = (g * xi / (2 * f0 * mb * md)) * (1.0 + pv / eb)
    f6 = (g * xi / (2 * f0 * mb)) * (1.0 / eb - 1.0 / pvp)
    k = (g * xi / (2 * f0)) * (_dot(pi, vp - w * v) / eb + _dot(pi, v - w * vp) / pvp)
    g4 = (g * xi) / (f0 * md * pvp)
    h1 += (-a1c * rho1 * pv / (f0 * mb * md * e1)
           + a2c * rho2 * _dot(pi, v + 2.0 * w * v - vp) / (3 * f0 * mb * md * e2)
           - a3c * xi1 * pv / (f0 * mb * md * e3))
    h2 += -a2c * (1 + w) * rho2 / (3 * f0 * mb * e2) - a3c * xi1 / (f0 * mb * e3)
    h3 += a2c * rho2 * (1 + w) / (3 * f0 * md * e2) - a3c * xi1 / (f0 * md * e3)
    f1r = -a2c * rho2 * (w - 1.0) / (6 * f0 * mb * e2) - a3c * xi1 / (2 * f0 * mb * e3)
    f1 += f1r
    f2 = f1 * mb / md
    f5 += (a1c * rho1 * pv / (2 * f0 * mb * md * e1)
           + a2c * rho2 * _dot(pi, vp - v / 3.0 - 2.0 / 3.0 * w * v) / (2 * f0 * mb * md * e2)
           + a3c * xi1 * pv / (2 * f0 * mb * md * e3))
    f6 += a2c * rho2 * (w - 1.0) / (6 * f0 * mb * e2) + a3c * xi1 / (2 * f0 * mb * e3)
    k += (-a1c * rho1 * (w - 1.0) * pv / (2 * f0 * e1)
          - a2c * rho2 * (w - 1.0) * _dot(pi, vp - w * v) / (3 * f0 * e2)
          + a3c * xi1 * _dot(pi, vp - w * v) / (2 * f0 * e3))
    g4 += 2.0 * a2c * rho2 / (3 * f0 * md * e2)
    om = 0.5j * (h1 * mb * md * _dual_outer(v, vp) + h2 * mb * _dual_outer(v, pi)
                 + h3 * md * _dual_outer(vp, pi))
    gmet = np.array([1.0, -1.0, -1.0, -1.0])
    for mu in range(4):
        for nu in range(4):
            om[mu, nu] += (f1 * mb * v[mu] * pi[nu] + f2 * md * vp[mu] * pi[nu]
                           + f5 * mb * md * vp[mu] * v[nu] + f6 * mb * pi[mu] * v[nu]
                           + 0.5j * (g4 * md * vp[mu]) * dvp[nu])
        om[mu, mu] += k * gmet[mu]
    # sum over the D* polarisations: Omega^{mu a} P_ab Omega^{nu b}*, P_ab = -g_ab + vp_a vp_b
    vpl = vp * gmet
    proj = np.zeros((4, 4))
    for a in range(4):
        for b in range(4):
            proj[a, b] = (-gmet[a] if a == b else 0.0) + vpl[a] * vpl[b]
    t = np.zeros((4, 4), np.complex128)
    for mu in range(4):
        for b in range(4):
            acc = 0.0 + 0.0j
            for a in range(4):
                acc += om[mu, a] * proj[a, b]
            t[mu, b] = acc
    for mu in range(4):
        for nu in range(4):
            acc = 0.0 + 0.0j
            for b in range(4):
                acc += t[mu, b] * np.conj(om[nu, b])
            had[mu, nu] = acc
    return _contract(lep, had)


@kernel
def accept_rows1(rng, kind, m_b, m_d, wmax, out_f, r_d, r_pi, r_l, r_n, reflect):
    """Hit-or-miss of a flat phase-space decay (rows in the B rest frame) against weight1.
    Returns (accepted, 1 if the weight exceeded wmax else 0)."""
    w = weight1(kind, m_b, m_d, out_f[r_d, :4], out_f[r_pi, :4], out_f[r_l, :4],
                out_f[r_n, :4], reflect)
    if not w >= 0.0:
        raise ValueError("Goity-Roberts weight is NaN or negative")
    return rng.random() * wmax < w, 1 if w > wmax else 0


@kernel
def pilot_wmax(rng, kind, m_b, m_d, masses, roles, reflect, n):
    """Bound of weight1 for a mode: maximum over n flat phase-space points x WMAX_SAFETY."""
    rows = np.zeros((masses.shape[0], 4))
    best = 0.0
    for _ in range(n):
        if genbod1(rng, m_b, masses, masses.shape[0], rows, 0) > 0.0:
            best = max(best, weight1(kind, m_b, m_d, rows[roles[0]], rows[roles[1]],
                                     rows[roles[2]], rows[roles[3]], reflect))
    return best * WMAX_SAFETY


def table_entry(model: str, daughters: tuple[int, ...]) -> tuple[int, tuple[int, ...], int]:
    """(kind, (D, pi, lepton, neutrino) daughter indices, 1 for l+) of a DEC line; kind NONE
    unless GOITY_ROBERTS with a D(*), a pion, e or mu and a neutrino."""
    none = (NONE, (0, 0, 0, 0), 0)
    if model != "GOITY_ROBERTS" or len(daughters) != 4:
        return none
    a = [abs(d) for d in daughters]

    def find(ids):
        hits = [i for i, x in enumerate(a) if x in ids]
        return hits[0] if len(hits) == 1 else -1

    d, dst = find((411, 421)), find((413, 423))
    pi, lep, nu = find((211, 111)), find((11, 13)), find((12, 14))
    had = d if d >= 0 else dst
    if had < 0 or min(pi, lep, nu) < 0:
        return none
    return (D_PI if d >= 0 else DSTAR_PI, (had, pi, lep, nu), 1 if daughters[lep] < 0 else 0)


@kernel
def weighted_points(rng, kind, m_b, m_d, masses, roles, reflect, n, out, w_ps, w_me):
    """n flat phase-space points (out: (n, 4, 4) four-momenta in ``masses`` order), their
    phase-space weights and weight1 (reference distributions for tests)."""
    rows = np.zeros((masses.shape[0], 4))
    for i in range(n):
        w_ps[i] = genbod1(rng, m_b, masses, masses.shape[0], rows, 0)
        w_me[i] = weight1(kind, m_b, m_d, rows[roles[0]], rows[roles[1]], rows[roles[2]],
                          rows[roles[3]], reflect) if w_ps[i] > 0.0 else 0.0
        out[i] = rows
