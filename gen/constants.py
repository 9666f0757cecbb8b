"""Physical constants and Standard-Model masses in GeV, converted once at the boundary.

Masses and lifetimes come from ``particle`` (PDG tables, MeV and ns); couplings and conversion
factors from the PDG Review of Particle Physics, "Physical constants" table (2024).
"""

from __future__ import annotations

from importlib.metadata import version

from gen.diskcache import cached_json

_MEV = 1.0e-3

#: Fine-structure constant at q^2 = 0 (PDG 2024, Physical constants).
ALPHA_EM = 1.0 / 137.035999084
#: (hbar c)^2 in GeV^2 pb: converts a cross section in GeV^-2 to pb (PDG 2024, Physical constants).
GEV2_TO_PB = 0.3893793721e9
#: hbar c in GeV cm (PDG 2024): converts widths to lengths, c*tau = hbar c / Gamma.
HBARC_GEV_CM = 1.973269804e-14
#: speed of light in cm/ns.
C_CM_PER_NS = 29.9792458


def mass_gev(pdgid: int) -> float:
    """PDG mass of ``pdgid`` in GeV, from ``particle``."""
    from particle import Particle  # its PDG table takes ~0.15 s to load: only when needed

    return Particle.from_pdgid(pdgid).mass * _MEV


def _core_masses() -> dict[str, float]:
    # kept in the on-disk cache (gen.diskcache), keyed by the particle version
    ids = (11, 13, 15, 211, 111, 321)
    key = {"particle": version("particle"), "ids": list(ids)}
    return cached_json("pdg-masses-gev", key, lambda: {str(i): mass_gev(i) for i in ids})


_M = _core_masses()
M_E = _M["11"]
M_MU = _M["13"]
M_TAU = _M["15"]
M_PI = _M["211"]
M_PI0 = _M["111"]
M_K = _M["321"]

# PDG ids of the Standard-Model particles used by name in the code.
ELECTRON, MUON, TAU = 11, 13, 15
NU_E, NU_MU, NU_TAU = 12, 14, 16
PHOTON = 22
PI_PLUS, PI_ZERO, K_PLUS = 211, 111, 321
