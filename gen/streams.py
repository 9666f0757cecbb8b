"""Reproducible random streams: one ``SeedSequence`` child per (domain, block) key.

Events are generated in fixed-size blocks of ``BLOCK_EVENTS``; block k of a sample always draws
from the stream ``SeedSequence(seed, spawn_key=(domain, k))`` whatever the chunking of the output
or the number of workers, so the same card and seed give the same events bit for bit. The
generator, the pilot run of an unweighting sampler and the detector use different domains, so a
detector setting never changes generated events.
"""

from __future__ import annotations

import numpy as np

#: events per reproducibility block (the unit of random streams; I/O chunks hold whole blocks)
BLOCK_EVENTS = 8192
#: blocks per chunk, the unit of (distributed) work and of a shard file; a chunk's events do not
#: depend on this number (each block keeps its own stream), only the granularity of resuming does
CHUNK_BLOCKS = 16

GENERATION = 0
PILOT = 1
DETECTOR = 2
ANALYSIS = 3


def stream(seed: int, domain: int, index: int = 0) -> np.random.Generator:
    """The PCG64 generator of ``(domain, index)`` for ``seed``."""
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(domain, index)))
    )
