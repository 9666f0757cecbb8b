"""Sample production for searches: what is reused and what is redone."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from analysis.pipeline import ensure_sample
from detector.config import DetectorConfig
from gen.io import open_events
from gen.runcard import load_sample

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def card():
    return load_sample(ROOT / "cards" / "samples" / "mumu.toml").replace(events=1500, lumi_fb=0.0)


def _stamp(path):
    st = path.stat()
    return st.st_ino, st.st_mtime_ns


def test_events_are_reused_when_only_the_reco_is_missing_or_stale(tmp_path, card):
    det = DetectorConfig()
    reco = ensure_sample(card, "mumu", tmp_path, det)
    events = tmp_path / "events" / "mumu.h5"
    before = _stamp(events)
    assert _stamp(reco) == _stamp(ensure_sample(card, "mumu", tmp_path, det))  # all reused

    reco.unlink()  # e.g. a run interrupted during simulation
    ensure_sample(card, "mumu", tmp_path, det)
    assert _stamp(events) == before
    assert reco.exists()

    tighter = dataclasses.replace(det, pid=dataclasses.replace(det.pid, mu_efficiency=0.5))
    ensure_sample(card, "mumu", tmp_path, tighter)  # detector change: reco only
    assert _stamp(events) == before


def test_events_are_regenerated_when_the_card_changes(tmp_path, card):
    det = DetectorConfig()
    ensure_sample(card, "mumu", tmp_path, det)
    events = tmp_path / "events" / "mumu.h5"
    before = _stamp(events)
    ensure_sample(card.replace(seed=card.seed + 1), "mumu", tmp_path, det)
    assert _stamp(events) != before
    with open_events(events) as f:
        assert f.attrs["seed"] == card.seed + 1
