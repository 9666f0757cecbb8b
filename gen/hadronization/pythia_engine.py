"""Optional second engine: Pythia 8 (``pythia8mc`` module, install extra) for e+e- -> q qbar.

Pythia runs gamma* -> q qbar at a fixed c.m. energy (no ISR: ``PDF:lepton = off``) with its own
parton shower, string fragmentation and decays (Monash 2013 tune, the Pythia 8 default,
arXiv:1404.5630; T. Sjostrand et al. arXiv:1410.3012). Its event record is converted into an
``EventChunk`` in the e+e- c.m. frame (e- along +z): every particle from the hadron level on
(Pythia status |code| >= 81: hadronisation and decays), final ones with status 1, decayed ones
with status 2, mothers re-indexed within the kept rows (-1 if the mother is a parton),
vertices mm -> cm and mm/c -> ns. Seeds: ``Random:seed`` from our seed (Pythia accepts
0..900 000 000), so the same card and seed give the same events.

``pythia8mc`` is not a default dependency (it builds for > 30 min); ``available()`` tells
whether it can be used and the tests skip without it.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from gen.constants import C_CM_PER_NS
from gen.events import DECAYED, FINAL, PARTICLE_FIELDS, EventChunk
from gen.hadronization.tables import QUARKS

#: Pythia's largest accepted Random:seed
MAX_SEED = 900_000_000
_MM_TO_CM = 0.1


def available() -> bool:
    """True if the ``pythia8mc`` module can be imported."""
    return importlib.util.find_spec("pythia8mc") is not None


def pythia_settings(sqrt_s_gev: float, flavours: list[str], seed: int) -> list[str]:
    """The Pythia settings of a gamma* -> q qbar run (documented Pythia 8 options)."""
    ids = " ".join(str(QUARKS[f]) for f in flavours)
    return [
        "Beams:idA = 11", "Beams:idB = -11", f"Beams:eCM = {sqrt_s_gev:.9g}",
        "PDF:lepton = off",                    # no ISR: beams are point-like
        "WeakSingleBoson:ffbar2gmZ = on",       # e+e- -> gamma*/Z -> f fbar
        "WeakZ0:gmZmode = 1",                   # photon exchange only, as gen.processes.qqbar
        "23:onMode = off", f"23:onIfAny = {ids}",
        "Random:setSeed = on", f"Random:seed = {seed % MAX_SEED}",
        "Next:numberCount = 0", "Print:quiet = on",
    ]


class PythiaEngine:
    """Pythia 8 e+e- -> q qbar events as ``EventChunk`` (c.m. frame)."""

    def __init__(self, sqrt_s_gev: float, flavours: list[str], seed: int,
                 extra_settings: list[str] | None = None) -> None:
        if not available():
            raise RuntimeError("pythia8mc is not installed: pip install pythia8mc (builds > 30 "
                               "min) or use the numba string model (gen.hadronization.string)")
        import pythia8mc

        self.pythia = pythia8mc.Pythia("", False)
        for s in pythia_settings(sqrt_s_gev, flavours, seed) + list(extra_settings or []):
            if not self.pythia.readString(s):
                raise ValueError(f"Pythia rejected the setting {s!r}")
        if not self.pythia.init():
            raise RuntimeError("Pythia initialisation failed")

    def generate(self, n: int) -> EventChunk:
        cols: dict[str, list] = {k: [] for k in PARTICLE_FIELDS}
        offset = [0]
        done = 0
        while done < n:
            if not self.pythia.next():
                continue
            ev = self.pythia.event
            keep = [i for i in range(ev.size()) if abs(ev[i].status()) >= 81]
            index = {i: k for k, i in enumerate(keep)}
            for i in keep:
                prt = ev[i]
                cols["pdg"].append(prt.id())
                cols["status"].append(FINAL if prt.isFinal() else DECAYED)
                cols["mother"].append(index.get(prt.mother1(), -1))
                for name, val in (("px", prt.px()), ("py", prt.py()), ("pz", prt.pz()),
                                  ("e", prt.e()), ("vx", prt.xProd() * _MM_TO_CM),
                                  ("vy", prt.yProd() * _MM_TO_CM),
                                  ("vz", prt.zProd() * _MM_TO_CM),
                                  ("t", prt.tProd() * _MM_TO_CM / C_CM_PER_NS)):
                    cols[name].append(val)
            offset.append(offset[-1] + len(keep))
            done += 1
        particles = {k: np.asarray(v, dtype=t) for (k, t), v in
                     zip(PARTICLE_FIELDS.items(), cols.values(), strict=True)}
        return EventChunk(np.ones(n), np.asarray(offset, np.int64), particles)
