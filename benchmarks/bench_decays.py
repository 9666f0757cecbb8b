"""The same decays in b2dark (numba kernels) and in the ``phasespace`` package (TensorFlow).

    python benchmarks/bench_decays.py [--quick]

1. B+ -> K+ S, S -> mu+ mu- (m_S = 1 GeV, prompt), B at rest: ``gen.phasespace.two_body_cascade``
   (both directions isotropic, uniforms drawn in blocks); phasespace: a GenParticle tree.
2. Flat three-body B0 -> K+ pi- pi0 at rest, weighted events: ``gen.phasespace.generate`` (the
   n = 3 block sampler: m_12 uniform with the GENBOD weight q* p*, F. James, CERN 68-15);
   phasespace: ``nbody_decay`` (GENBOD). The unweighted b2dark rate is listed too.

The same job on both sides: n events in one call, weighted (phasespace returns GENBOD weights
normalised to their analytic maximum; b2dark the GENBOD weight itself, a constant factor apart),
the four-momenta of every particle of the tree (phasespace: K, S, mu+, mu- and K, pi, pi0; b2dark
the same rows) in fresh output arrays, one thread, CPU time of the process, after JIT / tracing;
best of 3 (phasespace, ~1 s a call) and of 5 (b2dark, whose fresh arrays' page faults vary with
the machine's memory state; the minor page faults of both sides are in the notes). The rates
with a reused output buffer (a generator's chunk buffer) and of the scalar per-event kernels
(what other kernels call inside their loops) are in extra rows.
Masses from ``particle`` (gen.constants.mass_gev). The peer runs in its own process
(``peer_phasespace.py``); without phasespace installed its rows say so. Target: >= 10x.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(_HERE), str(_HERE.parent)]  # scripts: the repo and this folder

from common import Row, best_of, print_table  # noqa: E402

from gen import phasespace as ps  # noqa: E402
from gen.constants import mass_gev  # noqa: E402
from gen.jit import kernel  # noqa: E402
from gen.kinematics import two_body_decay1  # noqa: E402

M_S = 1.0  # GeV, the dark scalar of the benchmark chain


def masses() -> dict[str, float]:
    return {
        "S": M_S, "mu": mass_gev(13), "B+": mass_gev(521), "K": mass_gev(321),
        "B0": mass_gev(511), "pi": mass_gev(211), "pi0": mass_gev(111),
    }  # fmt: skip


@kernel
def _chain_scalar(rng, n, m_b, m_k, m_s, m_mu, out):
    """n decays B+ -> K+ S(-> mu+ mu-) with the per-event kernel ``two_body_decay1`` (scalar
    draws, cos/sin of the azimuths) into out (n, 4, 4): rows K, S, mu+, mu-."""
    two_pi = 2.0 * math.pi
    for i in range(n):
        k_s = two_body_decay1(0.0, 0.0, 0.0, m_b, m_k, m_s, 2.0 * rng.random() - 1.0,
                              two_pi * rng.random())  # fmt: skip
        mm = two_body_decay1(k_s[4], k_s[5], k_s[6], k_s[7], m_mu, m_mu,
                             2.0 * rng.random() - 1.0, two_pi * rng.random())  # fmt: skip
        for j in range(4):
            out[i, 0, j] = k_s[j]
            out[i, 1, j] = k_s[4 + j]
            out[i, 2, j] = mm[j]
            out[i, 3, j] = mm[4 + j]
    return out


@kernel
def _three_body_scalar(rng, n, big_m, m1, m2, m3, out, w):
    """n weighted three-body decays with the per-event kernel ``three_body1``."""
    for k in range(n):
        w[k] = ps.three_body1(rng, big_m, m1, m2, m3, out, 3 * k)


def _best_with_faults(fn, repeat: int) -> tuple[float, float, int]:
    """Smallest CPU time of ``repeat`` calls, its wall time and its minor page faults (a fresh
    output array is backed by new zeroed pages: its faults are part of the job, on both sides)."""
    best = None
    for _ in range(repeat):
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
        if best is None or cpu < best[0]:
            best = (cpu, wall, faults)
    return best


def _check_conservation(p: np.ndarray, mass: float, what: str, final: list[int]) -> None:
    """A benchmark of wrong events is void: the final-state rows must add up to the parent."""
    tot = p[:, final].sum(axis=1)
    if not (np.allclose(tot[:, 3], mass, atol=1e-12) and np.allclose(tot[:, :3], 0.0, atol=1e-12)):
        raise AssertionError(f"{what} benchmark events do not conserve four-momentum")


def peer(n: int) -> dict:
    """phasespace rates from its own process (or {"error": ...})."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    try:
        res = subprocess.run(
            [sys.executable, str(_HERE / "peer_phasespace.py"), str(n), json.dumps(masses())],
            capture_output=True, text=True, timeout=900, env=env, check=False,
        )
        lines = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
        return json.loads(lines[-1]) if lines else {"error": res.stderr.strip()[-200:]}
    except (subprocess.TimeoutExpired, OSError) as exc:
        return {"error": str(exc)}


def run(quick: bool = False) -> list[Row]:
    n = 100_000 if quick else 1_000_000
    rep = 5  # best of 5: a shared machine; fresh arrays' page-fault times vary with its memory
    m = masses()
    rng = np.random.Generator(np.random.PCG64(7))
    chain = (m["B+"], m["K"], M_S, m["mu"], m["mu"])
    d3 = np.array([m["K"], m["pi"], m["pi0"]])

    # b2dark first (the peer process starts afterwards: no TensorFlow in this one)
    ps.two_body_cascade(rng, *chain, 10)
    cpu_chain, wall_chain, flt_chain = _best_with_faults(
        lambda: ps.two_body_cascade(rng, *chain, n), rep)
    buf4 = np.empty((n, 4, 4))
    _, cpu_chain_re, _ = best_of(lambda: ps.two_body_cascade(rng, *chain, n, out=buf4), rep)
    _check_conservation(buf4, m["B+"], "B+ -> K+ mu+ mu-", [0, 2, 3])
    _chain_scalar(rng, 10, m["B+"], m["K"], M_S, m["mu"], buf4)
    _, cpu_chain_sc, _ = best_of(
        lambda: _chain_scalar(rng, n, m["B+"], m["K"], M_S, m["mu"], buf4), rep)
    _check_conservation(buf4, m["B+"], "B+ -> K+ mu+ mu- (scalar)", [0, 2, 3])

    ps.generate(rng, m["B0"], d3, 10)
    cpu_w, wall_w, flt_w = _best_with_faults(lambda: ps.generate(rng, m["B0"], d3, n), rep)
    buf3 = np.empty((n, 3, 4))
    _, cpu_w_re, _ = best_of(lambda: ps.generate(rng, m["B0"], d3, n, out=buf3), rep)
    _check_conservation(buf3, m["B0"], "B0 -> K+ pi- pi0", [0, 1, 2])
    ps.generate(rng, m["B0"], d3, 10, weighted=False)
    _, cpu_u, _ = best_of(lambda: ps.generate(rng, m["B0"], d3, n, weighted=False, out=buf3),
                          rep)
    w3 = np.empty(n)
    buf3f = buf3.reshape(3 * n, 4)
    _three_body_scalar(rng, 10, m["B0"], *d3, buf3f, w3)
    _, cpu_w_sc, _ = best_of(lambda: _three_body_scalar(rng, n, m["B0"], *d3, buf3f, w3), rep)
    _check_conservation(buf3, m["B0"], "B0 -> K+ pi- pi0 (scalar)", [0, 1, 2])
    wmax = ps.three_body_wmax(m["B0"], *d3)
    eff = ps.three_body_efficiency(m["B0"], d3, wmax)

    p = peer(n)
    err = p.get("error")
    note = err or f"phasespace {p.get('version')}, TF {p.get('tensorflow')}, 1 thread"
    peer_chain = None if err else p["chain"]["n"] / p["chain"]["cpu"]
    peer_three = None if err else p["three_body"]["n"] / p["three_body"]["cpu"]

    def faults(key):
        return "" if err else f"; page faults {p[key].get('minor_faults')} vs {{}}"

    return [
        Row("decays", "B+ -> K+ S(-> mu mu), m_S = 1 GeV", n / cpu_chain, "ev/s/core",
            peer=peer_chain, peer_name="phasespace",
            note=note + f"; {n} ev, fresh arrays, rows K S mu mu; two_body_cascade; "
            f"wall {n / wall_chain:.3g} ev/s" + faults("chain").format(flt_chain)),
        Row("decays", "B+ -> K+ S(mu mu), reused buffer", n / cpu_chain_re, "ev/s/core",
            peer=peer_chain, peer_name="phasespace", note="out= a generator's chunk buffer"),
        Row("decays", "B+ -> K+ S(mu mu), scalar kernels", n / cpu_chain_sc, "ev/s/core",
            peer=peer_chain, peer_name="phasespace",
            note="per event: two gen.kinematics.two_body_decay1, scalar draws, reused buffer"),
        Row("decays", "B0 -> K+ pi- pi0 flat (weighted)", n / cpu_w, "ev/s/core",
            peer=peer_three, peer_name="phasespace",
            note=note + f"; {n} ev, fresh arrays; gen.phasespace.generate (n = 3 block "
            f"sampler); wall {n / wall_w:.3g} ev/s" + faults("three_body").format(flt_w)),
        Row("decays", "B0 -> K+ pi- pi0 weighted, reused buffer", n / cpu_w_re, "ev/s/core",
            peer=peer_three, peer_name="phasespace", note="out= a generator's chunk buffer"),
        Row("decays", "B0 -> K+ pi- pi0 weighted, scalar kernel", n / cpu_w_sc, "ev/s/core",
            peer=peer_three, peer_name="phasespace",
            note="per event: gen.phasespace.three_body1 (scalar draws), reused buffer"),
        Row("decays", "B0 -> K+ pi- pi0 flat (unweighted)", n / cpu_u, "ev/s/core",
            note=f"reused buffer; hit-or-miss on q* p* against its maximum (three_body_wmax), "
            f"efficiency {eff:.3f} (no peer: phasespace only weights)"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    print_table(run(parser.parse_args().quick))


if __name__ == "__main__":
    main()
