"""Limit plots in the style of the Belle II Z' result (arXiv:2212.03066, Fig. 1)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def limit_plot(
    path: str | Path,
    results: dict,
    band: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    extra_series: Sequence[tuple[str, str]] = (),
    ylabel: str = r"$g'$",
    expected_series: Sequence[tuple[list, str]] = (),
) -> None:
    """Observed and expected limits with ±1σ/±2σ bands (log-log), optionally a favoured band.

    ``band`` = (masses, lower, upper) shades e.g. the (g-2)_mu-favoured region; ``extra_series``
    = [(results key, label)] adds further observed curves (e.g. B(inv) = 1);
    ``expected_series`` = [(points, label)] adds median expected curves (e.g. projections).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    plt.style.use(mplhep.style.ROOT)
    fig, ax = plt.subplots(figsize=(8, 6))
    pts = results["points"]
    m = np.array([p["mass_gev"] for p in pts])

    def col(key, points=pts):
        return np.array([np.nan if p.get(key) is None else p[key] for p in points], dtype=float)

    ax.fill_between(
        m, col("expected_m2"), col("expected_p2"), color="#F5BB54", label=r"expected $\pm2\sigma$"
    )
    ax.fill_between(
        m, col("expected_m1"), col("expected_p1"), color="#607641", label=r"expected $\pm1\sigma$"
    )
    ax.plot(m, col("expected"), "k--", lw=1.5, label="expected (median)")
    if np.isfinite(col("observed")).any():
        ax.plot(m, col("observed"), "k-", lw=2, label=results.get("observed_label", "observed"))
    for key, label in extra_series:
        other = results.get(key)
        if other:
            ax.plot(
                [p["mass_gev"] for p in other], col("observed", other), "-", lw=1.5, label=label
            )
            ax.plot([p["mass_gev"] for p in other], col("expected", other), ":", lw=1.5)
    for other, label in expected_series:
        ax.plot([p["mass_gev"] for p in other], col("expected", other), "--", lw=1.5, label=label)
    if band is not None:
        ax.fill_between(
            band[0],
            band[1],
            band[2],
            color="#B7D0EA",
            alpha=0.6,
            label=r"$(g-2)_\mu$ favoured ($\pm2\sigma$)",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$M_{Z'}$ [GeV]")
    ax.set_ylabel(ylabel)
    cl = results.get("cl", 0.9)
    ax.set_title(
        f"b2dark {results['search']}, {results['lumi_fb']:g} fb$^{{-1}}$, {cl:.0%} CL", fontsize=14
    )
    ax.legend(fontsize=11, loc="upper left")
    fig.tight_layout()
    tmp = Path(path).with_name(f".{Path(path).name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
