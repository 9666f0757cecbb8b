"""Tests of gen.decays.quark_modes: the quark-level (PYTHIA) modes of DECAY_BELLE2.DEC."""

from __future__ import annotations

import collections
import functools
import math

import numpy as np
import pytest
from particle import Particle
from scipy import stats

from gen.constants import mass_gev
from gen.decays import generic as g
from gen.decays import quark_modes as qm
from gen.events import FINAL, EventChunk
from gen.hadronization.tables import L_VC
from gen.jit import kernel

B_MESONS = (511, -511, 521, -521)


@kernel
def _pick_many(rng, tb, lo, hi, m, n):
    out = np.empty(n, np.int64)
    for i in range(n):
        out[i] = g._pick_open(tb, lo, hi, m, rng.random())
    return out


@kernel
def _decay_many(rng, tb, mode, m, n):
    """n quark-level decays of ``mode`` at rest: pdg, four-momenta, offsets, overweights."""
    oi = np.zeros((qm.MAX_ROWS, 4), np.int64)
    of = np.zeros((qm.MAX_ROWS, 8))
    pdg = np.empty(n * qm.MAX_ROWS, np.int64)
    p4 = np.empty((n * qm.MAX_ROWS, 4))
    off = np.zeros(n + 1, np.int64)
    over = 0
    pos = 0
    for i in range(n):
        k, o = qm.quark_decay1(rng, tb, mode, m, oi, of, 0)
        over += o
        k = max(k, 0)
        for r in range(k):
            pdg[pos + r] = oi[r, 0]
            for c in range(4):
                p4[pos + r, c] = of[r, c]
        pos += k
        off[i + 1] = pos
    return pdg[:pos], p4[:pos], off, over


@kernel
def _poisson_many(rng, average, n_min, n):
    out = np.empty(n, np.int64)
    for i in range(n):
        out[i] = qm.poisson_multiplicity1(rng, average, n_min)
    return out


@kernel
def _combine_many(rng, par, a, b, n):
    out = np.empty(n, np.int64)
    for i in range(n):
        out[i] = qm.combine1(rng, par, a, b)
    return out


@functools.cache
def _content(pdg: int) -> tuple[int, int, int, int]:
    """(3 x charge, 3 x baryon number, charm, strangeness) from ``particle``'s quark string."""
    p = Particle.from_pdgid(pdg)
    q = p.quarks.replace("sqrt", "")  # pi0: "(uU-dD)/sqrt(2)"
    up, low = sum(q.count(c) for c in "UDSC"), sum(q.count(c) for c in "udsc")
    baryon3 = (low - up) if abs(pdg) > 1000 else 0
    return (int(p.three_charge), baryon3, q.count("c") - q.count("C"),
            q.count("S") - q.count("s"))


def _parton_content(codes) -> tuple[int, int, int, int]:
    """The same totals for a list of parton codes (quarks, diquarks; 82/83 pairs are neutral)."""
    charge3 = {1: -1, 2: 2, 3: -1, 4: 2}
    tot = [0, 0, 0, 0]
    for c in codes:
        if abs(c) in (qm.RANDOM_FLAV, qm.GLUON_LOOP) or c == 0:
            continue
        sign = 1 if c > 0 else -1
        a = abs(c)
        quarks = [a] if a < 10 else [a // 1000, (a // 100) % 10]
        for q in quarks:
            tot[0] += sign * charge3[q]
            tot[1] += sign
            tot[2] += sign * (q == 4)
            tot[3] -= sign * (q == 3)
    return tuple(tot)


def _modes(pdg: int) -> list[int]:
    tb = g.decay_tables()
    k = g.species_index(tb, pdg)
    return [m for m in range(tb.sp_first[k], tb.sp_first[k + 1]) if tb.md_me[m] >= 0]


def test_spectator_flavour_follows_pythia():
    # B0 = d bbar, B+ = u bbar, D0 = c ubar, Omega_c0 = ssc, Xi_c0 = dsc, Xi_c+ = usc
    assert qm.spectator_flavour(511) == 1
    assert qm.spectator_flavour(521) == 2
    assert qm.spectator_flavour(-521) == -2
    assert qm.spectator_flavour(421) == -2
    assert qm.spectator_flavour(4332) == 3303
    assert qm.spectator_flavour(-4332) == -3303
    assert qm.spectator_flavour(4132) == 3101
    assert qm.spectator_flavour(4232) == 3201


def _dec_quark_level_classes(name: str) -> dict[int, float]:
    """meMode -> summed BF of the PYTHIA lines with quark/diquark daughters, read directly
    from the DEC file."""
    parser = g.dec_parser()
    out: dict[int, float] = collections.defaultdict(float)
    for tree in parser._find_decay_modes(name):
        d = parser._decay_mode_details(tree)
        ids = [g._pdg_of(f) for f in d["fs"]]
        if "PYTHIA" in str(d["model"]) and any(i is not None and g._is_parton(i) for i in ids):
            out[int(float(d["model_params"][0]))] += float(d["bf"])
    return out


@pytest.mark.parametrize("pdg", [511, 521])
def test_quark_level_bf_classes_match_the_dec_table(pdg):
    """Frequency of each quark-level class (meMode 23, 43, 63, 91) picked at the B mass against
    the DEC BFs (normalised over the kept modes): chi^2, fixed seed."""
    name = Particle.from_pdgid(pdg).evtgen_name
    dec = _dec_quark_level_classes(name)
    assert sum(dec.values()) > 0.40  # the brief: 44 % (B+) / 48 % (B0) of the width
    # normalisation: the DEC BFs of the modes in the table (open at the nominal mass)
    kept = sum(m.bf_dec for m in g.decay_modes() if m.mother == pdg)
    tb = g.decay_tables()
    k = g.species_index(tb, pdg)
    lo, hi = tb.sp_first[k], tb.sp_first[k + 1]
    n = 200_000
    picked = _pick_many(np.random.default_rng(pdg), tb, lo, hi, mass_gev(pdg), n)
    me = tb.md_me[picked]
    classes = sorted(dec)
    obs = [int(np.sum(me == c)) for c in classes] + [int(np.sum(me < 0))]
    exp = [n * dec[c] / kept for c in classes]
    exp.append(n - sum(exp))
    chi2, p = stats.chisquare(obs, exp)
    assert p > 1e-3, (classes, obs, exp)
    # the table itself: quark-level BF exactly the DEC value over the kept BF
    table = sum(m.bf for m in g.decay_modes() if m.mother == pdg and m.me_mode >= 0)
    assert table == pytest.approx(sum(dec.values()) / kept, rel=1e-12)


MOTHERS = (*B_MESONS, 4332, -4332, 4132, 4232, 443, 441, 100443)


@pytest.mark.parametrize("pdg", MOTHERS)
def test_every_quark_level_decay_conserves_four_momentum_and_flavour(pdg):
    tb = g.decay_tables()
    m = mass_gev(pdg)
    modes = _modes(pdg)
    assert modes
    for mode in modes:
        pdgs, p4, off, _ = _decay_many(np.random.default_rng(mode), tb, mode, m, 200)
        n = np.diff(off)
        assert np.all(n >= 2), mode
        ev = np.repeat(np.arange(n.size), n)
        tot = np.stack([np.bincount(ev, weights=p4[:, c], minlength=n.size) for c in range(4)], 1)
        assert np.allclose(tot, [0.0, 0.0, 0.0, m], atol=1e-9), mode
        known = [int(x) for x in tb.md_pdg[mode, :tb.md_nd[mode]]]
        expect = np.add(_parton_content(tb.md_part[mode]),
                        np.sum([_content(x) for x in known], axis=0) if known else 0)
        content = np.array([_content(int(x)) for x in pdgs])
        per_event = np.stack([np.bincount(ev, weights=content[:, c], minlength=n.size)
                              for c in range(4)], 1)
        assert np.all(per_event == expect), (mode, pdgs[:10])
        # invariant masses of the products are physical
        m2 = p4[:, 3] ** 2 - np.sum(p4[:, :3] ** 2, axis=1)
        assert np.all(m2 > -1e-9)
        me = tb.md_me[mode]
        if 61 < me <= 70:
            assert np.all(n == me - 60)
        if me == 23:
            assert np.all(n >= 3)


def test_mother_charge_equals_the_parton_content():
    """The DEC parton lists themselves conserve charge (a check of the parsing and of the
    spectator substitution)."""
    tb = g.decay_tables()
    for pdg in (*B_MESONS, 4332, 4132, 4232, -4232):
        for mode in _modes(pdg):
            known = [int(x) for x in tb.md_pdg[mode, :tb.md_nd[mode]]]
            q = _parton_content(tb.md_part[mode])[0] + sum(_content(x)[0] for x in known)
            assert q == _content(pdg)[0], (pdg, tb.md_part[mode], known)


def test_poisson_multiplicity_is_a_truncated_poissonian():
    avg, n_min, n = 3.7, 3, 100_000
    x = _poisson_many(np.random.default_rng(5), avg, n_min, n)
    k = np.arange(n_min, qm.MAX_MULT + 1)
    w = np.array([avg**i / math.factorial(i) for i in k])
    obs = np.array([np.sum(x == i) for i in k])
    assert obs.sum() == n
    chi2, p = stats.chisquare(obs[:-2].tolist() + [obs[-2:].sum()],
                              (n * w / w.sum())[:-2].tolist() + [n * w[-2:].sum() / w.sum()])
    assert p > 1e-3


#: ParticleDecays:multIncreaseWeak / multIncrease that EvtGen gives its Pythia 8 instances
#: (EvtPythiaEngine::updatePhysicsParameters, EvtGen 1.x and 2.x; basf2 EvtGenInterface uses that
#: engine); Pythia 8's own defaults are 2.5 / 4.0. multRefMass 0.7 GeV, multGoffset 0.5.
EVTGEN_MULT_WEAK, EVTGEN_MULT = 2.0, 4.5


@pytest.mark.parametrize(("me", "n_fixed", "n_partons", "m_ps", "closed", "expect"), [
    # B0 -> (u dbar)(cbar d) PYTHIA 23: spectator D(*)- plus 4 partons, weak coefficient
    (23, 1, 4, 2.5, False, 0.5 + 1.0 + EVTGEN_MULT_WEAK * math.log(2.5 / 0.7)),
    # c sbar cbar d PYTHIA 43: no spectator collapse, the non-weak coefficient
    (43, 0, 4, 1.2, False, 1.0 + EVTGEN_MULT * math.log(1.2 / 0.7)),
    # below 1.1 x multRefMass the logarithm is frozen at ln 1.1; closed gluon loop +0.5
    (92, 0, 2, 0.3, True, 0.5 + EVTGEN_MULT * math.log(1.1) + 0.5),
])
def test_mean_multiplicity_uses_evtgens_pythia_settings(me, n_fixed, n_partons, m_ps, closed,
                                                        expect):
    assert qm.mean_multiplicity1(me, n_fixed, n_partons, m_ps, closed) == pytest.approx(
        expect, rel=1e-12)


def test_c_cbar_makes_charmonium_with_the_vector_fraction():
    tb = g.decay_tables()
    n = 40_000
    x = _combine_many(np.random.default_rng(8), tb.qm_lund, 4, -4, n)
    assert set(np.unique(x).tolist()) == {441, 443}
    vc = tb.qm_lund[L_VC]
    frac, expect = np.mean(x == 443), vc / (1.0 + vc)
    assert abs(frac - expect) < 4.0 * math.sqrt(expect * (1 - expect) / n)


def test_b_quark_level_modes_make_several_hadrons():
    """Mean multiplicity of the b -> c u dbar class (meMode 23) is that of a Poissonian with
    Pythia 8's mean, truncated to [3, 10] (the spectator hadron counts as one)."""
    tb = g.decay_tables()
    mode = next(m for m in _modes(511) if tb.md_me[m] == 23)
    _, _, off, _ = _decay_many(np.random.default_rng(1), tb, mode, mass_gev(511), 5000)
    mean = np.diff(off).mean()
    assert 3.0 < mean < 7.0


def _chunk(pdgs) -> EventChunk:
    pdgs = np.asarray(pdgs)
    ch = EventChunk.fixed_multiplicity(pdgs.size, 1)
    ch.particles["pdg"][:] = pdgs
    ch.particles["e"][:] = [mass_gev(int(x)) for x in pdgs]
    return ch


def test_charm_baryons_without_exclusive_table_now_decay():
    """Omega_c0 (DEC: one PYTHIA line without daughters) decays via the c-hadron block."""
    cov = g.coverage()
    for pdg in (4332, 4132, 4232):
        assert cov[pdg].bf_kept == pytest.approx(cov[pdg].bf_file)
    ch = g.decay_unstable(_chunk([4332, -4332, 4132] * 100), np.random.default_rng(2))
    P = ch.particles
    final = P["status"] == FINAL
    assert np.all(np.isin(np.abs(P["pdg"][final]), list(g.DEFAULT_STABLE)))
    ev = np.repeat(np.arange(ch.n_events), np.diff(ch.offset))
    q = np.array([_content(int(x))[0] for x in P["pdg"]])
    assert np.array_equal(np.bincount(ev, weights=q * final, minlength=ch.n_events),
                          q[ch.offset[:-1]])


def test_producible_hadrons_have_decay_tables():
    tb = g.decay_tables()
    for p in qm.producible_hadrons():
        k = g.species_index(tb, p)
        assert k >= 0, p
        assert tb.sp_decay[k] != g.NO_TABLE, p


def test_exclusive_match_finds_dec_channels():
    """exclusive_match1 recognises a B0 mode of the DEC table in any order, not a non-mode."""
    tb = g.decay_tables()
    k = g.species_index(tb, 511)
    lo, hi = tb.sp_first[k], tb.sp_first[k + 1]
    mode = next(i for i in range(lo, hi) if tb.md_me[i] < 0 and tb.md_nd[i] == 3)
    ids = np.zeros(qm.MAX_ROWS, np.int64)
    ids[:3] = tb.md_pdg[mode, :3][::-1]
    found = qm.exclusive_match1(tb, lo, hi, ids, 3)
    assert found >= 0
    assert sorted(tb.md_pdg[found, :3]) == sorted(ids[:3])
    assert qm.mother_modes1(tb, mode) == (lo, hi)
    ids[:3] = [22, 22, 22]  # B0 -> 3 gamma is not a DEC mode
    assert qm.exclusive_match1(tb, lo, hi, ids, 3) == -1
