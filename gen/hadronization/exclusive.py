"""e+e- -> gamma* -> exclusive hadrons below ~2 GeV: cross sections and final states.

Below sqrt(s') ~ 2 GeV the hadronic cross section is a sum of resonant exclusive channels, not a
q qbar string. This module gives, for a virtual photon of mass squared s (GeV^2), the bare
(vacuum polarisation removed) cross sections of the channels (GeV^-2) and draws their final
states in the gamma* rest frame with z along the beam (Collins-Soper) axis.

Channels (``CHANNELS``):

1. pi+ pi-: sigma = pi alpha^2 beta^3 / (3 s) |F_pi(s)|^2 x (FSR factor, inclusive pi+ pi-(gamma),
   ``gen.radiation.fsr_k_factor1``). F_pi: Gounaris-Sakurai (GS, Phys. Rev. Lett. 21 (1968) 244)
   with rho-omega mixing in the form of CMD-2 (R.R. Akhmetshin et al., Phys. Lett. B527 (2002)
   161, hep-ex/0112031):
   F = [BW_rho^GS(s) (1 + delta s / M_omega^2 BW_omega(s)) + beta BW_rho'^GS(s)] / (1 + beta),
   CMD-2 fit values M_rho = 776.09 MeV, Gamma_rho = 144.46 MeV, beta = -0.0695,
   |delta| = 1.57e-3, arg delta = 12.6 deg; omega and rho(1450) masses/widths from PDG
   (``particle``). Angular distribution sin^2 theta about the beam axis.
2. pi+ pi- pi0: coherent omega + phi (SND form, M.N. Achasov et al., Phys. Rev. D 66 (2002)
   032001, hep-ex/0201040): sigma = W(s)/s^(3/2) |sum_V g_V M_V Gamma_V e^(i phi_V) / D_V(s)|^2,
   D_V = M_V^2 - s - i sqrt(s) Gamma_V(s), W the 3-body phase-space integral of the
   Gell-Mann-Sharp-Wagner matrix element |p+ x p-|^2 (no rho propagators), g_V fixed by the peak
   value 12 pi B(V -> ee) B(V -> 3 pi) / M_V^2; relative phase phi_phi - phi_omega = pi (the
   ideal-mixing quark-model sign, which SND's fits support). Final state: |eps . (p+ x p-)|^2
   summed over the transverse photon polarisations.
3. K+ K- and 4. K_S K_L: sigma = pi alpha^2 beta_K^3 / (3 s) |F_K(s)|^2 with the vector-meson
   dominance kaon form factors in the ground-state, SU(3) ideal-mixing limit of Bruch,
   Khodjamirian and Kuhn (Eur. Phys. J. C39 (2005) 41, hep-ph/0409080, eqs. for F_K+ and
   F_K0): F_K+- = 1/2 BW_rho + 1/6 BW_omega + c_phi BW_phi, F_K0 = -1/2 BW_rho + 1/6 BW_omega +
   c_phi BW_phi, with c_phi (1/3 in the SU(3) limit) fixed by the phi peak
   12 pi B(phi -> ee) B(phi -> K K) / M_phi^2 (so measured Coulomb/FSR effects at the peak are
   included). phi width energy dependent (P-wave K K partial widths, 3 pi constant).
   sin^2 theta about the beam axis.

5. 2 pi+ 2 pi- and 6. pi+ pi- 2 pi0: the bare cross sections measured by BaBar with ISR
   (arXiv:1201.5677 and arXiv:1709.01171, HEPData tables), interpolated; final states from an
   a1(1260) pi current and, for pi+ pi- 2 pi0, omega pi0 with its measured share
   (``gen.hadronization.four_pion``). The omega pi0 -> pi+ pi- pi0 pi0 events are part of
   channel 6 (no double counting with channel 2, which is gamma* -> omega/phi -> 3 pi only).
7. eta pi+ pi-: BaBar's measured cross section (arXiv:0704.0630), final state eta rho0 with the
   eta decayed downstream (``gen.hadronization.eta_pipi``).

Branching fractions from DECAY_BELLE2.DEC (omega: ee 7.28e-5, 3 pi 0.903; phi: ee 2.954e-4,
K+K- 0.4897, KS KL 0.3425, 3 pi 0.1532 = rho pi + non-resonant); masses and widths from
``particle``. Neglected (stated, not hidden): pi0 gamma and eta gamma (~0.5 nb x GeV^2 in the
integral of sigma ds, < 1 % of the tail), omega pi0 with omega -> pi0 gamma, K K pi, 5 and
6 pi (other than eta pi+ pi-) and the excited omega/phi states above 1.1 GeV (in the 3 pi and
K K channels): the model still undershoots R(s) between ~1.1 and 2 GeV (see
``gen.processes.qqbar``).
"""

from __future__ import annotations

import cmath
import functools
import math

import numpy as np

from gen.constants import ALPHA_EM, M_K, M_PI, M_PI0, mass_gev
from gen.hadronization.eta_pipi import eta_pipi_final_state1, sigma_etapipi1
from gen.hadronization.four_pion import four_pion_final_state1, sigma_4pi1
from gen.jit import kernel
from gen.kinematics import two_body_momentum1
from gen.phasespace import three_body1
from gen.radiation import fsr_k_factor1

#: channel ids (truth ``channel``); 0 = not exclusive (string event)
PIPI, PIPIPI0, KPKM, KSKL, FOURPI_C, FOURPI_N, ETAPIPI = 1, 2, 3, 4, 5, 6, 7
CHANNELS = {PIPI: "pi+ pi-", PIPIPI0: "pi+ pi- pi0", KPKM: "K+ K-", KSKL: "K_S0 K_L0",
            FOURPI_C: "2pi+ 2pi-", FOURPI_N: "pi+ pi- 2pi0", ETAPIPI: "eta pi+ pi-"}
N_CHANNELS = 7
MAX_EXCLUSIVE = 4  # hadrons per exclusive final state


def _width_gev(pdgid: int) -> float:
    """Total width (GeV) from ``particle`` (PDG; MeV there)."""
    from particle import Particle

    return float(Particle.from_pdgid(pdgid).width) * 1e-3


M_K0 = mass_gev(310)
#: CMD-2 GS fit (hep-ex/0112031): rho mass and width (GeV), rho' weight, omega mixing
M_RHO, G_RHO = 0.77609, 0.14446
BETA_RHOP = -0.0695
DELTA_RW = 1.57e-3 * cmath.exp(1j * math.radians(12.6))
M_OMEGA, G_OMEGA = mass_gev(223), _width_gev(223)  # PDG via particle (8.68 MeV)
M_PHI, G_PHI = mass_gev(333), _width_gev(333)  # PDG via particle (4.249 MeV)
M_RHOP, G_RHOP = mass_gev(100113), _width_gev(100113)  # PDG rho(1450) via particle (400 MeV)
#: lowest exclusive threshold (pi+ pi-)
S_THRESHOLD = 4.0 * M_PI * M_PI

# flat float64 parameter array of the kernels (filled by ``parameters()``)
(X_BEE_OM, X_B3_OM, X_BEE_PHI, X_B3_PHI, X_BKK_PHI, X_BK0_PHI, X_G3_OM, X_G3_PHI, X_CPHI_C,
 X_CPHI_0) = range(10)
N_X = 10
#: grid of the 3 pi phase-space integral W(s) (s in GeV^2)
W_S_LO = (2.0 * M_PI + M_PI0) ** 2
W_S_HI = 4.5
W_N = 400


@kernel
def _p_of(s: float, m: float) -> float:
    """Momentum of each of two mass-m particles in the frame of mass sqrt(s) (0 below)."""
    return 0.5 * math.sqrt(max(s - 4.0 * m * m, 0.0))


@kernel
def _gs_h(s: float, m: float) -> float:
    """GS function h(s) = (2/pi) p/sqrt(s) ln((sqrt(s) + 2p)/(2m)) (GS 1968, eq. for h)."""
    p = _p_of(s, m)
    rs = math.sqrt(s)
    return 2.0 / math.pi * p / rs * math.log((rs + 2.0 * p) / (2.0 * m))


@kernel
def _gs_dh(s: float, m: float) -> float:
    """dh/ds = h(s) [1/(8 p^2) - 1/(2 s)] + 1/(2 pi s) (GS 1968; tests check by differences)."""
    p2 = s / 4.0 - m * m
    return _gs_h(s, m) * (1.0 / (8.0 * p2) - 0.5 / s) + 0.5 / (math.pi * s)


@kernel
def bw_gs1(s: float, mv: float, gv: float, m: float) -> complex:
    """Gounaris-Sakurai Breit-Wigner (GS 1968), normalised to 1 at s = 0, P-wave width."""
    m2 = mv * mv
    pm = _p_of(m2, m)
    p = _p_of(s, m)
    rs = math.sqrt(s)
    gam = gv * (p / pm) ** 3 * mv / rs
    f = gv * m2 / pm**3 * (p * p * (_gs_h(s, m) - _gs_h(m2, m))
                           + (m2 - s) * pm * pm * _gs_dh(m2, m))
    d = (3.0 / math.pi * m * m / (pm * pm) * math.log((mv + 2.0 * pm) / (2.0 * m))
         + mv / (2.0 * math.pi * pm) - m * m * mv / (math.pi * pm**3))
    return m2 * (1.0 + d * gv / mv) / complex(m2 - s + f, -rs * gam)


@kernel
def bw1(s: float, mv: float, gam: float) -> complex:
    """Relativistic Breit-Wigner M^2 / (M^2 - s - i sqrt(s) Gamma), = 1 at s = 0."""
    return mv * mv / complex(mv * mv - s, -math.sqrt(s) * gam)


@kernel
def pion_form_factor1(s: float) -> complex:
    """F_pi(s), GS with rho-omega mixing and rho' (CMD-2 form and fit, hep-ex/0112031)."""
    rho = bw_gs1(s, M_RHO, G_RHO, M_PI)
    om = bw1(s, M_OMEGA, G_OMEGA)
    rhop = bw_gs1(s, M_RHOP, G_RHOP, M_PI)
    return (rho * (1.0 + DELTA_RW * s / (M_OMEGA * M_OMEGA) * om) + BETA_RHOP * rhop) / (
        1.0 + BETA_RHOP)


@kernel
def _point_sigma(s: float) -> float:
    """pi alpha^2 / (3 s): sigma(e+e- -> pi+ pi-) = this x beta^3 |F|^2 (GeV^-2)."""
    return math.pi * ALPHA_EM * ALPHA_EM / (3.0 * s)


@kernel
def sigma_pipi1(s: float) -> float:
    """Bare sigma(e+e- -> pi+ pi- (gamma)) in GeV^-2 (FSR included inclusively)."""
    if s <= S_THRESHOLD:
        return 0.0
    b = math.sqrt(1.0 - S_THRESHOLD / s)
    f = pion_form_factor1(s)
    return _point_sigma(s) * b**3 * (f.real**2 + f.imag**2) * fsr_k_factor1(b)


@kernel
def _phi_width1(s: float, x) -> float:
    """phi width with P-wave K+K- and K0 K0bar partial widths (GS-like s dependence)."""
    m2 = M_PHI * M_PHI
    g = 1.0 - x[X_BKK_PHI] - x[X_BK0_PHI]
    for bf, m in ((x[X_BKK_PHI], M_K), (x[X_BK0_PHI], M_K0)):
        pm = _p_of(m2, m)
        g += bf * (_p_of(s, m) / pm) ** 3 * M_PHI / math.sqrt(s)
    return G_PHI * g


@kernel
def kaon_form_factor1(s: float, neutral: bool, x) -> complex:
    """VMD kaon form factor (BKK hep-ph/0409080, ground states, SU(3) weights)."""
    sign = -1.0 if neutral else 1.0
    c_phi = x[X_CPHI_0] if neutral else x[X_CPHI_C]
    return (sign * 0.5 * bw1(s, M_RHO, G_RHO) + bw1(s, M_OMEGA, G_OMEGA) / 6.0
            + c_phi * M_PHI * M_PHI / complex(M_PHI * M_PHI - s, -math.sqrt(s) * _phi_width1(s, x)))


@kernel
def sigma_kk1(s: float, neutral: bool, x) -> float:
    """Bare sigma(e+e- -> K+ K-) or (K_S K_L) in GeV^-2."""
    m = M_K0 if neutral else M_K
    if s <= 4.0 * m * m:
        return 0.0
    b = math.sqrt(1.0 - 4.0 * m * m / s)
    f = kaon_form_factor1(s, neutral, x)
    return _point_sigma(s) * b**3 * (f.real**2 + f.imag**2)


@kernel
def _w3pi1(s: float, wgrid) -> float:
    """3 pi phase-space integral W(s) (GSW matrix element), linear in the table, 0 below."""
    if s <= W_S_LO:
        return 0.0
    t = (s - W_S_LO) / (W_S_HI - W_S_LO) * (W_N - 1)
    i = min(int(t), W_N - 2)
    f = t - i
    return wgrid[i] * (1.0 - f) + wgrid[i + 1] * f


@kernel
def sigma_3pi1(s: float, x, wgrid) -> float:
    """Bare sigma(e+e- -> pi+ pi- pi0) in GeV^-2: coherent omega + phi (SND form)."""
    w = _w3pi1(s, wgrid)
    if w <= 0.0:
        return 0.0
    rs = math.sqrt(s)
    a_om = x[X_G3_OM] * M_OMEGA * G_OMEGA / complex(M_OMEGA * M_OMEGA - s, -rs * G_OMEGA)
    a_phi = -x[X_G3_PHI] * M_PHI * G_PHI / complex(M_PHI * M_PHI - s, -rs * _phi_width1(s, x))
    a = a_om + a_phi
    return w / (s * rs) * (a.real**2 + a.imag**2)


@kernel
def channel_sigmas1(s: float, x, wgrid, out) -> float:
    """Fill ``out[0..N_CHANNELS-1]`` with the bare channel cross sections (GeV^-2) and return
    their sum. A shorter ``out`` (callers written for fewer channels) gets the first entries
    only; the sum always covers every channel."""
    sig = (sigma_pipi1(s), sigma_3pi1(s, x, wgrid), sigma_kk1(s, False, x),
           sigma_kk1(s, True, x), sigma_4pi1(s, True), sigma_4pi1(s, False),
           sigma_etapipi1(s))
    tot = 0.0
    for i in range(N_CHANNELS):
        if i < out.shape[0]:
            out[i] = sig[i]
        tot += sig[i]
    return tot


def _gsw_integral(s: float, n: int = 48) -> float:
    """W(s) = int dm_+0^2 dm_-0^2 |p+ x p-|^2 (Dalitz plot, gamma* rest frame), Gauss-Legendre."""
    m, m0 = M_PI, M_PI0
    rs = math.sqrt(s)
    if rs <= 2 * m + m0:
        return 0.0
    xg, wg = np.polynomial.legendre.leggauss(n)
    lo, hi = (m + m0) ** 2, (rs - m) ** 2
    a = 0.5 * (hi - lo) * xg + 0.5 * (hi + lo)  # m_{+0}^2
    wa = 0.5 * (hi - lo) * wg
    # m_{-0}^2 range at fixed m_{+0}^2 (PDG RPP kinematics, Dalitz-plot limits)
    e2 = (a - m * m + m0 * m0) / (2 * np.sqrt(a))  # pi0 energy in the (+0) frame
    e3 = (s - a - m * m) / (2 * np.sqrt(a))  # pi- energy in the (+0) frame
    p2 = np.sqrt(np.maximum(e2**2 - m0**2, 0))
    p3 = np.sqrt(np.maximum(e3**2 - m**2, 0))
    bmin = (e2 + e3) ** 2 - (p2 + p3) ** 2
    bmax = (e2 + e3) ** 2 - (p2 - p3) ** 2
    b = 0.5 * (bmax - bmin)[:, None] * xg[None, :] + 0.5 * (bmax + bmin)[:, None]
    wb = 0.5 * (bmax - bmin)[:, None] * wg[None, :]
    # pion energies in the gamma* frame from the invariants: E_i = (s + m_i^2 - m_jk^2)/(2 rs)
    ep = (s + m * m - b) / (2 * rs)  # pi+ recoils against (- 0)
    em = (s + m * m - a[:, None]) / (2 * rs)  # pi- recoils against (+ 0)
    pp2 = np.maximum(ep**2 - m * m, 0)
    pm2 = np.maximum(em**2 - m * m, 0)
    # m_{+-}^2 = s + 2 m^2 + m0^2 - m_{+0}^2 - m_{-0}^2
    m_pm2 = s + 2 * m * m + m0 * m0 - a[:, None] - b
    dot = ep * em - 0.5 * (m_pm2 - 2 * m * m)  # p+ . p- (3-vectors)
    cross2 = np.maximum(pp2 * pm2 - dot**2, 0)
    return float((wa[:, None] * wb * cross2).sum())


def _dec_modes(names: tuple[str, ...]) -> dict[str, list[dict]]:
    """{name: [{'bf', 'fs', ...}]} of the ``Decay name`` blocks of DECAY_BELLE2.DEC, parsed on
    their own (decaylanguage ``DecFileParser.from_string``: ~0.1 s instead of ~2 s for the file)."""
    import decaylanguage
    from decaylanguage import DecFileParser

    path = decaylanguage.data.basepath / "DECAY_BELLE2.DEC"
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    blocks = []
    for name in names:
        i = next(i for i, s in enumerate(lines) if s.split("#")[0].split() == ["Decay", name])
        j = next(j for j in range(i, len(lines))
                 if lines[j].split("#")[0].strip().startswith("Enddecay"))
        blocks.append("\n".join(lines[i:j + 1]))
    parser = DecFileParser.from_string("\n".join(blocks) + "\nEnd\n")
    parser.parse()
    out = {}
    for name in names:
        stable = sorted({d for fs in parser.list_decay_modes(name) for d in fs})
        out[name] = parser.build_decay_chains(name, stable_particles=stable)[name]
    return out


@functools.lru_cache(maxsize=1)
def tables() -> tuple[np.ndarray, np.ndarray]:
    """(x, wgrid): branching fractions and couplings, and the W(s) table (module docstring)."""
    modes = _dec_modes(("omega", "phi"))

    def bf(name: str, fs: list[list[str]]) -> float:
        want = [sorted(f) for f in fs]
        return sum(m["bf"] for m in modes[name] if sorted(m["fs"]) in want)

    x = np.zeros(N_X)
    x[X_BEE_OM] = bf("omega", [["e+", "e-"]])
    x[X_B3_OM] = bf("omega", [["pi+", "pi-", "pi0"]])
    x[X_BEE_PHI] = bf("phi", [["e+", "e-"]])
    x[X_B3_PHI] = bf("phi", [["pi+", "pi-", "pi0"], ["rho+", "pi-"], ["rho0", "pi0"],
                             ["rho-", "pi+"]])
    x[X_BKK_PHI] = bf("phi", [["K+", "K-"]])
    x[X_BK0_PHI] = bf("phi", [["K_L0", "K_S0"]])
    s_grid = np.linspace(W_S_LO, W_S_HI, W_N)
    wgrid = np.array([_gsw_integral(float(s)) for s in s_grid])
    # peak normalisations: sigma_V(M^2) = 12 pi B_ee B_f / M^2 (narrow-resonance peak, PDG RPP
    # "Resonances" review, Breit-Wigner at the pole with J = 1 from e+e-)
    for xg, m, bee, bfin in ((X_G3_OM, M_OMEGA, X_BEE_OM, X_B3_OM),
                             (X_G3_PHI, M_PHI, X_BEE_PHI, X_B3_PHI)):
        # W at the pole as the kernels see it: linear in the table
        w = float(np.interp(m * m, s_grid, wgrid))
        x[xg] = math.sqrt(12.0 * math.pi * x[bee] * x[bfin] * m / w)
    for xc, mk, bk in ((X_CPHI_C, M_K, X_BKK_PHI), (X_CPHI_0, M_K0, X_BK0_PHI)):
        peak = 12.0 * math.pi * x[X_BEE_PHI] * x[bk] / M_PHI**2
        b3 = (1.0 - 4.0 * mk * mk / M_PHI**2) ** 1.5
        x[xc] = math.sqrt(peak / (math.pi * ALPHA_EM**2 / (3.0 * M_PHI**2) * b3)) * G_PHI / M_PHI
    return x, wgrid


# ---------------------------------------------------------------------------------------------
# final states (gamma* rest frame, z = beam axis)

@kernel
def _sin2_direction(rng):
    """(sin, cos, phi) of a direction distributed as sin^2 theta."""
    while True:
        c = 2.0 * rng.random() - 1.0
        if rng.random() < 1.0 - c * c:
            break
    return math.sqrt(max(1.0 - c * c, 0.0)), c, 2.0 * math.pi * rng.random()


@kernel
def _two_body_sin2(rng, rs, m1, m2, out, r0):
    sn, c, phi = _sin2_direction(rng)
    p = two_body_momentum1(rs, m1, m2)
    ux, uy, uz = sn * math.cos(phi), sn * math.sin(phi), c
    out[r0, 0], out[r0, 1], out[r0, 2] = p * ux, p * uy, p * uz
    out[r0, 3] = math.sqrt(p * p + m1 * m1)
    out[r0 + 1, 0], out[r0 + 1, 1], out[r0 + 1, 2] = -p * ux, -p * uy, -p * uz
    out[r0 + 1, 3] = math.sqrt(p * p + m2 * m2)


@kernel
def exclusive_final_state1(rng, s: float, channel: int, out_pdg, out_p) -> int:
    """Hadrons of ``channel`` at gamma* mass^2 ``s`` (rest frame, z = beam axis): rows 0.. of
    ``out_pdg``/``out_p``; returns their number (0 if the channel is closed)."""
    rs = math.sqrt(s)
    if channel == PIPI:
        if rs <= 2.0 * M_PI:
            return 0
        out_pdg[0], out_pdg[1] = 211, -211
        _two_body_sin2(rng, rs, M_PI, M_PI, out_p, 0)
        return 2
    if channel in (KPKM, KSKL):
        m = M_K if channel == KPKM else M_K0
        if rs <= 2.0 * m:
            return 0
        if channel == KPKM:
            out_pdg[0], out_pdg[1] = 321, -321
        else:
            # K_S / K_L order at random (charge-conjugation symmetric)
            k = rng.random() < 0.5
            out_pdg[0], out_pdg[1] = (310, 130) if k else (130, 310)
        _two_body_sin2(rng, rs, m, m, out_p, 0)
        return 2
    if channel == PIPIPI0:
        if rs <= 2.0 * M_PI + M_PI0:
            return 0
        out_pdg[0], out_pdg[1], out_pdg[2] = 211, -211, 111
        # envelope: GENBOD weight q* p* <= q*(m12 max) p*(m12 min); |p+ x p-|_T^2 <= p_max^4
        pmax = two_body_momentum1(rs, M_PI, M_PI + M_PI0)
        wmax = (two_body_momentum1(rs - M_PI0, M_PI, M_PI)
                * two_body_momentum1(rs, 2.0 * M_PI, M_PI0))
        while True:
            w = three_body1(rng, rs, M_PI, M_PI, M_PI0, out_p, 0)
            cx = out_p[0, 1] * out_p[1, 2] - out_p[0, 2] * out_p[1, 1]
            cy = out_p[0, 2] * out_p[1, 0] - out_p[0, 0] * out_p[1, 2]
            # sum over transverse photon polarisations: |(p+ x p-)_perp|^2
            me = cx * cx + cy * cy
            if rng.random() * wmax * pmax**4 < w * me:
                return 3
    if channel in (FOURPI_C, FOURPI_N):
        return four_pion_final_state1(rng, s, channel == FOURPI_C, out_pdg, out_p)
    if channel == ETAPIPI:
        return eta_pipi_final_state1(rng, s, out_pdg, out_p)
    return 0
