"""Sample cards: one process, its parameters, beams, generator-level cuts, size and seed.

```toml
schema_version = 1
[sample]
process = "mumu"        # a name from gen.processes.REGISTRY
events = 100000         # unweighted events to generate, or instead:
# lumi_fb = 79.7        # events = sigma x luminosity (sigma from the pilot run)
seed = 1
[beams]                 # optional: gen.beams.Beams fields
[process]               # the process's parameters (see `b2dark` docs / process class `params`)
[cuts]                  # the process's generator-level cuts
```
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gen.beams import Beams
from gen.cards import SCHEMA_VERSION, CardError, Param, parse_table, read_toml, short_repr
from gen.processes import get_process
from gen.processes.base import Process

#: largest event count of one sample: 1e10 events are ~1 TB of HDF5 and days of CPU here; larger
#: requests are typos (e.g. a luminosity in pb^-1), not physics
MAX_EVENTS = 10**10
#: largest luminosity of one sample: 100 ab^-1, twice the Belle II goal of 50 ab^-1
#: (Belle II Physics Book, arXiv:1808.10567, sec. 1)
MAX_LUMI_FB = 1.0e5
#: seeds are stored as an int64 HDF5 attribute
MAX_SEED = 2**63 - 1

SAMPLE_SCHEMA = {
    "process": Param(str, required=True, doc="process name"),
    "events": Param(
        int, default=0, minimum=0, maximum=MAX_EVENTS,
        doc="number of unweighted events (0: use lumi_fb)",
    ),
    "lumi_fb": Param(
        float, default=0.0, minimum=0.0, maximum=MAX_LUMI_FB, doc="integrated luminosity in fb^-1"
    ),
    "seed": Param(
        int, default=1, minimum=0, maximum=MAX_SEED, doc="random seed (non-negative integer)"
    ),
}

BEAMS_SCHEMA = {
    "e_her_gev": Param(float, Beams.e_her_gev, "e- beam energy", minimum=0.1, maximum=100.0),
    "e_ler_gev": Param(float, Beams.e_ler_gev, "e+ beam energy", minimum=0.1, maximum=100.0),
    "spread_her_gev": Param(
        float, Beams.spread_her_gev, "e- energy spread", minimum=0.0, maximum=0.1
    ),
    "spread_ler_gev": Param(
        float, Beams.spread_ler_gev, "e+ energy spread", minimum=0.0, maximum=0.1
    ),
    "half_crossing_angle_rad": Param(
        float, Beams.half_crossing_angle_rad, "half crossing angle", minimum=0.0, maximum=0.2
    ),
}

TOP_SCHEMA = {"schema_version", "sample", "beams", "process", "cuts"}
VERSION_PARAM = Param(int, SCHEMA_VERSION, "card schema version")
#: top-level tables of a detector card (detector/config.py; gen does not import detector)
DETECTOR_TABLES = {"tracking", "calorimeter", "pid", "trigger"}


@dataclass(frozen=True)
class SampleCard:
    path: str
    text: str
    process: str
    params: dict[str, Any]
    cuts: dict[str, Any]
    beams: Beams
    seed: int
    events: int
    lumi_fb: float

    def build(self) -> Process:
        """The process object, validated against the beams."""
        cls = get_process(self.process)
        proc = cls(self.params, self.cuts, self.beams)
        proc.validate(f"{self.path} [process]")
        return proc

    def replace(self, **changes: Any) -> SampleCard:
        return dataclasses.replace(self, **changes)


def parse_sample(table: dict, text: str, where: str) -> SampleCard:
    """Validate a sample card already read from TOML (``where`` names it in errors)."""
    if "search" in table:
        raise CardError(f"{where}: this is a search card; run it with 'b2dark run {where}'")
    if "sample" not in table and set(table) & DETECTOR_TABLES:
        raise CardError(
            f"{where}: this is a detector card; use it with 'b2dark simulate EVENTS --detector "
            f"{where}'"
        )
    unknown = sorted(set(table) - TOP_SCHEMA)
    if unknown:
        raise CardError(
            f"{where}: unknown table or key {short_repr(unknown[0])}; "
            f"allowed: {', '.join(sorted(TOP_SCHEMA))}"
        )
    version = VERSION_PARAM.parse(table.get("schema_version", SCHEMA_VERSION),
                                  f"{where} schema_version")
    if version != SCHEMA_VERSION:
        raise CardError(
            f"{where}: schema_version {version!r} is not supported (use {SCHEMA_VERSION})"
        )
    if "sample" not in table:
        raise CardError(f"{where}: missing [sample] table (with process, events or lumi_fb, seed)")
    sample = parse_table(table["sample"], SAMPLE_SCHEMA, f"{where} [sample]")
    cls = get_process_checked(sample["process"], where)
    params = parse_table(table.get("process", {}), cls.params, f"{where} [process]")
    cuts = parse_table(table.get("cuts", {}), cls.cuts, f"{where} [cuts]")
    beams = Beams(**parse_table(table.get("beams", {}), BEAMS_SCHEMA, f"{where} [beams]"))
    if sample["events"] == 0 and sample["lumi_fb"] == 0.0:
        raise CardError(f"{where} [sample]: give events > 0 or lumi_fb > 0")
    if sample["events"] > 0 and sample["lumi_fb"] > 0.0:
        raise CardError(f"{where} [sample]: give either events or lumi_fb, not both")
    card = SampleCard(
        path=where,
        text=text,
        process=sample["process"],
        params=params,
        cuts=cuts,
        beams=beams,
        seed=sample["seed"],
        events=sample["events"],
        lumi_fb=sample["lumi_fb"],
    )
    card.build()  # cross-key physics checks now, before anything is written
    return card


def get_process_checked(name: str, where: str):
    try:
        return get_process(name)
    except CardError as exc:
        raise CardError(f"{where} [sample].process: {exc}") from None


def load_sample(path: str | Path) -> SampleCard:
    """Read and validate a sample card file."""
    table, text = read_toml(path)
    return parse_sample(table, text, str(path))
