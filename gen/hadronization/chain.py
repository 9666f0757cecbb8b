"""Fragmentation of a showered colour chain q g ... g qbar with exact four-momentum
conservation: the kinked Lund string (``kinked``, the default) and its fallback, straight
string segments.

``shower_fragment_event1`` showers a q qbar system (``shower``) and fragments the chain as one
kinked string (``kinked.fragment_kinked1``: JETSET/PYSTRF multi-region algorithm). If that
fails (``string.MAX_TRY`` attempts; rare, low-mass chains) or there is no gluon, the fallback
``fragment_chain1`` is used:

In the Lund model a gluon is a kink on the string between q and qbar; each gluon gives half of
its momentum to each of the two string segments attached to it (B. Andersson et al., Phys.
Rept. 97 (1983) 31; T. Sjostrand, Comput. Phys. Commun. 39 (1986) 347; Pythia 6 manual
hep-ph/0603175 sect. 12.1.3). The fallback splits every gluon into a collinear q' qbar' pair
(d : u : s = 1 : 1 : s/u) sharing its momentum equally, and each segment
``(end or half gluon) + (half gluon or end)`` fragments as a straight string in its own rest
frame (``string.fragment_string1``). Each segment conserves its four-momentum exactly, so the
event does; flavour is conserved segment by segment. What this misses: the hadrons that
straddle a corner (it makes one extra flavour break per gluon and loses ~ln 4 of string
rapidity per gluon against the kinked string: for q g qbar with (x_q, x_qbar) = (0.9, 0.8) at
10.58 GeV it gives 5.8 primary hadrons, the kinked string 6.9, the straight string 6.4).

Segments too light to fragment (W below stopMass + constituent masses of their two ends, the
Pythia 8 stop condition) are removed by joining the two partons of the lightest one into one
(massive) parton - their four-momenta added, as Pythia 8 joins partons closer than
StringFragmentation:mJoin (ColConfig::collect) - until every segment fragments or the chain is
q qbar again (then one string, ``string.fragment_string1``, with its low-mass fallbacks).
"""

from __future__ import annotations

import math

import numpy as np

from gen.events import FINAL, PARTICLE_FIELDS, EventChunk
from gen.hadronization.gluon import MAX_EVENT_HADRONS, PT_MIN, _piece
from gen.hadronization.kinked import fragment_kinked1
from gen.hadronization.shower import MAX_PARTONS, shower1
from gen.hadronization.string import (
    MAX_HADRONS,
    append_rows1,
    constituent_mass1,
    new_flavour1,
)
from gen.hadronization.tables import L_MC, L_STOPM, lund_parameters, meson_tables
from gen.jit import kernel


@kernel
def _end_vector(p, n: int, k: int, v):
    """Share of parton k in a segment: all of an end quark, half of a gluon."""
    f = 1.0 if k == 0 or k == n - 1 else 0.5
    for c in range(4):
        v[c] = f * p[k, c]


@kernel
def segment_mass1(p, n: int, k: int) -> float:
    """Invariant mass of segment k (between partons k and k+1) of a chain of n partons."""
    fa = 1.0 if k == 0 else 0.5
    fb = 1.0 if k + 1 == n - 1 else 0.5
    e = fa * p[k, 3] + fb * p[k + 1, 3]
    x = fa * p[k, 0] + fb * p[k + 1, 0]
    y = fa * p[k, 1] + fb * p[k + 1, 1]
    z = fa * p[k, 2] + fb * p[k + 1, 2]
    return math.sqrt(max(e * e - x * x - y * y - z * z, 0.0))


@kernel
def _remove_row(p, flv, n: int, r: int) -> int:
    for k in range(r, n - 1):
        for c in range(4):
            p[k, c] = p[k + 1, c]
        flv[k] = flv[k + 1]
    return n - 1


@kernel
def join_light_segments1(par, p, n: int, flv) -> int:
    """Join partons of segments lighter than their fragmentation threshold, lightest first.

    ``flv[k]``: flavour of the quark end of segment k (``flv[0]`` the leading quark, ``flv[k]``
    for k >= 1 the q' of the pair replacing gluon k); segment k's antiquark end is ``-flv[k+1]``
    (``-flv[0]`` for the last). Rows of ``p``/``flv`` are updated in place; returns the new n.
    """
    while n > 2:
        worst, worst_gap = -1, 0.0
        for k in range(n - 1):
            qa = flv[k]
            qb = flv[0] if k + 1 == n - 1 else flv[k + 1]
            wmin = par[L_STOPM] + constituent_mass1(par, qa) + constituent_mass1(par, qb)
            gap = segment_mass1(p, n, k) - wmin
            if gap < worst_gap:
                worst, worst_gap = k, gap
        if worst < 0:
            break
        k = worst
        if k == 0:  # first gluon into the quark
            for c in range(4):
                p[0, c] += p[1, c]
            n = _remove_row(p, flv, n, 1)
        elif k + 1 == n - 1:  # last gluon into the antiquark
            for c in range(4):
                p[n - 1, c] += p[n - 2, c]
            n = _remove_row(p, flv, n, n - 2)
        else:  # two gluons into one
            for c in range(4):
                p[k, c] += p[k + 1, c]
            n = _remove_row(p, flv, n, k + 1)
    return n


@kernel
def fragment_chain1(rng, par, mass, width, m_lo, m_hi, flav: int, p, n: int, flv, out_pdg,
                    out_p, buf_pdg, buf_p):
    """Hadrons of the colour chain in rows 0..n-1 of ``p`` (quark ``flav`` first, antiquark
    last; modified in place by the joining), in the frame of ``p``.

    Returns (number of hadrons or -1, number of segments fragmented).
    """
    flv[0] = flav
    for k in range(1, n - 1):
        flv[k] = new_flavour1(rng, par)
    n = join_light_segments1(par, p, n, flv)
    qv = [0.0, 0.0, 0.0, 0.0]
    av = [0.0, 0.0, 0.0, 0.0]
    nh = 0
    for k in range(n - 1):
        _end_vector(p, n, k, qv)
        _end_vector(p, n, k + 1, av)
        id_neg = -flav if k + 1 == n - 1 else -flv[k + 1]
        nh = _piece(rng, par, mass, width, m_lo, m_hi, flv[k], id_neg,
                    (qv[0], qv[1], qv[2], qv[3]), (av[0], av[1], av[2], av[3]), out_pdg, out_p,
                    nh, buf_pdg, buf_p)
        if nh < 0:
            break
    if nh >= 0:
        return nh, n - 1
    # a segment failed (below every two-meson threshold): the whole chain as one string
    qs = [0.0, 0.0, 0.0, 0.0]
    as_ = [0.0, 0.0, 0.0, 0.0]
    for k in range(n):
        f_q = 1.0 if k == 0 else (0.0 if k == n - 1 else 0.5)
        for c in range(4):
            qs[c] += f_q * p[k, c]
            as_[c] += (1.0 - f_q) * p[k, c]
    nh = _piece(rng, par, mass, width, m_lo, m_hi, flav, -flav, (qs[0], qs[1], qs[2], qs[3]),
                (as_[0], as_[1], as_[2], as_[3]), out_pdg, out_p, 0, buf_pdg, buf_p)
    return nh, 1


@kernel
def shower_fragment_event1(rng, par, mass, width, m_lo, m_hi, flav: int, w: float, m_end: float,
                           parts, flv, pt2_log, out_pdg, out_p, buf_pdg, buf_p):
    """Shower (``shower.shower1``, Monash pT_min) and fragment a q qbar system of mass ``w``
    (quark ``flav`` along +z) in its rest frame; ``parts`` has ``shower.MAX_PARTONS`` rows.

    Returns (n hadrons or -1, gluons emitted by the shower, string segments fragmented).
    """
    for r in range(2):
        for c in range(4):
            parts[r, c] = 0.0
    parts[0, 2], parts[0, 3] = 0.5 * w, 0.5 * w
    parts[1, 2], parts[1, 3] = -0.5 * w, 0.5 * w
    n = shower1(rng, parts, 2, m_end, PT_MIN, 0.0, parts.shape[0] - 2, pt2_log)
    if n > 2:  # the kinked Lund string; its rare failures fall back to straight segments
        nh, _ = fragment_kinked1(rng, par, mass, width, m_lo, m_hi, flav, parts, n, out_pdg,
                                 out_p)
        if nh > 0:
            return nh, n - 2, n - 1
    nh, n_seg = fragment_chain1(rng, par, mass, width, m_lo, m_hi, flav, parts, n, flv,
                                out_pdg, out_p, buf_pdg, buf_p)
    return nh, n - 2, n_seg


@kernel
def _events_kernel(rng, par, mass, width, m_lo, m_hi, flav, w, m_end, n_events):
    cap = n_events * 24 + MAX_EVENT_HADRONS
    pdg = np.empty(cap, np.int32)
    mom = np.empty((cap, 4))
    offset = np.zeros(n_events + 1, np.int64)
    n_glu = np.zeros(n_events, np.int32)
    n_seg = np.zeros(n_events, np.int32)
    out_pdg = np.empty(MAX_EVENT_HADRONS, np.int32)
    out_p = np.empty((MAX_EVENT_HADRONS, 4))
    buf_pdg = np.empty(MAX_HADRONS, np.int32)
    buf_p = np.empty((MAX_HADRONS, 4))
    parts = np.zeros((MAX_PARTONS, 4))
    flv = np.zeros(MAX_PARTONS, np.int64)
    pt2_log = np.zeros(MAX_PARTONS)
    pos = 0
    for i in range(n_events):
        n, n_glu[i], n_seg[i] = shower_fragment_event1(
            rng, par, mass, width, m_lo, m_hi, flav, w, m_end, parts, flv, pt2_log, out_pdg,
            out_p, buf_pdg, buf_p)
        n = max(n, 0)
        pdg, mom = append_rows1(pdg, mom, pos, out_pdg, out_p, n)
        pos += n
        offset[i + 1] = pos
    return pdg[:pos], mom[:pos], offset, n_glu, n_seg


def shower_fragment_events(rng: np.random.Generator, flavour: int, w_gev: float, n_events: int,
                           params: dict | None = None
                           ) -> tuple[EventChunk, np.ndarray, np.ndarray]:
    """Shower and hadronise ``n_events`` q qbar systems of mass ``w_gev`` (quark ``flavour``
    1-4 along +z before the shower) in their rest frame.

    Returns (primary hadrons as an ``EventChunk``, shower gluons per event, string segments
    fragmented per event). For tests and studies; processes call the kernels directly.
    """
    if flavour not in (1, 2, 3, 4):
        raise ValueError(f"flavour must be 1 (d), 2 (u), 3 (s) or 4 (c), got {flavour!r}")
    if not (math.isfinite(w_gev) and w_gev > 0.0):
        raise ValueError(f"w_gev must be a positive finite mass, got {w_gev!r}")
    lund = lund_parameters(params)
    m_end = float(lund[L_MC]) if flavour == 4 else 0.0
    t = meson_tables()
    pdg, mom, offset, n_glu, n_seg = _events_kernel(
        rng, lund, t.mass, t.width, t.m_lo, t.m_hi, flavour, float(w_gev), m_end, int(n_events))
    n = pdg.shape[0]
    particles = {k: np.zeros(n, dtype=v) for k, v in PARTICLE_FIELDS.items()}
    particles["pdg"][:] = pdg
    particles["status"][:] = FINAL
    particles["mother"][:] = -1
    for c, name in enumerate(("px", "py", "pz", "e")):
        particles[name][:] = mom[:, c]
    return EventChunk(np.ones(n_events), offset, particles), n_glu, n_seg
