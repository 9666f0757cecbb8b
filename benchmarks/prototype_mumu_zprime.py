"""A hand-written minimal generator of e+ e- -> mu+ mu- Z', to rate the production one against.

    python benchmarks/prototype_mumu_zprime.py [--quick] [--mass 1.0]

One numba loop, fixed sqrt(s) (nominal beams), no beam spread, no ISR, no vacuum polarisation,
events left in the c.m. frame: flat three-body phase space (m12^2 uniform, isotropic Z' in the
c.m., isotropic mu- in the mu+ mu- rest frame; dPhi_3 = dm12^2/(2 pi) Phi_2(s; m12, M)
Phi_2(m12; m, m), Phi_2 = p/(4 pi sqrt) for uniform angles, PDG RPP 2024 Kinematics) times the
production |M|^2 (``gen.processes.mumu_zprime.msq_cm1``), hit-or-miss against the largest
weight of a pilot run times 1.3 (as gen.processes.base). The production generator runs in the
same conditions (isr = false, vacuum_polarisation = false, no beam spread); both cross sections
are printed (they must agree: a check of the prototype and of the production sampler).
Target of issue 4: production events/s >= 50 % of the prototype's.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(_HERE), str(_HERE.parent)]  # scripts: the repo and this folder

from common import Row, best_of, print_table, sample_card  # noqa: E402

from gen.constants import GEV2_TO_PB, M_MU  # noqa: E402
from gen.jit import kernel  # noqa: E402
from gen.processes.mumu_zprime import msq_cm1  # noqa: E402

_FOUR_PI = 4.0 * math.pi
_TWO_PI = 2.0 * math.pi
NO_SPREAD = {"spread_her_gev": 0.0, "spread_ler_gev": 0.0}


@kernel
def _point(rng, w, m, mz, g):
    """One flat phase-space point and its weight (pb); momenta (E first) of mu-, mu+, Z'."""
    s = w * w
    lo, hi = 4.0 * m * m, (w - mz) * (w - mz)
    m12sq = lo + (hi - lo) * rng.random()
    m12 = math.sqrt(m12sq)
    lam = (s - m12sq - mz * mz) ** 2 - 4.0 * m12sq * mz * mz
    kk = math.sqrt(max(lam, 0.0)) / (2.0 * w)
    ek = math.sqrt(kk * kk + mz * mz)
    c, ph = 2.0 * rng.random() - 1.0, _TWO_PI * rng.random()
    st = math.sqrt(1.0 - c * c)
    kx, ky, kz = kk * st * math.cos(ph), kk * st * math.sin(ph), kk * c
    pst = math.sqrt(max(0.25 * m12sq - m * m, 0.0))
    c2, ph2 = 2.0 * rng.random() - 1.0, _TWO_PI * rng.random()
    st2 = math.sqrt(1.0 - c2 * c2)
    ux, uy, uz = pst * st2 * math.cos(ph2), pst * st2 * math.sin(ph2), pst * c2
    # boost the mu+ mu- rest frame by -k/E12 (the pair recoils against the Z')
    e12 = w - ek
    bx, by, bz = -kx / e12, -ky / e12, -kz / e12
    gam = e12 / m12
    bu = bx * ux + by * uy + bz * uz
    f1 = (gam - 1.0) * bu / (bx * bx + by * by + bz * bz + 1e-300) + gam * 0.5 * m12
    f2 = -(gam - 1.0) * bu / (bx * bx + by * by + bz * bz + 1e-300) + gam * 0.5 * m12
    e1, e2 = gam * (0.5 * m12 + bu), gam * (0.5 * m12 - bu)
    p1 = (e1, ux + f1 * bx, uy + f1 * by, uz + f1 * bz)
    p2 = (e2, -ux + f2 * bx, -uy + f2 * by, -uz + f2 * bz)
    psw = (hi - lo) / _TWO_PI * kk / (_FOUR_PI * w) * pst / (_FOUR_PI * m12)
    msq = msq_cm1(w, p1[1], p1[2], p1[3], p1[0], p2[1], p2[2], p2[3], p2[0], m, mz, g)
    wt = GEV2_TO_PB / (2.0 * s) * 0.25 * msq * psw
    return wt, p1, p2, (ek, kx, ky, kz)


@kernel
def _weights(rng, n, w, m, mz, g):
    out = np.empty(n)
    for i in range(n):
        out[i] = _point(rng, w, m, mz, g)[0]
    return out


@kernel
def _generate(rng, n, w_max, w, m, mz, g, out):
    """n unweighted events into out (n, 3, 4); returns (trials, sum w, overweight trials)."""
    i = 0
    trials = 0
    sum_w = 0.0
    over = 0
    while i < n:
        wt, p1, p2, k = _point(rng, w, m, mz, g)
        trials += 1
        sum_w += wt
        if wt > w_max:
            over += 1
        if rng.random() * w_max < wt:
            for j in range(4):
                out[i, 0, j] = p1[j]
                out[i, 1, j] = p2[j]
                out[i, 2, j] = k[j]
            i += 1
    return trials, sum_w, over


def run(quick: bool = False, mass: float = 1.0) -> list[Row]:
    from gen.streams import GENERATION, PILOT, stream

    n = 50_000 if quick else 300_000
    g = 1e-3
    params = {"mass_gev": mass, "g_prime": g, "isr": False, "vacuum_polarisation": False}
    card = sample_card("mumu_zprime", params, beams=NO_SPREAD)
    w = card.beams.sqrt_s_gev
    # prototype
    wp = _weights(stream(2, PILOT), 200_000, w, M_MU, mass, g)
    w_max = 1.3 * wp.max()
    out = np.zeros((n, 3, 4))
    _generate(stream(2, GENERATION, 9), 100, w_max, w, M_MU, mass, g, out)
    (trials, sum_w, over), cpu_p, _ = best_of(
        lambda: _generate(stream(2, GENERATION), n, w_max, w, M_MU, mass, g, out), 2
    )
    # production, same conditions
    proc = card.build()
    proc.prepare(stream(2, PILOT))
    proc.generate(stream(2, GENERATION, 9), 100)
    (_, stats), cpu_q, _ = best_of(lambda: proc.generate(stream(2, GENERATION), n), 2)
    sig_p = sum_w / trials
    return [
        Row("prototype", f"mumu_zprime M={mass:g}: production vs prototype", n / cpu_q,
            "ev/s/core", peer=n / cpu_p, peer_name="prototype",
            note=f"isr/VP/spread off; eff {n / stats.n_trials:.3f} vs {n / trials:.4f}; trials/s "
            f"{stats.n_trials / cpu_q:.3g} vs {trials / cpu_p:.3g}; overweight trials 0 vs {over}"
            f"; sigma {stats.cross_section_pb:.4g} +- {stats.cross_section_err_pb:.2g} pb vs "
            f"{sig_p:.4g} pb; target ratio >= 0.5"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--mass", type=float, default=1.0)
    args = parser.parse_args()
    print_table(run(args.quick, args.mass))


if __name__ == "__main__":
    main()
