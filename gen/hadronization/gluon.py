"""Hardest gluon emission of a q qbar system and the fragmentation of q qbar (g) events.

Emission (the first step of a p_T-ordered shower with the matrix-element correction, as in
Pythia 8, T. Sjostrand et al. arXiv:1410.3012, TimeShower with MEcorrections on): in the q qbar
rest frame with s = W^2, x1, x2, x3 = 2E/W of q, qbar, g (x1 + x2 + x3 = 2), y13 = 1 - x2,
y23 = 1 - x1, the O(alpha_s) matrix element of e+e- -> q qbar g (J. Ellis, M. K. Gaillard,
G. G. Ross, Nucl. Phys. B111 (1976) 253; PDG RPP 2024 QCD review)

    dP = (alpha_s / 2 pi) C_F (x1^2 + x2^2) / (y13 y23) dx1 dx2
       = (alpha_s / 2 pi) C_F (x1^2 + x2^2) d ln pT^2 dy,    pT^2 = s y13 y23,
                                                            y = ln(y13 / y23) / 2,

is exponentiated with a Sudakov factor in the dipole pT^2 (the Lund/ARIADNE evolution
variable, G. Gustafson, U. Pettersson, Nucl. Phys. B306 (1988) 746) and sampled by the veto
algorithm (overestimate 2 alpha_s(pT_min) C_F / (2 pi) over |y| < ln(W / pT)); only the hardest
emission above ``PT_MIN`` is made (no further gluons, no g -> q qbar). For a c quark the
massive eikonal term (dead cone; Yu. L. Dokshitzer, V. A. Khoze, S. I. Troyan, J. Phys. G 17
(1991) 1481) subtracts 2 mu (y13/y23 + y23/y13), mu = m_c^2 / s, from x1^2 + x2^2; the
kinematics stay massless. alpha_s(pT) at one loop with flavour thresholds at m_c = 1.5 and
m_b = 4.8 GeV from alpha_s(M_Z) = 0.1365 (Monash 2013, TimeShower:alphaSvalue,
arXiv:1404.5630; Pythia's alphaSorder = 1); pT_min = 0.5 GeV (TimeShower:pTmin).

Orientation: the harder of q and qbar keeps the original axis (the Kleiss prescription, as in
ARIADNE); the event plane has a uniform azimuth about it.

Fragmentation of q qbar g: the gluon is split into a collinear q' qbar' pair (flavour
d : u : s = 1 : 1 : s/u), each taking half of its momentum, and the two string pieces
(q, qbar') and (q', qbar) fragment independently in their rest frames (``string``). This
approximates the Lund kinked string (whose two segments are exactly these halves of the
gluon); it adds one flavour break at the gluon corner. If a piece is lighter than the
fragmentation stop mass (stopMass + constituent masses, Pythia 8), the emission counts as
unresolved and the event fragments as q qbar.
"""

from __future__ import annotations

import math

import numpy as np

from gen.events import FINAL, PARTICLE_FIELDS, EventChunk
from gen.hadronization.string import (
    MAX_HADRONS,
    append_rows1,
    constituent_mass1,
    fragment_string1,
    new_flavour1,
)
from gen.hadronization.tables import L_MC, L_STOPM, lund_parameters, meson_tables
from gen.jit import kernel
from gen.kinematics import boost1, rotate_z_to1

#: C_F = 4/3
C_F = 4.0 / 3.0
#: alpha_s(M_Z) of the shower (Monash 2013, TimeShower:alphaSvalue, arXiv:1404.5630)
ALPHA_S_SHOWER_MZ = 0.1365
#: shower cut-off pT (GeV) (Pythia 8 TimeShower:pTmin)
PT_MIN = 0.5
#: Z mass and the flavour thresholds of the alpha_s running (Pythia 8 defaults m_c, m_b)
_MZ = 91.1876
_MB = 4.8
_MC = 1.5
#: rows a caller must provide in ``out_pdg``/``out_p`` of ``fragment_event1``
MAX_EVENT_HADRONS = 2 * MAX_HADRONS


@kernel
def _b0(nf: int) -> float:
    return (33.0 - 2.0 * nf) / (12.0 * math.pi)


@kernel
def alpha_s_shower(q2: float) -> float:
    """One-loop alpha_s(q2) matched at m_b and m_c (continuous), from ALPHA_S_SHOWER_MZ."""
    inv = 1.0 / ALPHA_S_SHOWER_MZ
    if q2 >= _MB * _MB:
        return 1.0 / (inv + _b0(5) * math.log(q2 / (_MZ * _MZ)))
    inv += _b0(5) * math.log(_MB * _MB / (_MZ * _MZ))
    if q2 >= _MC * _MC:
        return 1.0 / (inv + _b0(4) * math.log(q2 / (_MB * _MB)))
    inv += _b0(4) * math.log(_MC * _MC / (_MB * _MB))
    return 1.0 / (inv + _b0(3) * math.log(q2 / (_MC * _MC)))


@kernel
def emission_density(x1: float, x2: float, mu: float) -> float:
    """(x1^2 + x2^2) - 2 mu (y13/y23 + y23/y13), clipped at 0 (massless: mu = 0)."""
    y13, y23 = 1.0 - x2, 1.0 - x1
    f = x1 * x1 + x2 * x2
    if mu > 0.0:
        f -= 2.0 * mu * (y13 / y23 + y23 / y13)
    return max(f, 0.0)


@kernel
def sample_emission1(rng, s: float, mu: float, pt_min: float, alpha_fixed: float):
    """Hardest emission: returns (emitted, x1, x2, pT^2).

    ``alpha_fixed`` > 0 uses that constant alpha_s instead of the running one (tests).
    """
    pt2_min = pt_min * pt_min
    if s <= 4.0 * pt2_min:
        return False, 1.0, 1.0, 0.0
    a_max = alpha_fixed if alpha_fixed > 0.0 else alpha_s_shower(pt2_min)
    big_a = a_max * C_F / math.pi  # overestimate per d ln pT^2 dy: 2 x (a/2pi) C_F
    ell2 = math.log(4.0) ** 2  # ell = ln(s/pT^2) starts at pT^2 = s/4
    ell_min_pt = math.log(s / pt2_min)
    while True:
        # overestimated Sudakov: exp(-A (ell^2 - ell_prev^2) / 2)
        ell2 = ell2 - 2.0 * math.log(rng.random()) / big_a
        ell = math.sqrt(ell2)
        if ell >= ell_min_pt:
            return False, 1.0, 1.0, 0.0
        pt2 = s * math.exp(-ell)
        y = (rng.random() - 0.5) * ell
        r = math.sqrt(pt2 / s)
        y13 = r * math.exp(y)
        y23 = r * math.exp(-y)
        if y13 + y23 >= 1.0:
            continue
        x1, x2 = 1.0 - y23, 1.0 - y13
        a = alpha_fixed if alpha_fixed > 0.0 else alpha_s_shower(pt2)
        if rng.random() * 2.0 * a_max < emission_density(x1, x2, mu) * a:
            return True, x1, x2, pt2


@kernel
def three_partons1(rng, w: float, x1: float, x2: float, parts):
    """q, qbar, g momenta (rows 0, 1, 2 of ``parts``: px, py, pz, E) in the q qbar rest frame,
    the harder of q, qbar along +z (q) or -z (qbar), uniform azimuth of the event plane."""
    x3 = 2.0 - x1 - x2
    e1, e2 = 0.5 * w * x1, 0.5 * w * x2
    c12 = 1.0 - 2.0 * (1.0 - x3) / (x1 * x2)
    c12 = min(max(c12, -1.0), 1.0)
    s12 = math.sqrt(max(1.0 - c12 * c12, 0.0))
    phi = 2.0 * math.pi * rng.random()
    cp, sp = math.cos(phi), math.sin(phi)
    if x1 >= x2:
        v1 = (0.0, 0.0, e1)
        v2 = (e2 * s12 * cp, e2 * s12 * sp, e2 * c12)
    else:
        v2 = (0.0, 0.0, -e2)
        v1 = (e1 * s12 * cp, e1 * s12 * sp, -e1 * c12)
    parts[0, 0], parts[0, 1], parts[0, 2], parts[0, 3] = v1[0], v1[1], v1[2], e1
    parts[1, 0], parts[1, 1], parts[1, 2], parts[1, 3] = v2[0], v2[1], v2[2], e2
    parts[2, 0] = -(v1[0] + v2[0])
    parts[2, 1] = -(v1[1] + v2[1])
    parts[2, 2] = -(v1[2] + v2[2])
    parts[2, 3] = w - e1 - e2


@kernel
def _piece(rng, par, mass, width, m_lo, m_hi, id_pos, id_neg, qv, av, out_pdg, out_p, n0,
           buf_pdg, buf_p) -> int:
    """Fragment the string piece with quark end four-vector qv and antiquark end av (event
    frame); hadrons appended at row n0 of out_*; returns the new row count or -1."""
    px, py, pz = qv[0] + av[0], qv[1] + av[1], qv[2] + av[2]
    e = qv[3] + av[3]
    w = math.sqrt(max(e * e - px * px - py * py - pz * pz, 0.0))
    bx, by, bz = px / e, py / e, pz / e
    q = boost1(qv[0], qv[1], qv[2], qv[3], -bx, -by, -bz)
    qn = math.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2])
    nx, ny, nz = q[0] / qn, q[1] / qn, q[2] / qn
    nh, _ = fragment_string1(rng, par, mass, width, m_lo, m_hi, id_pos, id_neg, w, buf_pdg,
                             buf_p)
    if nh < 0 or n0 + nh > out_pdg.shape[0]:
        return -1
    for h in range(nh):
        rx, ry, rz = rotate_z_to1(buf_p[h, 0], buf_p[h, 1], buf_p[h, 2], nx, ny, nz)
        v = boost1(rx, ry, rz, buf_p[h, 3], bx, by, bz)
        out_pdg[n0 + h] = buf_pdg[h]
        for j in range(4):
            out_p[n0 + h, j] = v[j]
    return n0 + nh


@kernel
def fragment_event1(rng, par, mass, width, m_lo, m_hi, flav: int, w: float, gluons: bool,
                    out_pdg, out_p, buf_pdg, buf_p, parts):
    """Hadrons of a q qbar (quark ``flav`` along +z, mass ``w``) event with at most one gluon.

    Output rows of ``out_pdg``/``out_p`` (at least 2 x MAX_HADRONS) in the q qbar rest frame.
    Returns (n hadrons or -1, gluon emitted, x1, x2).
    """
    if gluons:
        mq = par[L_MC] if flav == 4 else 0.0
        emitted, x1, x2, _ = sample_emission1(rng, w * w, mq * mq / (w * w), PT_MIN, 0.0)
        if emitted:
            three_partons1(rng, w, x1, x2, parts)
            fnew = new_flavour1(rng, par)
            half = 0.5
            gx, gy, gz, ge = (half * parts[2, 0], half * parts[2, 1], half * parts[2, 2],
                              half * parts[2, 3])
            ok = True
            # piece masses: W1^2 = 2 p_q.(p_g/2), W2^2 = 2 p_qbar.(p_g/2)
            for i, fi in ((0, flav), (1, flav)):
                dot = (parts[i, 3] * ge - parts[i, 0] * gx - parts[i, 1] * gy
                       - parts[i, 2] * gz)
                wmin = par[L_STOPM] + constituent_mass1(par, fi) + constituent_mass1(par, fnew)
                if 2.0 * dot < wmin * wmin:
                    ok = False
            if ok:
                qv = (parts[0, 0], parts[0, 1], parts[0, 2], parts[0, 3])
                av = (parts[1, 0], parts[1, 1], parts[1, 2], parts[1, 3])
                gv = (gx, gy, gz, ge)
                n = _piece(rng, par, mass, width, m_lo, m_hi, flav, -fnew, qv, gv, out_pdg,
                           out_p, 0, buf_pdg, buf_p)
                if n > 0:
                    n = _piece(rng, par, mass, width, m_lo, m_hi, fnew, -flav, gv, av,
                               out_pdg, out_p, n, buf_pdg, buf_p)
                if n > 0:
                    return n, True, x1, x2
    nh, _ = fragment_string1(rng, par, mass, width, m_lo, m_hi, flav, -flav, w, buf_pdg, buf_p)
    for h in range(max(nh, 0)):
        out_pdg[h] = buf_pdg[h]
        for j in range(4):
            out_p[h, j] = buf_p[h, j]
    return nh, False, 1.0, 1.0


@kernel
def _events_kernel(rng, par, mass, width, m_lo, m_hi, flav, w, n_events, gluons):
    cap = n_events * 16 + MAX_EVENT_HADRONS
    pdg = np.empty(cap, np.int32)
    mom = np.empty((cap, 4))
    offset = np.zeros(n_events + 1, np.int64)
    emitted = np.zeros(n_events, np.bool_)
    x12 = np.ones((n_events, 2))
    out_pdg = np.empty(MAX_EVENT_HADRONS, np.int32)
    out_p = np.empty((MAX_EVENT_HADRONS, 4))
    buf_pdg = np.empty(MAX_HADRONS, np.int32)
    buf_p = np.empty((MAX_HADRONS, 4))
    parts = np.zeros((3, 4))
    pos = 0
    for i in range(n_events):
        n, em, x1, x2 = fragment_event1(rng, par, mass, width, m_lo, m_hi, flav, w, gluons,
                                        out_pdg, out_p, buf_pdg, buf_p, parts)
        n = max(n, 0)
        emitted[i] = em
        x12[i, 0], x12[i, 1] = x1, x2
        pdg, mom = append_rows1(pdg, mom, pos, out_pdg, out_p, n)
        pos += n
        offset[i + 1] = pos
    return pdg[:pos], mom[:pos], offset, emitted, x12


def fragment_events(rng: np.random.Generator, flavour: int, w_gev: float, n_events: int,
                    gluons: bool = True, params: dict | None = None
                    ) -> tuple[EventChunk, np.ndarray, np.ndarray]:
    """Hadronise ``n_events`` q qbar(g) systems of mass ``w_gev`` (quark ``flavour`` 1-4 along
    +z before the emission), in their rest frame.

    Returns (primary hadrons as an ``EventChunk``, emitted flags, (x1, x2) per event).
    """
    if flavour not in (1, 2, 3, 4):
        raise ValueError(f"flavour must be 1 (d), 2 (u), 3 (s) or 4 (c), got {flavour!r}")
    if not (math.isfinite(w_gev) and w_gev > 0.0):
        raise ValueError(f"w_gev must be a positive finite mass, got {w_gev!r}")
    t = meson_tables()
    pdg, mom, offset, emitted, x12 = _events_kernel(
        rng, lund_parameters(params), t.mass, t.width, t.m_lo, t.m_hi, flavour, float(w_gev),
        int(n_events), bool(gluons))
    n = pdg.shape[0]
    particles = {k: np.zeros(n, dtype=v) for k, v in PARTICLE_FIELDS.items()}
    particles["pdg"][:] = pdg
    particles["status"][:] = FINAL
    particles["mother"][:] = -1
    for c, name in enumerate(("px", "py", "pz", "e")):
        particles[name][:] = mom[:, c]
    return EventChunk(np.ones(n_events), offset, particles), emitted, x12
