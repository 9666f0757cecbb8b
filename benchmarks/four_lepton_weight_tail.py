"""Where the unweighting efficiency of a four-lepton card goes (gen.processes.four_lepton).

    python benchmarks/four_lepton_weight_tail.py [CARD] [--trials N] [--top K]

After the card's pilot: the fraction of trials with a non-zero weight (W cut, acceptance),
sigma, the unweighting efficiency mean(w)/w_max, N_eff/N = (sum w)^2 / (N sum w^2), the
quantiles of w/w_max, and what the K largest weights look like next to the rest (c.m. frame
of the nominal beams; scattered e-/e+: l_a-/l_a+, for eeee the more energetic final e-/e+):
the larger photon Q^2, pair mass W and transverse momentum, whether both pair leptons are in
the acceptance window.
Then unweighted vs partially unweighted generation (``target_efficiency``): events and N_eff
per CPU second. Default: cards/samples/four_lepton_eeee.toml, 2e5 trials (~1 min after JIT).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(_HERE), str(_HERE.parent)]  # scripts: the repo and this folder

import numpy as np  # noqa: E402
from common import timed  # noqa: E402

from gen.runcard import load_sample  # noqa: E402
from gen.streams import GENERATION, PILOT, stream  # noqa: E402


def _boost(p: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Four-vectors (..., 4) seen from a frame moving with velocity b."""
    b2 = b @ b
    g = 1.0 / math.sqrt(1.0 - b2)
    bp = p[..., :3] @ b
    out = np.empty_like(p)
    out[..., :3] = p[..., :3] + ((g - 1.0) * bp / b2 - g * p[..., 3])[..., None] * b
    out[..., 3] = g * (p[..., 3] - bp)
    return out


def _m2(p: np.ndarray) -> np.ndarray:
    return p[..., 3] ** 2 - np.sum(p[..., :3] ** 2, axis=-1)


def tail_report(card_path: str, trials: int, top: int) -> None:
    card = load_sample(card_path)
    proc = card.build()
    _, t_pilot, _ = timed(lambda: proc.prepare(stream(card.seed, PILOT, 0), 200_000))
    w_max = proc.w_max
    w = proc.trial_weights(stream(card.seed, GENERATION, 0), trials)
    nz = w > 0.0
    print(f"{card_path}: pilot {t_pilot:.2f} CPU s, w_max {w_max:.4g} pb")
    print(f"non-zero {nz.mean():.3f}; sigma {w.mean():.5g} +- {w.std() / math.sqrt(w.size):.2g}"
          f" pb; efficiency {w.mean() / w_max:.4f}; N_eff/N {w.sum()**2 / (w.size * (w @ w)):.4f}")
    q = np.quantile(w[nz] / w_max, [0.5, 0.9, 0.99, 0.999])
    print(f"non-zero w/w_max at 50/90/99/99.9 %: {np.round(q, 3)}, max {w.max() / w_max:.3f}")
    # the largest weights as events: partial unweighting with a tiny threshold keeps every
    # trial above it with raw weight w / threshold (normalised to mean 1 in the block)
    proc.weighted, proc.w_max = True, 1e-9 * w_max
    n_ev = max(20 * top, 20_000)
    chunk, st = proc.generate(stream(card.seed, GENERATION, 1), n_ev)
    proc.weighted, proc.w_max = proc.p["target_efficiency"] > 0.0, w_max
    ev_w = chunk.weight * st.sum_w / n_ev
    part = chunk.particles
    lab = np.stack([part[k] for k in ("px", "py", "pz", "e")], axis=1)[
        chunk.offset[:-1, None] + np.arange(4)]
    em, ep = proc.beams.nominal_four_momenta()
    tot = em + ep
    cm = _boost(lab, tot[:3] / tot[3])
    i = np.arange(n_ev)
    e = cm[..., 3]
    # rows l_a-, l_a+, l_b-, l_b+; l_b is an electron only for eeee
    ident = proc.p["final_state"] == "eeee"
    sm = np.where(ident & (e[:, 2] > e[:, 0]), 2, 0)
    sp = np.where(ident & (e[:, 3] > e[:, 1]), 3, 1)
    half = 0.5 * math.sqrt(_m2(tot))
    beam_m, beam_p = np.array([0.0, 0.0, half, half]), np.array([0.0, 0.0, -half, half])
    q2 = np.maximum(-_m2(beam_m - cm[i, sm]), -_m2(beam_p - cm[i, sp]))
    pair = cm[i, 2 - sm] + cm[i, 4 - sp]
    w_pair = np.sqrt(np.maximum(_m2(pair), 0.0))
    pt = np.hypot(pair[:, 0], pair[:, 1])
    p_lab = np.linalg.norm(lab[..., :3], axis=-1)
    th = np.degrees(np.arccos(lab[..., 2] / p_lab))
    c = proc.c
    inside = ((th > c["charged_theta_min_deg"]) & (th < c["charged_theta_max_deg"])
              & (p_lab > c["charged_p_min_gev"]))
    both = inside[i, 2 - sm] & inside[i, 4 - sp]
    order = np.argsort(ev_w)[::-1]
    for label, sel in ((f"top {top}", order[:top]), ("rest", order[top:])):
        print(f"{label:8s}: median max(Q1^2, Q2^2) {np.median(q2[sel]):.3g} GeV^2, "
              f"max Q^2 > 0.1: {np.mean(q2[sel] > 0.1):.2f}, median W {np.median(w_pair[sel]):.3f}"
              f" GeV, median pair p_T {np.median(pt[sel]):.3f} GeV, pair in acceptance "
              f"{both[sel].mean():.2f}")
    for eff in (0.0, 0.05, 0.1):
        test = card.replace(params={**card.params, "target_efficiency": eff}).build()
        test.prepare(stream(card.seed, PILOT, 0), 200_000)
        (ch, _), cpu, _ = timed(lambda t=test: t.generate(stream(card.seed, GENERATION, 2), 8192))
        ww = ch.weight
        n_eff = ww.sum() ** 2 / (ww @ ww)
        print(f"target_efficiency {eff}: {8192 / cpu:.0f} events and {n_eff / cpu:.0f} N_eff "
              f"per CPU second (N_eff/N {n_eff / 8192:.3f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("card", nargs="?", default=str(_HERE.parent / "cards" / "samples"
                                                    / "four_lepton_eeee.toml"))
    ap.add_argument("--trials", type=int, default=200_000)
    ap.add_argument("--top", type=int, default=300)
    args = ap.parse_args()
    tail_report(args.card, args.trials, args.top)


if __name__ == "__main__":
    main()
