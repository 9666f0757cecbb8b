"""Run cards: TOML files validated once, at load, into plain typed values.

Every error is a ``CardError`` whose message names the file, the key and what is allowed; the
command line prints it as one line and exits with code 2. Unknown keys are errors, never
silently ignored (shared/DESIGN.md, Conventions).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

SCHEMA_VERSION = 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: longest quoted value in an error message (a fuzzed card can hold megabytes in one string)
_MAX_REPR = 60


def short_repr(value: Any) -> str:
    """``repr(value)`` cut to one short line for an error message."""
    text = repr(value)
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."


class CardError(ValueError):
    """A card that cannot be used; the message is one line for the user."""


@dataclass(frozen=True)
class Param:
    """One card key: its type, default (``None``: required), allowed range and documentation."""

    kind: type
    default: Any = None
    doc: str = ""
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    choices: tuple | None = None
    required: bool = False

    def parse(self, value: Any, where: str) -> Any:
        kind = self.kind
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            # tomllib returns arbitrary-precision ints; float() of one beyond 1.8e308 overflows
            if abs(value) > sys.float_info.max:
                raise CardError(f"{where}: expected a finite number, got {short_repr(value)}")
            value = float(value)
        if kind is bool and not isinstance(value, bool):
            raise CardError(f"{where}: expected true or false, got {short_repr(value)}")
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise CardError(f"{where}: expected an integer, got {short_repr(value)}")
        if kind is int and not INT64_MIN <= value <= INT64_MAX:
            # HDF5 attributes and numpy arrays hold int64; TOML 1.0 allows no more either
            raise CardError(f"{where}: must be a 64-bit integer, got {short_repr(value)}")
        if kind is list and not isinstance(value, list):
            raise CardError(f"{where}: expected a list, got {short_repr(value)}")
        if not isinstance(value, kind):
            raise CardError(f"{where}: expected {kind.__name__}, got {short_repr(value)}")
        if kind is float and not math.isfinite(value):
            raise CardError(f"{where}: expected a finite number, got {value!r}")
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(repr(c) for c in self.choices)
            raise CardError(f"{where}: {short_repr(value)} is not one of {allowed}")
        if self.minimum is not None and (
            value < self.minimum or (self.exclusive_minimum and value == self.minimum)
        ):
            op = ">" if self.exclusive_minimum else ">="
            raise CardError(f"{where}: must be {op} {self.minimum}, got {value!r}")
        if self.maximum is not None and value > self.maximum:
            raise CardError(f"{where}: must be <= {self.maximum}, got {value!r}")
        return value


def parse_table(table: Any, schema: Mapping[str, Param], where: str) -> dict[str, Any]:
    """Validate one TOML table against ``schema``: unknown keys and missing required keys fail."""
    if not isinstance(table, dict):
        raise CardError(f"{where}: expected a table, got {short_repr(table)}")
    unknown = sorted(set(table) - set(schema))
    if unknown:
        allowed = ", ".join(sorted(schema)) or "(none)"
        raise CardError(f"{where}: unknown key {short_repr(unknown[0])}; allowed keys: {allowed}")
    out = {}
    for key, param in schema.items():
        if key in table:
            out[key] = param.parse(table[key], f"{where}.{key}")
        elif param.required or param.default is None:
            raise CardError(f"{where}: missing required key {key!r} ({param.doc})")
        else:
            out[key] = param.default
    return out


def read_toml(path: str | Path) -> tuple[dict, str]:
    """Read a TOML file; returns (table, text). Errors name the file."""
    path = Path(path)
    try:
        # utf-8-sig: a byte-order mark (some Windows editors) is not a TOML error
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CardError(f"{path}: no such card file; check the path") from None
    except IsADirectoryError:
        raise CardError(f"{path}: is a folder, not a card file") from None
    except UnicodeDecodeError as exc:
        raise CardError(
            f"{path}: not a UTF-8 text file (byte {exc.start}: {exc.reason}); is it a card?"
        ) from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise CardError(f"{path}: cannot read card ({exc.__class__.__name__}: {exc})") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise CardError(f"{path}: malformed TOML ({exc})") from None
    except RecursionError:  # deeply nested arrays or inline tables
        raise CardError(f"{path}: malformed TOML (nested too deeply)") from None


def check(condition: bool, message: str) -> None:
    """Raise ``CardError(message)`` unless ``condition``: for cross-key physics checks."""
    if not condition:
        raise CardError(message)


Validator = Callable[[dict, str], None]
