"""In-memory events: flat structure-of-arrays with offsets, as in the events-file contract.

An ``EventChunk`` holds whole events; ``offset`` starts at 0 and event i owns particles
``offset[i]:offset[i+1]``. ``mother`` is the index of the mother within the event (-1: none).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PARTICLE_FIELDS: dict[str, type] = {
    "pdg": np.int32,
    "status": np.int8,
    "mother": np.int32,
    "px": np.float64,
    "py": np.float64,
    "pz": np.float64,
    "e": np.float64,
    "vx": np.float64,
    "vy": np.float64,
    "vz": np.float64,
    "t": np.float64,
}

FINAL = 1
DECAYED = 2


@dataclass
class SamplingStats:
    """Sums over all trial points of an (un)weighting sampler, for the cross section in pb.

    sigma = sum_w / n_trials, its MC error sqrt((sum_w2/n - sigma^2)/n); blocks add up exactly.
    """

    n_trials: int = 0
    sum_w: float = 0.0
    sum_w2: float = 0.0
    n_overweight: int = 0

    def __iadd__(self, other: SamplingStats) -> SamplingStats:
        self.n_trials += other.n_trials
        self.sum_w += other.sum_w
        self.sum_w2 += other.sum_w2
        self.n_overweight += other.n_overweight
        return self

    @property
    def cross_section_pb(self) -> float:
        return self.sum_w / self.n_trials if self.n_trials else 0.0

    @property
    def cross_section_err_pb(self) -> float:
        if self.n_trials < 2:
            return 0.0
        mean = self.sum_w / self.n_trials
        var = max(self.sum_w2 / self.n_trials - mean * mean, 0.0)
        return float(np.sqrt(var / self.n_trials))


@dataclass
class EventChunk:
    weight: np.ndarray
    offset: np.ndarray
    particles: dict[str, np.ndarray]
    truth: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_events(self) -> int:
        return int(self.weight.shape[0])

    @property
    def n_particles(self) -> int:
        return int(self.offset[-1])

    def check(
        self,
        process: str,
        *,
        seed: int | None = None,
        chunk: int | None = None,
        block: int | None = None,
    ) -> None:
        """Raise FloatingPointError if a weight, momentum or energy is NaN or infinite.

        The one-line message names the process and, when given, the seed, chunk and block, so
        the failing random stream can be replayed alone (``gen.streams.stream(seed, 0, block)``).
        """
        where = ", ".join(
            f"{label} {value}"
            for label, value in (("seed", seed), ("chunk", chunk), ("block", block))
            if value is not None
        )
        for name in ("weight", "px", "py", "pz", "e"):
            values = self.weight if name == "weight" else self.particles[name]
            bad = ~np.isfinite(values)
            if bad.any():
                i = int(np.argmax(bad))
                event = i if name == "weight" else int(np.searchsorted(self.offset, i, "right")) - 1
                raise FloatingPointError(
                    f"process {process!r} produced a non-finite {name} ({float(values[i])!r}) "
                    f"at event {event} of the checked events" + (f" ({where})" if where else "")
                )

    @classmethod
    def concatenate(cls, chunks: list[EventChunk]) -> EventChunk:
        if len(chunks) == 1:
            return chunks[0]
        offsets = [np.zeros(1, np.int64)]
        base = 0
        for c in chunks:
            offsets.append(c.offset[1:] + base)
            base += c.n_particles
        return cls(
            weight=np.concatenate([c.weight for c in chunks]),
            offset=np.concatenate(offsets),
            particles={
                k: np.concatenate([c.particles[k] for c in chunks]) for k in PARTICLE_FIELDS
            },
            truth={k: np.concatenate([c.truth[k] for c in chunks]) for k in chunks[0].truth},
        )

    @classmethod
    def fixed_multiplicity(
        cls, n_events: int, per_event: int, truth: dict[str, np.ndarray] | None = None
    ) -> EventChunk:
        """An empty chunk of ``n_events`` events of ``per_event`` particles (zeros, mother -1)."""
        n = n_events * per_event
        particles = {k: np.zeros(n, dtype=t) for k, t in PARTICLE_FIELDS.items()}
        particles["mother"][:] = -1
        particles["status"][:] = FINAL
        return cls(
            weight=np.ones(n_events),
            offset=np.arange(n_events + 1, dtype=np.int64) * per_event,
            particles=particles,
            truth=truth or {},
        )
