"""gen.processes.tautau decides the hit on the production weight w0, before the decays.

Module docstring, "Hit before the decays": each trial counts c = w0 mu + H (X - mu) M in the
cross section (X = pass / (b- b+), M = max(w0, w_max), H the hit), unbiased for any constant
mu, and an event is accepted with probability pass min(w0 / w_max, 1), as by the full-weight
hit-or-miss. Both are checked against full trials (every trial decayed and cut: the pilot's
path, ``_tautau_weights``) on an independent stream, at fixed seeds with 4 sigma tolerances.
The tests have power: without the fail term (hits that fail the cuts counted as misses) the
cross section would move by mu <w0 fail> (w0 < w_max), required above 8 sigma here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from gen.beams import Beams
from gen.cards import parse_table
from gen.processes.tautau import TauTau, optimal_mu

#: the generator cuts of cards/samples/tautau.toml (the invisible-Z' search)
SEARCH_CUTS = {
    "min_charged": 2, "charged_theta_min_deg": 10.0, "charged_theta_max_deg": 170.0,
    "pmiss_cm_min_gev": 0.3, "pmiss_theta_min_deg": 20.0, "pmiss_theta_max_deg": 145.0,
    "charged_p_min_gev": 0.7, "max_charged": 3, "count_theta_min_deg": 18.0,
    "count_theta_max_deg": 148.0, "charged_pt_count_gev": 0.102,
    "count_vertex_r_max_cm": 60.0, "photon_veto_e_gev": 0.12,
}
#: the bias of the search card, plus a suppressed class (weights > 1)
BIAS = {"mu": 8.0, "pi": 3.0, "k": 3.0, "rho": 0.5, "multi_prong": 0.2}


def _make(cuts: dict, pilot_seed: int) -> TauTau:
    p = parse_table({"mode_bias": BIAS}, TauTau.params, "process")
    c = parse_table(cuts, TauTau.cuts, "cuts")
    proc = TauTau(p, c, Beams())  # ISR, FSR, beam spread: w0 varies from trial to trial
    proc.validate("test card")
    proc.prepare(np.random.default_rng(pilot_seed), 20_000)
    return proc


@pytest.mark.parametrize(
    ("cuts", "mu", "n_events", "seeds"),
    [
        (SEARCH_CUTS, None, 30_000, (41, 42, 43)),  # mu* of the pilot (~0.03)
        ({}, 1.0, 40_000, (51, 52, 53)),  # default cuts, mu = 1: cut_failed1's choice
    ],
    ids=["search-cuts-mu-star", "default-cuts-mu-1"],
)
def test_sigma_unbiased_and_acceptance_exact(cuts, mu, n_events, seeds):
    proc = _make(cuts, seeds[0])
    if mu is not None:
        proc.mu = mu  # any constant keeps the estimator unbiased
    chunk, st = proc.generate(np.random.default_rng(seeds[1]), n_events)
    assert chunk.n_events == n_events
    w0, w_hit, w_sig = proc._trials(np.random.default_rng(seeds[2]), 150_000)
    n_ref = w_sig.size
    sig_ref, err_ref = w_sig.mean(), w_sig.std() / math.sqrt(n_ref)
    err = math.hypot(st.cross_section_err_pb, err_ref)
    assert abs(st.cross_section_pb - sig_ref) < 4.0 * err, (st.cross_section_pb, sig_ref, err)
    # power: dropping the fail term would shift sigma by mu <w0 fail; w0 < w_max>
    fail = (w0 > 0.0) & (w_hit == 0.0) & (w0 < proc.w_max)
    shift = proc.mu * float(np.mean(w0 * fail))
    assert shift > 8.0 * err, (shift, err)
    # acceptance per trial: E[pass min(w0 / w_max, 1)] of the full trials; trials until n
    # events are negative-binomial, var n (1 - p) / p^2
    p_acc = np.minimum(w_hit / proc.w_max, 1.0)
    p, p_err = p_acc.mean(), p_acc.std() / math.sqrt(n_ref)
    expect = n_events / p
    sd = math.hypot(math.sqrt(n_events * (1.0 - p)) / p, expect * p_err / p)
    assert abs(st.n_trials - expect) < 4.0 * sd, (st.n_trials, expect, sd)


def test_optimal_mu_minimises_the_variance():
    """mu* = sum (w_max - w0)_+ w_sig / sum (w_max - w0)_+ w0 against a brute-force scan of the
    expected second moment E[(1 - p) (w0 mu)^2 + p (w0 mu + (X - mu) M)^2] on fixed trials."""
    rng = np.random.default_rng(61)
    n, w_max = 5000, 1.0
    w0 = rng.uniform(0.0, 1.3, n)  # some above w_max: their term does not depend on mu
    x = rng.binomial(1, 0.3, n) * rng.exponential(2.0, n)
    mu_star = optimal_mu(w0, w0 * x, w_max)
    big_m = np.maximum(w0, w_max)
    p = w0 / big_m

    def second_moment(mu: float) -> float:
        return float(np.mean((1 - p) * (w0 * mu) ** 2 + p * (w0 * mu + (x - mu) * big_m) ** 2))

    scan = np.linspace(mu_star - 0.5, mu_star + 0.5, 1001)
    best = scan[np.argmin([second_moment(m) for m in scan])]
    assert abs(best - mu_star) <= 1e-3
    assert optimal_mu(np.zeros(3), np.zeros(3), 1.0) == 0.0
