"""The block sampler of ``bhabha`` (issue 3 of session 7: trials in blocks, per-hit constants
in one loop) against the scalar kernels it replaces: the same weights bit for bit for the same
random numbers, the same event for the same draws, the hoisted constants equal to the kernels of
gen.radiation / gen.beams, and the generator's cross section against the scalar trials
(``Bhabha.trial_weights``, the pilot's path)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gen.beams import Beams, collision_frame_sc1, collision_sqrt_s_sc1, crossing_trig1
from gen.cards import parse_table
from gen.constants import M_E
from gen.jit import kernel
from gen.kinematics import boost_p1, boost_params1, two_body_momentum1
from gen.processes.bhabha import (
    BLOCK_TRIALS,
    N_HP,
    N_TR,
    P_CHI,
    P_CLO,
    P_ECUT,
    P_EHER,
    P_ELER,
    P_EMIN,
    P_HALF,
    P_SPH,
    P_SPL,
    P_XMIN,
    P_XMIN2,
    T_C,
    T_E1,
    T_E2,
    T_OMC,
    T_SP,
    TRIAL_UNIFORMS,
    Bhabha,
    _bhabha_event_h1,
    _bhabha_weight_c1,
    _block_weights1,
    _born_window1,
    _fsr_rest_e1,
    _hit_row1,
    block_weights_before_fsr,
    cm_window1,
    collision_frame_g1,
    fsr_consts1,
    joint_isr_consts2,
    with_rest_window1,
)
from gen.radiation import (
    emission_params1,
    fsr_pair_rest1,
    fsr_pair_rest_p1,
    fsr_rest_params1,
    sample_azimuth1,
)
from gen.unweight import pair_event_to_lab1

ASYM = {"theta_min_deg": 20.0, "theta_max_deg": 150.0, "e_min_gev": 1.0}


def make(params: dict, cuts: dict) -> Bhabha:
    proc = Bhabha(parse_table(params, Bhabha.params, "process"),
                  parse_table(cuts, Bhabha.cuts, "cuts"), Beams())
    proc.validate("test card")
    return proc


def _chunk_constants(par: np.ndarray):
    sin_a, cos_a = crossing_trig1(par[P_HALF])
    sqrt_s0 = collision_sqrt_s_sc1(par[P_EHER], par[P_ELER], sin_a, cos_a)
    return sin_a, cos_a, joint_isr_consts2(sqrt_s0, par[P_XMIN], par[P_XMIN2])


@pytest.mark.parametrize(("params", "cuts"), [
    ({}, {}), ({"isr": False}, {}), ({"fsr": False, "vacuum_polarization": False}, {}),
    ({"z_exchange": False}, ASYM)])
def test_block_weights_equal_scalar_weights_bit_for_bit(params, cuts):
    par = make(params, cuts)._par()
    sin_a, cos_a, cst = _chunk_constants(par)
    nt = 200
    rng = np.random.default_rng(5)
    pool = rng.random(BLOCK_TRIALS * TRIAL_UNIFORMS)
    nh, nl = rng.standard_normal(BLOCK_TRIALS), rng.standard_normal(BLOCK_TRIALS)
    seeds = rng.integers(0, 2**62, nt)
    # the scalar kernel draws ISR channel, beam 1, beam 2 (with ISR) and the Born y from its
    # Generator: give the block the same ones
    isr = params.get("isr", True)
    for t in range(nt):
        u = np.random.default_rng(seeds[t]).random(4)
        k = TRIAL_UNIFORMS * t
        pool[k:k + 4] = u if isr else [0.5, 0.5, 0.5, u[0]]
    w, tr = np.empty(BLOCK_TRIALS), np.empty((BLOCK_TRIALS, N_TR))
    _block_weights1(pool, nh, nl, nt, par, sin_a, cos_a, cst, w, tr)
    kk = np.zeros((2, 4))
    n_pos = 0
    for t in range(nt):
        eh = par[P_EHER] + par[P_SPH] * nh[t]
        el = par[P_ELER] + par[P_SPL] * nl[t]
        sqrt_s = collision_sqrt_s_sc1(eh, el, sin_a, cos_a)
        ref = _bhabha_weight_c1(np.random.default_rng(seeds[t]), par, sqrt_s, kk, cst)
        assert w[t] == ref[0]
        assert tr[t, T_SP] == ref[1]
        assert (tr[t, T_E1], tr[t, T_E2]) == (kk[0, 3], kk[1, 3])
        if ref[0] > 0.0:
            assert (tr[t, T_C], tr[t, T_OMC]) == (ref[2], ref[3])
            n_pos += 1
    assert n_pos > 0.5 * nt


def test_collision_frame_with_gamma_is_the_beams_kernel_bit_for_bit():
    b = Beams()
    sin_a, cos_a = crossing_trig1(b.half_crossing_angle_rad)
    rng = np.random.default_rng(3)
    for eh, el in zip(b.e_her_gev + 0.05 * rng.standard_normal(300),
                      b.e_ler_gev + 0.05 * rng.standard_normal(300), strict=True):
        ref = collision_frame_sc1(eh, el, sin_a, cos_a)
        got = collision_frame_g1(eh, el, sin_a, cos_a)
        assert got[:6] == ref
        assert got[6:] == boost_params1(*ref[:3])


@pytest.mark.parametrize("e_min", [1e-4, 1e-2])
def test_fsr_constants_equal_the_radiation_kernels(e_min):
    """One logarithm and p* shared by the dipole beta and the photon-angle parameters: equal to
    rounding (the angle law's ln((1+b)/(1-b)) ~ 20 is computed from the same b)."""
    masses = np.concatenate([[2 * M_E * (1 + 1e-7), 2 * M_E * 1.01, 0.01, 2 * e_min * 0.999],
                             np.geomspace(0.05, 11.0, 400)])
    for mq in masses:
        got = fsr_consts1(mq, e_min)
        ref = fsr_rest_params1(M_E, mq, e_min)
        np.testing.assert_allclose(got[:4], ref, rtol=1e-13, atol=0.0, err_msg=str(mq))
        if ref[0] > 0.0:
            # near threshold p* = sqrt(E^2 - m^2) cancels (two formulas for it): 1e-9 there
            rtol = 1e-13 if mq > 0.01 else 1e-9
            np.testing.assert_allclose(got[4:], emission_params1(0.5 * mq, M_E), rtol=rtol,
                                       err_msg=str(mq))
    assert fsr_consts1(2 * M_E, e_min)[0] == 0.0


@kernel
def _fsr_pairs(rng_a, rng_b, masses, e_min):
    out = np.empty((masses.size, 2, 17))
    pa = np.zeros((4, 4))
    pb = np.zeros((4, 4))
    for i in range(masses.size):
        mq = masses[i]
        c = 2.0 * rng_a.random() - 1.0
        rng_b.random()
        sn = math.sqrt(1.0 - c * c)
        pst = math.sqrt(0.25 * mq * mq - M_E * M_E)
        for p in (pa, pb):
            p[0, 0], p[0, 1], p[0, 2], p[0, 3] = pst * sn, 0.0, pst * c, 0.5 * mq
            p[1, 0], p[1, 1], p[1, 2], p[1, 3] = -pst * sn, 0.0, -pst * c, 0.5 * mq
        beta, v0, w0, f0 = fsr_rest_params1(M_E, mq, e_min)
        bl, omb, lnr = emission_params1(0.5 * mq, M_E)
        out[i, 0, 0] = fsr_pair_rest_p1(rng_a, pa, M_E, mq, sn, 0.0, c, beta, v0, w0, f0)
        out[i, 1, 0] = _fsr_rest_e1(rng_b, pb, mq, sn, 0.0, c, beta, v0, w0, f0, bl, omb, lnr)
        for r in range(4):
            for j in range(4):
                out[i, 0, 1 + 4 * r + j] = pa[r, j]
                out[i, 1, 1 + 4 * r + j] = pb[r, j]
    return out


def test_fsr_with_hoisted_angle_parameters_is_the_radiation_kernel_bit_for_bit():
    masses = np.random.default_rng(2).uniform(0.2, 10.6, 20_000)
    out = _fsr_pairs(np.random.default_rng(4), np.random.default_rng(4), masses, 1e-4)
    assert np.array_equal(out[:, 0], out[:, 1])
    assert 0.3 < np.mean(out[:, 0, 0] > 0) < 0.9  # photons are emitted


@kernel
def _events(rng_a, rng_b, par, rows, sin_a, cos_a):
    """Each trial row (eh, el, sqrt_s, s', c, 1 - c, e1, e2) through ``_bhabha_event_h1`` (rng_a)
    and through the kernels it replaces (rng_b): sample_azimuth1, fsr_pair_rest1, cuts on the
    boosted leptons, pair_event_to_lab1."""
    n = rows.shape[0]
    out = np.zeros((n, 2, 26))
    kk = np.zeros((2, 4))
    ff = np.zeros((4, 4))
    buf = np.zeros((6, 4))
    hp = np.empty((1, N_HP))
    for i in range(n):
        eh, el, sqrt_s, sp = rows[i, 0], rows[i, 1], rows[i, 2], rows[i, 3]
        c, omc, e1, e2 = rows[i, 4], rows[i, 5], rows[i, 6], rows[i, 7]
        kk[0, 2], kk[0, 3], kk[1, 2], kk[1, 3] = e1, e1, -e2, e2
        _hit_row1(hp, 0, par, eh, el, sin_a, cos_a, sqrt_s, sp, omc, e1, e2)
        ok, m, n_isr, n_fsr = _bhabha_event_h1(rng_a, par, c, hp, 0, kk, ff, buf)
        out[i, 0, 0], out[i, 0, 1] = ok, m
        if ok:
            for r in range(m):
                for j in range(4):
                    out[i, 0, 2 + 4 * r + j] = buf[r, j]
        # the kernels of the previous sampler
        msp = math.sqrt(sp)
        bqz = -(e1 - e2) / (sqrt_s - e1 - e2)
        cphi, sphi = sample_azimuth1(rng_b)
        sn = math.sqrt(max(omc * (2.0 - omc), 0.0))
        pst = two_body_momentum1(msp, M_E, M_E)
        dx, dy = sn * cphi, sn * sphi
        ff[0, 0], ff[0, 1], ff[0, 2], ff[0, 3] = pst * dx, pst * dy, pst * c, 0.5 * msp
        ff[1, 0], ff[1, 1], ff[1, 2], ff[1, 3] = -pst * dx, -pst * dy, -pst * c, 0.5 * msp
        mask = fsr_pair_rest1(rng_b, ff, M_E, msp, dx, dy, c, par[P_EMIN])
        gq, gq2 = boost_params1(0.0, 0.0, bqz)
        ok = True
        for r in range(2):
            px, py, pz, e = boost_p1(ff[r, 0], ff[r, 1], ff[r, 2], ff[r, 3], 0.0, 0.0, bqz, gq,
                                     gq2)
            ct = pz / math.sqrt(px * px + py * py + pz * pz)
            ok = ok and e >= par[P_ECUT] and par[P_CLO] <= ct <= par[P_CHI]
        out[i, 1, 0] = ok
        if ok:
            bx, by, bz, nx, ny, nz = collision_frame_sc1(eh, el, sin_a, cos_a)
            m, _, _ = pair_event_to_lab1(buf, kk, ff, mask, 0.0, 0.0, bqz, bx, by, bz, nx, ny,
                                         nz)
            out[i, 1, 1] = m
            for r in range(m):
                for j in range(4):
                    out[i, 1, 2 + 4 * r + j] = buf[r, j]
    return out


@pytest.mark.parametrize("cuts", [{}, ASYM])
def test_hit_event_is_the_previous_event(cuts):
    """The same draws give the same event (rounding: p* and the FSR constants are computed
    another way; the cut decision agrees on all but rounding-edge cases)."""
    proc = make({}, cuts)
    par = proc._par()
    sin_a, cos_a, cst = _chunk_constants(par)
    rng = np.random.default_rng(11)
    nb = 8
    rows = []
    for _ in range(nb):
        pool = rng.random(BLOCK_TRIALS * TRIAL_UNIFORMS)
        nh, nl = rng.standard_normal(BLOCK_TRIALS), rng.standard_normal(BLOCK_TRIALS)
        w, tr = np.empty(BLOCK_TRIALS), np.empty((BLOCK_TRIALS, N_TR))
        _block_weights1(pool, nh, nl, BLOCK_TRIALS, par, sin_a, cos_a, cst, w, tr)
        sel = w > 0.0
        rows.append(tr[sel][:, [0, 1, 2, T_SP, T_C, T_OMC, T_E1, T_E2]])
    rows = np.concatenate(rows)
    out = _events(np.random.default_rng(8), np.random.default_rng(8), par, rows, sin_a, cos_a)
    assert np.array_equal(out[:, 0, :2], out[:, 1, :2])
    np.testing.assert_allclose(out[:, 0], out[:, 1], rtol=1e-12, atol=1e-12)
    acc = out[:, 0, 0].mean()
    assert 0.5 < acc < 1.0, acc


@pytest.mark.parametrize("cuts", [{}, ASYM])
def test_generator_cross_section_equals_the_scalar_trials(cuts):
    """sigma of ``generate`` (block trials, the hit decided before FSR and cuts) against the
    mean of the pilot's scalar trials (full event per trial) on other streams: within 4 sigma
    of their combined MC error (~0.2 %)."""
    proc = make({}, cuts)
    proc.prepare(np.random.default_rng(1), 50_000)
    _, st = proc.generate(np.random.default_rng(2), 60_000)
    w = proc.trial_weights(np.random.default_rng(3), 150_000)
    err_gen = math.sqrt(max(st.sum_w2 / st.n_trials - (st.sum_w / st.n_trials) ** 2, 0.0)
                        / st.n_trials)
    ref, err_ref = w.mean(), w.std() / math.sqrt(w.size)
    assert abs(st.cross_section_pb - ref) < 4.0 * math.hypot(err_gen, err_ref), (
        st.cross_section_pb, ref, err_gen, err_ref)
    assert st.n_overweight == 0


@pytest.mark.parametrize("cuts", [{}, ASYM, {"e_min_gev": 5.0}])
def test_window_of_a_pair_at_rest_is_the_general_window_bit_for_bit(cuts):
    """No ISR photon (b = 0): ``_born_window1`` takes the chunk's window from ``_par``; it is
    ``cm_window1`` at b = 0 for every sqrt(s) (also where the energy cut empties it)."""
    par = make({}, cuts)._par()
    for sqrt_s in np.concatenate([np.linspace(9.0, 11.0, 201), [10.0, 10.0 + 1e-12]]):
        e1, e2, sp, ylo, yhi = _born_window1(par, sqrt_s, 0.0, 0.0)
        estar = 0.5 * math.sqrt(sp)
        a_lo, a_hi = cm_window1(0.0, estar, math.sqrt((estar - M_E) * (estar + M_E)), par)
        ref = (1.0 / a_hi, 1.0 / a_lo) if a_lo < a_hi else None
        assert (e1, e2, sp) == (0.0, 0.0, (sqrt_s - 0.0 - 0.0) ** 2)
        assert (ylo, yhi) == ref if ref else not ylo < yhi


def test_block_weights_driver_draws_as_generate():
    """gen.unweight.block_weights (the shared driver): per block the draws of ``generate``
    (uniforms, then the two beams' normals), weights independent of the number of trials."""
    par = make({}, {})._par()
    w = block_weights_before_fsr(np.random.default_rng(7), par, 700)
    assert np.array_equal(w, block_weights_before_fsr(np.random.default_rng(7), par, 1300)[:700])
    wpar = with_rest_window1(par)
    sin_a, cos_a, cst = _chunk_constants(wpar)
    rng = np.random.default_rng(7)
    ref = []
    for _ in range(-(-700 // BLOCK_TRIALS)):
        pool = rng.random(BLOCK_TRIALS * TRIAL_UNIFORMS)
        nh, nl = rng.standard_normal(BLOCK_TRIALS), rng.standard_normal(BLOCK_TRIALS)
        wb, tr = np.empty(BLOCK_TRIALS), np.empty((BLOCK_TRIALS, N_TR))
        _block_weights1(pool, nh, nl, BLOCK_TRIALS, wpar, sin_a, cos_a, cst, wb, tr)
        ref.append(wb)
    assert np.array_equal(w, np.concatenate(ref)[:700])
    assert np.count_nonzero(w) > 350
