"""Tests of gen.processes.tautau: Born cross section and angle, conservation, cuts, cards."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from gen.beams import Beams
from gen.cards import CardError, parse_table
from gen.constants import ALPHA_EM, GEV2_TO_PB, M_TAU
from gen.decays import tau
from gen.events import DECAYED, FINAL
from gen.processes.tautau import TauTau

NO_SPREAD = Beams(spread_her_gev=0.0, spread_ler_gev=0.0)
NO_RADIATION = {"isr": False, "fsr": False, "z_exchange": False, "vacuum_polarisation": False}
NO_CUTS = {"min_charged": 0}
CHARGED = (11, 13, 211, 321, 2212)


def make(params=None, cuts=None, beams=NO_SPREAD, pilot_seed=1, pilot_points=20_000):
    p = parse_table(params or {}, TauTau.params, "process")
    c = parse_table(cuts or {}, TauTau.cuts, "cuts")
    proc = TauTau(p, c, beams)
    proc.validate("test card")
    proc.prepare(np.random.default_rng(pilot_seed), pilot_points)
    return proc


def born_pb(sqrt_s):
    """sigma_Born = 4 pi alpha^2 / (3 s) beta (3 - beta^2) / 2 (PDG RPP, e+e- -> f f-bar)."""
    s = sqrt_s**2
    beta = math.sqrt(1 - 4 * M_TAU**2 / s)
    return GEV2_TO_PB * 4 * math.pi * ALPHA_EM**2 / (3 * s) * beta * (3 - beta**2) / 2


def p4(chunk, rows):
    P = chunk.particles
    return np.stack([P["px"][rows], P["py"][rows], P["pz"][rows], P["e"][rows]], axis=1)


def boost(v, b):
    b2 = float(b @ b)
    g = 1 / math.sqrt(1 - b2)
    bp = v[:, :3] @ b
    f = (g - 1) / b2 * bp + g * v[:, 3]
    return np.column_stack([v[:, :3] + f[:, None] * b[None, :], g * (v[:, 3] + bp)])


def event_index(chunk):
    return np.repeat(np.arange(chunk.n_events), np.diff(chunk.offset))


def test_born_cross_section_and_one_prong_factor():
    proc = make(NO_RADIATION, NO_CUTS)
    _, st = proc.generate(np.random.default_rng(2), 5000)
    expected = born_pb(NO_SPREAD.sqrt_s_gev)
    assert expected == pytest.approx(772.1, abs=0.1)  # 0.772 nb at 10.58 GeV (alpha(0))
    # no beam spread, no radiation, no cuts: every trial weight is sigma_Born exactly
    assert abs(st.cross_section_pb - expected) <= 3 * st.cross_section_err_pb + 1e-12 * expected
    # one-prong only: sigma x B1^2, B1 summed here from the mode table
    b1 = sum(m.bf for m in tau.tau_modes() if m.prongs_min == 1)
    proc1 = make({**NO_RADIATION, "one_prong_only": True}, NO_CUTS)
    chunk, st1 = proc1.generate(np.random.default_rng(3), 5000)
    assert abs(st1.cross_section_pb - expected * b1**2) <= (3 * st1.cross_section_err_pb
                                                           + 1e-12 * expected)
    mask = tau.one_prong_mask()
    assert np.all(mask[chunk.truth["mode_minus"]])
    assert np.all(mask[chunk.truth["mode_plus"]])


def test_born_with_vacuum_polarisation_and_z():
    """Born with running alpha(s) and Z: sigma_Born(alpha(0)) x |1/(1 - Delta alpha(s))|^2 times
    the Z factor; Z alone changes sigma by < 1e-4 at 10.58 GeV (PDG RPP 2024 sec. 10)."""
    from gen.vacpol import vp_factor1

    s = NO_SPREAD.sqrt_s_gev**2
    vp_only = make({**NO_RADIATION, "vacuum_polarisation": True}, NO_CUTS)
    _, st = vp_only.generate(np.random.default_rng(12), 2000)
    expected = born_pb(NO_SPREAD.sqrt_s_gev) * vp_factor1(s)
    # the generator uses the tabulated Delta alpha (gen.vacpol: 1e-8 absolute), vp_factor1 the
    # direct evaluation: |1/(1 - Delta alpha)|^2 agrees to ~2 x 1e-8 relative
    assert st.cross_section_pb == pytest.approx(expected, rel=3e-8)
    assert vp_factor1(s) == pytest.approx(1.0769, abs=2e-4)  # 1/alpha(10.58 GeV) ~ 132.0
    both = make({**NO_RADIATION, "vacuum_polarisation": True, "z_exchange": True}, NO_CUTS)
    _, st_z = both.generate(np.random.default_rng(13), 2000)
    assert abs(st_z.cross_section_pb / expected - 1.0) < 1e-4
    assert st_z.cross_section_pb != st.cross_section_pb


def test_born_cross_section_with_beam_spread():
    """With the energy spread the weights vary: the mean stays sigma_Born(nominal s).

    The spread changes <1/s> by O((5 MeV / 10.58 GeV)^2) ~ 1e-7, far below the MC error.
    """
    beams = Beams()
    proc = make(NO_RADIATION, NO_CUTS, beams=beams)
    _, st = proc.generate(np.random.default_rng(4), 20_000)
    assert st.cross_section_err_pb > 0
    assert abs(st.cross_section_pb - born_pb(beams.sqrt_s_gev)) <= 3 * st.cross_section_err_pb


def test_born_angular_distribution():
    """cos(theta*) of the tau- vs 1 + c^2 + (1 - beta^2)(1 - c^2), KS test; truth vs particles."""
    proc = make(NO_RADIATION, NO_CUTS)
    chunk, _ = proc.generate(np.random.default_rng(5), 20_000)
    b2 = 1 - 4 * M_TAU**2 / NO_SPREAD.sqrt_s_gev**2

    def cdf(c):
        return ((2 - b2) * (c + 1) + b2 * (c**3 + 1) / 3) / (2 * (2 - b2) + 2 * b2 / 3)

    cos = chunk.truth["cos_theta"]
    assert stats.kstest(cos, cdf).pvalue > 0.01
    # a flat distribution is rejected by the same test (it can fail)
    assert stats.kstest(cos, lambda c: (c + 1) / 2).pvalue < 1e-3
    # truth = angle between the tau- and the e- beam in the c.m. frame (crossing angle kept)
    em, ep = NO_SPREAD.nominal_four_momenta()
    tot = em + ep
    b = tot[:3] / tot[3]
    e_cm = boost(em[None, :], -b)[0, :3]
    n = e_cm / np.linalg.norm(e_cm)
    taum = boost(p4(chunk, chunk.offset[:-1]), -b)[:, :3]
    np.testing.assert_allclose(taum @ n / np.linalg.norm(taum, axis=1), cos, atol=1e-9)


@pytest.mark.parametrize("radiation", [False, True])
def test_four_momentum_conservation_and_tree(radiation):
    params = {"isr": radiation, "fsr": radiation}
    proc = make(params, NO_CUTS)
    chunk, st = proc.generate(np.random.default_rng(6), 5000)
    assert chunk.n_events == 5000
    assert np.all(chunk.weight == 1.0)
    assert st.n_overweight <= 0.001 * st.n_trials
    P = chunk.particles
    ev = event_index(chunk)
    idx = np.arange(chunk.n_particles)
    mom = p4(chunk, idx)
    em, ep = NO_SPREAD.nominal_four_momenta()
    final = P["status"] == FINAL
    total = np.zeros((chunk.n_events, 4))
    np.add.at(total, ev[final], mom[final])
    np.testing.assert_allclose(total, np.broadcast_to(em + ep, total.shape), rtol=0, atol=1e-9)
    # rows 0, 1: tau-, tau+ on shell, decayed
    t0, t1 = chunk.offset[:-1], chunk.offset[:-1] + 1
    assert np.all(P["pdg"][t0] == 15)
    assert np.all(P["pdg"][t1] == -15)
    assert np.all(P["status"][t0] == DECAYED)
    assert np.all(P["status"][t1] == DECAYED)
    for rows in (t0, t1):
        m = np.sqrt(mom[rows, 3] ** 2 - (mom[rows, :3] ** 2).sum(1))
        np.testing.assert_allclose(m, M_TAU, rtol=1e-9)
    # every decayed particle is the sum of its daughters; mothers come first
    has = P["mother"] >= 0
    gm = chunk.offset[ev] + P["mother"]
    assert np.all(gm[has] < idx[has])
    sums = np.zeros_like(mom)
    np.add.at(sums, gm[has], mom[has])
    dec = P["status"] == DECAYED
    np.testing.assert_allclose(sums[dec], mom[dec], rtol=0, atol=1e-9)
    # the taus' direct daughters belong to the modes in the truth
    for r, key in ((0, "mode_minus"), (1, "mode_plus")):
        n_direct = np.bincount(ev[has & (P["mother"] == r)], minlength=chunk.n_events)
        nrow = proc.tables.nrow[chunk.truth[key]]
        n_res = (proc.tables.mother[chunk.truth[key]] >= 0).sum(1)
        np.testing.assert_array_equal(n_direct, nrow - n_res)
    if radiation:
        assert np.any(chunk.truth["n_isr"] > 0)
        assert np.any(chunk.truth["n_fsr"] > 0)
        assert np.all(chunk.truth["sqrt_s_prime"] <= chunk.truth["sqrt_s"] + 1e-12)
        n_photons = np.bincount(ev[(P["pdg"] == 22) & (P["mother"] < 0)],
                                minlength=chunk.n_events)
        np.testing.assert_array_equal(n_photons, chunk.truth["n_isr"] + chunk.truth["n_fsr"])
    else:
        np.testing.assert_allclose(chunk.truth["sqrt_s_prime"], NO_SPREAD.sqrt_s_gev, rtol=1e-12)


def _charged_in_window(chunk, lo_deg, hi_deg):
    P = chunk.particles
    final = (P["status"] == FINAL) & np.isin(np.abs(P["pdg"]), CHARGED)
    mom = p4(chunk, np.arange(chunk.n_particles))
    cos = mom[:, 2] / np.linalg.norm(mom[:, :3], axis=1)
    inside = final & (cos <= math.cos(math.radians(lo_deg))) & (
        cos >= math.cos(math.radians(hi_deg)))
    return inside, mom


def test_generator_cuts():
    cuts = {"min_charged": 2, "pmiss_cm_min_gev": 1.0}
    proc = make({}, cuts, beams=Beams())
    chunk, st = proc.generate(np.random.default_rng(7), 5000)
    inside, mom = _charged_in_window(chunk, 10.0, 170.0)
    ev = event_index(chunk)
    n_in = np.bincount(ev[inside], minlength=chunk.n_events)
    assert np.all(n_in >= 2)
    # exactly two in the window: missing momentum in the nominal c.m. frame above 1 GeV
    em, ep = Beams().nominal_four_momenta()
    tot = em + ep
    two = np.flatnonzero(n_in == 2)
    assert two.size > 0.5 * chunk.n_events
    vis = np.zeros((chunk.n_events, 4))
    np.add.at(vis, ev[inside], mom[inside])
    miss = boost(tot[None, :] - vis[two], -tot[:3] / tot[3])
    assert np.all(np.linalg.norm(miss[:, :3], axis=1) >= 1.0)
    # the cuts remove part of the cross section (default radiation on)
    loose = make({}, NO_CUTS, beams=Beams())
    _, st0 = loose.generate(np.random.default_rng(8), 5000)
    assert st.cross_section_pb < st0.cross_section_pb - 3 * st0.cross_section_err_pb


def test_default_cuts_keep_two_track_events():
    """Default cuts never reject an event with two charged particles in the CDC (17-150 deg)."""
    loose = make({"isr": False, "fsr": False}, NO_CUTS)
    chunk, _ = loose.generate(np.random.default_rng(9), 5000)
    inside, _ = _charged_in_window(chunk, 17.0, 150.0)
    n_cdc = np.bincount(event_index(chunk)[inside], minlength=chunk.n_events)
    # the default-cut process accepts each of these events: re-run its cut kernel on them
    from gen.gencuts import photon_veto_array
    from gen.processes.tautau import _cuts1

    default = make({"isr": False, "fsr": False})
    par = default._par()
    out_i = np.column_stack([chunk.particles["pdg"], chunk.particles["status"],
                             chunk.particles["mother"]]).astype(np.int64)
    out_f = np.column_stack([chunk.particles[k] for k in
                             ("px", "py", "pz", "e", "vx", "vy", "vz", "t")])
    for k in np.flatnonzero(n_cdc >= 2):
        veto = photon_veto_array(default.c)
        assert _cuts1(par, veto, out_i, out_f, chunk.offset[k], chunk.offset[k + 1])


def test_card_validation():
    with pytest.raises(CardError, match="charged_theta_min_deg"):
        make({}, {"charged_theta_min_deg": 120.0, "charged_theta_max_deg": 60.0})
    with pytest.raises(CardError, match="pmiss_cm_min_gev"):
        make({}, {"pmiss_cm_min_gev": 6.0})
    with pytest.raises(CardError, match="pmiss_theta_min_deg"):
        make({}, {"pmiss_theta_min_deg": 90.0, "pmiss_theta_max_deg": 30.0})
    with pytest.raises(CardError, match="unknown key"):
        parse_table({"polarisation": 0.5}, TauTau.params, "process")
    with pytest.raises(CardError, match="one_prong_only"):
        parse_table({"one_prong_only": 1}, TauTau.params, "process")


def test_reproducible_blocks():
    proc = make()
    a, sa = proc.generate(np.random.default_rng(10), 500)
    b, sb = proc.generate(np.random.default_rng(10), 500)
    for k in a.particles:
        np.testing.assert_array_equal(a.particles[k], b.particles[k])
    for k in a.truth:
        np.testing.assert_array_equal(a.truth[k], b.truth[k])
    assert sa == sb
    assert proc.decay_overweights() == 0


def _count(chunk, lo_deg, hi_deg, pt_min, r_max):
    """Per event: charged final-state particles inside the open window (lo, hi) deg with pT >
    pt_min produced at transverse radius < r_max (numpy, independent of the kernel)."""
    P = chunk.particles
    charged = (P["status"] == FINAL) & np.isin(np.abs(P["pdg"]), CHARGED)
    pt = np.hypot(P["px"], P["py"])
    theta = np.degrees(np.arctan2(pt, P["pz"]))
    counted = (charged & (theta > lo_deg) & (theta < hi_deg) & (pt > pt_min)
               & (np.hypot(P["vx"], P["vy"]) < r_max))
    return np.bincount(event_index(chunk)[counted], minlength=chunk.n_events)


@pytest.mark.parametrize(("count", "window"), [
    ({}, (10.0, 170.0, 0.09, np.inf)),  # old cards: the charged window, any vertex
    ({"count_theta_min_deg": 18.0, "count_theta_max_deg": 148.0, "charged_pt_count_gev": 0.102,
      "count_vertex_r_max_cm": 60.0}, (18.0, 148.0, 0.102, 60.0)),
    ({"count_theta_max_deg": 120.0, "count_vertex_r_max_cm": 1.0}, (10.0, 120.0, 0.09, 1.0)),
])
def test_max_charged_counts_in_its_own_window(count, window):
    from gen.gencuts import photon_veto_array
    from gen.processes.tautau import _cuts1

    # multi-prong taus often, so that K_S0 daughters and 4+ tracks are frequent
    loose = make({"isr": False, "fsr": False, "mode_bias": {"multi_prong": 5.0}}, NO_CUTS)
    chunk, _ = loose.generate(np.random.default_rng(11), 3000)
    n_count = _count(chunk, *window)
    assert np.count_nonzero(n_count > 3) > 300
    if window[3] < 10.0:  # K_S0 daughters from beyond 1 cm (tau decays: ~0.2 mm) not counted
        assert np.count_nonzero(_count(chunk, *window[:3], np.inf) != n_count) >= 5
    c = parse_table({"min_charged": 0, "max_charged": 3, **count}, TauTau.cuts, "cuts")
    proc = TauTau(parse_table({}, TauTau.params, "process"), c, NO_SPREAD)
    proc.validate("test card")
    par, veto = proc._par(), photon_veto_array(c)
    out_i = np.column_stack([chunk.particles["pdg"], chunk.particles["status"],
                             chunk.particles["mother"]]).astype(np.int64)
    out_f = np.column_stack([chunk.particles[k] for k in
                             ("px", "py", "pz", "e", "vx", "vy", "vz", "t")])
    passed = np.array([_cuts1(par, veto, out_i, out_f, chunk.offset[k], chunk.offset[k + 1])
                       for k in range(chunk.n_events)])
    np.testing.assert_array_equal(passed, n_count <= 3)


def test_count_window_validation():
    with pytest.raises(CardError, match=r"count_theta_min_deg \(150.0\) must be below "
                       r"cuts.count_theta_max_deg \(20.0\)"):
        make({}, {"count_theta_min_deg": 150.0, "count_theta_max_deg": 20.0})
    with pytest.raises(CardError, match=r"count_theta_min_deg \(175.0\) .* \(170.0\)"):
        make({}, {"count_theta_min_deg": 175.0})  # against the inherited charged edge
    with pytest.raises(CardError, match=r"count_theta_max_deg: must be >= -1.0"):
        parse_table({"count_theta_max_deg": -2.0}, TauTau.cuts, "cuts")
    with pytest.raises(CardError, match=r"count_vertex_r_max_cm: must be >= 0.0"):
        parse_table({"count_vertex_r_max_cm": -1.0}, TauTau.cuts, "cuts")
