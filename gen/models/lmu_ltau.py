"""The L_mu - L_tau gauge boson Z': partial widths, branching fractions, lifetime, (g-2)_mu.

Model (He, Joshi, Lew, Volkas, Phys. Rev. D 43 (1991) R22 and D 44 (1991) 2118; Altmannshofer,
Gori, Pospelov, Yavin, arXiv:1406.2332): a U(1) gauge boson Z' of mass M coupled with strength g'
to the current L_mu - L_tau,

    L = g' Z'_alpha (mu-bar gamma^alpha mu - tau-bar gamma^alpha tau
                     + nu-bar_mu gamma^alpha P_L nu_mu - nu-bar_tau gamma^alpha P_L nu_tau),

i.e. a vector coupling to mu and tau and a left-handed coupling to nu_mu and nu_tau. The
loop-induced kinetic mixing with the photon (eps ~ g'/70) is neglected: the Z' has no tree-level
coupling to electrons. An optional Dirac dark-matter fermion chi of mass ``m_chi`` and vector
coupling ``g_chi`` adds the channel Z' -> chi chi-bar. The "fully invisible" scenario of the
Belle II search (arXiv:1912.11276) is ``fully_invisible=True``: B(Z' -> invisible) = 1, as for
g_chi >> g'.

Widths: a vector boson coupled through g V-bar gamma^alpha f to a fermion of mass m_f decays with
Gamma = g^2 M/(12 pi) (1 + 2 m_f^2/M^2) sqrt(1 - 4 m_f^2/M^2); a purely left-handed coupling to a
massless neutrino halves it, Gamma(Z' -> nu nu-bar) = g^2 M/(24 pi) per flavour (Bauer, Foldenauer,
Jaeckel, "Hunting all the hidden photons", arXiv:1803.05466, sec. 2; re-derived for this module:
sum over spins and polarizations of |g u-bar gamma^a v eps_a|^2 = 4 g^2 (M^2 + 2 m_f^2),
averaged over 3 polarizations, times the two-body phase space beta/(8 pi)).

Functions accept floats or numpy arrays (``mass``, ``g_prime``), return floats or arrays, and
raise ``ValueError`` for negative masses or couplings.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import quad

from gen.constants import HBARC_GEV_CM, M_MU, M_TAU

ArrayLike = float | np.ndarray

#: Delta a_mu = a_mu(exp) - a_mu(SM) = (251 +- 59) x 10^-11: FNAL Run-1 + BNL average against the
#: 2020 Theory-Initiative SM value (Muon g-2 Collaboration, arXiv:2104.03281, abstract).
DELTA_A_MU = 251.0e-11
DELTA_A_MU_ERR = 59.0e-11

#: channels of ``branching_fractions``; "nunu" is nu_mu nu_mu-bar + nu_tau nu_tau-bar together.
CHANNELS = ("mumu", "tautau", "nunu", "chichi")
#: channels that leave the detector unseen
INVISIBLE_CHANNELS = ("nunu", "chichi")


def _check_nonneg(name: str, value: ArrayLike) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0.0):
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return arr


def _check_mass(mass: ArrayLike) -> np.ndarray:
    arr = np.asarray(mass, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0.0):
        raise ValueError(f"mass must be finite and > 0 (GeV), got {mass!r}")
    return arr


def _out(x: np.ndarray) -> ArrayLike:
    return float(x) if np.ndim(x) == 0 else x


def _vector_width(coupling: np.ndarray, mass: np.ndarray, m_f: float) -> np.ndarray:
    """g^2 M/(12 pi) (1 + 2 r) sqrt(1 - 4 r), r = m_f^2/M^2; zero below threshold.

    arXiv:1803.05466 sec. 2 (vector coupling, one Dirac fermion).
    """
    r = (m_f / mass) ** 2
    beta = np.sqrt(np.clip(1.0 - 4.0 * r, 0.0, None))
    return coupling**2 * mass / (12.0 * math.pi) * (1.0 + 2.0 * r) * beta


def partial_width_ll(mass: ArrayLike, g_prime: ArrayLike, m_lepton: float) -> ArrayLike:
    """Gamma(Z' -> l+ l-) in GeV for a charged lepton of mass ``m_lepton`` (GeV).

    Gamma = g'^2 M/(12 pi) (1 + 2 m_l^2/M^2) sqrt(1 - 4 m_l^2/M^2); 0 for M <= 2 m_l
    (arXiv:1803.05466 sec. 2).
    """
    mass_a = _check_mass(mass)
    g = _check_nonneg("g_prime", g_prime)
    _check_nonneg("m_lepton", m_lepton)
    return _out(_vector_width(g, mass_a, float(m_lepton)))


def partial_width_nunu(mass: ArrayLike, g_prime: ArrayLike) -> ArrayLike:
    """Gamma(Z' -> nu nu-bar) in GeV for ONE neutrino flavour: g'^2 M/(24 pi).

    Left-handed coupling to a massless neutrino: half the vector width (arXiv:1803.05466 sec. 2).
    """
    mass_a = _check_mass(mass)
    g = _check_nonneg("g_prime", g_prime)
    return _out(g**2 * mass_a / (24.0 * math.pi))


def partial_widths(
    mass: ArrayLike, g_prime: ArrayLike, *, g_chi: float = 0.0, m_chi: float = 0.0
) -> dict[str, ArrayLike]:
    """Partial widths (GeV) per channel of ``CHANNELS``; "nunu" sums nu_mu and nu_tau.

    ``g_chi``, ``m_chi``: vector coupling and mass (GeV) of an optional Dirac dark-matter fermion
    (Gamma(Z' -> chi chi-bar) of the same form as the charged leptons).
    """
    mass_a = _check_mass(mass)
    g = _check_nonneg("g_prime", g_prime)
    gc = _check_nonneg("g_chi", g_chi)
    mc = _check_nonneg("m_chi", m_chi)
    return {
        "mumu": _out(_vector_width(g, mass_a, M_MU)),
        "tautau": _out(_vector_width(g, mass_a, M_TAU)),
        "nunu": _out(2.0 * g**2 * mass_a / (24.0 * math.pi)),
        "chichi": _out(_vector_width(gc, mass_a, float(mc))),
    }


def total_width(
    mass: ArrayLike, g_prime: ArrayLike, *, g_chi: float = 0.0, m_chi: float = 0.0
) -> ArrayLike:
    """Total width (GeV): sum of ``partial_widths``."""
    widths = partial_widths(mass, g_prime, g_chi=g_chi, m_chi=m_chi)
    return _out(sum(np.asarray(w) for w in widths.values()))


def branching_fractions(
    mass: ArrayLike,
    g_prime: ArrayLike = 1.0,
    *,
    g_chi: float = 0.0,
    m_chi: float = 0.0,
    fully_invisible: bool = False,
) -> dict[str, ArrayLike]:
    """Branching fractions per channel of ``CHANNELS`` (they sum to 1).

    Without dark matter they do not depend on g' (every width scales as g'^2). With
    ``fully_invisible`` the Z' decays only to dark matter: B(chichi) = 1, all others 0.
    """
    mass_a = _check_mass(mass)
    g = _check_nonneg("g_prime", g_prime)
    if fully_invisible:
        zero = np.zeros(np.broadcast(mass_a, g).shape)
        return {c: _out(zero + (1.0 if c == "chichi" else 0.0)) for c in CHANNELS}
    if np.any(g == 0.0) and g_chi == 0.0:
        raise ValueError("branching fractions need g_prime > 0 or g_chi > 0")
    parts = partial_widths(mass_a, g, g_chi=g_chi, m_chi=m_chi)
    widths = {c: np.asarray(w) for c, w in parts.items()}
    total = sum(widths.values())
    return {c: _out(w / total) for c, w in widths.items()}


def branching_invisible(
    mass: ArrayLike,
    g_prime: ArrayLike = 1.0,
    *,
    g_chi: float = 0.0,
    m_chi: float = 0.0,
    fully_invisible: bool = False,
) -> ArrayLike:
    """B(Z' -> invisible) = B(nu nu-bar) + B(chi chi-bar); 1 below the dimuon threshold."""
    br = branching_fractions(
        mass, g_prime, g_chi=g_chi, m_chi=m_chi, fully_invisible=fully_invisible
    )
    return _out(sum(np.asarray(br[c]) for c in INVISIBLE_CHANNELS))


def ctau_cm(
    mass: ArrayLike, g_prime: ArrayLike, *, g_chi: float = 0.0, m_chi: float = 0.0
) -> ArrayLike:
    """Proper decay length c*tau = hbar c / Gamma_total in cm (PDG 2024, Physical constants)."""
    if np.any(np.asarray(g_prime, dtype=float) == 0.0) and g_chi == 0.0:
        raise ValueError("ctau_cm needs g_prime > 0 or g_chi > 0 (the width is zero)")
    return _out(HBARC_GEV_CM / np.asarray(total_width(mass, g_prime, g_chi=g_chi, m_chi=m_chi)))


def _gm2_integral(mass: float) -> float:
    """I(M) = int_0^1 dz 2 m^2 z (1-z)^2 / (m^2 (1-z)^2 + M^2 z); I -> 1 for M -> 0."""
    m2, big2 = M_MU * M_MU, mass * mass

    def integrand(z: float) -> float:
        return 2.0 * m2 * z * (1.0 - z) ** 2 / (m2 * (1.0 - z) ** 2 + big2 * z)

    # for M >> m the integrand is concentrated at z < m^2/M^2: tell quad where
    peak = min(max(m2 / big2, 1e-12), 0.5)
    value, _ = quad(integrand, 0.0, 1.0, points=[peak], epsabs=0.0, epsrel=1e-10, limit=200)
    return value


def delta_a_mu(mass: ArrayLike, g_prime: ArrayLike) -> ArrayLike:
    """One-loop Z' contribution to the muon anomalous magnetic moment.

    Delta a_mu = g'^2/(8 pi^2) int_0^1 dz 2 m^2 z (1-z)^2 / (m^2 (1-z)^2 + M^2 z)
    (Pospelov arXiv:0811.1030, one-loop vector contribution with alpha' = g'^2/(4 pi);
    Jegerlehner-Nyffeler arXiv:0902.3360, sec. 7). NB: the prefactor is g'^2/(8 pi^2) with the
    factor 2 inside the integral (equivalently g'^2/(4 pi^2) without it). Limits: g'^2/(8 pi^2)
    (Schwinger's alpha'/(2 pi)) for M -> 0 and g'^2 m^2/(12 pi^2 M^2) for M >> m_mu.
    """
    mass_a = _check_mass(mass)
    g = _check_nonneg("g_prime", g_prime)
    integral = np.vectorize(_gm2_integral, otypes=[float])(mass_a)
    return _out(g**2 / (8.0 * math.pi**2) * integral)


def g_prime_gm2_band(mass: ArrayLike, n_sigma: float = 2.0) -> tuple[ArrayLike, ArrayLike]:
    """(g'_low, g'_high) for which Delta a_mu lies within DELTA_A_MU +- n_sigma DELTA_A_MU_ERR.

    Delta a_mu is proportional to g'^2, so g' = sqrt(Delta a_mu / delta_a_mu(M, 1)). If the lower
    edge of the band is negative (n_sigma > 4.25) g'_low is 0.
    """
    if not math.isfinite(n_sigma) or n_sigma < 0.0:
        raise ValueError(f"n_sigma must be finite and >= 0, got {n_sigma!r}")
    unit = np.asarray(delta_a_mu(mass, 1.0))
    low = max(DELTA_A_MU - n_sigma * DELTA_A_MU_ERR, 0.0)
    high = DELTA_A_MU + n_sigma * DELTA_A_MU_ERR
    return _out(np.sqrt(low / unit)), _out(np.sqrt(high / unit))
