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

import math
from collections.abc import Callable

import numpy as np

from gen.events import PARTICLE_FIELDS, EventChunk, SamplingStats
from gen.jit import kernel
from gen.kinematics import boost_p1, boost_params1, rotate_z_to_p1, rotation_params1

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
    count_trial1(stats, w, w_max)
    return w > 0.0 and rng.random() * w_max < w


@kernel
def count_trial1(stats, w: float, w_max: float) -> None:
    """Count a trial of weight ``w`` in ``stats`` (samplers that decide hits from a block of
    pre-drawn uniforms call this, then test u w_max < w themselves)."""
    stats[S_TRIALS] += 1.0
    stats[S_SUM_W] += w
    stats[S_SUM_W2] += w * w
    if w > w_max:
        stats[S_OVER] += 1.0


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
    mom of shape (4, n max_rows) (px, py, pz, e rows). Uninitialised (np.empty) except
    offset[0] = 0: ``fill_event1`` writes every entry below offset[k] and readers take only
    those; numba's np.zeros would write all n max_rows x 36 bytes up front (measured 2 ns per
    float64, ~50 ns per mumu event, and the page faults of memory never used)."""
    offset = np.empty(n + 1, np.int64)
    offset[0] = 0
    return np.empty((4, n * max_rows)), np.empty(n * max_rows, np.int32), offset


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


@kernel
def pair_event_to_lab1(buf, kk, ff, mask: int, bqx: float, bqy: float, bqz: float, bx: float,
                       by: float, bz: float, nx: float, ny: float, nz: float):
    """Rows of a pair event with ISR and FSR photons into ``buf`` (px, py, pz, e), lab frame.

    ``ff`` (4, 4): the pair (rows 0, 1) and its FSR photons (rows 2, 3, those set in ``mask``)
    in the frame moving with velocity bq in the collision c.m. frame; ``kk`` (2, 4): the ISR
    photons of the e- and e+ beams in the c.m. frame (written if their energy is > 0). c.m. ->
    lab as ``gen.beams.cm_to_lab1`` (rotation taking z onto n, boost by b), with the boost and
    rotation parameters computed once per event (``gen.kinematics.boost_p1``, bit for bit the
    same as ``boost1``). Row order: pair, ISR photons, FSR photons. Returns (n_rows, n_isr,
    n_fsr).
    """
    gq, gq2 = boost_params1(bqx, bqy, bqz)
    gb, gb2 = boost_params1(bx, by, bz)
    sn, kx, ky = rotation_params1(nx, ny)
    n = 0
    n_isr = 0
    n_fsr = 0
    for r in range(6):
        # rows of the output: ff 0, ff 1, kk 0, kk 1, ff 2, ff 3
        if r < 2 or r >= 4:
            i = r if r < 2 else r - 2
            if r >= 4 and not (mask & (1 << (r - 4))):
                continue
            px, py, pz, e = boost_p1(ff[i, 0], ff[i, 1], ff[i, 2], ff[i, 3], bqx, bqy, bqz,
                                     gq, gq2)
            if r >= 4:
                n_fsr += 1
        else:
            i = r - 2
            if not kk[i, 3] > 0.0:
                continue
            px, py, pz, e = kk[i, 0], kk[i, 1], kk[i, 2], kk[i, 3]
            n_isr += 1
        rx, ry, rz = rotate_z_to_p1(px, py, pz, nz, sn, kx, ky)
        buf[n, 0], buf[n, 1], buf[n, 2], buf[n, 3] = boost_p1(rx, ry, rz, e, bx, by, bz, gb, gb2)
        n += 1
    return n, n_isr, n_fsr


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
    return EventChunk(weight=np.ones(offset.shape[0] - 1),
                      offset=offset.astype(np.int64, copy=False), particles=particles,
                      truth=truth)


@kernel
def _all_finite(mom, npart: int) -> bool:
    for j in range(4):
        for i in range(npart):
            if not math.isfinite(mom[j, i]):
                return False
    return True


def checked_chunk(mom: np.ndarray, pdg: np.ndarray, offset: np.ndarray,
                  truth: dict[str, np.ndarray], process: str) -> EventChunk:
    """``chunk_from_events`` followed by ``EventChunk.check``: the finiteness test in one kernel
    pass (weights are 1), the check itself (its one-line message) only if a value is not finite
    (``check`` costs ~15 ns per mumu event, half of the Python time of a block)."""
    chunk = chunk_from_events(mom, pdg, offset, truth)
    if not _all_finite(mom, int(offset[-1])):
        chunk.check(process)
    return chunk


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


# ---------------------------------------------------------------------------------------------
# Samplers in blocks of trials (mumu, bhabha): bulk draws and a weights driver


@kernel
def draw_block1(rng, pool, nh, nl, spread_her: float, spread_ler: float) -> None:
    """The random numbers of a block of trials: ``pool.shape[0]`` uniforms, then the standard
    normals of the e- and e+ beam energies (``nh``, ``nl``; only for a beam with an energy
    spread). Every block takes the same draws whatever the number of events wanted, so the
    events do not depend on how a sample is cut into chunks. Bulk draws cost 2.3 ns per uniform
    instead of 6.6 ns as scalar draws in a kernel (numba 0.68, PCG64; docs/benchmarks.md)."""
    pool[:] = rng.random(pool.shape[0])
    if spread_her > 0.0:
        nh[:] = rng.standard_normal(nh.shape[0])
    if spread_ler > 0.0:
        nl[:] = rng.standard_normal(nl.shape[0])


def block_weights(rng: np.random.Generator, n: int, block_trials: int, n_uniforms: int,
                  spreads: tuple[float, float], block: Callable[..., None]) -> np.ndarray:
    """Weights of ``n`` trials drawn in blocks exactly as a block sampler's ``generate`` draws
    them: per block ``draw_block1`` (``n_uniforms`` per trial, the beam-energy normals of
    ``spreads`` = (spread_her, spread_ler)), then ``block(pool, nh, nl, nt, w)`` fills the
    weights of its first nt trials into ``w`` (the last block is used in part). Python drives
    the blocks (~10 ns per trial at 512 trials per block): for pilots and tests."""
    out = np.empty(n)
    pool = np.empty(block_trials * n_uniforms)
    nh, nl, w = np.empty(block_trials), np.empty(block_trials), np.empty(block_trials)
    for done in range(0, n, block_trials):
        draw_block1(rng, pool, nh, nl, spreads[0], spreads[1])
        nt = min(block_trials, n - done)
        block(pool, nh, nl, nt, w)
        out[done:done + nt] = w[:nt]
    return out
