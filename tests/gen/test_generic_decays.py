"""Tests of gen.decays.generic: table, conservation laws, branching fractions, flight, helicity."""

from __future__ import annotations

import collections
import functools
import math

import numpy as np
import pytest
from particle import Particle
from scipy import stats

from gen.constants import C_CM_PER_NS, mass_gev
from gen.decays import generic as g
from gen.events import DECAYED, FINAL, EventChunk


@functools.cache
def _charge3(pdg: int) -> int:
    return int(Particle.from_pdgid(pdg).three_charge or 0)


def _chunk(pdgs, p=(0.0, 0.0, 0.0)) -> EventChunk:
    """One particle per event, momentum p (GeV) at the origin."""
    pdgs = np.asarray(pdgs)
    ch = EventChunk.fixed_multiplicity(pdgs.size, 1)
    ch.particles["pdg"][:] = pdgs
    m = np.array([mass_gev(int(x)) for x in pdgs])
    ch.particles["px"][:], ch.particles["py"][:], ch.particles["pz"][:] = p
    ch.particles["e"][:] = np.sqrt(m**2 + np.dot(p, p))
    return ch


def _four(ch, rows):
    P = ch.particles
    return np.stack([P["px"][rows], P["py"][rows], P["pz"][rows], P["e"][rows]], axis=-1)


HEAVY = [511, -511, 521, -521, 421, -411, 431, 4122, 443, 3122, 15, -15, 310, 223, 100443,
         4332, -4132, 441]


@pytest.fixture(scope="module")
def heavy_events():
    pdgs = np.repeat(HEAVY, 200)
    return g.decay_unstable(_chunk(pdgs, p=(0.3, -0.2, 1.1)), np.random.default_rng(11))


def test_four_momentum_conservation_in_every_decay(heavy_events):
    ch = heavy_events
    P = ch.particles
    n_checked = 0
    for ev in range(0, ch.n_events, 7):
        lo, hi = ch.offset[ev], ch.offset[ev + 1]
        mother = P["mother"][lo:hi]
        for r in np.flatnonzero(P["status"][lo:hi] == DECAYED):
            kids = np.flatnonzero(mother == r) + lo
            assert kids.size > 0
            diff = _four(ch, kids).sum(axis=0) - _four(ch, lo + r)
            assert np.all(np.abs(diff) < 1e-9), (P["pdg"][lo + r], diff)
            n_checked += 1
    assert n_checked > 1000


def test_charge_conservation_and_stable_final_state(heavy_events):
    ch = heavy_events
    P = ch.particles
    stable = np.isin(np.abs(P["pdg"]), list(g.DEFAULT_STABLE))
    final = P["status"] == FINAL
    assert np.all(stable[final]), collections.Counter(P["pdg"][final & ~stable].tolist())
    q = np.array([_charge3(int(x)) for x in P["pdg"]])
    ev = np.repeat(np.arange(ch.n_events), np.diff(ch.offset))
    q_final = np.bincount(ev, weights=q * final, minlength=ch.n_events)
    q_first = q[ch.offset[:-1]]
    assert np.array_equal(q_final, q_first)


def test_tree_structure(heavy_events):
    ch = heavy_events
    P = ch.particles
    ev = np.repeat(np.arange(ch.n_events), np.diff(ch.offset))
    local = np.arange(ch.n_particles) - ch.offset[ev]
    has = P["mother"] >= 0
    assert np.all(P["mother"][has] < local[has])
    mothers = ch.offset[ev[has]] + P["mother"][has]
    assert np.all(P["status"][mothers] == DECAYED)
    # the first particle of every event is decayed, nothing else has mother -1
    assert np.all(P["status"][ch.offset[:-1]] == DECAYED)
    assert np.all(has == (local > 0))


def test_same_seed_same_events():
    a = g.decay_unstable(_chunk([511] * 50), np.random.default_rng(3))
    b = g.decay_unstable(_chunk([511] * 50), np.random.default_rng(3))
    for k in a.particles:
        assert np.array_equal(a.particles[k], b.particles[k])


def _first_level_counts(ch):
    """Counter of the sorted daughter pdg tuples of the first particle of each event."""
    P = ch.particles
    out = collections.Counter()
    for ev in range(ch.n_events):
        lo, hi = ch.offset[ev], ch.offset[ev + 1]
        kids = np.flatnonzero(P["mother"][lo:hi] == 0) + lo
        out[tuple(sorted(P["pdg"][kids].tolist()))] += 1
    return out


@pytest.mark.parametrize(("pdg", "n"), [(413, 20_000), (221, 20_000), (421, 30_000)])
def test_branching_fractions_reproduce_the_table(pdg, n):
    """chi^2 of the first-level mode frequencies against the normalised DEC BFs (fixed seed)."""
    expected = collections.Counter()
    for m in g.decay_modes():
        if m.mother == pdg:
            expected[tuple(sorted(m.daughters))] += m.bf * n
    # first-level daughters kept undecayed (except the mother itself)
    keep = {*g.DEFAULT_STABLE, 111, 221, 310, 223, 313, 323, 113, 213, 333, 331, 421, 411}
    ch = g.decay_unstable(_chunk([pdg] * n), np.random.default_rng(pdg),
                          stable=frozenset(keep - {pdg}))
    seen = _first_level_counts(ch)
    assert set(seen) <= set(expected)
    big = [k for k, v in expected.items() if v >= 20]
    small = [k for k in expected if k not in big]
    obs = [seen[k] for k in big] + [sum(seen[k] for k in small)]
    exp = [expected[k] for k in big] + [sum(expected[k] for k in small)]
    if exp[-1] < 5:  # fold a tiny remainder into the largest class
        obs, exp = obs[:-1], exp[:-1]
        obs[0] += sum(seen[k] for k in small)
        exp[0] += sum(expected[k] for k in small)
    chi2, p = stats.chisquare(obs, np.array(exp) * sum(obs) / sum(exp))
    assert len(obs) >= 3
    assert p > 1e-3, (chi2, len(obs))


def test_exponential_decay_length():
    """K_S0 with p = 1 GeV: decay length / (beta gamma c tau) ~ Exp(1) (KS test)."""
    ch = g.decay_unstable(_chunk([310] * 20_000, p=(0.0, 0.0, 1.0)), np.random.default_rng(5))
    P = ch.particles
    first_kid = ch.offset[:-1] + 1
    assert np.all(P["mother"][first_kid] == 0)
    length = np.sqrt(P["vx"][first_kid] ** 2 + P["vy"][first_kid] ** 2 + P["vz"][first_kid] ** 2)
    ctau = Particle.from_pdgid(310).lifetime * C_CM_PER_NS
    bg = 1.0 / mass_gev(310)
    assert stats.kstest(length / (bg * ctau), "expon").pvalue > 1e-3
    # time of the decay = L / (beta c)
    beta = 1.0 / np.sqrt(1.0 + mass_gev(310) ** 2)
    assert np.allclose(P["t"][first_kid], length / (beta * C_CM_PER_NS), rtol=1e-9)


def test_prompt_decays_stay_at_the_vertex():
    ch = g.decay_unstable(_chunk([223] * 100, p=(0.0, 0.0, 2.0)), np.random.default_rng(1))
    P = ch.particles
    kids = P["mother"] == 0
    assert np.all(P["vx"][kids] == 0.0)
    assert np.all(P["vz"][kids] == 0.0)


def _helicity_cos(ch, mother_pdg, vector_pdg, dau_pdg):
    """cos(helicity angle) of ``dau_pdg`` in vector decays following mother -> vector X."""
    P = ch.particles
    out = []
    for ev in range(ch.n_events):
        lo, hi = ch.offset[ev], ch.offset[ev + 1]
        pdg, mo = P["pdg"][lo:hi], P["mother"][lo:hi]
        if pdg[0] != mother_pdg:
            continue
        kids0 = np.flatnonzero(mo == 0)
        v = [k for k in kids0 if pdg[k] == vector_pdg]
        # S -> V S only (D_s -> phi rho is S -> V V: unpolarised here)
        if len(kids0) != 2 or not v or not set(np.abs(pdg[kids0])) & {211, 321}:
            continue
        d = [k for k in np.flatnonzero(mo == v[0]) if pdg[k] == dau_pdg]
        if len(np.flatnonzero(mo == v[0])) != 2 or not d:
            continue
        pv = _four(ch, lo + v[0])
        beta = pv[:3] / pv[3]
        pd = _boost(_four(ch, lo + d[0]), -beta)
        pm = _boost(_four(ch, lo), -beta)
        out.append(-np.dot(pd[:3], pm[:3]) / np.linalg.norm(pd[:3]) / np.linalg.norm(pm[:3]))
    return np.array(out)


def _boost(p, b):
    b2 = np.dot(b, b)
    gam = 1 / np.sqrt(1 - b2)
    bp = np.dot(b, p[:3])
    f = (gam - 1) / b2 * bp + gam * p[3] if b2 > 0 else 0.0
    return np.array([*(p[:3] + f * b), gam * (p[3] + bp)])


def test_helicity_zero_vector_gives_cos2():
    """D_s+ -> phi pi+ (S -> V S): phi -> K+ K- follows cos^2 (CDF (c^3 + 1)/2)."""
    ch = g.decay_unstable(_chunk([431] * 30_000, p=(0.0, 0.5, 1.0)), np.random.default_rng(8))
    c = _helicity_cos(ch, 431, 333, 321)
    assert c.size > 200
    assert stats.kstest(c, lambda x: (x**3 + 1) / 2).pvalue > 1e-3
    assert stats.kstest(c, stats.uniform(-1, 2).cdf).pvalue < 1e-3


def test_unpolarised_vector_decays_isotropically():
    """A phi without mother: K+ direction in the phi rest frame is uniform (KS test)."""
    ch = g.decay_unstable(_chunk([333] * 5000, p=(0.0, 0.0, 1.0)), np.random.default_rng(2))
    P = ch.particles
    c = []
    for ev in range(ch.n_events):
        lo = ch.offset[ev]
        if P["pdg"][lo + 1] != 321 or ch.offset[ev + 1] - lo != 3:
            continue
        pv = _four(ch, lo)
        k = _boost(_four(ch, lo + 1), -pv[:3] / pv[3])
        c.append(k[2] / np.linalg.norm(k[:3]))
    assert len(c) > 1000
    assert stats.kstest(c, stats.uniform(-1, 2).cdf).pvalue > 1e-3


def test_breit_wigner_masses_within_limits():
    """rho0 from omega / D decays: BW masses above 2 m_pi, spread ~ the width."""
    ch = g.decay_unstable(_chunk([421] * 20_000), np.random.default_rng(4),
                          stable=frozenset({*g.DEFAULT_STABLE, 113}))
    P = ch.particles
    rho = P["pdg"] == 113
    m = np.sqrt(P["e"][rho] ** 2 - P["px"][rho] ** 2 - P["py"][rho] ** 2 - P["pz"][rho] ** 2)
    assert rho.sum() > 500
    assert np.all(m > 2 * mass_gev(211) - 1e-9)
    assert np.median(np.abs(m - np.median(m))) < Particle.from_pdgid(113).width * 1e-3


def test_coverage_bookkeeping():
    cov = g.coverage()
    for c in cov.values():
        assert c.bf_kept + sum(c.dropped.values()) == pytest.approx(c.bf_file, abs=1e-9)
    assert cov[421].bf_kept == pytest.approx(cov[421].bf_file)  # D0: nothing dropped
    assert sum(n for n, _ in g.model_summary().values()) > 8000


def test_tau_uses_the_tau_module():
    ch = g.decay_unstable(_chunk([15] * 200, p=(0.0, 0.0, 3.0)), np.random.default_rng(6))
    P = ch.particles
    kids = P["mother"] == 0
    assert np.all(np.bincount(np.repeat(np.arange(200), np.diff(ch.offset)),
                              weights=(kids & (P["pdg"] == 16))) == 1)


def test_stable_particles_are_not_decayed():
    ch = g.decay_unstable(_chunk([211, -321, 22, 130] * 10), np.random.default_rng(0))
    assert ch.n_particles == 40
    assert np.all(ch.particles["status"] == FINAL)


def test_charged_d1_2430_takes_the_neutral_properties():
    """EvtGen's D'_1+- (PDG +-20413; PDG RPP lists only the D_1(2430)0) is known to particle
    after the tables load, with the neutral one's mass, width and spin (isospin), charge +-1."""
    g.decay_tables()
    n = Particle.from_pdgid(20423)
    for pdg, charge3 in ((20413, 3), (-20413, -3)):
        p = Particle.from_pdgid(pdg)
        assert (p.mass, p.width, p.J) == (n.mass, n.width, n.J)
        assert p.three_charge == charge3
    assert g._pdg_of("D'_1+") == 20413
    assert g._pdg_of("D'_1-") == -20413


def test_b_modes_with_charged_d1_2430_are_kept():
    """Every anti-B0 DEC line with a D'_1+ is a kept mode with its DEC BF; what the B0 still
    drops are lines with EvtGen pseudo-particles only (Xu-, Xsd; D(2S)-, D*(2S)- at BF 0)."""
    modes = {(m.daughters, m.bf_dec) for m in g.decay_modes() if m.mother == -511}
    lines = [r for r in g.dec_block("anti-B0") if "D'_1+" in r["fs"]]
    assert len(lines) >= 7
    for r in lines:
        assert (tuple(g._pdg_of(f) for f in r["fs"]), r["bf"]) in modes, r
    aliases = g.dec_parser().dict_aliases()
    unknown = [r for r in g.dec_block("B0")
               if any(g._pdg_of(aliases.get(f, f)) is None for f in r["fs"])]
    names = {f for r in unknown for f in r["fs"] if g._pdg_of(aliases.get(f, f)) is None}
    assert names <= {"Xu-", "Xsd", "D(2S)-", "D*(2S)-"}, names
    cov = g.coverage()[511]
    assert set(cov.dropped) == {"pseudo-particle or unknown to particle"}
    assert sum(cov.dropped.values()) == pytest.approx(sum(r["bf"] for r in unknown), abs=1e-12)
    assert sum(cov.dropped.values()) < 0.004  # was 0.0164 with the D'_1- modes dropped


def test_charged_d1_2430_decays():
    """D'_1+ at rest: D*+ pi0 : D*0 pi+ = 1/3 : 2/3 (DEC, isospin; 4 sigma), charge kept."""
    g.decay_tables()  # registers the id with particle (mass_gev of _chunk)
    n = 20_000
    keep = {*g.DEFAULT_STABLE, 111, 413, 423}
    ch = g.decay_unstable(_chunk([20413] * n), np.random.default_rng(20413),
                          stable=frozenset(keep))
    seen = _first_level_counts(ch)
    assert set(seen) == {(111, 413), (211, 423)}
    f = seen[(111, 413)] / n
    assert abs(f - 1 / 3) < 4 * math.sqrt(2 / 9 / n), f
    P = ch.particles
    q = np.array([_charge3(int(x)) for x in P["pdg"]])
    ev = np.repeat(np.arange(n), np.diff(ch.offset))
    assert np.all(np.bincount(ev, weights=q * (P["status"] == FINAL)) == 3)


def test_every_unstable_species_has_decays():
    """No species of the tables (every daughter of the DEC file and every hadron the quark-level
    modes can make) is left without decay modes unless it is stable: eta(1295), K_3*(1780)0
    and K_4*(2045)0, which the DEC file makes but does not decay, have the PDG modes of
    EXTRA_DECAYS. Their products decay too (checked here through their species)."""
    tb = g.decay_tables()
    unstable = tb.sp_decay != g.STABLE
    assert not np.any(tb.sp_decay[unstable] == g.NO_TABLE), tb.sp_pdg[tb.sp_decay == g.NO_TABLE]
    for pdg in (100221, 317, -317, 319, -319):
        k = g.species_index(tb, pdg)
        assert tb.sp_first[k + 1] > tb.sp_first[k]
        assert g.coverage()[pdg].bf_kept == pytest.approx(1.0)


def test_eta1295_modes():
    """eta(1295) at rest: a0(980) pi (1/2; a0+ pi- : a0- pi+ : a0 pi0 = 1 : 1 : 1) and eta pi pi
    (1/2; pi+ pi- : pi0 pi0 = 2 : 1), EXTRA_DECAYS (PDG RPP 2024 lists both as "seen"); 4
    sigma binomial; charge and four-momentum conserved."""
    n = 12_000
    keep = {*g.DEFAULT_STABLE, 111, 221, 9000111, 9000211}
    ch = g.decay_unstable(_chunk([100221] * n), np.random.default_rng(1295),
                          stable=frozenset(keep))
    seen = _first_level_counts(ch)
    want = {(-211, 9000211): 1 / 6, (-9000211, 211): 1 / 6, (111, 9000111): 1 / 6,
            (-211, 211, 221): 1 / 3, (111, 111, 221): 1 / 6}
    assert set(seen) == set(want)
    for key, f in want.items():
        assert abs(seen[key] / n - f) < 4 * math.sqrt(f * (1 - f) / n), key
    P = ch.particles
    final = P["status"] == FINAL
    ev = np.repeat(np.arange(n), np.diff(ch.offset))
    q = np.array([_charge3(int(x)) for x in P["pdg"]])
    assert np.all(np.bincount(ev, weights=q * final) == 0)
    tot = np.stack([np.bincount(ev, weights=P[k] * final) for k in ("px", "py", "pz", "e")], 1)
    np.testing.assert_allclose(tot, [[0, 0, 0, mass_gev(100221)]] * n, atol=1e-9)


def test_bbbar_events_leave_nothing_undecayed():
    """Upsilon(4S) -> B Bbar events (200): no particle without a table is met (counter), and
    every status-1 particle is stable or long-lived (c tau > 1 cm: K_S0, Lambda, Sigma+-,
    Xi, Omega decay in the detector simulation)."""
    from gen.beams import Beams
    from gen.processes.bbbar import BBbar

    proc = BBbar({"mixing": True}, {}, Beams())
    proc.prepare(np.random.default_rng(0), 200)
    before = g.decay_tables().counters[g.C_NO_TABLE]
    chunk, _ = proc.generate(np.random.default_rng(4), 200)
    assert g.decay_tables().counters[g.C_NO_TABLE] == before
    P = chunk.particles
    left = {int(abs(x)) for x in P["pdg"][P["status"] == FINAL]} - set(g.DEFAULT_STABLE)
    for pdg in left:
        life = Particle.from_pdgid(pdg).lifetime
        assert life is not None, pdg
        assert life * C_CM_PER_NS > 1.0, pdg
