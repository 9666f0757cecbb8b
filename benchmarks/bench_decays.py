"""The same decays in b2dark (numba kernels) and in the ``phasespace`` package (TensorFlow).

    python benchmarks/bench_decays.py [--quick]

1. B+ -> K+ S, S -> mu+ mu- (m_S = 1 GeV, prompt), B at rest: two chained two-body decays with
   ``gen.kinematics.two_body_decay1``; phasespace: GenParticle tree.
2. Flat three-body B0 -> K+ pi- pi0 at rest, weighted events: ``gen.phasespace.generate``
   (GENBOD, F. James, CERN 68-15) if present, else the GENBOD of ``gen.decays.tau``;
   phasespace: ``nbody_decay``. The unweighted b2dark rate is listed too.
Masses from ``particle`` (gen.constants.mass_gev). The peer runs in its own process
(``peer_phasespace.py``); without phasespace installed its rows say so. Target: >= 10x.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(_HERE), str(_HERE.parent)]  # scripts: the repo and this folder

from common import Row, best_of, print_table  # noqa: E402

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
def _b_to_k_s_mumu(rng, n, m_b, m_k, m_s, m_mu, out):
    """n decays B+ -> K+ S(-> mu+ mu-) at rest, isotropic in each rest frame, into out (n, 3, 4).

    The caller reuses ``out`` as a generator reuses its chunk buffer (a fresh 100 MB array costs
    ~50 ns per event in page faults alone, more than the decay kinematics).
    """
    two_pi = 2.0 * math.pi
    for i in range(n):
        k_s = two_body_decay1(0.0, 0.0, 0.0, m_b, m_k, m_s, 2.0 * rng.random() - 1.0,
                              two_pi * rng.random())  # fmt: skip
        mm = two_body_decay1(k_s[4], k_s[5], k_s[6], k_s[7], m_mu, m_mu,
                             2.0 * rng.random() - 1.0, two_pi * rng.random())  # fmt: skip
        for j in range(4):
            out[i, 0, j] = k_s[j]
            out[i, 1, j] = mm[j]
            out[i, 2, j] = mm[4 + j]
    return out


def _three_body(rng, m, n, weighted):
    try:
        from gen.phasespace import generate
    except ImportError:  # before gen/phasespace.py existed
        generate = None
    if generate is not None:
        return generate(rng, m["B0"], np.array([m["K"], m["pi"], m["pi0"]]), n, weighted=weighted)
    raise ImportError("gen.phasespace not available")


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
    rep = 3
    m = masses()
    rng = np.random.Generator(np.random.PCG64(7))
    out = np.zeros((n, 3, 4))
    args = (m["B+"], m["K"], M_S, m["mu"], out)
    _b_to_k_s_mumu(rng, 10, *args)
    _, cpu_chain, _ = best_of(lambda: _b_to_k_s_mumu(rng, n, *args), rep)
    # four-momentum conservation of the benchmark output (a benchmark of wrong events is void)
    tot = out.sum(axis=1)
    if not (np.allclose(tot[:, 3], m["B+"]) and np.allclose(tot[:, :3], 0.0, atol=1e-12)):
        raise AssertionError("B+ -> K+ mu+ mu- benchmark events do not conserve four-momentum")
    rows = []
    p = peer(n)
    err = p.get("error")
    note = err or f"phasespace {p.get('version')}, TF {p.get('tensorflow')}, 1 thread"
    rows.append(Row(
        "decays", "B+ -> K+ S(-> mu mu), m_S = 1 GeV", n / cpu_chain, "ev/s/core",
        peer=None if err else p["chain"]["n"] / p["chain"]["cpu"], peer_name="phasespace",
        note=note + f"; {n} ev",
    ))
    try:
        _three_body(rng, m, 10, True)
        _, cpu_w, _ = best_of(lambda: _three_body(rng, m, n, True), rep)
        _three_body(rng, m, 10, False)
        _, cpu_u, _ = best_of(lambda: _three_body(rng, m, n, False), rep)
    except ImportError as exc:
        rows.append(Row("decays", "B0 -> K+ pi- pi0 flat (weighted)", None, "ev/s/core",
                        note=str(exc)))
        return rows
    rows.append(Row(
        "decays", "B0 -> K+ pi- pi0 flat (weighted)", n / cpu_w, "ev/s/core",
        peer=None if err else p["three_body"]["n"] / p["three_body"]["cpu"],
        peer_name="phasespace", note=note + f"; gen.phasespace GENBOD; {n} ev",
    ))
    rows.append(Row(
        "decays", "B0 -> K+ pi- pi0 flat (unweighted)", n / cpu_u, "ev/s/core",
        note="gen.phasespace hit-or-miss against the analytic GENBOD maximum (no peer)",
    ))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    print_table(run(parser.parse_args().quick))


if __name__ == "__main__":
    main()
