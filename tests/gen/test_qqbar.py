"""Tests of gen.processes.qqbar: R-ratio cross section, flavours, angles, conservation, cards."""

from __future__ import annotations

import math

import numpy as np
import pytest
from particle import Particle
from scipy import stats

from gen.beams import Beams
from gen.cards import CardError, parse_table
from gen.constants import ALPHA_EM, GEV2_TO_PB, mass_gev
from gen.processes import get_process
from gen.processes.qqbar import QQbar, alpha_s
from gen.vacpol import vp_factor1

NO_SPREAD = Beams(spread_her_gev=0.0, spread_ler_gev=0.0)
HEAD_ON = Beams(spread_her_gev=0.0, spread_ler_gev=0.0, half_crossing_angle_rad=0.0)


def make(params=None, beams=NO_SPREAD, pilot_seed=1, pilot_points=20_000):
    p = parse_table({"decays": False, **(params or {})}, QQbar.params, "process")
    proc = QQbar(p, parse_table({}, QQbar.cuts, "cuts"), beams)
    proc.validate("test card")
    proc.prepare(np.random.default_rng(pilot_seed), pilot_points)
    return proc


def r_born_pb(sqrt_s, q_charge, beta_factor=1.0):
    """N_c Q^2 sigma_pt (1 + alpha_s/pi) (PDG RPP 2024 QCD review, R at O(alpha_s))."""
    s = sqrt_s**2
    return (GEV2_TO_PB * 3 * q_charge**2 * 4 * math.pi * ALPHA_EM**2 / (3 * s) * beta_factor
            * (1 + alpha_s(sqrt_s) / math.pi))


def test_registered():
    assert get_process("qqbar") is QQbar


def test_alpha_s_running():
    """One loop from alpha_s(M_Z) = 0.118: at 10.58 GeV ~0.17 (PDG QCD review, fig. of
    alpha_s(Q): ~0.18 at this scale at higher orders)."""
    assert math.isclose(alpha_s(mass_gev(23)), 0.118, rel_tol=1e-12)
    assert 0.165 < alpha_s(10.58) < 0.185


def test_vacuum_polarisation_factor():
    """Running alpha multiplies every flavour by |1/(1 - Delta alpha(s))|^2 (gen.vacpol), +7.7 %
    at 10.58 GeV (1/alpha(s) = 132.0, gen.vacpol docstring)."""
    on = make({"isr": False}).born_cross_section_pb()
    off = make({"isr": False, "vacuum_polarisation": False}).born_cross_section_pb()
    e = NO_SPREAD.sqrt_s_gev
    for f in on:
        assert math.isclose(on[f] / off[f], vp_factor1(e * e), rel_tol=1e-12)
    assert 1.07 < vp_factor1(e * e) < 1.085


def test_born_cross_section_per_flavour_and_total():
    """Without ISR and beam spread every trial weight is the total R-ratio cross section."""
    proc = make({"isr": False, "vacuum_polarisation": False})
    e = NO_SPREAD.sqrt_s_gev
    mc = 1.5
    b2 = 1 - 4 * mc**2 / e**2
    born = proc.born_cross_section_pb()
    assert math.isclose(born["u"], r_born_pb(e, 2 / 3), rel_tol=1e-12)
    assert math.isclose(born["d"], r_born_pb(e, -1 / 3), rel_tol=1e-12)
    assert math.isclose(born["s"], born["d"], rel_tol=1e-12)
    assert math.isclose(born["c"], r_born_pb(e, 2 / 3, math.sqrt(b2) * (3 - b2) / 2),
                        rel_tol=1e-12)
    chunk, st = proc.generate(np.random.default_rng(2), 4000)
    assert math.isclose(st.cross_section_pb, sum(born.values()), rel_tol=1e-9)
    # flavours by sigma_q: multinomial counts against the expected shares (5 sigma)
    n = chunk.n_events
    counts = np.bincount(chunk.truth["flavour"], minlength=5)[1:]
    shares = np.array([born["d"], born["u"], born["s"], born["c"]]) / sum(born.values())
    assert stats.chisquare(counts, n * shares).pvalue > 1e-3
    # physics-book orders of magnitude (arXiv:1808.10567, 10.58 GeV, with ISR): our Born
    # values sit below them by the ISR tail and vacuum polarisation; ratios u/d = 4 hold
    assert math.isclose(born["u"] / born["d"], 4.0, rel_tol=1e-12)


def test_flavour_subset_and_charm_threshold():
    proc = make({"isr": False, "flavours": ["c"], "vacuum_polarisation": False})
    chunk, st = proc.generate(np.random.default_rng(3), 500)
    assert np.all(chunk.truth["flavour"] == 4)
    assert math.isclose(st.cross_section_pb, proc.born_cross_section_pb()["c"], rel_tol=1e-9)
    below = QQbar(parse_table({"decays": False}, QQbar.params, "process"), {}, NO_SPREAD)
    thr = 2 * mass_gev(421)
    assert below.born_cross_section_pb(thr - 1e-3)["c"] == 0.0
    assert below.born_cross_section_pb(thr + 1e-3)["c"] > 0.0


@pytest.mark.parametrize("flavours", [["u", "d", "s"], ["c"]])
def test_angular_distribution(flavours):
    """Head-on beams, no ISR: quark cos(theta) about the beam from 1 + c^2 + (1 - b^2)(1 - c^2)."""
    proc = make({"isr": False, "flavours": flavours}, beams=HEAD_ON)
    chunk, _ = proc.generate(np.random.default_rng(4), 4000)
    c = chunk.truth["cos_theta"]
    b2 = 1 - 4 * 1.5**2 / HEAD_ON.sqrt_s_gev**2 if flavours == ["c"] else 1.0

    def cdf(x):
        # integral of (2 - b2 + b2 c^2) from -1 to x, normalised by 4 - 4 b2 / 3
        f = (2 - b2) * (x + 1) + b2 * (x**3 + 1) / 3
        return f / (2 * (2 - b2) + 2 * b2 / 3)

    assert stats.kstest(c, cdf).pvalue > 1e-3


@pytest.mark.parametrize("isr", [False, True])
def test_four_momentum_and_charge_conserved_in_lab(isr):
    proc = make({"isr": isr})
    chunk, _ = proc.generate(np.random.default_rng(5), 800)
    p = chunk.particles
    fin = p["status"] == 1
    ev = np.repeat(np.arange(chunk.n_events), np.diff(chunk.offset))
    em, ep = NO_SPREAD.nominal_four_momenta()
    tot = em + ep
    for i, name in enumerate(("px", "py", "pz", "e")):
        s = np.bincount(ev[fin], p[name][fin], minlength=chunk.n_events)
        np.testing.assert_allclose(s, tot[i], atol=1e-9)
    q = np.array([float(Particle.from_pdgid(int(c)).charge) for c in p["pdg"]])
    np.testing.assert_allclose(np.bincount(ev, q * fin, minlength=chunk.n_events), 0, atol=1e-9)
    string = chunk.truth["flavour"] > 0
    assert np.all(chunk.truth["sqrt_s_prime"][string] >= 2.0)
    assert np.all(chunk.truth["sqrt_s_prime"][~string] < 2.0)
    if isr:
        assert chunk.truth["n_isr"].sum() > 0
        assert np.count_nonzero(~string) > 0  # the exclusive radiative-return tail
    else:
        assert np.all(string)


@pytest.mark.parametrize(("params", "max_gluons"), [
    ({}, None), ({"parton_shower": False}, 1), ({"gluon_radiation": False}, 0)])
def test_gluon_modes_conserve_four_momentum(params, max_gluons):
    """Shower (default), hardest gluon only, no gluon: four-momentum conserved event by event in
    the lab; gluon counts in the truth as the mode allows; the shower radiates more than one
    gluon on average at 10.58 GeV (pT > 0.5 GeV, alpha_s(pT) of the Monash tune)."""
    chunk, _ = make({"isr": False, **params}).generate(np.random.default_rng(12), 600)
    p = chunk.particles
    ev = np.repeat(np.arange(chunk.n_events), np.diff(chunk.offset))
    tot = sum(NO_SPREAD.nominal_four_momenta())
    for i, name in enumerate(("px", "py", "pz", "e")):
        np.testing.assert_allclose(np.bincount(ev, p[name], minlength=chunk.n_events), tot[i],
                                   atol=1e-9)
    n_glu, glu = chunk.truth["n_gluons"], chunk.truth["gluon"]
    assert np.all(glu <= (n_glu > 0))
    if max_gluons is None:
        assert n_glu.mean() > 1.0
        assert glu.mean() > 0.2
    else:
        assert n_glu.max() <= max_gluons


def test_same_seed_same_events():
    proc = make()
    a, sa = proc.generate(np.random.default_rng(6), 200)
    b, sb = proc.generate(np.random.default_rng(6), 200)
    for k in a.particles:
        np.testing.assert_array_equal(a.particles[k], b.particles[k])
    assert sa == sb


def test_full_chain_with_generic_decays():
    """decays = true: the primary hadrons are handed to gen.decays.generic.decay_unstable;
    energy is conserved over the final states and every primary species for which the decayer
    has a table (and that is not detector-stable) is decayed (status 2)."""
    from gen.decays import generic

    proc = make({"decays": True})
    chunk, _ = proc.generate(np.random.default_rng(8), 300)
    p = chunk.particles
    fin = p["status"] == 1
    ev = np.repeat(np.arange(chunk.n_events), np.diff(chunk.offset))
    em, ep = NO_SPREAD.nominal_four_momenta()
    s = np.bincount(ev[fin], p["e"][fin], minlength=chunk.n_events)
    np.testing.assert_allclose(s, (em + ep)[3], atol=1e-6)
    assert np.count_nonzero(p["status"] == 2) > 0
    tb = generic.decay_tables()
    primary = (p["mother"] == -1) & (p["pdg"] != 22)
    assert np.count_nonzero(primary) == chunk.truth["n_primary"].sum()
    for code in np.unique(p["pdg"][primary]):
        k = generic.species_index(tb, int(code))
        if k >= 0 and tb.sp_decay[k] in (generic.TABLE, generic.TAU_DECAY):
            assert np.all(p["status"][primary & (p["pdg"] == code)] == 2), code


#: the Monash 2013 tune on the card (arXiv:1404.5630; the values documented in gen.processes.qqbar)
MONASH_CARD = {"lund_a": 0.68, "lund_b_gev2": 0.98, "r_fact_c": 1.32, "eta_sup": 0.60,
               "eta_prime_sup": 0.12, "stop_mass_gev": 1.0}


def test_fragmentation_defaults_are_belle2_and_the_monash_card_restores_monash():
    """Card defaults reach the kernels as basf2's pythia_belle2.dat values over Monash; the
    documented Monash keys give exactly the Monash parameter array (tables' dataclass)."""
    from gen.hadronization.tables import BELLE2_PYTHIA_DAT, MONASH_2013, lund_parameters

    def lund(params):
        p = parse_table({"decays": False, **params}, QQbar.params, "process")
        return QQbar(p, {}, NO_SPREAD).lund

    np.testing.assert_array_equal(lund({}), lund_parameters(BELLE2_PYTHIA_DAT))
    np.testing.assert_array_equal(lund(MONASH_CARD), lund_parameters())
    assert set(BELLE2_PYTHIA_DAT) == set(MONASH_2013)
    assert any(BELLE2_PYTHIA_DAT[k] != MONASH_2013[k] for k in MONASH_2013)


def test_eta_suppression_key_acts_on_the_eta_rate():
    """eta_sup (StringFlav:etaSup) is an acceptance probability of each string eta: the primary
    eta/pi0 ratio scales by 0.27/0.60 between Belle II and Monash within 5 sigma (binomial
    errors; same pairs and seed, so only the flavour acceptance differs)."""
    rates = []
    for sup in (0.60, 0.27):
        proc = make({"eta_sup": sup, "isr": False, "low_mass": False})
        chunk, _ = proc.generate(np.random.default_rng(4), 1500)
        prim = chunk.particles["pdg"][chunk.particles["mother"] == -1]
        rates.append((np.count_nonzero(prim == 221), np.count_nonzero(prim == 111)))
    (e0, p0), (e1, p1) = rates
    ratio = (e1 / p1) / (e0 / p0)
    err = ratio * math.sqrt(1 / e0 + 1 / e1 + 1 / p0 + 1 / p1)
    print(f"eta/pi0 ratio Belle II / Monash = {ratio:.3f} +- {err:.3f} (expect {0.27 / 0.6:.3f})")
    assert abs(ratio - 0.27 / 0.60) < 5 * err


@pytest.mark.parametrize(("params", "match"), [
    ({"flavours": ["u", "b"]}, "flavours"),
    ({"flavours": []}, "flavours"),
    ({"flavours": ["u", "u"]}, "twice"),
    ({"min_hadronic_mass_gev": 20.0, "low_mass": False}, "min_hadronic_mass_gev"),
    ({"min_hadronic_mass_gev": 2.5}, "low_mass"),
    ({"flavours": ["u", "c"]}, "low_mass"),
])
def test_card_errors(params, match):
    p = parse_table({"decays": False, **params}, QQbar.params, "process")
    with pytest.raises(CardError, match=match):
        QQbar(p, {}, NO_SPREAD).validate("card.toml")
    with pytest.raises(CardError, match="unknown key"):
        parse_table({"flavour": ["u"]}, QQbar.params, "process")


# ---------------------------------------------------------------------------------------------
# the exclusive low-mass tail (gen.hadronization.exclusive, gen.processes.radiative_return)

def test_low_mass_off_reproduces_the_string_only_model():
    """low_mass = false: no exclusive events, every hadronic mass above 2 GeV."""
    chunk, _ = make({"low_mass": False}).generate(np.random.default_rng(21), 400)
    assert np.all(chunk.truth["flavour"] > 0)
    assert np.all(chunk.truth["channel"] == 0)
    assert np.all(chunk.truth["sqrt_s_prime"] >= 2.0)


def test_low_mass_born_channels():
    """Born values of the exclusive channels at the rho and phi (no ISR), in pb, with the VP
    factor: pi+ pi- ~1.3 ub at the rho, K+ K- ~2 ub at the phi (SND/CMD/BaBar peak values)."""
    proc = make({"isr": False, "vacuum_polarisation": False})
    rho = proc.low_mass_born_pb(0.775)
    phi = proc.low_mass_born_pb(mass_gev(333))
    assert 1.2e6 < rho["pi+ pi-"] < 1.45e6
    assert 1.8e6 < phi["K+ K-"] < 2.3e6
    assert phi["K+ K-"] / phi["K_S0 K_L0"] > 1.2  # B(K+K-)/B(KS KL) = 1.43 (DEC)


def _tail_pb_quad(vp: bool) -> float:
    """int ds'/s L(s'/s) sigma_excl(s') VP(s') by quad (gen.processes.radiative_return), pb."""
    from gen.constants import M_E
    from gen.hadronization import exclusive as ex
    from gen.processes.radiative_return import isr_convolution_quad

    x, w = ex.tables()
    sig = np.zeros(4)

    def sigma(sp):
        return ex.channel_sigmas1(sp, x, w, sig) * (vp_factor1(sp) if vp else 1.0)

    return GEV2_TO_PB * isr_convolution_quad(sigma, HEAD_ON.sqrt_s_gev, M_E, ex.S_THRESHOLD,
                                             4.0, [ex.M_RHO**2, ex.M_OMEGA**2, ex.M_PHI**2])


def test_exclusive_tail_cross_section_against_quad():
    """The generated share of exclusive events x sigma equals the ISR convolution of the channel
    cross sections (K_ISR and VP included) computed by quad: 5 sigma (binomial and weights)."""
    from gen.radiation import ISR_K_FACTOR

    proc = make({"photon_min_energy_gev": 1e-6}, beams=HEAD_ON, pilot_points=100_000)
    chunk, st = proc.generate(np.random.default_rng(22), 12_000)
    low = chunk.truth["flavour"] == 0
    k = int(np.count_nonzero(low))
    frac = k / chunk.n_events
    tail = st.cross_section_pb * frac
    err = tail * math.hypot(math.sqrt((1 - frac) / k),
                            st.cross_section_err_pb / st.cross_section_pb)
    ref = ISR_K_FACTOR * _tail_pb_quad(vp=True)
    print(f"exclusive tail: {tail:.1f} +- {err:.1f} pb (quad {ref:.1f} pb), "
          f"total {st.cross_section_pb:.1f} pb")
    assert abs(tail - ref) < 5 * err
    # channel content: pi+ pi- dominates (rho), every channel present
    ch = np.bincount(chunk.truth["channel"][low], minlength=5)[1:]
    assert ch[0] > 0.5 * k
    assert np.all(ch > 0)


def test_exclusive_events_content():
    """Exclusive events: ISR photon(s) + exactly the channel's hadrons as primaries; hadronic
    mass of the primaries = truth sqrt_s_prime; K_S decayed by the generic decayer."""
    proc = make({"decays": True}, beams=HEAD_ON)
    chunk, _ = proc.generate(np.random.default_rng(23), 1500)
    p = chunk.particles
    want = {1: [-211, 211], 2: [-211, 111, 211], 3: [-321, 321], 4: [130, 310],
            5: [-211, -211, 211, 211], 6: [-211, 111, 111, 211], 7: [-211, 211, 221]}
    seen_ks_decay = False
    for i in np.flatnonzero(chunk.truth["flavour"] == 0):
        a, b = chunk.offset[i], chunk.offset[i + 1]
        prim = (p["mother"][a:b] == -1) & (p["pdg"][a:b] != 22)
        codes = sorted(int(c) for c in p["pdg"][a:b][prim])
        assert codes == want[int(chunk.truth["channel"][i])]
        four = [p[k][a:b][prim].sum() for k in ("px", "py", "pz", "e")]
        m = math.sqrt(max(four[3] ** 2 - four[0] ** 2 - four[1] ** 2 - four[2] ** 2, 0.0))
        assert math.isclose(m, chunk.truth["sqrt_s_prime"][i], rel_tol=1e-7)
        ks = prim & (p["pdg"][a:b] == 310)
        if ks.any():
            seen_ks_decay |= bool(np.all(p["status"][a:b][ks] == 2))
    assert seen_ks_decay


def test_exclusive_pions_angular_distribution():
    """pi+ pi-: cos theta (truth, pi+ about the Collins-Soper axis) follows sin^2 theta."""
    proc = make({}, beams=HEAD_ON)
    chunk, _ = proc.generate(np.random.default_rng(24), 6000)
    sel = chunk.truth["channel"] == 1
    c = chunk.truth["cos_theta"][sel]
    assert c.size > 150
    assert stats.kstest(c, lambda x: (3 * x - x**3 + 2) / 4).pvalue > 1e-3


def test_pythia_engine_keeps_the_exclusive_events():
    """hadronization = 'pythia': string events go to Pythia, exclusive ones keep their hadrons
    and the event order; four-momentum conserved in both."""
    from gen.hadronization import pythia_engine

    if not pythia_engine.available():
        pytest.skip("pythia8mc not installed (optional extra): the Pythia split is not tested")
    proc = make({"hadronization": "pythia", "decays": True}, beams=HEAD_ON)
    chunk, _ = proc.generate(np.random.default_rng(25), 300)
    p = chunk.particles
    fin = p["status"] == 1
    ev = np.repeat(np.arange(chunk.n_events), np.diff(chunk.offset))
    tot = sum(HEAD_ON.nominal_four_momenta())
    np.testing.assert_allclose(np.bincount(ev[fin], p["e"][fin], minlength=chunk.n_events),
                               tot[3], atol=1e-6)
    low = chunk.truth["flavour"] == 0
    assert low.any()
    assert (~low).any()
    assert np.all(chunk.truth["n_primary"][low] <= 4)
