"""Validation of gen.processes.four_lepton cross sections against reference numbers.

References: Belle II Physics Book (E. Kou et al., PTEP 2019 123C01, arXiv:1808.10567), table of
cross sections at sqrt(s) = 10.58 GeV: sigma(e+e- -> e+e-e+e-) = 39.7 nb and
sigma(e+e- -> e+e-mu+mu-) = 18.9 nb, both for W_ll > 0.5 GeV (AAFH generator, Berends,
Daverveldt, Kleiss, Comput. Phys. Commun. 40 (1986) 285). Target: within 5 %, plus three MC
standard errors. The equivalent-photon generator (gen.processes.eemumu) must agree with the
exact e+e-mu+mu- inside its own stated uncertainty band (virtuality cut-off 1/4 ... 4).

Default size is small (CI); B2DARK_VALIDATION_SCALE=N multiplies it (e.g. 30).
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from gen.beams import Beams
from gen.cards import parse_table
from gen.processes.eemumu import EEMuMu
from gen.processes.four_lepton import FourLepton

#: B2DARK_VALIDATION_SCALE multiplies the default size (as in every validation test)
TRIALS = 60000 * int(os.environ.get("B2DARK_VALIDATION_SCALE", "1"))

pytestmark = pytest.mark.validation


def _sigma(final_state: str, seed: int, **params) -> tuple[float, float]:
    proc = FourLepton(parse_table({"final_state": final_state, "w_min_gev": 0.5, **params},
                                  FourLepton.params, "process"),
                      parse_table({}, FourLepton.cuts, "cuts"), Beams())
    proc.validate("validation")
    proc.prepare(np.random.default_rng(seed), 20_000)
    w = proc.trial_weights(np.random.default_rng(seed + 1), TRIALS)
    return float(w.mean()), float(w.std() / math.sqrt(w.size))


@pytest.mark.parametrize(("final_state", "ref_pb"), [("eemumu", 18.9e3), ("eeee", 39.7e3)])
def test_physics_book_cross_sections(final_state, ref_pb):
    mean, err = _sigma(final_state, 31)
    assert abs(mean - ref_pb) < 0.05 * ref_pb + 3.0 * err, (mean, err, ref_pb)


def test_equivalent_photon_band_contains_exact_eemumu():
    # EPA (gen.processes.eemumu) in its regime of validity: no angular cuts, W > 0.5 GeV; its
    # Q^2 cut-off varied by 4 spans its uncertainty (module docstring there)
    exact, err = _sigma("eemumu", 41)
    band = []
    for scale in (0.25, 4.0):
        proc = EEMuMu(parse_table({"w_min_gev": 0.5, "q2_max_scale": scale}, EEMuMu.params,
                                  "process"),
                      parse_table({"mu_theta_min_deg": 0.0, "mu_theta_max_deg": 180.0},
                                  EEMuMu.cuts, "cuts"),
                      Beams(spread_her_gev=0.0, spread_ler_gev=0.0))
        w = proc.trial_weights(np.random.default_rng(43), 200_000)
        band.append((float(w.mean()), float(w.std() / math.sqrt(w.size))))
    lo = band[0][0] - 3.0 * band[0][1] - 3.0 * err
    hi = band[1][0] + 3.0 * band[1][1] + 3.0 * err
    assert lo < exact < hi, (exact, band)


#: muon-pair generator-level cuts of cards/samples/eemumu.toml (the invisible-Z' search region)
SEARCH_CUTS = {"mu_theta_min_deg": 10.0, "mu_theta_max_deg": 170.0, "mu_p_min_gev": 0.6,
               "pmiss_cm_min_gev": 0.3, "pmiss_theta_min_deg": 20.0, "pmiss_theta_max_deg": 145.0}


def test_equivalent_photon_band_contains_exact_eemumu_in_search_region():
    # the same comparison inside the search region (electrons in the beam pipe, Q^2 up to
    # ~1 GeV^2, W_mumu ~ 0.4-1.5 GeV: where the EPA cut-off matters most), both with the
    # W_mumu threshold 0.212 GeV (four_lepton applies it also to m_ee)
    proc = FourLepton(parse_table({"final_state": "eemumu", "w_min_gev": 0.212},
                                  FourLepton.params, "process"),
                      parse_table(SEARCH_CUTS, FourLepton.cuts, "cuts"), Beams())
    proc.validate("validation")
    proc.prepare(np.random.default_rng(51), 100_000)
    w = proc.trial_weights(np.random.default_rng(52), 2 * TRIALS)
    exact, err = float(w.mean()), float(w.std() / math.sqrt(w.size))
    band = []
    for scale in (0.25, 4.0):
        epa = EEMuMu(parse_table({"q2_max_scale": scale}, EEMuMu.params, "process"),
                     parse_table(SEARCH_CUTS, EEMuMu.cuts, "cuts"), Beams())
        epa.validate("validation")
        epa.prepare(np.random.default_rng(53), 100_000)
        we = epa.trial_weights(np.random.default_rng(54), 2 * TRIALS)
        band.append((float(we.mean()), float(we.std() / math.sqrt(we.size))))
    lo = band[0][0] - 3.0 * band[0][1] - 3.0 * err
    hi = band[1][0] + 3.0 * band[1][1] + 3.0 * err
    assert lo < exact < hi, (exact, err, band)
