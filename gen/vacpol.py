"""Running QED coupling: one-loop leptonic vacuum polarisation plus a hadronic parametrisation.

alpha(q^2) = alpha(0) / (1 - Delta alpha(q^2)), Delta alpha complex for timelike q^2 above a
threshold (q^2 > 0 timelike, q^2 < 0 spacelike, GeV^2).

Leptons (one loop, exact in the lepton mass m; e.g. F. Jegerlehner, "The anomalous magnetic
moment of the muon", Springer 2017, eq. (2.17); H. Burkhardt et al., Z. Phys. C43 (1989) 497),
with x = 4 m^2 / q^2, beta = sqrt(1 - x):

    Re Delta alpha_l = (alpha / 3 pi) [ -5/3 - x + (1 + x/2) beta ln|(1 + beta)/(1 - beta)| ]
                                                                   (q^2 < 0 or q^2 > 4 m^2),
    Re Delta alpha_l = (alpha / 3 pi) [ -5/3 - x + (1 + x/2) 2 b atan(1/b) ],
                                                         b = sqrt(x - 1)  (0 < q^2 < 4 m^2),
    Im Delta alpha_l = -(alpha / 3) beta (3 - beta^2) / 2                     (q^2 > 4 m^2),

i.e. Im Delta alpha = -(alpha/3) R(s) for q^2 + i0, the Feynman prescription of the Z propagator
1/(s - M_Z^2 + i M_Z Gamma_Z) (Peskin & Schroeder eq. (7.91): Delta alpha = Pi_2-hat there;
equivalently the dispersion relation Delta alpha(s) = -(alpha s / 3 pi) int ds' R(s') /
(s' (s' - s - i0))). For |q^2| >> m^2 the real part tends
to (alpha / 3 pi)(ln(|q^2|/m^2) - 5/3); for |q^2| << m^2 to -(alpha/pi) q^2 / (15 m^2) (Uehling).
Lepton masses from ``particle`` (gen.constants).

Hadrons: the five-flavour parametrisation of H. Burkhardt and B. Pietrzyk (Moriond 1995,
update of TASSO note 192 (1981); the ``REPI95`` routine distributed with BHLUMI 4 / KKMC,
S. Jadach et al., Comput. Phys. Commun. 102 (1997) 229): Re Delta alpha_had(q^2) =
A + B ln(1 + C |q^2|) piecewise in sqrt|q^2| (the same value for spacelike and timelike q^2; it
averages over narrow resonances). Its stated accuracy is +-0.0007 at M_Z
(Delta alpha_had(M_Z^2) = 0.0280 +- 0.0007; PDG RPP 2024 sec. 10: 0.02783 +- 0.00006). At
q^2 = -1 GeV^2 it gives 0.00372 against 0.003736 +- 0.000093 of Eidelman & Jegerlehner
(Z. Phys. C67 (1995) 585, hadr5; the value quoted in the BHLUMI 4 source). At sqrt(s) = 10.58 GeV
it gives Re Delta alpha_had = 0.01525 (Re Delta alpha = 0.0365 in all, 1/alpha = 132.0).
The hadronic imaginary part uses Im Delta alpha_had = -(alpha/3) R(s) with R(s) = (3 pi / alpha)
d Re Delta alpha_had / d ln s from the same parametrisation above the two-pion threshold
(R = 3.83 at 10.58 GeV; the measured R there is ~3.6, Belle/BaBar, PDG RPP 2024 "Plots of cross
sections": the difference changes |1 - Delta alpha|^2 by < 1e-5).

The top quark (Delta alpha_top ~ -1e-5 at 10.58 GeV) and two-loop leptonic terms (+8e-5 at
M_Z, Steinhauser hep-ph/9803313) are neglected.

Tabulated form for event loops (``delta_alpha_tab1``, ``vp_factor_tab1``): timelike q^2 in
[16, 144] GeV^2 (W = 4-12 GeV, above the tau threshold; every s' of a trial near the
Upsilon(4S) with soft ISR) is linearly interpolated on a grid of step 0.04 GeV^2 built from
``delta_alpha1`` (kept in the disk cache ``gen.diskcache``, keyed by this source, the constants and
the numpy / numba runtime: ~1 ms to load instead of ~0.05 s to build at import), split at the
Burkhardt-Pietrzyk breakpoint W = 10 GeV (where the
parametrisation jumps); outside that range the exact function is called. Interpolation error
<= h^2 max|f''| / 8 = 1e-8 in Re and Im (max |f''| = 5e-5 GeV^-4, near 16 GeV^2), i.e.
< 2e-8 relative on |1 - Delta alpha|^2 (tests/gen/test_vacpol.py checks < 1e-7 at random
points and across the breakpoint); ~10 ns instead of ~60 ns per call.
"""

from __future__ import annotations

import math

import numpy as np

from gen.constants import ALPHA_EM, M_E, M_MU, M_PI, M_TAU
from gen.jit import kernel

_ALPHA_3PI = ALPHA_EM / (3.0 * math.pi)
# Below this |q^2| / m^2 the closed form cancels badly: use the Uehling series (two terms).
_SMALL_Q2_OVER_M2 = 1e-3
# Burkhardt & Pietrzyk 1995 (REPI95, BHLUMI 4): upper edges of sqrt|q^2| (GeV) and A, B, C.
_BP_W1, _BP_W2, _BP_W3, _BP_W4 = 2.0, 4.0, 10.0, 91.2
_BP_A = (0.0, 0.0, 0.0, 0.00122270, 0.00164178)
_BP_B = (0.00228770, 0.00251507, 0.00279328, 0.00296694, 0.00292051)
_BP_C = (4.08041425, 3.09624477, 2.07463133, 1.0, 1.0)
_TWO_PI_THRESHOLD = 4.0 * M_PI * M_PI


@kernel
def delta_alpha_lepton1(q2: float, m: float) -> tuple[float, float]:
    """(Re, Im) of the one-loop Delta alpha of one lepton of mass m (GeV) at q^2 (GeV^2)."""
    if q2 == 0.0:
        return 0.0, 0.0
    r = q2 / (m * m)
    if abs(r) < _SMALL_Q2_OVER_M2:
        # Pi(q^2) expansion (alpha/pi)(r/15 + r^2/140 + ...), Delta alpha = -Pi.
        return -ALPHA_EM / math.pi * (r / 15.0 + r * r / 140.0), 0.0
    x = 4.0 / r
    if 0.0 < x < 1.0 or x < 0.0:
        beta = math.sqrt(1.0 - x)
        # |(1 + beta)/(1 - beta)| = (1 + beta)^2 / |x| without the cancellation in 1 - beta.
        log_term = math.log((1.0 + beta) ** 2 / abs(x))
        re = _ALPHA_3PI * (-5.0 / 3.0 - x + (1.0 + 0.5 * x) * beta * log_term)
        im = 0.0
        if x > 0.0:
            im = -ALPHA_EM / 3.0 * beta * (3.0 - beta * beta) / 2.0
        return re, im
    b = math.sqrt(x - 1.0)
    if b == 0.0:
        return _ALPHA_3PI * (-8.0 / 3.0), 0.0
    re = _ALPHA_3PI * (-5.0 / 3.0 - x + (1.0 + 0.5 * x) * 2.0 * b * math.atan(1.0 / b))
    return re, 0.0


@kernel
def _bp_region1(t: float) -> int:
    w = math.sqrt(t)
    if w < _BP_W1:
        return 0
    if w < _BP_W2:
        return 1
    if w < _BP_W3:
        return 2
    if w < _BP_W4:
        return 3
    return 4


@kernel
def delta_alpha_hadron1(q2: float) -> tuple[float, float]:
    """(Re, Im) of the five-flavour hadronic Delta alpha at q^2 (Burkhardt & Pietrzyk 1995)."""
    t = abs(q2)
    k = _bp_region1(t)
    a = _BP_A[k]
    b = _BP_B[k]
    c = _BP_C[k]
    re = a + b * math.log(1.0 + c * t)
    im = 0.0
    if q2 > _TWO_PI_THRESHOLD:
        # -(alpha/3) R with R = (3 pi/alpha) dRe/dln s  ->  Im = -pi dRe/dln s.
        im = -math.pi * b * c * t / (1.0 + c * t)
    return re, im


@kernel
def delta_alpha1(q2: float) -> tuple[float, float]:
    """(Re, Im) of Delta alpha(q^2) = leptons (e, mu, tau, one loop) + hadrons (BP 1995)."""
    re_e, im_e = delta_alpha_lepton1(q2, M_E)
    re_m, im_m = delta_alpha_lepton1(q2, M_MU)
    re_t, im_t = delta_alpha_lepton1(q2, M_TAU)
    re_h, im_h = delta_alpha_hadron1(q2)
    return re_e + re_m + re_t + re_h, im_e + im_m + im_t + im_h


@kernel
def vp_factor1(q2: float) -> float:
    """|1 / (1 - Delta alpha(q^2))|^2: multiplies a one-photon-exchange |M|^2 in that channel."""
    re, im = delta_alpha1(q2)
    return 1.0 / ((1.0 - re) ** 2 + im * im)


@kernel
def alpha_eff1(q2: float) -> float:
    """ALPHA_EM / |1 - Delta alpha(q^2)|: the effective coupling of one photon at q^2."""
    return ALPHA_EM * math.sqrt(vp_factor1(q2))


# ------------------------------------------------------------------ tabulated form (docstring)
_TAB_LO, _TAB_MID, _TAB_HI = 16.0, _BP_W3 * _BP_W3, 144.0
_TAB_STEP = 0.04
_TAB_N = (round((_TAB_MID - _TAB_LO) / _TAB_STEP), round((_TAB_HI - _TAB_MID) / _TAB_STEP))


@kernel
def _build_table(lo: float, hi: float, n: int, out) -> None:
    """Nodes lo + i (hi - lo)/n, i = 0..n, of (Re, Im) Delta alpha into ``out`` (n + 1, 2).

    The last node is the left limit at ``hi`` (the parametrisation may jump there).
    """
    for i in range(n + 1):
        q2 = lo + i * (hi - lo) / n
        if i == n:
            q2 = hi * (1.0 - 1e-12)  # left limit (shift x |f'| ~ 1e-14)
        re, im = delta_alpha1(q2)
        out[i, 0] = re
        out[i, 1] = im


def _make_table() -> np.ndarray:
    tab = np.zeros((2, max(_TAB_N) + 1, 2))
    _build_table(_TAB_LO, _TAB_MID, _TAB_N[0], tab[0])
    _build_table(_TAB_MID, _TAB_HI, _TAB_N[1], tab[1])
    return tab


def _make_tables() -> tuple[dict[str, np.ndarray], None]:
    tab = _make_table()
    spc_tab, spc_l0, spc_n, spc_inv_step = _make_space_table()
    return {"time": tab, "space": spc_tab, "space_l0": spc_l0, "space_n": spc_n,
            "space_inv_step": spc_inv_step}, None


def tables_key() -> dict:
    """What the tables depend on (``gen.diskcache`` key): this module's source (formulas, grid),
    the constants it reads and the floating-point runtime (numba's libm calls)."""
    import sys

    from gen.diskcache import runtime_key, source_key

    return {"source": source_key(sys.modules[__name__]),
            "constants": [repr(x) for x in (ALPHA_EM, M_E, M_MU, M_PI, M_TAU)],
            **runtime_key()}


def _load_tables() -> dict[str, np.ndarray]:
    """The interpolation tables: built by the kernels above (~0.05 s at import, mostly loading
    them) or, with the same key, read from the disk cache (~1 ms), bit for bit the same."""
    from gen.diskcache import cached_arrays

    return cached_arrays("vacpol-tables", tables_key(), _make_tables)[0]
_TAB_N0, _TAB_N1 = _TAB_N
_TAB_INV_STEP = 1.0 / _TAB_STEP


@kernel
def delta_alpha_tab1(q2: float) -> tuple[float, float]:
    """``delta_alpha1`` interpolated in [16, 144] GeV^2 (module docstring), exact outside."""
    if not (_TAB_LO <= q2 < _TAB_HI):
        return delta_alpha1(q2)
    if q2 < _TAB_MID:
        seg, t, n = 0, (q2 - _TAB_LO) * _TAB_INV_STEP, _TAB_N0
    else:
        seg, t, n = 1, (q2 - _TAB_MID) * _TAB_INV_STEP, _TAB_N1
    i = min(int(t), n - 1)
    f = t - i
    re0, im0 = _TAB[seg, i, 0], _TAB[seg, i, 1]
    return (re0 + f * (_TAB[seg, i + 1, 0] - re0), im0 + f * (_TAB[seg, i + 1, 1] - im0))


# Spacelike table (t channel of Bhabha): Re Delta alpha(-Q^2) (Im = 0) linear in L = ln Q^2 for
# Q^2 in [1e-4, 144] GeV^2, split at the Burkhardt-Pietrzyk breakpoints Q = 2, 4, 10 GeV (jumps).
# max |d^2 Re/dL^2| = 7.1e-4 (at Q^2 ~ 0.2 GeV^2, the muon loop and the low-Q hadronic piece;
# numerical second differences on 2e5 points), so a step of 0.01 in L bounds the interpolation
# error by h^2 max|f''| / 8 = 8.9e-9 (tests/gen/test_vacpol_spacelike.py checks < 2e-8).
_SPC_Q2 = (1e-4, _BP_W1 * _BP_W1, _BP_W2 * _BP_W2, _BP_W3 * _BP_W3, 144.0)
_SPC_STEP = 0.01


@kernel
def _build_space_table(l_lo: float, l_hi: float, n: int, out) -> None:
    """Nodes L = l_lo + i (l_hi - l_lo)/n of Re Delta alpha(-e^L) into ``out`` (n + 1); the end
    nodes are the one-sided limits inside the segment (the parametrisation jumps at its edges)."""
    for i in range(n + 1):
        q2 = math.exp(l_lo + i * (l_hi - l_lo) / n)
        if i == 0:
            q2 = math.exp(l_lo) * (1.0 + 1e-12)  # right limit (exp(ln q) may round below q)
        if i == n:
            q2 = math.exp(l_hi) * (1.0 - 1e-12)
        out[i] = delta_alpha1(-q2)[0]


def _make_space_table() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(table (segments, n_max + 1), L of the lower edges, nodes per segment, 1/step)."""
    lo = np.log(np.array(_SPC_Q2))
    n = np.ceil((lo[1:] - lo[:-1]) / _SPC_STEP).astype(np.int64)
    tab = np.zeros((n.size, int(n.max()) + 1))
    for k in range(n.size):
        _build_space_table(lo[k], lo[k + 1], int(n[k]), tab[k])
    return tab, lo[:-1].copy(), n, n / (lo[1:] - lo[:-1])


# the globals the kernels read (numba freezes them as constants when it compiles)
_TABLES = _load_tables()
_TAB = _TABLES["time"]
_SPC_TAB, _SPC_L0 = _TABLES["space"], _TABLES["space_l0"]
_SPC_N, _SPC_INV_STEP = _TABLES["space_n"], _TABLES["space_inv_step"]
_SPC_LO, _SPC_HI = _SPC_Q2[0], _SPC_Q2[-1]


@kernel
def delta_alpha_space_tab1(q2: float) -> tuple[float, float]:
    """``delta_alpha1`` for spacelike q2 < 0, interpolated in ln(-q2) for -q2 in [1e-4, 144]
    GeV^2 (error < 1e-8, see above; ~10 ns instead of ~60 ns), exact elsewhere (also q2 >= 0)."""
    t = -q2
    if not (_SPC_LO <= t < _SPC_HI):
        return delta_alpha1(q2)
    w = math.sqrt(t)  # segment decided as in _bp_region1, so the jumps fall on the same q2
    seg = 0 if w < _BP_W1 else (1 if w < _BP_W2 else (2 if w < _BP_W3 else 3))
    x = (math.log(t) - _SPC_L0[seg]) * _SPC_INV_STEP[seg]
    i = min(max(int(x), 0), _SPC_N[seg] - 1)
    f = x - i
    r0 = _SPC_TAB[seg, i]
    return r0 + f * (_SPC_TAB[seg, i + 1] - r0), 0.0


@kernel
def vp_factor_tab1(q2: float) -> float:
    """``vp_factor1`` from ``delta_alpha_tab1`` (event loops)."""
    re, im = delta_alpha_tab1(q2)
    return 1.0 / ((1.0 - re) ** 2 + im * im)
