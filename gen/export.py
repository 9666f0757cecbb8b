"""Export an events file to Les Houches (LHE 3.0, hep-ph/0609017) or HepMC3 ASCII.

LHE: the incoming e-/e+ lines carry the nominal beam four-momenta (the per-event beam-energy
spread is in the outgoing momenta only); outgoing particles get status 1, decayed ones 2, mothers
as 1-based line numbers (beams for primaries). HepMC3 (Asciiv3, Buckley et al. arXiv:1912.08005):
one event per "E" record, particles attached to their mother particle, units GeV and mm.
"""

from __future__ import annotations

import os
from pathlib import Path

from gen.beams import Beams
from gen.io import iter_event_chunks, open_events
from gen.kinematics import mass1


def _lines_lhe(chunk, attrs, beams_p) -> list[str]:
    out = []
    pp = chunk.particles
    for i in range(chunk.n_events):
        a, b = int(chunk.offset[i]), int(chunk.offset[i + 1])
        out.append("<event>")
        out.append(f"{b - a + 2} 1 {chunk.weight[i]:.10e} {attrs['sqrt_s_gev']:.6e} -1 -1")
        for pdg, p in ((11, beams_p[0]), (-11, beams_p[1])):
            out.append(
                f"{pdg} -1 0 0 0 0 {p[0]:.10e} {p[1]:.10e} {p[2]:.10e} {p[3]:.10e} "
                f"{mass1(*p):.10e} 0 9"
            )
        for j in range(a, b):
            mother = int(pp["mother"][j])
            m1, m2 = (mother + 3, mother + 3) if mother >= 0 else (1, 2)
            status = 1 if pp["status"][j] == 1 else 2
            m = mass1(pp["px"][j], pp["py"][j], pp["pz"][j], pp["e"][j])
            out.append(
                f"{pp['pdg'][j]} {status} {m1} {m2} 0 0 {pp['px'][j]:.10e} {pp['py'][j]:.10e} "
                f"{pp['pz'][j]:.10e} {pp['e'][j]:.10e} {m:.10e} 0 9"
            )
        out.append("</event>")
    return out


def _lines_hepmc3(chunk, first) -> list[str]:
    out = []
    pp = chunk.particles
    for i in range(chunk.n_events):
        a, b = int(chunk.offset[i]), int(chunk.offset[i + 1])
        out.append(f"E {first + i} 0 {b - a}")
        out.append("U GEV MM")
        out.append(f"W {chunk.weight[i]:.10e}")
        for j in range(a, b):
            mother = int(pp["mother"][j])
            parent = mother + 1 if mother >= 0 else 0
            m = mass1(pp["px"][j], pp["py"][j], pp["pz"][j], pp["e"][j])
            out.append(
                f"P {j - a + 1} {parent} {pp['pdg'][j]} {pp['px'][j]:.10e} {pp['py'][j]:.10e} "
                f"{pp['pz'][j]:.10e} {pp['e'][j]:.10e} {m:.10e} {int(pp['status'][j])}"
            )
    return out


def export_events(events_path: str | Path, to: str, output: str | Path) -> None:
    """Write ``events_path`` as ``to`` ("lhe" or "hepmc3") into ``output`` (atomically)."""
    if to not in ("lhe", "hepmc3"):
        raise ValueError(f"unknown export format {to!r}; use 'lhe' or 'hepmc3'")
    output = Path(output)
    tmp = output.with_name(f".{output.name}.tmp-{os.getpid()}")
    beams_p = Beams().nominal_four_momenta()
    try:
        with open_events(events_path) as f, open(tmp, "w") as out:
            attrs = dict(f.attrs)
            if to == "lhe":
                out.write('<LesHouchesEvents version="3.0">\n<header>\n<!--\n')
                out.write(str(attrs["card"]).replace("--", "- -"))
                out.write("\n-->\n</header>\n<init>\n")
                out.write(f"11 -11 {beams_p[0][3]:.6e} {beams_p[1][3]:.6e} 0 0 0 0 3 1\n")
                out.write(
                    f"{attrs['cross_section_pb']:.10e} {attrs['cross_section_err_pb']:.10e} "
                    "1.0 1\n</init>\n"
                )
            else:
                out.write("HepMC::Version 3.02.05\nHepMC::Asciiv3-START_EVENT_LISTING\n")
            for start, chunk in iter_event_chunks(f, 10000):
                lines = (
                    _lines_lhe(chunk, attrs, beams_p)
                    if to == "lhe"
                    else _lines_hepmc3(chunk, start)
                )
                out.write("\n".join(lines))
                out.write("\n")
            out.write(
                "</LesHouchesEvents>\n" if to == "lhe" else "HepMC::Asciiv3-END_EVENT_LISTING\n"
            )
        os.replace(tmp, output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
