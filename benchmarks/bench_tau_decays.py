"""CPU cost of tau decays per mode (``gen.decays.tau``) and of the spin correlation
(``gen.decays.tau_spin``), in ns per decay after JIT.

    python benchmarks/bench_tau_decays.py [--n 200000] [--repeat 3]

Columns: ``rest`` the rest-frame block (``rest_block1``: the matrix-element sampling), ``full``
one ``decay_tau1`` (mode pick, rest block, tau flight, boost to the lab, secondary decays) of a
tau of 5 GeV/c, ``pair`` a tau- in any mode (``decay_tau1``) followed by the spin-correlated tau+
in the row's modes (``decay_tau_plus_correlated1``), so ``pair - full(all) - full`` is the cost
of the correlation. Best of ``repeat`` (CPU time of the process): on a loaded machine compare
trees interleaved (A/B), as in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]  # scripts: the repo

from gen.constants import M_TAU  # noqa: E402
from gen.decays.tau import COLS, decay_tau1, rest_block1, tau_modes, tau_tables  # noqa: E402
from gen.decays.tau_spin import decay_tau_plus_correlated1  # noqa: E402

#: rows of the table: label -> indices of ``tau_modes()`` (None: every mode)
GROUPS = {"all": None, "e": [0], "mu": [2], "pi": [3], "rho": [5], "a1 pi- 2pi0": [6],
          "a1 2pi- pi+": [17], "2pi- pi+ pi0": [18], "pi- omega": [39]}


@njit
def _loop_rest(rng, tb, n, out_f):
    acc = 0.0
    for _ in range(n):
        u = rng.random()
        mode = tb.cum.shape[0] - 1
        for j in range(tb.cum.shape[0]):
            if u < tb.cum[j]:
                mode = j
                break
        rest_block1(rng, tb.kind[mode], tb.nrow[mode], tb.m_tau, tb.mass[mode], tb.par[mode],
                    tb.wmax[mode], tb.env_cum[mode], tb.env_max[mode], True, out_f, 1)
        acc += out_f[1, 3]
    return acc


@njit
def _set_tau(out_i, out_f, row, pdg, p, sign):
    out_i[row, 0], out_i[row, 1], out_i[row, 2] = pdg, 1, -1
    out_f[row, 0], out_f[row, 1], out_f[row, 2] = sign * 0.3 * p, 0.0, sign * 0.954 * p
    pp = p * np.sqrt(0.3**2 + 0.954**2)
    out_f[row, 3] = np.sqrt(pp * pp + M_TAU * M_TAU)
    out_f[row, 4:] = 0.0


@njit
def _loop_full(rng, tb, n, out_i, out_f):
    acc = 0.0
    for _ in range(n):
        _set_tau(out_i, out_f, 0, 15, 5.0, 1.0)
        end, _ = decay_tau1(rng, tb, 0, 0, out_i, out_f, 1)
        acc += out_f[end - 1, 3]
    return acc


@njit
def _loop_pair(rng, tb, tb_all, n, out_i, out_f, beam):
    acc = 0.0
    for _ in range(n):
        _set_tau(out_i, out_f, 0, 15, 5.0, 1.0)
        _set_tau(out_i, out_f, 1, -15, 5.0, -1.0)
        end_m, mode_m = decay_tau1(rng, tb_all, 0, 0, out_i, out_f, 2)
        end, _ = decay_tau_plus_correlated1(rng, tb, out_i, out_f, 0, 1, mode_m, 2, 0, end_m,
                                            beam)
        acc += out_f[end - 1, 3]
    return acc


def _best(fn, n: int, repeat: int, *args) -> float:
    """Smallest CPU ns per call of ``fn(*args)`` doing n decays."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.process_time()
        fn(*args)
        best = min(best, time.process_time() - t0)
    return best / n * 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    out_i = np.zeros((128, 3), np.int64)
    out_f = np.zeros((128, COLS))
    beam = np.array([0.0, 0.0, 5.29, 5.29])
    tb_all, _ = tau_tables()
    n_modes = len(tau_modes())
    print(f"{'modes':14s} {'rest ns':>8s} {'full ns':>8s} {'pair ns':>8s}")
    for label, idx in GROUPS.items():
        mask = None
        if idx is not None:
            mask = np.zeros(n_modes, bool)
            mask[idx] = True
        tb, _ = tau_tables(mask)
        rng = np.random.default_rng(1)
        _loop_rest(rng, tb, 100, out_f)  # JIT outside the timing
        _loop_full(rng, tb, 100, out_i, out_f)
        _loop_pair(rng, tb, tb_all, 100, out_i, out_f, beam)
        r = _best(_loop_rest, a.n, a.repeat, rng, tb, a.n, out_f)
        f = _best(_loop_full, a.n, a.repeat, rng, tb, a.n, out_i, out_f)
        p = _best(_loop_pair, a.n, a.repeat, rng, tb, tb_all, a.n, out_i, out_f, beam)
        print(f"{label:14s} {r:8.0f} {f:8.0f} {p:8.0f}")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
