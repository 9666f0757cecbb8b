"""The block sampler of ``mumu`` (gen.processes.mumu._plain_block1, _hit_constants1) against the
scalar kernels it replaces: the same weights bit for bit for the same random numbers, the same
events for the same draws, and the cross section of the generator against the unchanged scalar
trials (``MuMu.trial_weights``)."""

from __future__ import annotations

import numpy as np
import pytest

from gen.beams import Beams, collision_sqrt_s_sc1, crossing_trig1
from gen.cards import parse_table
from gen.constants import M_E, M_MU
from gen.processes.ffbar import pair_event_cm1, pair_event_cm_p1, pair_weight_c1
from gen.processes.mumu import (
    BLOCK_TRIALS,
    P_EHER,
    P_ELER,
    P_EMIN,
    P_HALF,
    P_HARD,
    P_SPH,
    P_SPL,
    P_XMIN,
    TRIAL_UNIFORMS,
    MuMu,
    _hit_constants1,
    _plain_block1,
    plain_block_weights,
)
from gen.radiation import isr_consts1

CUTS = {"mu_theta_min_deg": 20.0, "mu_theta_max_deg": 150.0, "mu_p_min_gev": 0.6}


def make(params: dict, cuts: dict) -> MuMu:
    proc = MuMu(parse_table(params, MuMu.params, "process"),
                parse_table(cuts, MuMu.cuts, "cuts"), Beams())
    proc.validate("test card")
    return proc


def _chunk_constants(par: np.ndarray):
    sin_a, cos_a = crossing_trig1(par[P_HALF])
    sqrt_s0 = collision_sqrt_s_sc1(par[P_EHER], par[P_ELER], sin_a, cos_a)
    return sin_a, cos_a, isr_consts1(sqrt_s0, M_E, par[P_HARD], par[P_XMIN])


@pytest.mark.parametrize("params", [{}, {"isr": False}, {"fsr": False, "z_exchange": False},
                                    {"vacuum_polarisation": False}])
def test_block_weights_equal_scalar_weights_bit_for_bit(params):
    par = make(params, {})._par()
    isr, fsr, zex, vp = (bool(params.get(k, True)) for k in
                         ("isr", "fsr", "z_exchange", "vacuum_polarisation"))
    sin_a, cos_a, cst = _chunk_constants(par)
    nt = 200
    rng = np.random.default_rng(5)
    pool = rng.random(BLOCK_TRIALS * TRIAL_UNIFORMS)
    nh, nl = rng.standard_normal(BLOCK_TRIALS), rng.standard_normal(BLOCK_TRIALS)
    seeds = rng.integers(0, 2**62, nt)
    # the scalar kernel draws the ISR uniforms from its Generator: give the block the same ones
    for t in range(nt):
        pool[TRIAL_UNIFORMS * t:TRIAL_UNIFORMS * t + 2] = np.random.default_rng(seeds[t]).random(2)
    w, tr = np.empty(BLOCK_TRIALS), np.empty((BLOCK_TRIALS, 8))
    _plain_block1(pool, nh, nl, nt, par, sin_a, cos_a, cst, isr, fsr, zex, vp, w, tr)
    n_pos = 0
    for t in range(nt):
        eh = par[P_EHER] + par[P_SPH] * nh[t]
        el = par[P_ELER] + par[P_SPL] * nl[t]
        sqrt_s = collision_sqrt_s_sc1(eh, el, sin_a, cos_a)
        ref = pair_weight_c1(np.random.default_rng(seeds[t]), sqrt_s, M_MU, isr, fsr, zex, vp,
                             par[P_EMIN], cst)
        assert w[t] == ref[0]
        assert tuple(tr[t, 2:]) == (sqrt_s, ref[1], ref[2], ref[4], ref[5], ref[6])
        n_pos += ref[0] > 0.0
    assert n_pos > 0.8 * nt


def test_hit_constants_give_the_scalar_event():
    """pair_event_cm_p1 with the block's constants = pair_event_cm1 (same draws; the FSR
    constants from sqrt((1-v1)(1-v2)s) instead of the photons' s': equal to rounding)."""
    par = make({}, {})._par()
    sin_a, cos_a, cst = _chunk_constants(par)
    rng = np.random.default_rng(8)
    nt = 300
    pool = rng.random(BLOCK_TRIALS * TRIAL_UNIFORMS)
    nh, nl = rng.standard_normal(BLOCK_TRIALS), rng.standard_normal(BLOCK_TRIALS)
    w, tr = np.empty(BLOCK_TRIALS), np.empty((BLOCK_TRIALS, 8))
    _plain_block1(pool, nh, nl, nt, par, sin_a, cos_a, cst, True, True, True, True, w, tr)
    hits = np.flatnonzero(w[:nt] > 0.0).astype(np.int64)
    hp = np.empty((BLOCK_TRIALS, 13))
    _hit_constants1(hits, hits.size, tr, sin_a, cos_a, True, True, par[P_EMIN], hp)
    n_photons = 0
    for j, t in enumerate(hits):
        args = (tr[t, 2], M_MU, True, True, tr[t, 3], tr[t, 4], tr[t, 5], tr[t, 6], tr[t, 7],
                par[P_EMIN])
        kk_a, ff_a, kk_b, ff_b = (np.zeros((2, 4)), np.zeros((4, 4)), np.zeros((2, 4)),
                                  np.zeros((4, 4)))
        a = pair_event_cm1(np.random.default_rng(j), *args, kk_a, ff_a)
        b = pair_event_cm_p1(np.random.default_rng(j), *args, kk_b, ff_b, *hp[j, :7])
        assert a[5] == b[5]  # the same photons emitted
        np.testing.assert_allclose(b[:5], a[:5], rtol=1e-13, atol=1e-15)
        np.testing.assert_array_equal(kk_b, kk_a)
        np.testing.assert_allclose(ff_b, ff_a, rtol=1e-12, atol=1e-12)
        n_photons += a[5] != 0
    assert n_photons > 10


@pytest.mark.parametrize("cuts", [{}, CUTS])
def test_generated_cross_section_equals_scalar_trials(cuts):
    """sigma of generate (block trials, hit then event and cuts) against the mean weight of the
    scalar trials (full event and cuts per trial, unchanged code): independent streams, 4 sd."""
    proc = make({}, cuts)
    proc.prepare(np.random.default_rng(11), 100_000)
    w = proc.trial_weights(np.random.default_rng(12), 400_000)
    ref, ref_err = w.mean(), w.std() / np.sqrt(w.size)
    _, st = proc.generate(np.random.default_rng(13), 300_000)
    m = st.sum_w / st.n_trials
    err = np.sqrt((st.sum_w2 / st.n_trials - m * m) / st.n_trials)
    assert st.n_overweight == 0
    assert abs(m - ref) < 4.0 * np.hypot(err, ref_err), (m, err, ref, ref_err)


def test_events_are_reproducible_and_do_not_depend_on_n():
    proc = make({}, {})
    proc.prepare(np.random.default_rng(21), 50_000)
    a, _ = proc.generate(np.random.default_rng(22), 700)
    b, _ = proc.generate(np.random.default_rng(22), 300)
    n_rows = int(b.offset[-1])
    for name in ("px", "py", "pz", "e", "pdg"):
        assert np.array_equal(a.particles[name][:n_rows], b.particles[name])


def test_block_weights_driver_draws_as_generate():
    """gen.unweight.block_weights (the shared driver): per block the draws of ``generate``
    (uniforms, then the two beams' normals), weights independent of the number of trials."""
    par = make({}, {})._par()
    w = plain_block_weights(np.random.default_rng(7), par, 700)
    assert np.array_equal(w, plain_block_weights(np.random.default_rng(7), par, 1300)[:700])
    sin_a, cos_a, cst = _chunk_constants(par)
    rng = np.random.default_rng(7)
    ref = []
    for _ in range(-(-700 // BLOCK_TRIALS)):
        pool = rng.random(BLOCK_TRIALS * TRIAL_UNIFORMS)
        nh, nl = rng.standard_normal(BLOCK_TRIALS), rng.standard_normal(BLOCK_TRIALS)
        wb, tr = np.empty(BLOCK_TRIALS), np.empty((BLOCK_TRIALS, 8))
        _plain_block1(pool, nh, nl, BLOCK_TRIALS, par, sin_a, cos_a, cst, True, True, True, True,
                      wb, tr)
        ref.append(wb)
    assert np.array_equal(w, np.concatenate(ref)[:700])
    assert np.count_nonzero(w) > 600
