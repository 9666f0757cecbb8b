"""Tests of gen.unweight: hit-or-miss statistics, the estimator for cuts decided after the hit,
and the event filling.

References: exact sums (numpy), the expectation of the estimators in closed form for a toy
weight distribution, and the accepted distribution against its density (chi2); fixed seeds,
tolerances from the estimators' own errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit
from scipy import stats as st

from gen.events import SamplingStats
from gen.streams import GENERATION, stream
from gen.unweight import (
    chunk_from_arrays,
    chunk_from_events,
    cut_failed1,
    fill_event1,
    new_events,
    new_stats,
    stats_from_array,
    unweight1,
)


@njit
def _toy(rng, n_trials, w_max, late_cut):
    """Toy sampler: w0 = 2 u (u uniform), pass with probability 1 - w0/2 drawn after the hit
    (``late_cut``) or before it (full weight w0 pass). Returns stats and the accepted w0."""
    stats = new_stats()
    acc = np.empty(n_trials)
    k = 0
    for _ in range(n_trials):
        w0 = 2.0 * rng.random()
        if late_cut:
            if not unweight1(rng, stats, w0, w_max):
                continue
            if rng.random() < 0.5 * w0:  # fails the cut
                cut_failed1(stats, w0, w_max)
                continue
        else:
            passed = rng.random() >= 0.5 * w0
            if not unweight1(rng, stats, w0 if passed else 0.0, w_max):
                continue
        acc[k] = w0
        k += 1
    return stats, acc[:k]


@pytest.mark.parametrize("late_cut", [False, True])
@pytest.mark.parametrize("w_max", [2.2, 1.5])  # 1.5: a quarter of the trials are overweight
def test_estimator_and_accepted_distribution(late_cut, w_max):
    n = 400_000
    stats, acc = _toy(stream(5, GENERATION, int(10 * w_max)), n, w_max, late_cut)
    s = stats_from_array(stats)
    assert s.n_trials == n
    # E[w0 pass] = int_0^2 w (1 - w/2) dw/2 = 1/3
    assert abs(s.cross_section_pb - 1.0 / 3.0) < 4.0 * s.cross_section_err_pb
    assert s.cross_section_err_pb < 2e-3
    # overweight trials: w0 > w_max (and, with the late cut, passing it)
    p_over = (2.0 - w_max) / 2.0 if w_max < 2.0 else 0.0
    p_pass_over = 1.0 - (w_max + 2.0) / 4.0  # mean pass probability above w_max
    expected = n * p_over * p_pass_over
    assert abs(s.n_overweight - expected) < 5.0 * math.sqrt(expected + 1.0)
    # accepted w0 density ~ min(w0, w_max) (1 - w0/2) on [0, 2] (chi2 on 20 bins)
    edges = np.linspace(0.0, 2.0, 21)
    counts = np.histogram(acc, edges)[0]
    x = np.linspace(0.0, 2.0, 20001)
    f = np.minimum(x, w_max) * (1.0 - 0.5 * x)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(x))])
    p = np.diff(np.interp(edges, x, cdf)) / cdf[-1]
    chi2 = float(((counts - acc.size * p) ** 2 / (acc.size * p)).sum())
    assert st.chi2.sf(chi2, 19) > 1e-3


def test_late_cut_has_the_variance_of_its_estimator():
    # the per-trial contributions c = w0 - hit fail max(w0, w_max) are iid: the spread of the
    # estimate over independent runs matches the reported error (20 runs; chi2 of the pulls)
    vals, errs = [], []
    for i in range(20):
        stats, _ = _toy(stream(6, GENERATION, i), 50_000, 2.2, True)
        s = stats_from_array(stats)
        vals.append(s.cross_section_pb)
        errs.append(s.cross_section_err_pb)
    pulls = (np.array(vals) - 1.0 / 3.0) / np.array(errs)
    assert st.chi2.sf(float((pulls**2).sum()), 20) > 1e-3
    assert st.chi2.cdf(float((pulls**2).sum()), 20) > 1e-3


def test_fill_and_chunk():
    @njit
    def fill(n):
        mom, pdg, offset = new_events(n, 3)
        rows = np.array([11, -11, 22], dtype=np.int32)
        buf = np.zeros((3, 4))
        for k in range(n):
            m = 2 + k % 2
            for r in range(m):
                for j in range(4):
                    buf[r, j] = 100.0 * k + 10.0 * r + j
            fill_event1(mom, pdg, offset, k, buf, m, rows)
        return mom, pdg, offset

    mom, pdg, offset = fill(5)
    np.testing.assert_array_equal(offset, [0, 2, 5, 7, 10, 12])
    chunk = chunk_from_events(mom, pdg, offset, {"k": np.arange(5)})
    np.testing.assert_array_equal(chunk.particles["pdg"][:5], [11, -11, 11, -11, 22])
    assert chunk.particles["px"].size == 12
    assert chunk.particles["e"][4] == 100.0 + 20.0 + 3.0
    np.testing.assert_array_equal(chunk.weight, 1.0)
    np.testing.assert_array_equal(chunk.particles["status"], 1)
    np.testing.assert_array_equal(chunk.particles["mother"], -1)
    np.testing.assert_array_equal(chunk.particles["vz"], 0.0)
    chunk.check("toy")
    # the (n, 4) layout gives the same chunk
    rows = chunk_from_arrays(np.ascontiguousarray(mom.T), pdg, offset, {})
    for key, val in rows.particles.items():
        np.testing.assert_array_equal(val, chunk.particles[key])
    assert isinstance(stats_from_array(np.zeros(4)), SamplingStats)


def test_checked_chunk_raises_on_non_finite():
    from gen.unweight import checked_chunk

    mom = np.ones((4, 10))
    pdg = np.full(10, 22, np.int32)
    offset = np.array([0, 3, 6], np.int64)
    mom[2, 7] = np.nan  # beyond offset[-1]: not part of the events
    chunk = checked_chunk(mom, pdg, offset, {}, "toy")
    assert chunk.n_particles == 6
    mom[1, 4] = np.inf
    with pytest.raises(FloatingPointError, match="toy.*non-finite py.*event 1"):
        checked_chunk(mom, pdg, offset, {}, "toy")
