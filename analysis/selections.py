"""Event-selection building blocks over reco arrays (numba kernels, flat arrays with offsets)."""

from __future__ import annotations

import numpy as np

from gen.jit import kernel


@kernel
def _two_track_events(
    track_offset,
    charge,
    d0,
    z0,
    track_truth,
    cluster_offset,
    cluster_e,
    cluster_truth,
    d0_max,
    z0_max,
    cluster_e_min,
):
    n = track_offset.shape[0] - 1
    first = np.full(n, -1, np.int64)
    second = np.full(n, -1, np.int64)
    extra_e = np.zeros(n)
    n_extra = np.zeros(n, np.int64)
    for i in range(n):
        a, b = track_offset[i], track_offset[i + 1]
        good = 0
        i1 = -1
        i2 = -1
        for j in range(a, b):
            if abs(d0[j]) < d0_max and abs(z0[j]) < z0_max:
                good += 1
                if i1 < 0:
                    i1 = j
                else:
                    i2 = j
        if good != 2 or b - a != 2:
            continue
        if charge[i1] * charge[i2] >= 0:
            continue
        # the negative track first
        if charge[i1] > 0:
            i1, i2 = i2, i1
        first[i] = i1
        second[i] = i2
        # clusters not matched (by generated particle) to one of the two tracks
        for k in range(cluster_offset[i], cluster_offset[i + 1]):
            t = cluster_truth[k]
            if t >= 0 and (t == track_truth[i1] or t == track_truth[i2]):
                continue
            if cluster_e[k] > cluster_e_min:
                extra_e[i] += cluster_e[k]
                n_extra[i] += 1
    return first, second, extra_e, n_extra


def two_track_events(
    chunk: dict[str, np.ndarray], d0_max: float, z0_max: float, cluster_e_min: float
):
    """Events with exactly two tracks, both from the interaction point, of opposite charge.

    Returns (index of the negative track, of the positive track; -1 when the event fails), the
    energy sum and number of calorimeter clusters above ``cluster_e_min`` not matched to either
    track (cluster-track matching by generated particle stands in for Belle II's geometric
    matching).
    """
    return _two_track_events(
        chunk["track_offset"],
        chunk["tracks/charge"],
        chunk["tracks/d0"],
        chunk["tracks/z0"],
        chunk["tracks/truth"],
        chunk["cluster_offset"],
        chunk["clusters/e"],
        chunk["clusters/truth"],
        d0_max,
        z0_max,
        cluster_e_min,
    )
