"""Hit-or-miss unweighting and event filling shared by the generators' ``generate`` kernels.

A generator's kernel loops ``while k < n``: one trial gives a weight w (pb) and, for a hit, the
rows of one event in a scratch ``buf`` (n_rows x 4: px, py, pz, e, lab frame); this module
keeps the sums of ``gen.events.SamplingStats`` in a float64 array ``stats`` (``new_stats``),
decides the hit (``unweight1``: u w_max < w, u uniform; the standard acceptance-rejection step,
e.g. F. James, Rep. Prog. Phys. 43 (1980) 1145, sec. 3) and appends the event to flat output
arrays (``new_events``, ``fill_event1``) laid out component-major, (4, capacity): px, py, pz, e each
contiguous, so ``chunk_from_events`` hands them to the ``EventChunk`` as views, without
copies (a strided (capacity, 4) copy cost ~300 ns per event, measured). ``stats_from_array``
gives the ``SamplingStats``. ``chunk_from_arrays`` keeps the (n, 4) layout for other callers.

Cuts decided after the hit (``cut_failed1``). A sampler whose weight w0 is known before the
variables that decide some cuts (e.g. FSR, which is unitary) may draw those variables for hit
trials only. The estimator of sigma(cuts) = E[w0 pass] then counts each trial with
c = w0 - hit fail max(w0, w_max): hit and fail are independent given w0 (the late variables
are drawn after the hit uniform), P(hit | w0) = min(w0 / w_max, 1), so E[c | w0] =
w0 - w0 P(fail | w0) = E[w0 pass | w0]: unbiased, and its variance adds only that of the
(small) failing fraction. ``sum_w2`` holds the sum of c^2, so the error of SamplingStats stays
the error of this estimator. The events are exactly those of the full-weight hit-or-miss.
"""

from __future__ import annotations

import numpy as np

from gen.events import PARTICLE_FIELDS, EventChunk, SamplingStats
from gen.jit import kernel

#: layout of the ``stats`` array
S_TRIALS, S_SUM_W, S_SUM_W2, S_OVER = 0, 1, 2, 3
N_STATS = 4


@kernel
def new_stats() -> np.ndarray:
    """Zeroed ``stats`` array (n_trials, sum_w, sum_w2, n_overweight) as float64."""
    return np.zeros(N_STATS)


@kernel
def unweight1(rng, stats, w: float, w_max: float) -> bool:
    """Count a trial of weight ``w`` in ``stats``; True if it is a hit (u w_max < w).

    Draws one uniform only for w > 0 (trials of weight 0 are never hits).
    """
    stats[S_TRIALS] += 1.0
    stats[S_SUM_W] += w
    stats[S_SUM_W2] += w * w
    if w > w_max:
        stats[S_OVER] += 1.0
    return w > 0.0 and rng.random() * w_max < w


@kernel
def cut_failed1(stats, w: float, w_max: float) -> None:
    """A hit trial of weight ``w`` failed a cut decided after the hit (module docstring).

    Replaces its contribution w by c = w - max(w, w_max) in sum_w and sum_w2; a trial that
    fails a cut has weight 0, so it is not overweight either.
    """
    c = w - max(w, w_max)
    stats[S_SUM_W] += c - w
    stats[S_SUM_W2] += c * c - w * w
    if w > w_max:
        stats[S_OVER] -= 1.0


@kernel
def new_events(n: int, max_rows: int):
    """Output arrays for ``n`` events of at most ``max_rows`` particles: (mom, pdg, offset),
    mom of shape (4, n max_rows) (px, py, pz, e rows; np.zeros: pages never written cost no
    memory)."""
    return (np.zeros((4, n * max_rows)), np.zeros(n * max_rows, np.int32),
            np.zeros(n + 1, np.int64))


@kernel
def fill_event1(mom, pdg, offset, k: int, buf, n_rows: int, pdg_rows) -> None:
    """Event ``k``: rows 0 .. n_rows-1 of ``buf`` (px, py, pz, e) with ids ``pdg_rows[row]``
    appended at offset[k] to ``mom`` (4, capacity); sets offset[k + 1]."""
    pos = offset[k]
    for r in range(n_rows):
        for j in range(4):
            mom[j, pos + r] = buf[r, j]
        pdg[pos + r] = pdg_rows[r]
    offset[k + 1] = pos + n_rows


def stats_from_array(stats: np.ndarray) -> SamplingStats:
    """``SamplingStats`` from a kernel's ``stats`` array."""
    return SamplingStats(int(stats[S_TRIALS]), float(stats[S_SUM_W]), float(stats[S_SUM_W2]),
                         int(stats[S_OVER]))


def chunk_from_events(mom: np.ndarray, pdg: np.ndarray, offset: np.ndarray,
                      truth: dict[str, np.ndarray]) -> EventChunk:
    """An ``EventChunk`` (weight 1, status 1, mother -1, vertex 0) from ``new_events`` arrays.

    px, py, pz, e and pdg are views of the first offset[-1] entries (no copy).
    """
    npart = int(offset[-1])
    particles = {
        "pdg": pdg[:npart],
        "status": np.ones(npart, dtype=PARTICLE_FIELDS["status"]),
        "mother": np.full(npart, -1, dtype=PARTICLE_FIELDS["mother"]),
    }
    for j, name in enumerate(("px", "py", "pz", "e")):
        particles[name] = mom[j, :npart]
    for name in ("vx", "vy", "vz", "t"):
        particles[name] = np.zeros(npart, dtype=PARTICLE_FIELDS[name])
    return EventChunk(weight=np.ones(offset.shape[0] - 1), offset=offset.astype(np.int64),
                      particles=particles, truth=truth)


def chunk_from_arrays(mom: np.ndarray, pdg: np.ndarray, offset: np.ndarray,
                      truth: dict[str, np.ndarray]) -> EventChunk:
    """An ``EventChunk`` (weight 1, status 1, mother -1, vertex 0) from (n, 4) momenta.

    ``mom`` and ``pdg`` may be longer than ``offset[-1]``: cut here (copies).
    """
    npart = int(offset[-1])
    particles = {k: np.zeros(npart, dtype=t) for k, t in PARTICLE_FIELDS.items()}
    particles["pdg"][:] = pdg[:npart]
    particles["status"][:] = 1
    particles["mother"][:] = -1
    for j, name in enumerate(("px", "py", "pz", "e")):
        particles[name][:] = mom[:npart, j]
    n_events = offset.shape[0] - 1
    return EventChunk(weight=np.ones(n_events), offset=offset.astype(np.int64),
                      particles=particles, truth=truth)
