"""Tree-level QED helicity amplitudes for processes with three fermion lines and two photons.

Technique: explicit Dirac spinors and gamma matrices in the chiral (Weyl) representation,
summed over helicities (Peskin & Schroeder, "An Introduction to QFT", eqs. 3.25, 3.50, 3.62;
the HELAS idea of numerical wavefunctions and vertices, Murayama, Watanabe, Hagiwara, KEK
Report 91-11). Masses are kept everywhere.

External legs. Each leg has a momentum (physical, E > 0), a mass and a direction ``sgn``
(+1 outgoing, -1 incoming). A fermion line runs from a *left* end (bar spinor: ``ubar`` of an
outgoing fermion or ``vbar`` of an incoming antifermion) to a *right* end (``u`` of an incoming
fermion or ``v`` of an outgoing antifermion). With three left and three right legs, a *pairing*
sigma (left i joined to right sigma(i)) fixes three lines; its Fermi sign is the parity of the
permutation sigma (relative signs of Wick contractions; e.g. Bhabha's s and t channels come
out opposite).

Diagrams. Two photons connect the three lines: one line (the *middle*) carries both photons,
in either order; the other two emit one each. Per pairing: 3 choices of the middle line x 2
orders = 6 diagrams (12 for e+e- -> e+e-mu+mu-, 36 for e+e- -> e+e-e+e-, Berends, Daverveldt,
Kleiss, Nucl. Phys. B253 (1985) 441 and Comput. Phys. Commun. 40 (1986) 285). All diagrams
share the couplings e^4 (lepton charge -1 everywhere, so the same vertex factor) and the
factors i of propagators and vertices, so

    M = e^4 sum_pairings sign sum_{middle B, ends A, C}
        [Lbar_B (Jslash_A S(k_LB + Q_A) Jslash_C + Jslash_C S(k_LB + Q_C) Jslash_A) R_B]
        / (Q_A^2 Q_C^2),

J_X^mu = Lbar_X gamma^mu R_X the current of an end line, Q_X = sum of sgn p of its two legs
(momentum that the line's photon delivers), k_LB = sgn p of the middle line's left leg, and
S(k) = (kslash + m)/(k^2 - m^2). Photon virtualities of lines are computed without
cancellation (``pair_q2``), which matters for the multiperipheral photons (|Q^2| down to
~1e-12 GeV^2 with m_e kept).
"""

from __future__ import annotations

import math

import numpy as np

from gen.constants import ALPHA_EM
from gen.jit import kernel


@kernel
def _chi1(px: float, py: float, pz: float, lam: int):
    """Two-component helicity eigenstate (sigma . p_hat) chi = lam chi (P&S eq. 3.52 basis)."""
    pt = math.sqrt(px * px + py * py)
    th = math.atan2(pt, pz)
    ph = math.atan2(py, px) if pt > 0.0 else 0.0
    c = math.cos(0.5 * th)
    s = math.sin(0.5 * th)
    if lam > 0:
        return complex(c, 0.0), complex(math.cos(ph) * s, math.sin(ph) * s)
    return complex(-math.cos(ph) * s, math.sin(ph) * s), complex(c, 0.0)


@kernel
def spinor1(px: float, py: float, pz: float, e: float, m: float, lam: int, anti: bool, out):
    """u(p, lam) (``anti`` False) or v(p, lam) (True) into ``out`` (4 complex, chiral basis).

    u = (sqrt(p.sigma) xi, sqrt(p.sigmabar) xi), v = (sqrt(p.sigma) eta, -sqrt(p.sigmabar) eta)
    (P&S eqs. 3.50, 3.62) with xi = chi_lam, eta = chi_-lam; sqrt(E - |p|) = m / sqrt(E + |p|)
    avoids the cancellation for light leptons.
    """
    p = math.sqrt(px * px + py * py + pz * pz)
    a = math.sqrt(e + p)
    b = m / a
    if not anti:
        c0, c1 = _chi1(px, py, pz, lam)
        lo, hi = (b, a) if lam > 0 else (a, b)
        out[0], out[1], out[2], out[3] = lo * c0, lo * c1, hi * c0, hi * c1
    else:
        c0, c1 = _chi1(px, py, pz, -lam)
        lo, hi = (a, b) if lam > 0 else (b, a)
        out[0], out[1], out[2], out[3] = lo * c0, lo * c1, -hi * c0, -hi * c1


@kernel
def bar1(w, out):
    """Dirac adjoint row w^dagger gamma^0 (gamma^0 swaps the chiral blocks)."""
    out[0] = w[2].conjugate()
    out[1] = w[3].conjugate()
    out[2] = w[0].conjugate()
    out[3] = w[1].conjugate()


@kernel
def current1(rb, w, out):
    """J^mu = rb gamma^mu w for a bar row ``rb`` and a spinor ``w`` (contravariant, 4 complex)."""
    a0, a1, b0, b1 = rb[0], rb[1], w[2], w[3]
    c0, c1, d0, d1 = rb[2], rb[3], w[0], w[1]
    # gamma^mu = [[0, sigma^mu], [sigmabar^mu, 0]], sigma = (1, s), sigmabar = (1, -s)
    out[0] = (a0 * b0 + a1 * b1) + (c0 * d0 + c1 * d1)
    out[1] = (a0 * b1 + a1 * b0) - (c0 * d1 + c1 * d0)
    out[2] = -1j * (a0 * b1 - a1 * b0) + 1j * (c0 * d1 - c1 * d0)
    out[3] = (a0 * b0 - a1 * b1) - (c0 * d0 - c1 * d1)


@kernel
def slash1(j, w, out):
    """out = jslash w for a complex four-vector j^mu (jslash = gamma^mu j_mu)."""
    j0, j1, j2, j3 = j[0], j[1], j[2], j[3]
    wl0, wl1, wr0, wr1 = w[0], w[1], w[2], w[3]
    # upper = (j.sigma) w_R, j.sigma = j0 - j.s ; lower = (j.sigmabar) w_L, j.sigmabar = j0 + j.s
    out[0] = (j0 - j3) * wr0 - (j1 - 1j * j2) * wr1
    out[1] = -(j1 + 1j * j2) * wr0 + (j0 + j3) * wr1
    out[2] = (j0 + j3) * wl0 + (j1 - 1j * j2) * wl1
    out[3] = (j1 + 1j * j2) * wl0 + (j0 - j3) * wl1


@kernel
def rowslash1(r, j, out):
    """out = r jslash for a bar row ``r`` and a complex four-vector j^mu (``slash1`` from the
    left: the rows of jslash contracted with r)."""
    j0, j1, j2, j3 = j[0], j[1], j[2], j[3]
    r0, r1, r2, r3 = r[0], r[1], r[2], r[3]
    out[0] = r2 * (j0 + j3) + r3 * (j1 + 1j * j2)
    out[1] = r2 * (j1 - 1j * j2) + r3 * (j0 - j3)
    out[2] = r0 * (j0 - j3) - r1 * (j1 + 1j * j2)
    out[3] = -r0 * (j1 - 1j * j2) + r1 * (j0 + j3)


@kernel
def _prop1(k0, k1, k2, k3, m, den, w, out):
    """out = (kslash + m) w / den for a real four-vector k."""
    wl0, wl1, wr0, wr1 = w[0], w[1], w[2], w[3]
    out[0] = ((k0 - k3) * wr0 - (k1 - 1j * k2) * wr1 + m * wl0) / den
    out[1] = (-(k1 + 1j * k2) * wr0 + (k0 + k3) * wr1 + m * wl1) / den
    out[2] = ((k0 + k3) * wl0 + (k1 - 1j * k2) * wl1 + m * wr0) / den
    out[3] = ((k1 + 1j * k2) * wl0 + (k0 - k3) * wl1 + m * wr1) / den


@kernel
def onshell_dot(a, b, m: float) -> float:
    """a.b of two on-shell four-vectors of mass m (rows px, py, pz, e) without cancellation.

    E_a E_b - |a||b| = m^2 (E_a^2 + E_b^2 - m^2)/(E_a E_b + |a||b|) and
    1 - cos = |a_hat - b_hat|^2 / 2: exact algebra, accurate for nearly collinear vectors.
    """
    pa = math.sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2])
    pb = math.sqrt(b[0] * b[0] + b[1] * b[1] + b[2] * b[2])
    ea = math.sqrt(pa * pa + m * m)
    eb = math.sqrt(pb * pb + m * m)
    first = m * m * (ea * ea + eb * eb - m * m) / (ea * eb + pa * pb)
    if pa == 0.0 or pb == 0.0:
        return ea * eb - (a[0] * b[0] + a[1] * b[1] + a[2] * b[2])
    d2 = 0.0
    for i in range(3):
        d = a[i] / pa - b[i] / pb
        d2 += d * d
    return first + pa * pb * 0.5 * d2


@kernel
def pair_q2(a, b, m: float, sa: int, sb: int) -> float:
    """(sa a + sb b)^2 for on-shell legs a, b of equal mass m (``onshell_dot``)."""
    return 2.0 * m * m + 2.0 * sa * sb * onshell_dot(a, b, m)


@kernel
def helicity_amplitudes(p, mass, sgn, left, right, pairs, psign, incl, gauge, amp):
    """Helicity amplitudes (without e^4) of the two-photon three-line diagrams into ``amp``.

    p: (6, 4) momenta (px, py, pz, E) of the legs; mass, sgn (+1 out / -1 in): (6,);
    left, right: (3,) leg indices (bar ends; spinor ends: incoming fermions u, outgoing
    antifermions v); pairs: (n, 3) right index joined to each left index; psign: (n,) Fermi
    signs; incl: (n, 3) bool, which middle lines to include (all True: the full set);
    gauge: -1, or a left index i whose line's current is replaced by its photon momentum Q
    (Ward-identity test). amp: (64,) complex, index = sum_leg bit(leg) << leg, bit 0 for
    helicity +1.
    """
    rb = np.empty((3, 2, 4), np.complex128)
    ws = np.empty((3, 2, 4), np.complex128)
    tmp = np.empty(4, np.complex128)
    for i in range(3):
        leg = left[i]
        for h in range(2):
            lam = 1 - 2 * h
            # outgoing fermion: ubar; incoming antifermion: vbar
            spinor1(p[leg, 0], p[leg, 1], p[leg, 2], p[leg, 3], mass[leg], lam,
                    sgn[leg] < 0, tmp)
            bar1(tmp, rb[i, h])
        leg = right[i]
        for h in range(2):
            lam = 1 - 2 * h
            # incoming fermion: u; outgoing antifermion: v
            spinor1(p[leg, 0], p[leg, 1], p[leg, 2], p[leg, 3], mass[leg], lam,
                    sgn[leg] > 0, ws[i, h])
    # currents, photon momenta and virtualities of every left-right line
    cur = np.zeros((3, 3, 2, 2, 4), np.complex128)
    qv = np.zeros((3, 3, 4))
    q2 = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            li, rj = left[i], right[j]
            if mass[li] != mass[rj]:
                continue
            for c in range(4):
                qv[i, j, c] = sgn[li] * p[li, c] + sgn[rj] * p[rj, c]
            q2[i, j] = pair_q2(p[li], p[rj], mass[li], sgn[li], sgn[rj])
            for hl in range(2):
                for hr in range(2):
                    if gauge == i:
                        # Q_0 = E component is index 3 of the momentum rows
                        cur[i, j, hl, hr, 0] = qv[i, j, 3]
                        cur[i, j, hl, hr, 1] = qv[i, j, 0]
                        cur[i, j, hl, hr, 2] = qv[i, j, 1]
                        cur[i, j, hl, hr, 3] = qv[i, j, 2]
                    else:
                        current1(rb[i, hl], ws[j, hr], cur[i, j, hl, hr])
    for k in range(amp.shape[0]):
        amp[k] = 0.0
    t1 = np.empty(4, np.complex128)
    sc_w = np.empty((2, 4, 4), np.complex128)
    sa_w = np.empty((2, 4, 4), np.complex128)
    ra = np.empty((2, 4, 4), np.complex128)
    rc = np.empty((2, 4, 4), np.complex128)
    ka = np.empty(4)
    kc = np.empty(4)
    for n in range(pairs.shape[0]):
        for b in range(3):
            if not incl[n, b]:
                continue
            ia = (b + 1) % 3
            ic = (b + 2) % 3
            ja, jb, jc = pairs[n, ia], pairs[n, b], pairs[n, ic]
            lb, rbl = left[b], right[jb]
            m = mass[lb]
            norm = psign[n] / (q2[ia, ja] * q2[ic, jc])
            # propagator momenta: k_LB + Q_A (A next to the bar end) and k_LB + Q_C
            for c in range(4):
                ka[c] = sgn[lb] * p[lb, c] + qv[ia, ja, c]
                kc[c] = sgn[lb] * p[lb, c] + qv[ic, jc, c]
            da = ka[3] * ka[3] - ka[0] * ka[0] - ka[1] * ka[1] - ka[2] * ka[2] - m * m
            dc = kc[3] * kc[3] - kc[0] * kc[0] - kc[1] * kc[1] - kc[2] * kc[2] - m * m
            # S(k_a) Jslash_C w and S(k_c) Jslash_A w for every helicity of the spinor end
            # and of the other line (index 2 h_bar + h_spinor)
            for hr in range(2):
                for h2 in range(4):
                    slash1(cur[ic, jc, h2 >> 1, h2 & 1], ws[jb, hr], t1)
                    _prop1(ka[3], ka[0], ka[1], ka[2], m, da, t1, sc_w[hr, h2])
                    slash1(cur[ia, ja, h2 >> 1, h2 & 1], ws[jb, hr], t1)
                    _prop1(kc[3], kc[0], kc[1], kc[2], m, dc, t1, sa_w[hr, h2])
            # the bar end times the current at its side: rb Jslash_A and rb Jslash_C, so that
            # each amplitude is two four-component products (cheaper than two more slashes)
            for hl in range(2):
                for h2 in range(4):
                    rowslash1(rb[b, hl], cur[ia, ja, h2 >> 1, h2 & 1], ra[hl, h2])
                    rowslash1(rb[b, hl], cur[ic, jc, h2 >> 1, h2 & 1], rc[hl, h2])
            for hr in range(2):
                for ha in range(4):
                    for hc in range(4):
                        # A at the bar end: Jslash_A S(k_a) Jslash_C w; then C at the bar end
                        x = sc_w[hr, hc]
                        y = sa_w[hr, ha]
                        base = ((hr << rbl) | ((ha >> 1) << left[ia]) | ((ha & 1) << right[ja])
                                | ((hc >> 1) << left[ic]) | ((hc & 1) << right[jc]))
                        for hl in range(2):
                            a = ra[hl, ha]
                            c = rc[hl, hc]
                            v = (a[0] * x[0] + a[1] * x[1] + a[2] * x[2] + a[3] * x[3]
                                 + c[0] * y[0] + c[1] * y[1] + c[2] * y[2] + c[3] * y[3])
                            amp[base | (hl << lb)] += norm * v


@kernel
def me2_summed(p, mass, sgn, left, right, pairs, psign, incl, amp) -> float:
    """Sum over all helicities of |M|^2 (couplings e^4 included; no spin average)."""
    helicity_amplitudes(p, mass, sgn, left, right, pairs, psign, incl, -1, amp)
    e2 = 4.0 * math.pi * ALPHA_EM
    tot = 0.0
    for k in range(amp.shape[0]):
        tot += amp[k].real ** 2 + amp[k].imag ** 2
    return tot * e2 ** 4


def permutation_sign(perm: tuple[int, ...]) -> int:
    """Parity (+1/-1) of a permutation given as a tuple of images."""
    perm = list(perm)
    sign = 1
    for i in range(len(perm)):
        while perm[i] != i:
            j = perm[i]
            perm[i], perm[j] = perm[j], perm[i]
            sign = -sign
    return sign

