"""The interface every process implements, and the unweighting it shares.

A process generates unweighted events (weight 1) by hit-or-miss against a maximum weight ``w_max``
found in a pilot run (stream domain ``PILOT``); every trial point's weight (in pb) enters the
``SamplingStats`` of its block, so the cross section comes from exactly the points that made the
events (samplers that decide some cuts after the hit, e.g. ``mumu`` and ``bhabha``, enter the
unbiased per-trial correction of ``gen.unweight``). Trial weights above ``w_max`` are counted
(``n_overweight``) and reported; the pilot maximum is multiplied by ``PILOT_SAFETY`` to keep them
rare.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from gen.beams import Beams
from gen.cards import CardError, Param, check
from gen.events import EventChunk, SamplingStats

#: the pilot maximum weight is scaled by this factor (standard practice, e.g. Pythia/Herwig)
PILOT_SAFETY = 1.3
#: trial points in the pilot run
PILOT_POINTS = 200_000


class Process(ABC):
    """One physics process: card parameters -> events in the c.m.-then-lab frame."""

    name: ClassVar[str]
    description: ClassVar[str]
    #: keys of the card's [process] table
    params: ClassVar[dict[str, Param]] = {}
    #: keys of the card's [cuts] table (generator-level cuts)
    cuts: ClassVar[dict[str, Param]] = {}
    #: True when events carry weights (normalised to mean 1 per block: the expected yield of an
    #: event is sigma x L / N x weight, as for unweighted files); the file attribute `weighted`
    weighted: bool = False

    def __init__(self, params: dict[str, Any], cuts: dict[str, Any], beams: Beams) -> None:
        self.p = params
        self.c = cuts
        self.beams = beams
        self.w_max = 0.0

    def validate(self, where: str) -> None:  # noqa: B027 - optional hook
        """Cross-key physics checks; raise ``gen.cards.CardError`` naming ``where``."""

    @abstractmethod
    def trial_weights(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Weights (pb) of ``n`` trial points: used by the pilot run to find ``w_max``."""

    @abstractmethod
    def generate(self, rng: np.random.Generator, n: int) -> tuple[EventChunk, SamplingStats]:
        """``n`` unweighted events and the statistics of all trial points used."""

    def prepare(self, rng: np.random.Generator, points: int = PILOT_POINTS) -> None:
        """Pilot run: set ``w_max`` from the largest trial weight.

        Overrides keep everything the pilot determines as attributes of ``self`` (numbers,
        arrays, lists / tuples / dicts / dataclasses of them): ``gen.pilotcache`` stores those
        that changed and sets them on the next start instead of running the pilot. Kept objects
        it cannot store (e.g. the generator ``rng``) make the pilot run every time; state kept
        elsewhere (module globals) would be missed: do not keep any there."""
        w = self.trial_weights(rng, points)
        if not np.all(np.isfinite(w)):
            raise FloatingPointError(f"process {self.name!r}: non-finite weight in the pilot run")
        if not np.any(w > 0):
            raise CardError(
                f"process {self.name!r}: no accepted phase-space point in {points} pilot trials; "
                "loosen the generator-level cuts"
            )
        self.w_max = float(w.max()) * PILOT_SAFETY
        self.pilot_cross_section_pb = float(w.mean())


def check_momentum_reachable(value: float, key: str, beams: Beams, where: str) -> None:
    """A lab-momentum cut above the total beam energy can never be passed: reject it at load."""
    limit = beams.e_her_gev + beams.e_ler_gev
    check(value < limit, f"{where}: {key} ({value}) must be below the total beam energy "
                         f"{limit:.3f} GeV")
