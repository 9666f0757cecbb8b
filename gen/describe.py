"""Human-readable documentation of every card key, straight from the schemas in the code."""

from __future__ import annotations

from gen.cards import Param
from gen.processes import REGISTRY, get_process
from gen.runcard import BEAMS_SCHEMA, SAMPLE_SCHEMA


def _table(title: str, schema: dict[str, Param]) -> list[str]:
    lines = [f"[{title}]"]
    if not schema:
        lines.append("  (no keys)")
    for key, p in schema.items():
        default = "required" if p.required or p.default is None else repr(p.default)
        rng = ""
        if p.minimum is not None or p.maximum is not None:
            lo = "(" if p.exclusive_minimum else "["
            rng = f" range {lo}{p.minimum}, {p.maximum}]"
        if p.choices:
            rng = f" one of {', '.join(map(repr, p.choices))}"
        lines.append(f"  {key} ({p.kind.__name__}, {default}){rng}: {p.doc}")
    return lines


def describe_tables(tables: dict[str, dict[str, Param]]) -> str:
    """The keys of several card tables ({table name: schema})."""
    lines: list[str] = []
    for title, schema in tables.items():
        lines += _table(title, schema) + [""]
    return "\n".join(lines).rstrip()


def describe(process: str | None = None) -> str:
    """All processes (name: description), or the sample-card keys of one process."""
    if process is None:
        lines = ["processes (b2dark describe NAME for its card keys):"]
        for name in sorted(REGISTRY):
            lines.append(f"  {name}: {get_process(name).description}")
        return "\n".join(lines)
    cls = get_process(process)
    lines = [f"{cls.name}: {cls.description}", ""]
    lines += _table("sample", SAMPLE_SCHEMA) + [""]
    lines += _table("beams", BEAMS_SCHEMA) + [""]
    lines += _table("process", cls.params) + [""]
    lines += _table("cuts", cls.cuts)
    return "\n".join(lines)
