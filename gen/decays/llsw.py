"""LLSW form factors of B -> D** l nu (the four P-wave charm mesons), DEC model ``LLSW``.

Leibovich, Ligeti, Stewart, Wise, hep-ph/9705467 (LLSW): B -> D_0*, D_1' (light degrees of
freedom j = 1/2, Isgur-Wise function zeta(w)) and B -> D_1, D_2* (j = 3/2, tau(w)) at order
Lambda_QCD / m_Q in HQET ("approximation B": chi_i = eta_i = 0), transcribed from EvtGen's
``EvtLLSWFF`` (basf2 generators/evtgen/models), which reads the DEC parameters:

- 3 parameters (D_0*, D_1'): zeta(1), zeta' (slope relative to zeta(1)), zeta_1;
- 4 parameters (D_1, D_2*): tau(1), tau' (relative slope), tau_1, tau_2 (GeV);

leading Isgur-Wise function f(w) = f(1) [1 + f' (w - 1)] (LLSW eq. 2.14 at first order in
w - 1, EvtLLSWFF::IsgurWiseFunction); eps_c = 1/(2 m_c), eps_b = 1/(2 m_b) with m_c = 1.4,
m_b = 4.2 GeV and the mass parameters Lambda = 0.40, Lambda' = 0.80 (j = 3/2),
Lambda* = 0.76 GeV (j = 1/2) (LLSW sec. III, as EvtLLSWFF). The HQET form factors (LLSW eqs.
2.7 (D_1 f_V1..f_A), 2.6 (D_2* k_V, k_A1..3), 4.3 (D_0* g+-), 4.4 (D_1' g_V1..3, g_A)) are
converted, as EvtLLSWFF does, to the conventions of the amplitude code:

- P -> scalar: f+, f0 (like P -> P);
- P -> axial vector: A1, A2, V, A0 (like P -> V, BSW / PDG "Form factors for semileptonic
  decays"; the vector and axial currents swap roles, absorbed in the signs);
- P -> tensor: h, k, b+, b- of ISGW (Scora, Isgur hep-ph/9503486 eq. 14).

``m_b`` in the functions below is the parent's mass and ``m`` the charm meson's (the actual,
Breit-Wigner one; EvtGen takes the parent's mean mass).
"""

from __future__ import annotations

import math

from gen.jit import kernel

# HQET inputs of EvtLLSWFF (LLSW sec. III: m_c = 1.4 GeV, Lambda-bar = 0.40, Lambda-bar' = 0.80,
# Lambda-bar* = 0.76 GeV; EvtGen takes m_b = 4.2 GeV)
M_C_QUARK = 1.4
M_B_QUARK = 4.2
LAM = 0.40
LAM_P = 0.80
LAM_S = 0.76
_SQRT6 = math.sqrt(6.0)


@kernel
def recoil1(m_b, m, q2):
    """w = v.v' (parent mass m_b, charm meson mass m)."""
    return (m_b * m_b + m * m - q2) / (2.0 * m_b * m)


@kernel
def isgur_wise1(par, w):
    """Leading Isgur-Wise function f(1) [1 + f' (w - 1)] (zeta or tau)."""
    return par[0] * (1.0 + par[1] * (w - 1.0))


@kernel
def hqet_half1(par, w):
    """(g+, g-, g_V1, g_V2, g_V3, g_A) of the j = 1/2 doublet (D_0*: g+-, D_1': g_V, g_A)
    at order 1/m_Q, chi_i = 0; par = (zeta(1), zeta', zeta_1) (EvtLLSWFF::gpD0 ... gAD1p)."""
    ec, eb = 0.5 / M_C_QUARK, 0.5 / M_B_QUARK
    z = isgur_wise1(par, w)
    zeta1 = par[2]
    lb = (LAM_S * (2.0 * w + 1.0) - LAM * (w + 2.0)) / (w + 1.0)
    gp = ec * (2.0 * (w - 1.0) * zeta1 * z - 3.0 * z * (w * LAM_S - LAM) / (w + 1.0)) - eb * (
        lb * z - 2.0 * (w - 1.0) * zeta1 * z)
    gm = z
    gv1 = ((w - 1.0) * z + ec * (w * LAM_S - LAM) * z
           - eb * ((LAM_S * (2.0 * w + 1.0) - LAM * (w + 2.0)) * z
                   - 2.0 * (w * w - 1.0) * zeta1 * z))
    gv2 = 2.0 * ec * zeta1 * z
    gv3 = (eb * (lb * z - 2.0 * (w - 1.0) * zeta1 * z) - z
           - ec * ((w * LAM_S - LAM) / (w + 1.0) * z + 2.0 * zeta1 * z))
    ga = eb * (2.0 * (w - 1.0) * zeta1 * z - lb * z) + z + ec * (w * LAM_S - LAM) / (w + 1.0) * z
    return gp, gm, gv1, gv2, gv3, ga


@kernel
def hqet_three_half1(par, w):
    """(f_V1, f_V2, f_V3, f_A, k_V, k_A1, k_A2, k_A3) of the j = 3/2 doublet (D_1: f, D_2*: k)
    at order 1/m_Q, eta_i = 0; par = (tau(1), tau', tau_1, tau_2) (EvtLLSWFF::fV1D1 ... kVD2)."""
    ec, eb = 0.5 / M_C_QUARK, 0.5 / M_B_QUARK
    t = isgur_wise1(par, w)
    t1, t2 = par[2] * t, par[3] * t  # tau_1 tau(w), tau_2 tau(w)
    x = (LAM_P + LAM) * t - (2.0 * w + 1.0) * t1 - t2
    fv1 = ((1.0 - w * w) * t - eb * (w * w - 1.0) * x
           - ec * (4.0 * (w + 1.0) * (w * LAM_P - LAM) * t - (w * w - 1.0) * (3.0 * t1 - 3.0 * t2))
           ) / _SQRT6
    fv2 = (-3.0 * t - 3.0 * eb * x - ec * ((4.0 * w - 1.0) * t1 + 5.0 * t2)) / _SQRT6
    fv3 = ((w - 2.0) * t + eb * (2.0 + w) * x
           + ec * (4.0 * (w * LAM_P - LAM) * t + (2.0 + w) * t1 + (2.0 + 3.0 * w) * t2)) / _SQRT6
    fa = (-(w + 1.0) * t - eb * (w - 1.0) * x
          - ec * (4.0 * (w * LAM_P - LAM) * t - 3.0 * (w - 1.0) * (t1 - t2))) / _SQRT6
    ka1 = -(1.0 + w) * t - eb * (w - 1.0) * x - ec * (w - 1.0) * (t1 - t2)
    ka2 = -2.0 * ec * t1
    ka3 = t + eb * x - ec * (t1 + t2)
    kv = -t - eb * x - ec * (t1 - t2)
    return fv1, fv2, fv3, fa, kv, ka1, ka2, ka3


@kernel
def ff_scalar1(par, m_b, m, q2):
    """(f+, f0) of B -> D_0* (EvtLLSWFF::getscalarff)."""
    w = recoil1(m_b, m, q2)
    gp, gm, _, _, _, _ = hqet_half1(par, w)
    rt = 2.0 * math.sqrt(m * m_b)
    fp = ((m_b + m) * gp - (m_b - m) * gm) / rt
    f0 = ((m_b - m) * ((m_b + m) ** 2 - q2) * gp - (m + m_b) * ((m_b - m) ** 2 - q2) * gm) / (
        rt * (m_b - m) * (m_b + m))
    return fp, f0


@kernel
def axial_from_hqet1(v1, v2, v3, a, m_b, m, q2):
    """(A1, A2, V, A0) from the HQET form factors (f_V1, f_V2, f_V3, f_A) of D_1 or (g_V1..3,
    g_A) of D_1' (EvtLLSWFF::getvectorff)."""
    rt = math.sqrt(m * m_b)
    a1 = rt / (m + m_b) * v1
    a2 = -(m + m_b) * (v3 + m / m_b * v2) / (2.0 * rt)
    v = 0.5 * (m + m_b) / rt * a
    a3 = (m_b + m) / (2.0 * m) * a1 - (m_b - m) / (2.0 * m) * a2
    a0 = -q2 * (v3 - m / m_b * v2) / (4.0 * m * rt) + a3
    return a1, a2, v, a0


@kernel
def ff_axial1(j32, par, m_b, m, q2):
    """(A1, A2, V, A0) of B -> D_1 (j32 True) or D_1' (EvtLLSWFF::getvectorff)."""
    w = recoil1(m_b, m, q2)
    if j32:
        v1, v2, v3, a, _, _, _, _ = hqet_three_half1(par, w)
    else:
        _, _, v1, v2, v3, a = hqet_half1(par, w)
    return axial_from_hqet1(v1, v2, v3, a, m_b, m, q2)


@kernel
def tensor_from_hqet1(kv, ka1, ka2, ka3, m_b, m):
    """(h, k, b+, b-) of ISGW (GeV^-2, 1, GeV^-2, GeV^-2) from LLSW's (k_V, k_A1, k_A2, k_A3)
    (EvtLLSWFF::gettensorff)."""
    rt = math.sqrt(m * m_b)
    h = -rt / (m * m_b * m_b) * 0.5 * kv
    k = rt / m_b * ka1
    bp = rt * (ka3 * m_b + ka2 * m) / (2.0 * m_b**3 * m)
    bm = ka2 * rt / (2.0 * m_b**3) - ka3 * rt / (2.0 * m_b * m_b * m)
    return h, k, bp, bm


@kernel
def ff_tensor1(par, m_b, m, q2):
    """(h, k, b+, b-) of B -> D_2* (GeV^-2, 1, GeV^-2, GeV^-2; EvtLLSWFF::gettensorff)."""
    w = recoil1(m_b, m, q2)
    _, _, _, _, kv, ka1, ka2, ka3 = hqet_three_half1(par, w)
    return tensor_from_hqet1(kv, ka1, ka2, ka3, m_b, m)
