"""Sample production for a search: card -> events file -> reco file, reused when up to date.

A sample is regenerated only if its reco file is missing, incomplete, or was made from a different
card text, seed, event count or detector configuration; its events file is reused when complete
and made from the same card, seed and event count (only the detector stage is redone). So
re-running a search after an interruption redoes only what is missing (down to the chunks of an
interrupted sample).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from detector.reco_io import open_reco, simulate_file
from gen.distributed import runner
from gen.generate import generate_sample
from gen.io import FileFormatError, open_events
from gen.runcard import SampleCard

log = logging.getLogger("b2dark")


def sample_key(card: SampleCard, detector_toml: str) -> str:
    """A digest of everything that determines a reco sample."""
    blob = json.dumps(
        {
            "card": card.text,
            "params": {k: repr(v) for k, v in sorted(card.params.items())},
            "events": card.events,
            "lumi_fb": card.lumi_fb,
            "seed": card.seed,
            "detector": detector_toml,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def ensure_sample(
    card: SampleCard,
    name: str,
    outdir: Path,
    detector_config,
    workers: int = 1,
    scheduler: str | None = None,
) -> Path:
    """The reco file of ``card`` under ``outdir``, producing events and reco files if needed.

    Generation and simulation run chunk by chunk (gen/distributed.py: in this process, on
    ``workers`` local Dask processes or on ``scheduler``; an open runner, e.g. the one
    ``b2dark run`` starts, is reused) into shards, so an interrupted sample resumes where it
    stopped.
    """
    key = sample_key(card, detector_config.to_toml())
    events_path = outdir / "events" / f"{name}.h5"
    reco_path = outdir / "reco" / f"{name}.h5"
    events_path.parent.mkdir(parents=True, exist_ok=True)
    reco_path.parent.mkdir(parents=True, exist_ok=True)
    if reco_path.exists():
        try:
            with open_reco(reco_path) as f:
                if f.attrs.get("sample_key") == key:
                    return reco_path
        except FileFormatError:
            pass
    events_key = sample_key(card, "")
    with runner(workers, scheduler):  # one cluster for both stages
        if _has_key(events_path, events_key):
            log.info("reusing events of %s", name)
        else:
            log.info("generating %s", name)
            generate_sample(card, events_path, extra_attrs={"sample_key": events_key})
        simulate_file(
            events_path, reco_path, detector_config, extra_attrs={"sample_key": key}
        )
    return reco_path


def _has_key(events_path: Path, key: str) -> bool:
    """Whether ``events_path`` is a complete events file made under ``key``."""
    if not events_path.exists():
        return False
    try:
        with open_events(events_path) as f:
            return f.attrs.get("sample_key") == key
    except FileFormatError:
        return False
