"""Tests of gen.processes.bbbar: pair fractions, angular distribution, mixing, conservation."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pytest
from particle import Particle
from scipy import stats

from gen.beams import Beams
from gen.constants import C_CM_PER_NS
from gen.events import DECAYED, FINAL
from gen.processes import bbbar
from gen.runcard import load_sample

TAU_B0_PS = Particle.from_pdgid(511).lifetime * 1e3
CARD = Path(__file__).parents[2] / "cards" / "samples" / "bbbar.toml"


@functools.cache
def _charge3(pdg: int) -> int:
    return int(Particle.from_pdgid(pdg).three_charge or 0)


@pytest.fixture(scope="module")
def proc():
    p = bbbar.BBbar({"mixing": True}, {}, Beams())
    p.prepare(np.random.default_rng(0), 1000)
    return p


@pytest.fixture(scope="module")
def sample(proc):
    return proc.generate(np.random.default_rng(1), 3000)


def _mix_sample(n, mixing=True, seed=4):
    rng = np.random.default_rng(seed)
    ct = TAU_B0_PS * 1e-3 * C_CM_PER_NS
    out = [bbbar.pair_flavours1(rng, True, ct, bbbar.DELTA_M_D_PER_PS, mixing) for _ in range(n)]
    return np.array(out)


def test_time_integrated_mixing_probability():
    """Same-flavour fraction chi_d = x^2 / (2 (1 + x^2)), x = Delta m_d tau_B0 (4 sigma)."""
    n = 200_000
    a = _mix_sample(n)
    x = bbbar.DELTA_M_D_PER_PS * TAU_B0_PS
    chi = bbbar.mixing_chi_d(x)
    frac = a[:, 4].mean()
    assert abs(frac - chi) < 4 * math.sqrt(chi * (1 - chi) / n), (frac, chi)
    assert np.array_equal(a[:, 4] == 1, a[:, 2] == a[:, 3])
    # PDG RPP 2024 chi_d = 0.1858 +- 0.0011: the inputs reproduce it
    assert chi == pytest.approx(0.1858, abs=0.002)


def test_time_dependent_asymmetry():
    """(OF - SF) / (OF + SF) in bins of |Delta t| follows cos(Delta m_d Delta t) (chi^2)."""
    a = _mix_sample(200_000, seed=5)
    dt = np.abs(a[:, 0] - a[:, 1]) / C_CM_PER_NS * 1e3  # ps
    edges = np.linspace(0, 8, 17)
    idx = np.digitize(dt, edges) - 1
    chi2 = 0.0
    for b in range(16):
        sel = idx == b
        n = sel.sum()
        asym = 1 - 2 * a[sel, 4].mean()
        # expected: average of cos over the bin with the exp(-|dt|/tau) density
        t = np.linspace(edges[b], edges[b + 1], 201)
        w = np.exp(-t / TAU_B0_PS)
        expect = np.sum(w * np.cos(bbbar.DELTA_M_D_PER_PS * t)) / np.sum(w)
        var = (1 - expect**2) / n
        chi2 += (asym - expect) ** 2 / var
    assert stats.chi2.sf(chi2, 16) > 1e-3


def test_no_mixing_switch_and_charged_pairs():
    a = _mix_sample(10_000, mixing=False)
    assert np.all(a[:, 4] == 0)
    rng = np.random.default_rng(1)
    for _ in range(100):
        _, _, f1, f2, mixed = bbbar.pair_flavours1(rng, False, 0.05, 0.5, True)
        assert f1 == -f2
        assert abs(f1) == 521
        assert mixed == 0


def test_pair_fractions_from_dec_file(sample):
    chunk, _ = sample
    charged, neutral, f00 = bbbar.upsilon4s_fractions()
    assert charged == pytest.approx(0.515122645)
    assert neutral == pytest.approx(0.483122645)
    n = chunk.n_events
    frac = chunk.truth["neutral"].mean()
    assert abs(frac - f00) < 4 * math.sqrt(f00 * (1 - f00) / n)


def test_sin2_angular_distribution(sample):
    chunk, _ = sample
    c = chunk.truth["cos_theta"]
    assert stats.kstest(c, lambda x: (3 * x - x**3 + 2) / 4).pvalue > 1e-3


def test_event_structure_and_conservation(sample):
    chunk, _ = sample
    P = chunk.particles
    off = chunk.offset
    assert np.all(P["pdg"][off[:-1]] == 300553)
    assert np.all(P["status"][off[:-1]] == DECAYED)
    b1, b2 = P["pdg"][off[:-1] + 1], P["pdg"][off[:-1] + 2]
    neutral = chunk.truth["neutral"] == 1
    assert np.all(np.abs(b1[neutral]) == 511)
    assert np.all(np.abs(b1[~neutral]) == 521)
    assert np.array_equal(b1 == b2, chunk.truth["mixed"] == 1)
    ev = np.repeat(np.arange(chunk.n_events), np.diff(off))
    final = P["status"] == FINAL
    for k in ("px", "py", "pz", "e"):
        tot = np.bincount(ev, weights=P[k] * final, minlength=chunk.n_events)
        assert np.allclose(tot, P[k][off[:-1]], atol=1e-8)
    q = np.array([_charge3(int(x)) for x in P["pdg"]])
    assert np.all(np.bincount(ev, weights=q * final) == 0)
    m = np.sqrt(P["e"][off[:-1]] ** 2 - P["px"][off[:-1]] ** 2 - P["py"][off[:-1]] ** 2
                - P["pz"][off[:-1]] ** 2)
    assert np.allclose(m, chunk.truth["sqrt_s"], rtol=1e-10)


def test_b_decay_vertices_follow_the_truth_times(sample):
    """First daughter of each B starts at (p/m) c t of that B; times are proper times."""
    chunk, _ = sample
    P = chunk.particles
    for ev in range(0, chunk.n_events, 37):
        lo, hi = chunk.offset[ev], chunk.offset[ev + 1]
        for row, key in ((1, "t1"), (2, "t2")):
            kid = lo + np.flatnonzero(P["mother"][lo:hi] == row)[0]
            b = lo + row
            m = math.sqrt(P["e"][b] ** 2 - P["px"][b] ** 2 - P["py"][b] ** 2 - P["pz"][b] ** 2)
            ct = chunk.truth[key][ev] * C_CM_PER_NS
            assert P["vz"][kid] == pytest.approx(P["pz"][b] / m * ct, rel=1e-9, abs=1e-12)
            assert P["t"][kid] == pytest.approx(P["e"][b] / m * chunk.truth[key][ev], rel=1e-9)


def test_cross_section_and_unweighting(proc, sample):
    chunk, st = sample
    assert np.all(chunk.weight == 1.0)
    assert st.cross_section_pb == pytest.approx(bbbar.SIGMA_UPSILON4S_PB * 0.998245290)
    assert st.n_overweight == 0
    # acceptance = 1 / PILOT_SAFETY of the trials (binomial)
    acc = chunk.n_events / st.n_trials
    assert abs(acc - 1 / 1.3) < 4 * math.sqrt(acc * (1 - acc) / st.n_trials)


def test_same_seed_same_events(proc):
    a, _ = proc.generate(np.random.default_rng(7), 20)
    b, _ = proc.generate(np.random.default_rng(7), 20)
    for k in a.particles:
        assert np.array_equal(a.particles[k], b.particles[k])


def test_card_loads_and_builds():
    card = load_sample(CARD)
    assert card.process == "bbbar"
    assert isinstance(card.build(), bbbar.BBbar)


def test_collisions_below_the_b_pair_threshold_are_redrawn():
    """With a 10x wider beam-energy spread, ~1/3 of the collisions fall below 2 m_B0: every
    generated event is still above the threshold of its pair and every B is decayed."""
    wide = Beams(spread_her_gev=5.13e-2, spread_ler_gev=2.375e-2)
    p = bbbar.BBbar({"mixing": True}, {}, wide)
    p.prepare(np.random.default_rng(0), 200)
    chunk, _ = p.generate(np.random.default_rng(3), 400)
    P = chunk.particles
    m_b = np.where(chunk.truth["neutral"] == 1, Particle.from_pdgid(511).mass,
                   Particle.from_pdgid(521).mass) * 1e-3
    assert np.all(chunk.truth["sqrt_s"] > 2.0 * m_b)
    assert np.all(np.isfinite(P["e"]))
    b_rows = np.isin(np.abs(P["pdg"]), [511, 521])
    assert np.all(P["status"][b_rows] == DECAYED)
