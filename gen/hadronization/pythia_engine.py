"""Optional second engine: Pythia 8 (``pythia8mc`` module, install extra) for e+e- -> q qbar.

Pythia runs gamma* -> q qbar at a fixed c.m. energy (no ISR: ``PDF:lepton = off``) with its own
parton shower, string fragmentation and decays (T. Sjostrand et al. arXiv:1410.3012) on top of
its default tune (Monash 2013, arXiv:1404.5630), with Belle II's continuum settings by default:
the lines of basf2's generators/modules/fragmentation/data/pythia_belle2.dat
(github.com/belle2/basf2; ``BELLE2_DAT_LINES``), the Lund values taken from the same
``LundParameters`` fields as the numba string (``lund_settings``: StringZ:aLund 0.32,
StringZ:bLund 0.62, StringZ:rFactC 1.0, StringFlav:etaSup 0.27, StringFlav:etaPrimeSup 0.12,
StringFragmentation:stopMass 0.3, plus StringPT:sigma and StringFlav:probStoUD at their
Monash values), so a card's Lund keys reach both engines. ``tune = "monash"`` passes the
Monash 2013 values of those fields instead (stopMass 1.0, the Monash-era default; Pythia
8.316 lowered its own default to 0.8), ``tune = "pythia"`` passes none (Pythia's built-in
defaults, as before this option existed). The file's other lines are Pythia 8 defaults
(StringZ:usePeterson* = off, ParticleDecays:multIncrease 4.5 / multIncreaseWeak 2.0,
ParticleDecays:FSRinDecays and TimeShower:QEDshowerByQ on) and are passed as written, so the
settings are the file's. Its event record is converted into an
``EventChunk`` in the e+e- c.m. frame (e- along +z): every particle from the hadron level on
(Pythia status |code| >= 81: hadronisation and decays) and the photons of its QED
shower off the quarks (final, status 51-59), final ones with status 1, decayed ones
with status 2, mothers re-indexed within the kept rows (-1 if the mother is a parton),
vertices mm -> cm and mm/c -> ns. Seeds: ``Random:seed`` from our seed (Pythia accepts
0..900 000 000), so the same card and seed give the same events.

Two uses:
- ``PythiaEngine``: a complete Pythia run (its own gamma* -> q qbar at fixed energy, no ISR), the
  reference the numba model is compared with in the tests;
- ``hadronize_pairs``: the engine behind ``qqbar`` with ``hadronization = 'pythia'``: the q qbar
  pairs of b2dark's generator (ISR, flavour, angle, beams; lab frame) are handed to Pythia's
  hadron level standalone (``ProcessLevel:all = off``; ``Pythia::forceTimeShower`` from the
  pair mass, then string fragmentation and, optionally, decays), as in Pythia's example main21.
  Pythia's shower and string are Lorentz covariant, so the pair is passed in the lab frame and
  hadrons (and decay vertices) come back there. One Pythia instance per block, seeded from the
  block's random stream: the same card and seed give the same events for any chunking.

``pythia8mc`` is an optional dependency (``pip install '.[pythia]'``; binary wheels exist for
CPython 3.11 on manylinux since 8.317); ``available()`` tells whether it can be used and the
tests skip without it.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from gen.cards import CardError
from gen.constants import C_CM_PER_NS
from gen.events import DECAYED, FINAL, PARTICLE_FIELDS, EventChunk
from gen.hadronization.tables import BELLE2_PYTHIA_DAT, MONASH_2013, QUARKS, LundParameters

#: Pythia's largest accepted Random:seed
MAX_SEED = 900_000_000
_MM_TO_CM = 0.1

#: Pythia 8 setting of each Lund field that a qqbar card sets (gen.hadronization.tables;
#: Pythia 8 online manual, "Fragmentation" and "Flavour Selection")
PYTHIA_NAMES = {
    "a_lund": "StringZ:aLund",
    "b_lund": "StringZ:bLund",
    "r_fact_c": "StringZ:rFactC",
    "eta_sup": "StringFlav:etaSup",
    "eta_prime_sup": "StringFlav:etaPrimeSup",
    "stop_mass": "StringFragmentation:stopMass",
    "sigma_pt": "StringPT:sigma",
    "prob_s_to_ud": "StringFlav:probStoUD",
}
#: basf2 generators/modules/fragmentation/data/pythia_belle2.dat (github.com/belle2/basf2), the
#: lines without a ``PYTHIA_NAMES`` field (those come from the Lund values, BELLE2_PYTHIA_DAT):
#: all are Pythia 8 defaults, kept so that the engine reads the file's settings verbatim
BELLE2_DAT_LINES = (
    "StringZ:usePetersonC = off",
    "StringZ:usePetersonB = off",
    "StringZ:usePetersonH = off",
    "ParticleDecays:multIncrease = 4.5",
    "ParticleDecays:multIncreaseWeak = 2.0",
    "ParticleDecays:FSRinDecays = on",
    "TimeShower:QEDshowerByQ = on",
)
#: tunes of ``lund_settings``: Belle II's file (default), Monash 2013, Pythia's own defaults
TUNES = ("belle2", "monash", "pythia")


def lund_values(tune: str = "belle2") -> dict[str, float]:
    """The ``PYTHIA_NAMES`` fields of a tune: Belle II's pythia_belle2.dat values on top of
    Monash 2013 (``belle2``), Monash 2013 (``monash``), none (``pythia``: Pythia's defaults)."""
    if tune not in TUNES:
        raise CardError(f"pythia tune: {tune!r} is not one of {', '.join(TUNES)}")
    if tune == "pythia":
        return {}
    base = LundParameters()  # Monash 2013 (arXiv:1404.5630)
    values = {name: float(getattr(base, name)) for name in PYTHIA_NAMES}
    values.update(MONASH_2013 if tune == "monash" else BELLE2_PYTHIA_DAT)
    return values


def lund_settings(lund: dict[str, float] | None = None, tune: str = "belle2") -> list[str]:
    """Pythia 8 lines of the string parameters: the ``tune``'s values (``lund_values``),
    overridden by ``lund`` (``LundParameters`` field -> value, e.g. a qqbar card's Lund keys),
    then, except for ``tune = 'pythia'`` without overrides, the other pythia_belle2.dat lines."""
    values = lund_values(tune)
    for name, value in (lund or {}).items():
        if name not in PYTHIA_NAMES:
            raise CardError(f"pythia lund.{name}: no Pythia counterpart; allowed: "
                            f"{', '.join(PYTHIA_NAMES)}")
        values[name] = float(value)
    lines = [f"{PYTHIA_NAMES[name]} = {values[name]:.10g}" for name in PYTHIA_NAMES
             if name in values]
    return lines + list(BELLE2_DAT_LINES) if lines else lines


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
                 extra_settings: list[str] | None = None, lund: dict[str, float] | None = None,
                 tune: str = "belle2") -> None:
        settings = (pythia_settings(sqrt_s_gev, flavours, seed) + lund_settings(lund, tune)
                    + list(extra_settings or []))
        if not available():
            raise RuntimeError("pythia8mc is not installed: pip install pythia8mc (builds > 30 "
                               "min) or use the numba string model (gen.hadronization.string)")
        import pythia8mc

        self.settings = settings
        self.pythia = pythia8mc.Pythia("", False)
        for s in settings:
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
            keep = [i for i in range(ev.size()) if abs(ev[i].status()) >= 81 or ev[i].isFinal()]
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


def standalone_settings(seed: int, decays: bool, lund: dict[str, float] | None = None,
                        tune: str = "belle2") -> list[str]:
    """Settings of the hadron-level-only Pythia of ``hadronize_pairs``."""
    return [
        "ProcessLevel:all = off",             # hadron level only: partons come from b2dark
        f"HadronLevel:Decay = {'on' if decays else 'off'}",
        "Random:setSeed = on", f"Random:seed = {seed}",
        "Next:numberCount = 0", "Print:quiet = on",
    ] + lund_settings(lund, tune)


def _standalone(settings: list[str]):
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for s in settings:
        if not pythia.readString(s):
            raise ValueError(f"Pythia rejected the setting {s!r}")
    if not pythia.init():
        raise RuntimeError("Pythia initialisation failed")
    return pythia


def hadronize_pairs(chunk: EventChunk, rng: np.random.Generator, m_c: float,
                    decays: bool = True, max_tries: int = 10,
                    lund: dict[str, float] | None = None, tune: str = "belle2") -> EventChunk:
    """Replace the q qbar rows of each event (the last two, lab frame) by Pythia's hadrons.

    String parameters: ``lund_settings(lund, tune)`` (Belle II's pythia_belle2.dat by default;
    ``qqbar`` passes its card's Lund keys).

    Other rows (ISR photons) are kept first. Pythia rows from the hadron level on (status
    |code| >= 81) and the final photons of its QED shower off the quarks are kept, final ones
    with status 1 and decayed ones with 2, mothers re-indexed (-1 for string hadrons). Truth
    gains ``n_primary_pythia`` (string hadrons); ``gluon`` / ``n_gluons`` come from the shower.
    """
    lund_settings(lund, tune)  # bad keys raise CardError before Pythia is needed
    if not available():
        raise RuntimeError("pythia8mc is not installed: pip install '.[pythia]'")
    pythia = _standalone(standalone_settings(int(rng.integers(1, MAX_SEED)), decays, lund,
                                             tune))
    ev = pythia.event
    pp = chunk.particles
    cols: dict[str, list] = {k: [] for k in PARTICLE_FIELDS}
    offset = [0]
    n_events = chunk.n_events
    n_primary = np.zeros(n_events, np.int32)
    n_gluons = np.zeros(n_events, np.int32)
    for i in range(n_events):
        a, b = int(chunk.offset[i]), int(chunk.offset[i + 1])
        q, qbar = b - 2, b - 1
        for j in range(a, q):  # ISR photons
            for k in PARTICLE_FIELDS:
                cols[k].append(pp[k][j])
        n0 = q - a
        flav = int(pp["pdg"][q])
        m = m_c if abs(flav) == 4 else 0.0
        four = [(float(pp["px"][r]), float(pp["py"][r]), float(pp["pz"][r]), float(pp["e"][r]))
                for r in (q, qbar)]
        tx, ty, tz, te = (x + y for x, y in zip(four[0], four[1], strict=True))
        mass = float(np.sqrt(max(te * te - tx * tx - ty * ty - tz * tz, 0.0)))
        for _ in range(max_tries):
            ev.reset()
            ev.append(flav, 23, 101, 0, *four[0], m, mass)
            ev.append(-flav, 23, 0, 101, *four[1], m, mass)
            pythia.forceTimeShower(1, 2, mass)
            glu = sum(1 for r in range(ev.size()) if ev[r].id() == 21 and ev[r].isFinal())
            if pythia.next():
                break
        else:
            raise RuntimeError(f"Pythia failed to hadronise a {flav} pair {max_tries} times")
        keep = [r for r in range(ev.size()) if abs(ev[r].status()) >= 81 or ev[r].isFinal()]
        index = {r: n0 + k for k, r in enumerate(keep)}
        for r in keep:
            prt = ev[r]
            cols["pdg"].append(prt.id())
            cols["status"].append(FINAL if prt.isFinal() else DECAYED)
            cols["mother"].append(index.get(prt.mother1(), -1))
            cols["px"].append(prt.px())
            cols["py"].append(prt.py())
            cols["pz"].append(prt.pz())
            cols["e"].append(prt.e())
            cols["vx"].append(prt.xProd() * _MM_TO_CM)
            cols["vy"].append(prt.yProd() * _MM_TO_CM)
            cols["vz"].append(prt.zProd() * _MM_TO_CM)
            cols["t"].append(prt.tProd() * _MM_TO_CM / C_CM_PER_NS)
        n_primary[i] = sum(1 for r in keep if 81 <= abs(ev[r].status()) <= 89)
        n_gluons[i] = glu
        offset.append(offset[-1] + n0 + len(keep))
    particles = {k: np.asarray(v, dtype=t) for (k, t), v in
                 zip(PARTICLE_FIELDS.items(), cols.values(), strict=True)}
    truth = dict(chunk.truth)
    truth["n_primary_pythia"] = n_primary
    truth["n_gluons"] = n_gluons
    truth["gluon"] = (n_gluons > 0).astype(np.int32)
    return EventChunk(chunk.weight, np.asarray(offset, np.int64), particles, truth)
