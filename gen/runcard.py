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
from gen.cards import SCHEMA_VERSION, CardError, Param, parse_table, read_toml
from gen.processes import get_process
from gen.processes.base import Process

SAMPLE_SCHEMA = {
    "process": Param(str, required=True, doc="process name"),
    "events": Param(int, default=0, minimum=0, doc="number of unweighted events (0: use lumi_fb)"),
    "lumi_fb": Param(float, default=0.0, minimum=0.0, doc="integrated luminosity in fb^-1"),
    "seed": Param(int, default=1, minimum=0, doc="random seed (non-negative integer)"),
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
    unknown = sorted(set(table) - TOP_SCHEMA)
    if unknown:
        raise CardError(
            f"{where}: unknown table or key {unknown[0]!r}; "
            f"allowed: {', '.join(sorted(TOP_SCHEMA))}"
        )
    version = table.get("schema_version", SCHEMA_VERSION)
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
