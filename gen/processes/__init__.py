"""Registry of processes, chosen by name from a card's ``sample.process`` key."""

from __future__ import annotations

import importlib

from gen.cards import CardError

#: name -> "module:Class"; imported lazily so one broken process cannot break the others
REGISTRY: dict[str, str] = {
    "mumu_zprime": "gen.processes.mumu_zprime:MuMuZPrime",
    "mumu": "gen.processes.mumu:MuMu",
    "tautau": "gen.processes.tautau:TauTau",
    "eemumu": "gen.processes.eemumu:EEMuMu",
    "bhabha": "gen.processes.bhabha:Bhabha",
    "gammagamma": "gen.processes.gammagamma:GammaGamma",
    "bbbar": "gen.processes.bbbar:BBbar",
    "four_lepton": "gen.processes.four_lepton:FourLepton",
    "qqbar": "gen.processes.qqbar:QQbar",
}


def get_process(name: str):
    """The process class registered as ``name``; an unknown name lists the valid ones."""
    try:
        target = REGISTRY[name]
    except KeyError:
        valid = ", ".join(sorted(REGISTRY))
        raise CardError(f"unknown process {name!r}; valid processes: {valid}") from None
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)
