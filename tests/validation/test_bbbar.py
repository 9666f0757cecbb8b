"""Validation of e+e- -> Upsilon(4S) -> B Bbar against published inclusive B-decay numbers.

Reference: CLEO, "Charged track multiplicity in B meson decay", hep-ex/9907057 (Phys. Rev. D 61
(2000) 072002): mean charged multiplicity per B Bbar pair 10.71 +- 0.02 +0.21 -0.15; 7.82 +-
0.05 +0.21 -0.19 when both B decay semileptonically. Charged particles = status-1 e, mu, pi,
K, p including the daughters of K_S0 and Lambda decays. Tolerance: 2 x (stat (+) larger syst
(+) MC stat) (3 x before the quark-level modes were hadronised: <n_ch> was then 10.23).

The semileptonic fraction per B is compared with the DEC-file inclusive value it must
reproduce: sum over the B0 / B+ blocks of the BFs of modes with a direct e or mu (the
quark-level PYTHIA modes, ~49 % / 44 %, are all hadronic and are hadronised by
gen/decays/quark_modes.py with their DEC BFs).

Default size 4000 events (~2 s after JIT); B2DARK_VALIDATION_SCALE=N multiplies it.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from gen.beams import Beams
from gen.decays import generic
from gen.processes.bbbar import BBbar

#: B2DARK_VALIDATION_SCALE multiplies the default size (as in every validation test)
N_EVENTS = 4000 * int(os.environ.get("B2DARK_VALIDATION_SCALE", "1"))
CHARGED = [11, 13, 211, 321, 2212]


@pytest.fixture(scope="module")
def events():
    proc = BBbar({"mixing": True}, {}, Beams())
    proc.prepare(np.random.default_rng(0), 1000)
    chunk, _ = proc.generate(np.random.default_rng(2024), N_EVENTS)
    P = chunk.particles
    ev = np.repeat(np.arange(chunk.n_events), np.diff(chunk.offset))
    charged = (P["status"] == 1) & np.isin(np.abs(P["pdg"]), CHARGED)
    nch = np.bincount(ev, weights=charged, minlength=chunk.n_events)
    lep = np.isin(np.abs(P["pdg"]), [11, 13])
    sl = [np.bincount(ev, weights=lep & (P["mother"] == r), minlength=chunk.n_events) > 0
          for r in (1, 2)]
    return nch, sl[0], sl[1]


def _check(values, ref, stat, syst):
    mean = values.mean()
    err = math.sqrt(stat**2 + syst**2 + values.var() / values.size)
    assert abs(mean - ref) < 2 * err, (mean, ref, err)


@pytest.mark.validation
def test_mean_charged_multiplicity(events):
    nch, _, _ = events
    _check(nch, 10.71, 0.02, 0.21)


@pytest.mark.validation
def test_charged_multiplicity_both_semileptonic(events):
    nch, sl1, sl2 = events
    both = sl1 & sl2
    assert both.sum() > 50
    _check(nch[both], 7.82, 0.05, 0.21)


@pytest.mark.validation
def test_semileptonic_fraction_matches_dec_table(events):
    _, sl1, sl2 = events
    expect = []
    for pdg in (511, 521):
        modes = [m for m in generic.decay_modes() if m.mother == pdg]
        expect.append(sum(m.bf for m in modes if {11, 13} & {abs(d) for d in m.daughters}))
    lo, hi = min(expect), max(expect)
    frac = np.concatenate([sl1, sl2]).mean()
    err = math.sqrt(frac * (1 - frac) / (2 * sl1.size))
    assert lo - 4 * err < frac < hi + 4 * err, (frac, expect)
    # inclusive B -> X l nu, l = e or mu, is ~21 % (PDG RPP 2024: B(B -> X e nu) ~ 10.5 %)
    assert 0.17 < frac < 0.25
