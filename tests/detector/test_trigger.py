"""Trigger: 2D-track acceptance and efficiency, ffo/fff/stt/hie/cdcklm logic, Bhabha veto, bits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from detector import trigger
from detector.config import DetectorConfig
from detector.simulate import simulate_chunk
from gen.beams import Beams, cm_to_lab1
from gen.constants import M_E, M_MU

PERFECT_ECL = {"sigma_angle_a_mrad": 0.0, "sigma_angle_b_mrad": 0.0, "res_noise_gev": 0.0,
               "res_stochastic": 0.0, "res_constant": 0.0}


def events(kin, n=1):
    """``kin``: list of (pdg, px, py, pz, e) per event, repeated n times."""
    per = len(kin)
    arr = np.array([k[1:] for k in kin] * n, float).reshape(-1, 4)
    m = arr.shape[0]
    particles = {
        "pdg": np.array([k[0] for k in kin] * n, np.int32), "status": np.ones(m, np.int8),
        "mother": np.full(m, -1, np.int32), "px": arr[:, 0].copy(), "py": arr[:, 1].copy(),
        "pz": arr[:, 2].copy(), "e": arr[:, 3].copy(), "vx": np.zeros(m), "vy": np.zeros(m),
        "vz": np.zeros(m), "t": np.zeros(m),
    }
    return particles, np.arange(0, m + 1, per, dtype=np.int64)


def muon(p, theta, phi, pdg=13):
    return (pdg, p * math.sin(theta) * math.cos(phi), p * math.sin(theta) * math.sin(phi),
            p * math.cos(theta), math.hypot(p, M_MU))


def run(kin, n=1, seed=1, **sections):
    cfg = DetectorConfig.from_toml(sections, "test")
    particles, offset = events(kin, n)
    return simulate_chunk(particles, offset, np.random.default_rng(seed), cfg)["trigger"], cfg


def bit(word, mask):
    return bool(int(word) & mask)


def test_bits_are_distinct_powers_of_two_and_documented():
    bits = [trigger.FFF, trigger.FFO, trigger.STT, trigger.HIE, trigger.CDCKLM,
            trigger.BHABHA_VETO]
    assert sorted(bits) == [1 << k for k in range(6)]
    assert set(trigger.BIT_NAMES) == set(bits)
    assert not trigger.PHYSICS_MASK & trigger.BHABHA_VETO
    words = np.array([0, trigger.FFO, trigger.BHABHA_VETO], np.uint32)
    np.testing.assert_array_equal(trigger.fired(words, trigger.PHYSICS_MASK), [False, True, False])
    assert trigger.bit_names(trigger.FFO | trigger.CDCKLM) == ["ffo", "cdcklm"]


def _edges(cfg):
    t = cfg.trigger
    return (math.degrees(math.atan2(t.trk2d_radius_cm, t.trk2d_z_fwd_cm)),
            180.0 - math.degrees(math.atan2(t.trk2d_radius_cm, -t.trk2d_z_bwd_cm)))


@pytest.mark.parametrize(("offset_deg", "inside"), [(0.2, True), (-0.2, False)])
def test_2d_track_polar_acceptance(offset_deg, inside):
    lo, hi = _edges(DetectorConfig())
    assert lo == pytest.approx(28.78, abs=0.01)
    assert hi == pytest.approx(128.67, abs=0.01)
    for theta_deg in (lo + offset_deg, hi - offset_deg):
        word, _ = run([muon(5.0, math.radians(theta_deg), 0.4)],
                      trigger={"trk2d_efficiency": 1.0, "fff_min_tracks": 1})
        assert bit(word[0], trigger.FFF) == inside


@pytest.mark.parametrize(("pt", "inside"), [(0.299, False), (0.301, True)])
def test_2d_track_pt_threshold(pt, inside):
    word, _ = run([muon(pt, math.pi / 2, 0.4)],
                  trigger={"trk2d_efficiency": 1.0, "fff_min_tracks": 1})
    assert bit(word[0], trigger.FFF) == inside


def test_single_track_and_klm_efficiencies():
    n = 100_000
    word, cfg = run([muon(2.0, math.pi / 2, 0.4)], n=n, seed=3)
    eff = cfg.trigger.trk2d_efficiency
    stt = np.mean(trigger.fired(word, trigger.STT))
    assert stt == pytest.approx(eff, abs=5 * math.sqrt(eff * (1 - eff) / n))
    klm = eff * cfg.trigger.klm_efficiency
    got = np.mean(trigger.fired(word, trigger.CDCKLM))
    assert got == pytest.approx(klm, abs=5 * math.sqrt(klm * (1 - klm) / n))
    # below the STT momentum and the KLM threshold: neither
    word, _ = run([muon(0.6, math.pi / 2, 0.4)], n=1000)
    assert not trigger.fired(word, trigger.STT | trigger.CDCKLM).any()


def test_ffo_and_fff_multiplicity_logic():
    n = 100_000
    pair = [muon(2.0, math.pi / 2, 0.4), muon(2.0, math.pi / 2, 0.4 + math.pi, -13)]
    word, cfg = run(pair, n=n, seed=5)
    eff = cfg.trigger.trk2d_efficiency
    got = np.mean(trigger.fired(word, trigger.FFO))
    assert got == pytest.approx(eff**2, abs=5 * math.sqrt(eff**2 * (1 - eff**2) / n))
    assert not trigger.fired(word, trigger.FFF).any()
    narrow = [muon(2.0, math.pi / 2, 0.4), muon(2.0, math.pi / 2, 0.4 + math.radians(60), -13)]
    word, _ = run(narrow, n=1000, trigger={"trk2d_efficiency": 1.0})
    assert not trigger.fired(word, trigger.FFO).any()
    three = [muon(2.0, 1.2, 0.0), muon(1.0, 1.5, 2.0, -13), muon(1.5, 1.9, -2.0)]
    word, _ = run(three, n=n, seed=7)
    got = np.mean(trigger.fired(word, trigger.FFF))
    assert got == pytest.approx(eff**3, abs=5 * math.sqrt(eff**3 * (1 - eff**3) / n))


@pytest.mark.parametrize(("energy", "fires"), [(1.5, True), (0.8, False)])
def test_hie_threshold(energy, fires):
    photon = (22, energy * math.cos(0.3), energy * math.sin(0.3), 0.0, energy)
    word, _ = run([photon], calorimeter=PERFECT_ECL)
    assert bit(word[0], trigger.HIE) == fires


def _back_to_back(pdg, mass):
    bx, by, bz = Beams().boost
    e_star = Beams().sqrt_s_gev / 2
    p_star = math.sqrt(e_star**2 - mass**2)
    kin = []
    for sign, code in ((1.0, pdg), (-1.0, -pdg)):
        v = cm_to_lab1(sign * p_star * math.cos(0.3), sign * p_star * math.sin(0.3), 0.0, e_star,
                       bx, by, bz, 0.0, 0.0, 1.0)
        kin.append((code, v[0], v[1], v[2], v[3]))
    return kin


def test_bhabha_veto_kills_ffo_and_hie_but_not_muon_pairs():
    word, _ = run(_back_to_back(11, M_E), calorimeter=PERFECT_ECL,
                  trigger={"trk2d_efficiency": 1.0})
    assert bit(word[0], trigger.BHABHA_VETO)
    assert not bit(word[0], trigger.FFO)
    assert not bit(word[0], trigger.HIE)
    assert bit(word[0], trigger.STT)
    word, _ = run(_back_to_back(11, M_E), calorimeter=PERFECT_ECL,
                  trigger={"trk2d_efficiency": 1.0, "bhabha_veto": False})
    assert bit(word[0], trigger.FFO)
    assert bit(word[0], trigger.HIE)
    word, _ = run(_back_to_back(13, M_MU), calorimeter=PERFECT_ECL,
                  trigger={"trk2d_efficiency": 1.0, "klm_efficiency": 1.0})
    assert not bit(word[0], trigger.BHABHA_VETO)
    assert bit(word[0], trigger.FFO)
    assert bit(word[0], trigger.CDCKLM)
    assert not bit(word[0], trigger.HIE)
