"""Form-factor weights of semileptonic decays P -> (P, V, S, A, T) l nu (b -> c l nu).

The generic decayer (``gen.decays.generic``) makes these three-body modes in flat phase space;
this module gives the matrix-element weight in (q^2, cos theta_l) that turns flat phase-space
events into the DEC file's model by hit-or-miss (``accept_rows1``), and the rates themselves
(``d2gamma1``, ``dgamma_dq21``) for tests and reports.

Form factors (``KIND_*``, parameters in DEC-file order, as EvtGen reads them):

- ``BGL`` with 8 parameters, P -> P (B -> D l nu): f+ and f0 as z-expansions with Belle's
  outer functions, Belle arXiv:1510.03657 (PRD 93 032006) eqs. 13-16, constants 1.1213 and
  0.5299, as in EvtGen's ``EvtBGLFF::getscalarff``; parameters a+_0..3, a0_0..3.
- ``BGL`` with 6 parameters, P -> V (B -> D* l nu): g, f, F1 of Boyd, Grinstein, Lebed
  hep-ph/9705252 with the outer functions, Blaschke poles (B_c masses) and chi_T of Grinstein,
  Kobach arXiv:1703.08170, truncated as in arXiv:2008.09341 (a_0, a_1 of g; b_0, b_1 of f;
  c_1, c_2 of F1, c_0 fixed by F1(w=1) = (m_B - m_V) f(1)); EvtGen's ``EvtBGLFF::getvectorff``.
  No pseudoscalar form factor (F2 / A0 = 0, as EvtGen): valid for e and mu only.
- ``HQET3`` (CLN, Caprini, Lellouch, Neubert hep-ph/9712417 eqs. 35-36 with R0, R1, R2 of
  Fajfer, Kamenik, Nisandzic arXiv:1203.2654 eq. 9), basf2's ``EvtHQET3FF``: 3 parameters for
  P -> P (V1(1), rho^2, Delta), 5 for P -> V (h_A1(1), rho^2, R0(1), R1(1), R2(1)); used by the
  DEC file for the tau modes.
- ``LLSW`` (Leibovich, Ligeti, Stewart, Wise hep-ph/9705467; ``gen.decays.llsw``), B -> D**:
  3 parameters for the j = 1/2 doublet (D_0*: P -> S, f+ and f0 as P -> P; D_1': P -> A,
  A1, A2, V, A0 as P -> V), 4 for j = 3/2 (D_1: P -> A; D_2*: P -> T). The tensor's
  polarisation eps*_{mu nu} enters through eps*_{mu nu} P^nu, a vector c_lambda (M p / m)
  eps(lambda) (c_+- = 1/sqrt2, c_0 = sqrt(2/3)), so its H's are those of a vector with the
  mapped form factors times c_lambda M p / m (``helicity1``). The D** have Breit-Wigner masses
  in the generic decayer: the form factors take the actual mass, the bound covers the mass
  range (``table_wmax``); the mass line shape stays the decayer's Breit-Wigner (not reweighted
  by the rate's mass dependence). ``accept_rows1`` draws the helicity of the D_1', D_1 and
  D_2* as for the D* (|lambda| <= 1 for all: the W carries 0, +-1), which the generic decayer's
  D** decay angles then follow.

Rate (helicity amplitudes; Koerner, Schuler Z. Phys. C 46 (1990) 93; Ivanov, Koerner, Tran
arXiv:1508.02678 eq. 8), theta_l = angle between the charged lepton in the l nu rest frame and
the l nu (W) direction in the parent frame, p = hadron momentum in the parent frame:

  d2Gamma/dq2 dcos = G_F^2 |V|^2 p q2 (1 - m^2/q2)^2 / (256 pi^3 M^2) x
      [ (1 + c)^2 H-^2 + (1 - c)^2 H+^2 + 2 s^2 H0^2 + m^2/q2 (s^2 (H+^2 + H-^2)
        + 2 (H0 c - Ht)^2) ]

V - A: the charged lepton of the dominant H- goes along the W (hard spectrum), for l- and, by
CP, for l+. The sign of the H0-Ht interference was checked against the covariant trace for
P -> P (tests); for P -> V it follows the same helicity conventions (it changes the tau
direction only, not any rate). P -> P: H+- = 0, H0 = 2 M p f+ / sqrt(q2),
Ht = (M^2 - m_D^2) f0 / sqrt(q2). P -> V (A1, A2, V, A0 as in PDG RPP "Form factors for
semileptonic decays"): H+- = (M + m_V) A1 -+ 2 M p V / (M + m_V),
H0 = [(M^2 - m_V^2 - q2)(M + m_V) A1 - 4 M^2 p^2 A2 / (M + m_V)] / (2 m_V sqrt(q2)),
Ht = 2 M p A0 / sqrt(q2).

The vector's decay angles are integrated out of the weight; ``accept_rows1`` then draws its
helicity (0 or +-1, ``longitudinal_fraction1``) for the generic decayer's helicity-angle
treatment of D* -> D pi / D gamma. Neglected: the correlation with the angle between the
lepton and hadron decay planes (chi; the interference terms integrate to zero over it), so
chi is flat; electroweak and QED (Sirlin, PHOTOS) corrections; ISGW2 (0.01-0.03 % of the B
width) and BCL (b -> u) modes stay phase space. D(*) pi l nu (GOITY_ROBERTS):
``gen.decays.goity_roberts``.
"""

from __future__ import annotations

import math

import numpy as np

from gen.decays import llsw
from gen.jit import kernel
from gen.phasespace import three_body_unweighted1, three_body_wmax

#: modules whose code the form factors use besides this one (part of the decay-table cache key,
#: ``generic.tables_key``)
SOURCE_MODULES = (llsw,)

#: Fermi constant, GeV^-2 (PDG RPP 2024, "Physical constants")
G_F = 1.1663788e-5

KIND_NONE, KIND_BGL_P, KIND_BGL_V, KIND_CLN_P, KIND_CLN_V = 0, 1, 2, 3, 4
#: LLSW (gen.decays.llsw): B -> D_0* (scalar), D_1' (axial, j = 1/2), D_1 (axial, j = 3/2),
#: D_2* (tensor)
KIND_LLSW_S, KIND_LLSW_A12, KIND_LLSW_A32, KIND_LLSW_T = 5, 6, 7, 8
#: kinds whose hadron may have a Breit-Wigner mass (form factors defined at any mass; the
#: bound is taken over the mass range, ``table_wmax``)
VARIABLE_MASS_KINDS = (KIND_LLSW_S, KIND_LLSW_A12, KIND_LLSW_A32, KIND_LLSW_T)
#: helicity of the hadron returned by accept_rows1: 0, or +-1 (either sign)
HEL_LONG, HEL_TRANS = 0, 1
#: kinds whose hadron has spin >= 1 and gets a helicity from accept_rows1 (D*, D_1', D_1, D_2*;
#: a spin-2 D_2* has |lambda| <= 1 too: the W carries helicity 0, +-1 and the parent spin 0)
POLARISED_KINDS = (KIND_BGL_V, KIND_CLN_V, KIND_LLSW_A12, KIND_LLSW_A32, KIND_LLSW_T)
#: largest number of form-factor parameters of a kind (BGL for P -> P)
NPAR = 8
#: DEC model name and number of parameters -> kind
KIND_BY_MODEL = {("BGL", 8): KIND_BGL_P, ("BGL", 6): KIND_BGL_V,
                 ("HQET3", 3): KIND_CLN_P, ("HQET3", 5): KIND_CLN_V}
#: LLSW: (number of parameters, 2J of the hadron) -> kind (3 parameters: j = 1/2 doublet,
#: 4: j = 3/2 doublet; EvtLLSWFF's two constructors)
LLSW_KINDS = {(3, 0): KIND_LLSW_S, (3, 2): KIND_LLSW_A12, (4, 2): KIND_LLSW_A32,
              (4, 4): KIND_LLSW_T}
#: hadron masses of the bound over a Breit-Wigner range (``table_wmax``)
_GRID_MASS = 12
#: points of the (q2, cos) grid of ``semileptonic_wmax`` and its safety factor (the weight is a
#: smooth function, quadratic in cos: the grid maximum is within ~0.1 % of the true one)
_GRID_Q2, _GRID_COS = 400, 41
WMAX_SAFETY = 1.05

# BGL P -> V constants (Grinstein, Kobach arXiv:1703.08170 table; EvtGen EvtBGLFF): chi_T(+)
# and chi_T(-) (GeV^-2), n_I = 2.6 (SU(3)), B_c vector and axial-vector poles (GeV)
_CHI_T_PLUS = 5.28e-4
_CHI_T_MINUS = 3.07e-4
_N_I = 2.6
_POLES_V = (6.337, 6.899, 7.012, 7.280)
_POLES_A = (6.730, 6.736, 7.135, 7.142)


@kernel
def _w_z(m_b, m_d, q2):
    """Recoil w = v.v' and the conformal variable z (BGL; CLN eq. 2)."""
    w = (m_b * m_b + m_d * m_d - q2) / (2.0 * m_b * m_d)
    s = math.sqrt(w + 1.0)
    return w, (s - math.sqrt(2.0)) / (s + math.sqrt(2.0))


@kernel
def ff_scalar1(kind, par, m_b, m_d, q2):
    """(f+, f0) of P -> P at q2 (module docstring: BGL of arXiv:1510.03657 or CLN)."""
    w, z = _w_z(m_b, m_d, q2)
    if kind == KIND_BGL_P:
        r = m_d / m_b
        phi_sub = (1.0 + r) * (1.0 - z) + 2.0 * math.sqrt(r) * (1.0 + z)
        g_sub = 4.0 * r / (1.0 + r) ** 2
        # outer functions, arXiv:1510.03657 eq. 15 (numbers for n_I = 2.6, chi of the paper)
        phi_p = 1.1213 * (1.0 + z) ** 2 * math.sqrt(1.0 - z) / phi_sub**5
        phi_0 = 0.5299 * (1.0 + z) * (1.0 - z) ** 1.5 / phi_sub**4
        sp = par[0] + z * (par[1] + z * (par[2] + z * par[3]))
        s0 = par[4] + z * (par[5] + z * (par[6] + z * par[7]))
        return g_sub * sp / phi_p, g_sub * s0 / phi_0
    # CLN, hep-ph/9712417 eq. 32 (V1) and eq. 37 with the Delta term of EvtHQET3FF (S1)
    v1 = par[0] * (1.0 - 8.0 * par[1] * z + (51.0 * par[1] - 10.0) * z * z
                   - (252.0 * par[1] - 84.0) * z * z * z)
    s1 = (1.0 + par[2] * (-0.019 + 0.041 * (w - 1.0) - 0.015 * (w - 1.0) ** 2)) * v1
    rt = math.sqrt(m_b * m_d)
    return 0.5 * (m_b + m_d) / rt * v1, rt / (m_b + m_d) * (w + 1.0) * s1


@kernel
def _blaschke(z, poles, m_b, m_v):
    """Product of (z - z_p) / (1 - z z_p) over the B_c poles (hep-ph/9705252 eq. 4.7)."""
    t_plus = (m_b + m_v) ** 2
    t3 = math.sqrt(t_plus - (m_b - m_v) ** 2)
    out = 1.0
    for mp in poles:
        t1 = math.sqrt(t_plus - mp * mp)
        zp = (t1 - t3) / (t1 + t3)
        out *= (z - zp) / (1.0 - z * zp)
    return out


@kernel
def ff_vector1(kind, par, m_b, m_v, q2):
    """(A1, A2, V, A0) of P -> V at q2 (module docstring: BGL of arXiv:2008.09341 or CLN)."""
    w, z = _w_z(m_b, m_v, q2)
    rstar = 2.0 * math.sqrt(m_b * m_v) / (m_b + m_v)
    if kind == KIND_BGL_V:
        r = m_v / m_b
        den = (1.0 + r) * (1.0 - z) + 2.0 * math.sqrt(r) * (1.0 + z)
        # outer functions, Grinstein-Kobach arXiv:1703.08170 eq. 6 (EvtBGLFF)
        phi_g = (math.sqrt(256.0 * _N_I / (3.0 * math.pi * _CHI_T_PLUS)) * r * r
                 * (1.0 + z) ** 2 / math.sqrt(1.0 - z) / den**4)
        phi_f = (math.sqrt(16.0 * _N_I / (3.0 * math.pi * _CHI_T_MINUS)) / (m_b * m_b) * r
                 * (1.0 + z) * (1.0 - z) ** 1.5 / den**4)
        phi_f1 = (math.sqrt(8.0 * _N_I / (3.0 * math.pi * _CHI_T_MINUS)) / m_b**3 * r
                  * (1.0 + z) * (1.0 - z) ** 2.5 / den**5)
        p_g = _blaschke(z, _POLES_V, m_b, m_v)
        p_f = _blaschke(z, _POLES_A, m_b, m_v)
        # F1(w=1) = (M - m_V) f(1) fixes c_0 (arXiv:1703.08170 eq. 8)
        c0 = (m_b - m_v) / m_b * math.sqrt(0.5) / (1.0 + r + 2.0 * math.sqrt(r)) * par[2]
        g = (par[0] + par[1] * z) / (p_g * phi_g)
        f = (par[2] + par[3] * z) / (p_f * phi_f)
        f1 = (c0 + par[4] * z + par[5] * z * z) / (p_f * phi_f1)
        ha1 = f / math.sqrt(m_b * m_v) / (1.0 + w)
        r1 = (w + 1.0) * m_b * m_v * g / f
        r2 = (w - r) / (w - 1.0) - f1 / (m_b * (w - 1.0) * f)
        return 0.5 * (w + 1.0) * rstar * ha1, r2 / rstar * ha1, r1 / rstar * ha1, 0.0
    # CLN, hep-ph/9712417 eq. 35; R_i(w) of arXiv:1203.2654 eq. 9 (R0) and CLN eq. 36
    ha1 = par[0] * (1.0 - 8.0 * par[1] * z + (53.0 * par[1] - 15.0) * z * z
                    - (231.0 * par[1] - 91.0) * z * z * z)
    x = w - 1.0
    r0 = par[2] - 0.11 * x + 0.01 * x * x
    r1 = par[3] - 0.12 * x + 0.05 * x * x
    r2 = par[4] + 0.11 * x - 0.06 * x * x
    return 0.5 * (w + 1.0) * rstar * ha1, r2 / rstar * ha1, r1 / rstar * ha1, r0 / rstar * ha1


@kernel
def _p_had(m_b, m_d, q2):
    """Hadron momentum in the parent frame (0 outside the physical region)."""
    lam = (m_b * m_b - (m_d + math.sqrt(q2)) ** 2) * (m_b * m_b - (m_d - math.sqrt(q2)) ** 2)
    return 0.5 * math.sqrt(max(lam, 0.0)) / m_b


@kernel
def _vector_hel(m_b, m_d, q2, p, a1, a2, v, a0):
    """(H+, H-, H0, Ht) of P -> V from (A1, A2, V, A0) (module docstring)."""
    sq = math.sqrt(q2)
    mp = m_b + m_d
    hp = mp * a1 - 2.0 * m_b * p * v / mp
    hm = mp * a1 + 2.0 * m_b * p * v / mp
    h0 = ((m_b * m_b - m_d * m_d - q2) * mp * a1 - 4.0 * m_b * m_b * p * p * a2 / mp) / (
        2.0 * m_d * sq)
    return hp, hm, h0, 2.0 * m_b * p * a0 / sq


@kernel
def tensor_hel1(m_b, m_d, q2, h, k, bp, bm):
    """(H+, H-, H0, Ht) of P -> T from ISGW's (h, k, b+, b-) (hep-ph/9503486 eq. 14).

    eps*_{mu nu} P^nu (P = parent momentum) is a vector eps_eff(lambda) = c_lambda (M p / m)
    eps(lambda) with c_+- = 1/sqrt2, c_0 = sqrt(2/3) (spin-2 polarisation tensors from two
    spin-1 ones, Clebsch-Gordan; Scora, Isgur hep-ph/9503486 sec. III), so the tensor current
    acts like a vector one with A1 = -k/(M+m), A2 = b+ (M+m), V = h (M+m), A0 = A3 - b- q2/(2m).
    The relative sign of V and A1 is fixed by LLSW's matrix elements (hep-ph/9705467 eqs.
    2.3, 2.5): the D_2* current is the D_1 one with eps* -> eps*_{mu nu} v^nu and f_V1 ->
    -k_A1, f_A -> -k_V, so the lepton forward-backward term goes with k_A1 k_V as with f_V1 f_A
    for D_1 (tests: LLSW's d2Gamma/dw dcos theta of D_1 and D_2*, and heavy-quark spin
    symmetry: at leading order |H+/H-| of D_2* equals that of D_1). EvtGen's
    EvtSemiLeptonicTensorAmp contracts the Levi-Civita term on the other index
    (``tdual.cont2(eps)``, where EvtSemiLeptonicVectorAmp has ``tds.cont1(eps)``) while
    EvtLLSWFF maps k_V with the vector amplitude's sign: EvtGen's D_2* has V -> -V, i.e. H+
    and H- swapped and the opposite lepton forward-backward asymmetry (tests/gen/test_llsw.py).
    At leading order H- dominates, as for D*, D_1 (left-handed c quark); with the DEC
    parameters (tau_2 = 2.9 GeV) the 1/m_c term flips the sign of k_V.
    """
    p = _p_had(m_b, m_d, q2)
    mp = m_b + m_d
    a1 = -k / mp
    a2 = bp * mp
    a3 = mp / (2.0 * m_d) * a1 - (m_b - m_d) / (2.0 * m_d) * a2
    hp, hm, h0, ht = _vector_hel(m_b, m_d, q2, p, a1, a2, h * mp, a3 - bm * q2 / (2.0 * m_d))
    x = m_b * p / m_d
    ct, cl = x * math.sqrt(0.5), x * math.sqrt(2.0 / 3.0)
    return ct * hp, ct * hm, cl * h0, cl * ht


@kernel
def helicity1(kind, par, m_b, m_d, q2):
    """(H+, H-, H0, Ht) at q2 (module docstring); GeV."""
    p = _p_had(m_b, m_d, q2)
    sq = math.sqrt(q2)
    if kind in (KIND_BGL_P, KIND_CLN_P, KIND_LLSW_S):
        if kind == KIND_LLSW_S:
            fp, f0 = llsw.ff_scalar1(par, m_b, m_d, q2)
        else:
            fp, f0 = ff_scalar1(kind, par, m_b, m_d, q2)
        return 0.0, 0.0, 2.0 * m_b * p * fp / sq, (m_b * m_b - m_d * m_d) * f0 / sq
    if kind in (KIND_LLSW_A12, KIND_LLSW_A32):
        a1, a2, v, a0 = llsw.ff_axial1(kind == KIND_LLSW_A32, par, m_b, m_d, q2)
        return _vector_hel(m_b, m_d, q2, p, a1, a2, v, a0)
    if kind == KIND_LLSW_T:
        h, k, bp, bm = llsw.ff_tensor1(par, m_b, m_d, q2)
        return tensor_hel1(m_b, m_d, q2, h, k, bp, bm)
    a1, a2, v, a0 = ff_vector1(kind, par, m_b, m_d, q2)
    return _vector_hel(m_b, m_d, q2, p, a1, a2, v, a0)


@kernel
def _bracket(hp, hm, h0, ht, ml2_q2, c):
    s2 = 1.0 - c * c
    flip = s2 * (hp * hp + hm * hm) + 2.0 * (h0 * c - ht) ** 2
    return ((1.0 + c) ** 2 * hm * hm + (1.0 - c) ** 2 * hp * hp + 2.0 * s2 * h0 * h0
            + ml2_q2 * flip)


@kernel
def d2gamma1(kind, par, m_b, m_d, m_l, q2, cos_l):
    """d2Gamma / dq2 dcos theta_l / |V_cb|^2 (GeV^-1; module docstring); 0 outside."""
    if q2 <= m_l * m_l or q2 >= (m_b - m_d) ** 2:
        return 0.0
    hp, hm, h0, ht = helicity1(kind, par, m_b, m_d, q2)
    x = m_l * m_l / q2
    p = _p_had(m_b, m_d, q2)
    return (G_F * G_F * p * q2 * (1.0 - x) ** 2 / (256.0 * math.pi**3 * m_b * m_b)
            * _bracket(hp, hm, h0, ht, x, cos_l))


@kernel
def dgamma_dq21(kind, par, m_b, m_d, m_l, q2):
    """dGamma/dq2 / |V_cb|^2 (GeV^-1), cos theta_l integrated in closed form:
    [(H+^2 + H-^2 + H0^2)(1 + m^2/2q2) + 3 m^2/(2 q2) Ht^2] x G_F^2 p q2 (1 - m^2/q2)^2
    / (96 pi^3 M^2) (arXiv:1508.02678 eq. 10)."""
    if q2 <= m_l * m_l or q2 >= (m_b - m_d) ** 2:
        return 0.0
    hp, hm, h0, ht = helicity1(kind, par, m_b, m_d, q2)
    x = m_l * m_l / q2
    p = _p_had(m_b, m_d, q2)
    return (G_F * G_F * p * q2 * (1.0 - x) ** 2 / (96.0 * math.pi**3 * m_b * m_b)
            * ((hp * hp + hm * hm + h0 * h0) * (1.0 + 0.5 * x) + 1.5 * x * ht * ht))


@kernel
def longitudinal_fraction1(kind, par, m_b, m_d, m_l, q2, cos_l):
    """Share of the vector's helicity 0 in the rate at (q2, cos_l): after the integration over
    the angle between the lepton and hadron decay planes the vector's helicity density matrix
    is diagonal (H0 and Ht both have lambda_V = 0; Koerner, Schuler Z. Phys. C 46 (1990) 93), so
    lambda_V = 0 with this probability, +-1 otherwise. 1 for P -> P."""
    if kind in (KIND_BGL_P, KIND_CLN_P, KIND_LLSW_S):
        return 1.0
    hp, hm, h0, ht = helicity1(kind, par, m_b, m_d, q2)
    x = m_l * m_l / q2
    s2 = 1.0 - cos_l * cos_l
    lon = 2.0 * s2 * h0 * h0 + 2.0 * x * (h0 * cos_l - ht) ** 2
    tot = _bracket(hp, hm, h0, ht, x, cos_l)
    return lon / tot if tot > 0.0 else 1.0


@kernel
def semileptonic_weight1(kind, par, m_b, m_d, m_l, q2, cos_l):
    """Weight of a flat phase-space point (q2, cos_l): d2gamma1 divided by the three-body
    phase-space density, which is proportional to p (1 - m_l^2/q2) in these variables (PDG RPP
    "Kinematics", eq. 49.22 with the l nu pair's two-body factor)."""
    if q2 <= m_l * m_l or q2 >= (m_b - m_d) ** 2:
        return 0.0
    hp, hm, h0, ht = helicity1(kind, par, m_b, m_d, q2)
    x = m_l * m_l / q2
    return q2 * (1.0 - x) * _bracket(hp, hm, h0, ht, x, cos_l)


@kernel
def semileptonic_wmax(kind, par, m_b, m_d, m_l):
    """Bound of ``semileptonic_weight1`` over the physical region: grid maximum x
    WMAX_SAFETY (hit-or-miss callers count trials above it)."""
    lo, hi = m_l * m_l, (m_b - m_d) ** 2
    best = 0.0
    for i in range(_GRID_Q2 + 1):
        q2 = lo + (hi - lo) * (i + 0.5) / (_GRID_Q2 + 1)
        for j in range(_GRID_COS):
            c = -1.0 + 2.0 * j / (_GRID_COS - 1)
            best = max(best, semileptonic_weight1(kind, par, m_b, m_d, m_l, q2, c))
    return best * WMAX_SAFETY


@kernel
def table_wmax(kind, par, m_b, m_d, m_l, m_lo, m_hi):
    """Bound of ``semileptonic_weight1`` for a hadron of mass m_d, or, if m_lo < m_hi, of any
    mass in [m_lo, m_hi] (Breit-Wigner hadron of the generic decayer): maximum of
    ``semileptonic_wmax`` over _GRID_MASS masses spread in that range and m_d, x WMAX_SAFETY
    once more for the variation between grid masses."""
    best = semileptonic_wmax(kind, par, m_b, m_d, m_l)
    if not m_lo < m_hi:
        return best
    for i in range(_GRID_MASS):
        m = m_lo + (m_hi - m_lo) * i / (_GRID_MASS - 1)
        if m + m_l < m_b:
            best = max(best, semileptonic_wmax(kind, par, m_b, m, m_l))
    return best * WMAX_SAFETY


@kernel
def q2_cos_from_rows1(out_f, r_had, r_lep, r_nu):
    """(q2, cos theta_l) of a decay whose daughters sit in rows of ``out_f`` (px, py, pz, e) in
    the parent rest frame: the lepton is boosted into the l nu frame and compared with the
    l nu direction (minus the hadron direction)."""
    qx = out_f[r_lep, 0] + out_f[r_nu, 0]
    qy = out_f[r_lep, 1] + out_f[r_nu, 1]
    qz = out_f[r_lep, 2] + out_f[r_nu, 2]
    qe = out_f[r_lep, 3] + out_f[r_nu, 3]
    q2 = qe * qe - qx * qx - qy * qy - qz * qz
    qn = math.sqrt(qx * qx + qy * qy + qz * qz)
    if qn <= 0.0 or q2 <= 0.0:
        return max(q2, 0.0), 0.0
    # lepton longitudinal momentum in the W frame: boost along q by beta = |q|/q0
    ux, uy, uz = qx / qn, qy / qn, qz / qn
    pl_par = out_f[r_lep, 0] * ux + out_f[r_lep, 1] * uy + out_f[r_lep, 2] * uz
    gam = qe / math.sqrt(q2)
    beta = qn / qe
    pz_star = gam * (pl_par - beta * out_f[r_lep, 3])
    px2 = (out_f[r_lep, 0] ** 2 + out_f[r_lep, 1] ** 2 + out_f[r_lep, 2] ** 2) - pl_par * pl_par
    p_star = math.sqrt(max(px2, 0.0) + pz_star * pz_star)
    if p_star <= 0.0:
        return q2, 0.0
    return q2, min(1.0, max(-1.0, pz_star / p_star))


@kernel
def accept_rows1(rng, kind, par, m_b, m_d, m_l, wmax, out_f, r_had, r_lep, r_nu):
    """Hit-or-miss of a flat phase-space decay in rows (parent rest frame) against the form-
    factor weight. Returns (accepted, 1 if the weight exceeded wmax else 0, helicity of the
    hadron: HEL_LONG (0) or HEL_TRANS (+-1), drawn with ``longitudinal_fraction1``; HEL_LONG for
    a pseudoscalar)."""
    q2, c = q2_cos_from_rows1(out_f, r_had, r_lep, r_nu)
    w = semileptonic_weight1(kind, par, m_b, m_d, m_l, q2, c)
    if not w >= 0.0:
        # NaN (BGL P -> V with m_b + m_d below a B_c pole) would be rejected forever: the
        # caller's redraw loop would never end
        raise ValueError("semileptonic weight is NaN or negative (masses outside the "
                         "form-factor model)")
    ok = rng.random() * wmax < w
    hel = HEL_LONG
    if ok and kind in POLARISED_KINDS and rng.random() >= longitudinal_fraction1(
            kind, par, m_b, m_d, m_l, q2, c):
        hel = HEL_TRANS
    return ok, 1 if w > wmax else 0, hel


@kernel
def _sample_box(rng, kind, par, m_b, m_d, m_l, n, d2max, q2_out, c_out):
    """n (q2, cos) by hit-or-miss of d2gamma1 in the box [m_l^2, (M - m_d)^2] x [-1, 1].
    Returns (trials, sum and sum of squares of d2gamma1 over trials, trials above d2max)."""
    lo, hi = m_l * m_l, (m_b - m_d) ** 2
    trials = 0
    over = 0
    acc = 0
    sw = 0.0
    sw2 = 0.0
    while acc < n:
        q2 = lo + (hi - lo) * rng.random()
        c = 2.0 * rng.random() - 1.0
        f = d2gamma1(kind, par, m_b, m_d, m_l, q2, c)
        trials += 1
        sw += f
        sw2 += f * f
        if f > d2max:
            over += 1
        if rng.random() * d2max < f:
            q2_out[acc] = q2
            c_out[acc] = c
            acc += 1
    return trials, sw, sw2, over


def sample_q2_cos(rng: np.random.Generator, kind: int, par: np.ndarray, m_b: float, m_d: float,
                  m_l: float, n: int) -> tuple[np.ndarray, np.ndarray, float, float, int]:
    """n points distributed as d2gamma1, and the box estimate of Gamma/|V|^2 with its error.

    Returns (q2, cos_l, gamma, gamma_err, n_over); gamma = box area x mean of d2gamma1 over all
    trials (an unbiased Monte Carlo integral, independent of the bound).
    """
    par = _params(par)
    lo, hi = m_l * m_l, (m_b - m_d) ** 2
    # d2gamma1 / weight = G_F^2 p (1 - x) / (256 pi^3 M^2) <= that factor at p_max = p(lo)
    pmax = 0.5 * math.sqrt(max((m_b**2 - (m_d + m_l) ** 2) * (m_b**2 - (m_d - m_l) ** 2), 0.0))
    scale = G_F**2 * (pmax / m_b) / (256.0 * math.pi**3 * m_b**2)
    d2max = scale * semileptonic_wmax(kind, par, m_b, m_d, m_l)
    q2 = np.empty(n)
    c = np.empty(n)
    trials, sw, sw2, over = _sample_box(rng, kind, par, m_b, m_d, m_l, n, d2max, q2, c)
    area = 2.0 * (hi - lo)
    mean = sw / trials
    err = area * math.sqrt(max(sw2 / trials - mean * mean, 0.0) / trials)
    return q2, c, area * mean, err, int(over)


def _params(par) -> np.ndarray:
    out = np.zeros(NPAR)
    a = np.asarray(par, dtype=np.float64).ravel()
    if a.size > NPAR:
        raise ValueError(f"form-factor parameters: at most {NPAR}, got {a.size}")
    out[: a.size] = a
    return out


def kind_of(model: str, params: list | tuple | np.ndarray, hadron_two_j: int) -> int:
    """Kind of a DEC semileptonic model line, KIND_NONE if this module does not handle it.

    ``hadron_two_j``: twice the spin of the hadron (0: P -> P, 2: P -> V), checked against the
    number of parameters (a BGL line with 6 parameters on a pseudoscalar is an error). LLSW:
    3 parameters with 2J = 0 (D_0*) or 2 (D_1'), 4 with 2J = 2 (D_1) or 4 (D_2*).
    """
    if model == "LLSW":
        kind = LLSW_KINDS.get((len(params), hadron_two_j), KIND_NONE)
        if kind == KIND_NONE:
            raise ValueError(f"LLSW with {len(params)} parameters and a hadron of 2J = "
                             f"{hadron_two_j}: allowed (parameters, 2J) = {sorted(LLSW_KINDS)}")
        return kind
    kind = KIND_BY_MODEL.get((model, len(params)), KIND_NONE)
    if kind == KIND_NONE:
        return kind
    want = 2 if kind in (KIND_BGL_V, KIND_CLN_V) else 0
    if hadron_two_j != want:
        raise ValueError(f"{model} with {len(params)} parameters needs a hadron of spin "
                         f"{want // 2}, got 2J = {hadron_two_j}")
    return kind


def table_entry(model: str, params, daughters: tuple[int, ...], hadron_two_j: int
                ) -> tuple[int, np.ndarray, tuple[int, int, int]]:
    """(kind, parameters padded to NPAR, (hadron, charged lepton, neutrino) daughter indices)
    of a three-body mode; kind KIND_NONE for anything else (generic.py hook)."""
    none = (KIND_NONE, np.zeros(NPAR), (0, 0, 0))
    if len(daughters) != 3:
        return none
    lep = [i for i, d in enumerate(daughters) if abs(d) in (11, 13, 15)]
    nu = [i for i, d in enumerate(daughters) if abs(d) in (12, 14, 16)]
    if len(lep) != 1 or len(nu) != 1:
        return none
    had = 3 - lep[0] - nu[0]
    kind = kind_of(model, [float(x) for x in params], hadron_two_j)
    if kind == KIND_NONE:
        return none
    return kind, _params(params), (had, lep[0], nu[0])


def dgamma_dq2(kind: int, par, m_b: float, m_d: float, m_l: float,
               q2: np.ndarray | float) -> np.ndarray:
    """dGamma/dq2 / |V_cb|^2 (GeV^-1) at each q2 (``dgamma_dq21``)."""
    p = _params(par)
    q = np.atleast_1d(np.asarray(q2, dtype=np.float64))
    return np.array([dgamma_dq21(kind, p, m_b, m_d, m_l, float(x)) for x in q])


@kernel
def _decay_at_rest(rng, kind, par, m_b, masses, roles, wmax, n, out, hel):
    """n decays at rest: flat three-body phase space (``three_body_unweighted1``) accepted
    against the form-factor weight, the route of the generic decayer. Returns overweights."""
    ps_wmax = three_body_wmax(m_b, masses[0], masses[1], masses[2])
    rows = np.empty((3, 4))
    over = 0
    for i in range(n):
        while True:
            over += three_body_unweighted1(rng, m_b, masses[0], masses[1], masses[2], ps_wmax,
                                           rows, 0)
            ok, o, h = accept_rows1(rng, kind, par, m_b, masses[roles[0]], masses[roles[1]],
                                    wmax, rows, roles[0], roles[1], roles[2])
            over += o
            if ok:
                hel[i] = h
                break
        for r in range(3):
            for c in range(4):
                out[i, r, c] = rows[r, c]
    return over


def decay_at_rest(rng: np.random.Generator, kind: int, par, m_b: float,
                  masses: tuple[float, float, float], roles: tuple[int, int, int], n: int
                  ) -> tuple[np.ndarray, int, np.ndarray]:
    """n decays of a parent at rest, (n, 3, 4) four-momenta (px, py, pz, e) of the daughters in
    ``masses`` order; ``roles`` = (hadron, charged lepton, neutrino) indices. Also returns the
    number of trials above the weight bound (expected 0) and the hadron helicities (HEL_*)."""
    par = _params(par)
    m = np.asarray(masses, dtype=np.float64)
    ro = np.asarray(roles, dtype=np.int64)
    wmax = semileptonic_wmax(kind, par, m_b, m[ro[0]], m[ro[1]])
    out = np.empty((n, 3, 4))
    hel = np.zeros(n, np.int64)
    over = _decay_at_rest(rng, kind, par, m_b, m, ro, wmax, n, out, hel)
    return out, int(over), hel


def dec_table_entry(mother: int, daughters: tuple[int, ...], model: str
                    ) -> tuple[int, np.ndarray, tuple[int, int, int]]:
    """``table_entry`` of a kept generic mode, its parameters read back from the mother's DEC
    block (``generic.dec_block``; the generic tables keep the model name only)."""
    if model not in {m for m, _ in KIND_BY_MODEL} | {"LLSW"} or len(daughters) != 3:
        return KIND_NONE, np.zeros(NPAR), (0, 0, 0)
    from gen.decays.generic import _pdg_of, _props, dec_block  # generic imports this module

    for row in dec_block(_props(mother)[5]):
        if row["model"] != model:
            continue
        if tuple(_pdg_of(f) for f in row["fs"]) != tuple(daughters):
            continue
        had = next((d for d in daughters if abs(d) not in (11, 12, 13, 14, 15, 16)), None)
        two_j = _props(had)[3] if had is not None else -1
        return table_entry(model, row["model_params"], daughters, two_j)
    raise ValueError(f"mode {mother} -> {daughters} ({model}) not in the DEC block")
