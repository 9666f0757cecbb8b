"""Piecewise-linear VEGAS grid maps of unit variables, shared by the adaptive samplers
(gen.processes.eemumu, gen.processes.four_lepton).

A grid of dimension d is a row ``edges[d]`` of n_bins + 1 increasing edges from 0 to 1; it maps
a uniform v in [0, 1) to u = G_d(v), linear inside each of the n_bins equal v-bins, so the
density of u is constant in each u-bin: 1 / (n_bins x bin width) (G. P. Lepage, J. Comput.
Phys. 27 (1978) 192). The refinement of the edges stays with each process (their bin
importances differ).
"""

from __future__ import annotations

from gen.jit import kernel


@kernel
def grid_map1(edges, d: int, v: float):
    """(u = G_d(v), density of u, bin of u) of the grid of dimension ``d``."""
    nb = edges.shape[1] - 1
    x = v * nb
    j = min(int(x), nb - 1)
    lo = edges[d, j]
    width = edges[d, j + 1] - lo
    return lo + width * (x - j), 1.0 / (nb * width), j


@kernel
def grid_locate1(edges, d: int, u: float):
    """(bin, density) of the grid of dimension ``d`` at ``u`` (binary search over the edges)."""
    nb = edges.shape[1] - 1
    lo = 0
    hi = nb
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if u >= edges[d, mid]:
            lo = mid
        else:
            hi = mid
    return lo, 1.0 / (nb * (edges[d, lo + 1] - edges[d, lo]))
