"""Generator-level cuts shared by processes: the calorimeter photon veto.

An event with a photon above ``photon_veto_e_gev`` inside the ECL (12.4-155.1 deg without the
barrel-endcap gaps 31.4-32.2 and 128.7-130.7 deg, detector/config.py after the basf2 ECL
geometry) always fails a selection that vetoes calorimeter clusters above 0.1 GeV, because the
parametrized ECL finds every photon there. Default margins of 1.3 deg are ~2 sigma of the cluster
polar-angle resolution at 0.12 GeV (3 (+) 4/sqrt(E) mrad, detector/config.py), and 0.12 GeV is
> 5 sigma of the energy resolution above 0.1 GeV. The veto is valid only for detector cards with
full photon efficiency inside these edges (the search enforces it: ``analysis.gencut_check``); it
is off unless a card sets ``photon_veto_e_gev``.
"""

from __future__ import annotations

import math

import numpy as np

from gen.cards import Param, check
from gen.jit import kernel

MAX_VETO_GAPS = 4

PHOTON_VETO_CUTS: dict[str, Param] = {
    "photon_veto_e_gev": Param(
        float, 0.0, "reject events with a lab photon above this energy (GeV) inside the veto "
        "window; 0 = off. Search cards vetoing clusters > 0.1 GeV may use 0.12",
        minimum=0.0,
    ),
    "photon_veto_theta_min_deg": Param(
        float, 13.7, "lower lab polar angle of the photon-veto window (deg)", minimum=0.0,
        maximum=180.0,
    ),
    "photon_veto_theta_max_deg": Param(
        float, 153.8, "upper lab polar angle of the photon-veto window (deg)", minimum=0.0,
        maximum=180.0,
    ),
    "photon_veto_gaps_deg": Param(
        list, [[30.1, 33.5], [127.4, 132.0]],
        "[lo, hi] lab polar-angle ranges (deg) inside the window where photons are NOT vetoed "
        "(the ECL gaps with margins); at most 4",
    ),
}


def validate_photon_veto(cuts: dict, where: str, prefix: str = "photon_veto") -> None:
    """Cross-key checks of the veto cuts ``<prefix>_gaps_deg`` and ``<prefix>_theta_min/max_deg``
    (photon veto; eemumu's e+- veto has the same keys with prefix ``e_veto``); CardError names
    ``where``."""
    gaps = cuts[f"{prefix}_gaps_deg"]
    check(
        len(gaps) <= MAX_VETO_GAPS
        and all(
            isinstance(g, list)
            and len(g) == 2
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in g)
            and 0.0 <= g[0] < g[1] <= 180.0
            for g in gaps
        ),
        f"{where}: cuts.{prefix}_gaps_deg must be a list of at most {MAX_VETO_GAPS} "
        "[lo, hi] pairs with 0 <= lo < hi <= 180 (deg)",
    )
    check(
        cuts[f"{prefix}_theta_min_deg"] < cuts[f"{prefix}_theta_max_deg"],
        f"{where}: cuts.{prefix}_theta_min_deg must be below cuts.{prefix}_theta_max_deg",
    )


def photon_veto_array(cuts: dict) -> np.ndarray:
    """Flat kernel parameters: (e_min, cos_lo, cos_hi, n_gaps, then (cos_lo, cos_hi) per gap)."""
    out = np.zeros(4 + 2 * MAX_VETO_GAPS)
    out[0] = cuts["photon_veto_e_gev"]
    out[1] = math.cos(math.radians(cuts["photon_veto_theta_max_deg"]))
    out[2] = math.cos(math.radians(cuts["photon_veto_theta_min_deg"]))
    gaps = cuts["photon_veto_gaps_deg"]
    out[3] = len(gaps)
    for i, (lo, hi) in enumerate(gaps):
        out[4 + 2 * i] = math.cos(math.radians(hi))
        out[5 + 2 * i] = math.cos(math.radians(lo))
    return out


@kernel
def photon_vetoed1(veto, px: float, py: float, pz: float, e: float) -> bool:
    """True if a photon with lab four-momentum (px, py, pz, e) falls in the veto."""
    if veto[0] <= 0.0 or e < veto[0]:
        return False
    c = pz / math.sqrt(px * px + py * py + pz * pz)
    if not veto[1] <= c <= veto[2]:
        return False
    for g in range(int(veto[3])):  # noqa: SIM110 - a plain loop for numba
        if veto[4 + 2 * g] <= c <= veto[5 + 2 * g]:
            return False
    return True
