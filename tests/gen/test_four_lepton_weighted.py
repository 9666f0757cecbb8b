"""Partial unweighting of gen.processes.four_lepton (``target_efficiency``, weighted events).

Every statistical test uses fixed seeds and a tolerance derived from the standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from gen.beams import Beams
from gen.cards import CardError, parse_table
from gen.generate import generate_chunk
from gen.processes.four_lepton import FourLepton, efficiency_threshold
from gen.streams import GENERATION, PILOT, stream

#: generator-level cuts of cards/samples/four_lepton_eemumu_search.toml (the search region)
SEARCH_CUTS = {"mu_theta_min_deg": 10.0, "mu_theta_max_deg": 170.0, "mu_p_min_gev": 0.6,
               "pmiss_cm_min_gev": 0.3, "pmiss_theta_min_deg": 20.0, "pmiss_theta_max_deg": 145.0}
SEED = 137


def make(efficiency: float, pilot: int = 60_000) -> FourLepton:
    params = {"final_state": "eemumu", "w_min_gev": 0.212, "target_efficiency": efficiency}
    proc = FourLepton(parse_table(params, FourLepton.params, "process"),
                      parse_table(SEARCH_CUTS, FourLepton.cuts, "cuts"), Beams())
    proc.validate("test card")
    proc.prepare(stream(SEED, PILOT, 0), pilot)
    return proc


@pytest.fixture(scope="module")
def samples():
    """Unweighted (8192 events) and weighted (efficiency 0.1, 16384 events) samples with their
    sampling statistics, from independent generation streams."""
    out = {}
    for eff, blocks in ((0.0, (0,)), (0.1, (1, 2))):
        proc = make(eff)
        chunks = [proc.generate(stream(SEED, GENERATION, k), 8192) for k in blocks]
        out[eff] = (proc, chunks)
    return out


def test_threshold_solves_the_target_efficiency():
    # independent root finding of mean(min(1, w/t)) = efficiency (brentq on log t)
    rng = np.random.default_rng(5)
    w = np.where(rng.random(20_000) < 0.2, rng.lognormal(0.0, 2.0, 20_000), 0.0)
    for eff in (1e-3, 0.01, 0.05, 0.15):
        t = efficiency_threshold(w, eff)
        ref = math.exp(optimize.brentq(
            lambda x, e=eff: np.minimum(1.0, w / math.exp(x)).mean() - e, -30.0, 30.0,
            xtol=1e-13))
        assert t == pytest.approx(ref, rel=1e-9)
    # beyond the fraction of non-zero weights every such trial is kept
    assert efficiency_threshold(w, 0.5) == w[w > 0].min()


def test_card_errors_are_one_line():
    for bad in (-0.1, 1.5, "x"):
        with pytest.raises(CardError, match="target_efficiency") as err:
            parse_table({"target_efficiency": bad}, FourLepton.params, "process")
        assert "\n" not in str(err.value)


def test_weights_mean_one_and_efficiency(samples):
    proc, chunks = samples[0.0]
    assert not proc.weighted
    assert all(np.all(ch.weight == 1.0) for ch, _ in chunks)
    proc, chunks = samples[0.1]
    assert proc.weighted
    assert proc.w_max < proc.w_max_unweighted
    for ch, st in chunks:
        assert ch.weight.mean() == pytest.approx(1.0, rel=1e-12)
        assert np.all(ch.weight > 0.0)
        # partial: a floor of equal weights (events below w_thr) and a tail above it
        assert np.mean(ch.weight == ch.weight.min()) > 0.2
        assert ch.weight.max() > 2.0 * ch.weight.min()
        assert st.n_overweight == 0
        # the fraction of trials kept is the target, up to the pilot's statistical error of
        # w_thr (binomial error of the block plus 10 % for the pilot estimate)
        eff = ch.weight.size / st.n_trials
        assert abs(eff - 0.1) < 4.0 * math.sqrt(0.1 * 0.9 / st.n_trials) + 0.01, eff


def test_weighted_mode_keeps_the_cross_section(samples):
    # sigma within the cuts from all trials of each mode (the trial weights do not depend on
    # the mode; the streams are independent): 4 combined standard errors
    res = []
    for eff in (0.0, 0.1):
        n = sum(st.n_trials for _, st in samples[eff][1])
        sw = sum(st.sum_w for _, st in samples[eff][1])
        sw2 = sum(st.sum_w2 for _, st in samples[eff][1])
        sig = sw / n
        res.append((sig, math.sqrt(sw2 / n - sig * sig) / math.sqrt(n)))
    (a, ea), (b, eb) = res
    assert abs(a - b) < 4.0 * math.hypot(ea, eb), res


def _observables(ch) -> dict[str, np.ndarray]:
    p = ch.particles
    start = ch.offset[:-1]
    mu = start + 2  # rows l_a-, l_a+, l_b-, l_b+: e-, e+, mu-, mu+
    pmu = np.hypot(np.hypot(p["px"][mu], p["py"][mu]), p["pz"][mu])
    pt_pair = np.hypot(p["px"][mu] + p["px"][mu + 1], p["py"][mu] + p["py"][mu + 1])
    return {"w_mumu": ch.truth["w_b"], "p_mu-": pmu, "cos_mu-": p["pz"][mu] / pmu,
            "pt_pair": pt_pair, "e_e-": p["e"][start]}


def _chi2(x_u, x_w, w, edges) -> tuple[float, int]:
    """chi^2 of the normalised histograms of unweighted x_u and weighted (x_w, w): per bin
    fractions with variances n_j/N^2 and sum w^2/(sum w)^2 (Gagunashvili, Comput. Phys.
    Commun. 183 (2012) 193, weighted vs unweighted histograms, in its large-count limit)."""
    n_u, _ = np.histogram(x_u, edges)
    s_w, _ = np.histogram(x_w, edges, weights=w)
    s_w2, _ = np.histogram(x_w, edges, weights=w * w)
    f_u, f_w = n_u / n_u.sum(), s_w / s_w.sum()
    var = n_u / n_u.sum() ** 2 + s_w2 / s_w.sum() ** 2
    ok = var > 0
    return float(np.sum((f_u - f_w)[ok] ** 2 / var[ok])), int(ok.sum()) - 1


def test_weighted_distributions_equal_unweighted(samples):
    # binned chi^2 of five observables (quantile bins of the unweighted sample, 20 each); the
    # same comparison ignoring the weights must fail for the weight-correlated ones (power)
    ch_u = samples[0.0][1][0][0]
    obs_u = _observables(ch_u)
    ws = [_observables(ch) for ch, _ in samples[0.1][1]]
    obs_w = {k: np.concatenate([o[k] for o in ws]) for k in obs_u}
    w = np.concatenate([ch.weight for ch, _ in samples[0.1][1]])
    p_ignored = []
    for key, x_u in obs_u.items():
        edges = np.quantile(x_u, np.linspace(0.0, 1.0, 21))
        edges[0], edges[-1] = -np.inf, np.inf
        chi2, ndf = _chi2(x_u, obs_w[key], w, edges)
        p = stats.chi2.sf(chi2, ndf)
        assert p > 1e-3, (key, chi2, ndf)
        chi2, ndf = _chi2(x_u, obs_w[key], np.ones_like(w), edges)
        p_ignored.append(stats.chi2.sf(chi2, ndf))
    assert min(p_ignored) < 1e-3, p_ignored


def test_same_seed_same_events_for_any_chunking():
    # blocks draw from stream(seed, GENERATION, k) and the pilot from stream(seed, PILOT, 0):
    # two blocks in one chunk equal the same blocks in two chunks, bit for bit, with two
    # independently prepared processes
    a = make(0.1, pilot=20_000)
    b = make(0.1, pilot=20_000)
    assert a.w_max == b.w_max
    one, st_one = generate_chunk(a, (SEED, 0, 0, [300, 300]))
    first, st_first = generate_chunk(b, (SEED, 0, 0, [300]))
    second, st_second = generate_chunk(b, (SEED, 1, 1, [300]))
    np.testing.assert_array_equal(st_one, np.vstack((st_first, st_second)))
    for got, ref in zip(one, first + second, strict=True):
        assert got.keys() == ref.keys()
        for key in ref:
            np.testing.assert_array_equal(got[key], ref[key])
    # different blocks are different events (the blocks' streams are independent)
    assert not np.array_equal(one[0]["particles/px"], one[1]["particles/px"])
    assert np.ptp(one[0]["events/weight"]) > 0.0
