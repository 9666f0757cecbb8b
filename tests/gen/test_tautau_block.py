"""The block sampler of ``tautau`` (gen.processes.tautau._weight_block1, _hit_constants1,
_hit_event1) against the scalar kernels of the pilot's full trials: the same production weight
w0 bit for bit for the same random numbers, the same lab event for the same draws (to
rounding), and events that do not depend on the number wanted. The cross section and the
acceptance of ``generate`` against the scalar full trials: tests/gen/test_tautau_hit_first.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from gen.beams import Beams, cm_to_lab1, collision_frame_sc1, collision_sqrt_s_sc1
from gen.cards import parse_table
from gen.constants import M_TAU, PHOTON, TAU
from gen.events import DECAYED, FINAL
from gen.gencuts import photon_veto_array
from gen.kinematics import boost1
from gen.processes.ffbar import pair_event_cm1, pair_weight_c1
from gen.processes.tautau import (
    BLOCK_TRIALS,
    P_BFAC,
    P_EHER,
    P_ELER,
    P_EMIN,
    P_SPH,
    P_SPL,
    TRIAL_UNIFORMS,
    TauTau,
    _block_hits1,
    _block_setup,
    _hit_constants1,
    _hit_event1,
    _weight_block1,
)
from gen.unweight import draw_block1


def make(params: dict, cuts: dict | None = None) -> TauTau:
    proc = TauTau(parse_table(params, TauTau.params, "process"),
                  parse_table(cuts or {}, TauTau.cuts, "cuts"), Beams())
    proc.validate("test card")
    return proc


def _block(par: np.ndarray, seed: int, nt: int):
    """A block's draws, the scalar ISR uniforms of trial t from default_rng(seeds[t])."""
    rng = np.random.default_rng(seed)
    pool = rng.random(BLOCK_TRIALS * TRIAL_UNIFORMS)
    nh, nl = rng.standard_normal(BLOCK_TRIALS), rng.standard_normal(BLOCK_TRIALS)
    seeds = rng.integers(0, 2**62, nt)
    for t in range(nt):
        pool[TRIAL_UNIFORMS * t:TRIAL_UNIFORMS * t + 2] = np.random.default_rng(seeds[t]).random(2)
    return pool, nh, nl, seeds


@pytest.mark.parametrize("params", [{}, {"isr": False}, {"fsr": False, "z_exchange": False},
                                    {"vacuum_polarisation": False},
                                    {"mode_bias": {"mu": 8.0, "multi_prong": 0.2}}])
def test_block_weights_equal_scalar_weights_bit_for_bit(params):
    proc = make(params)
    par = proc._par()
    isr, fsr, zex, vp = (bool(params.get(k, True)) for k in
                         ("isr", "fsr", "z_exchange", "vacuum_polarisation"))
    sin_a, cos_a, cst = _block_setup(par)
    nt = 200
    pool, nh, nl, seeds = _block(par, 5, nt)
    w, tr = np.empty(BLOCK_TRIALS), np.empty((BLOCK_TRIALS, 8))
    _weight_block1(pool, nh, nl, nt, par, sin_a, cos_a, cst, w, tr)
    n_pos = 0
    for t in range(nt):
        eh = par[P_EHER] + par[P_SPH] * nh[t]
        el = par[P_ELER] + par[P_SPL] * nl[t]
        sqrt_s = collision_sqrt_s_sc1(eh, el, sin_a, cos_a)
        ref = pair_weight_c1(np.random.default_rng(seeds[t]), sqrt_s, M_TAU, isr, fsr, zex, vp,
                             par[P_EMIN], cst)
        assert w[t] == ref[0] * par[P_BFAC]  # w0 = W Z^2
        assert tuple(tr[t, :3]) == (eh, el, sqrt_s)
        assert tuple(tr[t, 3:]) == (ref[1], ref[2], ref[4], ref[5], ref[6])
        n_pos += ref[0] > 0.0
    assert n_pos > 0.8 * nt


def test_hit_event_is_the_scalar_event_in_the_lab():
    """_hit_event1 (block constants, boosts with precomputed parameters) = pair_event_cm1 and
    boost1 / cm_to_lab1 per row as in the pilot's _production1 (same draws; to rounding), rows
    tau-, tau+, ISR photons, FSR photons with their ids and statuses; the photon veto of the
    search card decided on the photons."""
    proc = make({}, {"photon_veto_e_gev": 0.12})
    par, veto = proc._par(), photon_veto_array(proc.c)
    sin_a, cos_a, cst = _block_setup(par)
    pool, nh, nl, _ = _block(par, 8, 0)
    w, tr = np.empty(BLOCK_TRIALS), np.empty((BLOCK_TRIALS, 8))
    _weight_block1(pool, nh, nl, BLOCK_TRIALS, par, sin_a, cos_a, cst, w, tr)
    hits = np.empty(BLOCK_TRIALS, np.int64)
    nhit = _block_hits1(pool, w, BLOCK_TRIALS, float(np.max(w)), hits)
    assert nhit > 100
    hp = np.empty((BLOCK_TRIALS, 13))
    _hit_constants1(hits, nhit, tr, sin_a, cos_a, par, hp)
    out_i, out_f = np.full((6, 3), 7, np.int64), np.full((6, 8), 7.0)
    n_photons = n_vetoed = 0
    for j, t in enumerate(hits[:nhit]):
        kk, ff, buf = np.zeros((2, 4)), np.zeros((4, 4)), np.zeros((6, 4))
        end, c, msp, n_isr, n_fsr, vetoed = _hit_event1(
            np.random.default_rng(j), par, veto, tr, t, hp, j, out_i, out_f, 0, kk, ff, buf)
        kr, fr = np.zeros((2, 4)), np.zeros((4, 4))
        bqx, bqy, bqz, msp_r, c_r, mask = pair_event_cm1(
            np.random.default_rng(j), tr[t, 2], M_TAU, True, True, tr[t, 3], tr[t, 4], tr[t, 5],
            tr[t, 6], tr[t, 7], par[P_EMIN], kr, fr)
        bx, by, bz, nx, ny, nz = collision_frame_sc1(tr[t, 0], tr[t, 1], sin_a, cos_a)
        rows = [cm_to_lab1(*boost1(*fr[r], bqx, bqy, bqz), bx, by, bz, nx, ny, nz)
                for r in range(2)]
        rows += [cm_to_lab1(*kr[i], bx, by, bz, nx, ny, nz) for i in range(2) if kr[i, 3] > 0.0]
        rows += [cm_to_lab1(*boost1(*fr[r], bqx, bqy, bqz), bx, by, bz, nx, ny, nz)
                 for r in (2, 3) if mask & (1 << (r - 2))]
        assert end == len(rows) == 2 + n_isr + n_fsr
        np.testing.assert_allclose(c, c_r, rtol=1e-13)
        np.testing.assert_allclose(msp, msp_r, rtol=1e-13)
        np.testing.assert_allclose(out_f[:end, :4], np.array(rows), rtol=1e-12, atol=1e-12)
        assert not out_f[:end, 4:].any()
        assert list(out_i[:end, 0]) == [TAU, -TAU] + [PHOTON] * (end - 2)
        assert list(out_i[:end, 1]) == [DECAYED, DECAYED] + [FINAL] * (end - 2)
        assert (out_i[:end, 2] == -1).all()
        e = out_f[2:end, 3]
        theta = np.degrees(np.arccos(out_f[2:end, 2] / e))
        in_window = (theta > 13.7) & (theta < 153.8) & ~((theta > 30.1) & (theta < 33.5)) & ~(
            (theta > 127.4) & (theta < 132.0))
        assert vetoed == bool(np.any((e > 0.12) & in_window))
        n_photons += end > 2
        n_vetoed += vetoed
    assert n_photons > 30
    assert n_vetoed > 3


def test_events_are_reproducible_and_do_not_depend_on_n():
    proc = make({}, {})
    proc.prepare(np.random.default_rng(21), 20_000)
    a, _ = proc.generate(np.random.default_rng(22), 700)
    b, _ = proc.generate(np.random.default_rng(22), 300)
    n_rows = int(b.offset[-1])
    for name in b.particles:
        assert np.array_equal(a.particles[name][:n_rows], b.particles[name])
    for name in b.truth:
        assert np.array_equal(a.truth[name][:300], b.truth[name])


@pytest.mark.parametrize(("params", "cuts", "beams"), [
    ({}, {}, Beams()),
    ({"mode_bias": {"mu": 8.0, "multi_prong": 0.2}}, {"photon_veto_e_gev": 0.12}, Beams()),
    ({"isr": False}, {}, Beams()),
    ({"photon_min_energy_gev": 0.05}, {}, Beams(spread_her_gev=0.02, spread_ler_gev=0.01)),
])
def test_w_max_bounds_the_production_weight(params, cuts, beams):
    """w_max = W0_SAFETY x the pilot's max w0 (a 2e4-trial pilot) stays above every w0 of 1e6
    block trials: sup w0 is the no-photon peak of the ISR weight at the lowest sqrt(s) of the
    beam spread (module docstring, "w_max"), also with 4x the nominal spread."""
    proc = TauTau(parse_table(params, TauTau.params, "process"),
                  parse_table(cuts, TauTau.cuts, "cuts"), beams)
    proc.validate("test card")
    proc.prepare(np.random.default_rng(3), 20_000)
    par = proc._par()
    sin_a, cos_a, cst = _block_setup(par)
    rng = np.random.default_rng(4)
    pool = np.empty(BLOCK_TRIALS * TRIAL_UNIFORMS)
    nh, nl = np.empty(BLOCK_TRIALS), np.empty(BLOCK_TRIALS)
    w, tr = np.empty(BLOCK_TRIALS), np.empty((BLOCK_TRIALS, 8))
    w_top, top = 0.0, None
    for _ in range(2000):
        draw_block1(rng, pool, nh, nl, par[P_SPH], par[P_SPL])
        _weight_block1(pool, nh, nl, BLOCK_TRIALS, par, sin_a, cos_a, cst, w, tr)
        i = int(np.argmax(w))
        if w[i] > w_top:
            w_top, top = w[i], tr[i].copy()
    assert w_top < proc.w_max
    assert w_top > proc.w_max / 1.03  # the pilot found the peak: w_max is not loose either
    # no ISR photon above photon_min_energy_gev
    assert top[3] == 0.0
    assert top[4] == 0.0
