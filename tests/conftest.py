"""Test-wide settings.

- hypothesis runs derandomized so CI results do not depend on the run;
- child processes (``python -m analysis.cli`` ...) import the same copy of b2dark as this process.
  CI tests the installed package (``pip install . && pytest``: this process imports it from
  site-packages) while a child started in the checkout would import the checkout's copy
  (``python -m`` / ``-c`` put the working directory first): numba caches per source file, so
  every child recompiled every kernel the test process had compiled already (a cold 2-worker
  ``generate`` ~100 s instead of ~12 s here). ``PYTHONPATH`` gets the folder this process imports
  ``gen`` from (if not site-packages); tests that start children add ``PYTHONSAFEPATH=1`` so
  the working directory does not come first (Python >= 3.11; on 3.10 children fall back to the
  old behaviour);
- ``tiny_search``: the tiny invisible-Z' search run once per session, shared by the tests that
  need its uninterrupted results.
"""

import importlib.util
import os
import site
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("b2dark", derandomize=True, deadline=None)
settings.load_profile("b2dark")

# find_spec does not execute the package: no numba import at collection
_PACKAGE_ROOT = str(Path(importlib.util.find_spec("gen").origin).resolve().parents[1])
# an installed copy's site-packages is on every child's path already (after the stdlib, which it
# must not shadow): only a checkout goes to PYTHONPATH
_SITE_DIRS = {str(Path(p).resolve()) for p in [*site.getsitepackages(), site.getusersitepackages()]}
if _PACKAGE_ROOT not in _SITE_DIRS and (
    os.environ.get("PYTHONPATH", "").split(os.pathsep)[0] != _PACKAGE_ROOT
):
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (_PACKAGE_ROOT, os.environ.get("PYTHONPATH")) if p
    )


# ------------------------------------------------- the tiny invisible-Z' search, run once

TINY_SEARCH_CARD = """schema_version = 1
[search]
name = "zprime_invisible"
lumi_fb = 79.7
[signal]
card = "samples/sig.toml"
masses_gev = [1.0, 4.0]
events_per_mass = 2000
hypotheses_per_interval = 1
[backgrounds]
cards = ["samples/mumu.toml", "samples/tautau.toml"]
"""


def write_tiny_search(d: Path) -> Path:
    """The invisible-Z' search card with small samples (mumu 0.5 fb^-1, tautau 0.05 fb^-1)."""
    cards = Path(__file__).resolve().parents[1] / "cards" / "samples"
    samples = d / "samples"
    samples.mkdir()
    (samples / "sig.toml").write_text((cards / "zprime_invisible_signal.toml").read_text())
    for name, lumi in (("mumu", 0.5), ("tautau", 0.05)):
        text = (cards / f"{name}.toml").read_text()
        lines = [f"lumi_fb = {lumi}" if s.startswith("lumi_fb") else s for s in text.splitlines()]
        (samples / f"{name}.toml").write_text("\n".join(lines) + "\n")
    card = d / "search.toml"
    card.write_text(TINY_SEARCH_CARD)
    return card


@pytest.fixture(scope="session")
def tiny_search(tmp_path_factory) -> tuple[Path, Path, str]:
    """``b2dark run`` of the tiny search card, once per session in this process (the end-to-end
    test of the search and the interrupted-run tests both start from it): card, output folder
    and the text of its results.json right after the run."""
    from analysis.cli import main

    d = tmp_path_factory.mktemp("tiny_search")
    card = write_tiny_search(d)
    out = d / "out"
    assert main(["run", str(card), "-o", str(out)]) == 0
    return card, out, (out / "results.json").read_text()
