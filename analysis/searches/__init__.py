"""Searches by name: each module has ``load_card(path)``, ``run(card, outdir)`` and ``project``."""

from __future__ import annotations

from analysis.searches import zprime_invisible

SEARCHES = {zprime_invisible.NAME: zprime_invisible}
