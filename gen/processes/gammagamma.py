"""e+e- -> gamma gamma (gamma): QED pair annihilation with the electron mass, collinear ISR.

Born (lowest order, electron mass m kept; F.A. Berends and R. Kleiss, Nucl. Phys. B186 (1981) 22,
eq. (2); the same spin-averaged |M|^2 as Peskin & Schroeder eq. (5.105)): with E = sqrt(s)/2,
beta = sqrt(1 - 4 m^2/s), c = cos(theta) of one photon in the c.m. frame, a = 1 - beta c,
b = 1 + beta c, mu = 1 - beta^2 = 4 m^2/s,

    dsigma/dOmega = alpha^2 / (2 s beta) * B,
    B = b/a + a/b + 2 mu (1/a + 1/b) - mu^2 (1/a + 1/b)^2,

integrated over half the solid angle (identical photons): sigma(|c| < c0) = int_0^c0 2 pi dc
dsigma/dOmega. The mass regulates the forward peak 1/(1 - beta c) (a -> mu/2 at c = 1); for
theta > 10 deg its effect is O(m^2/s) ~ 1e-8. The closed-form integral is in
``born_sigma_gev2`` (tested against scipy quad).

Radiation: collinear initial-state radiation by Kuraev-Fadin structure functions on both beams
with explicit photons along the beams (``gen.processes.bhabha.collinear_isr_l2``, the per-beam
form of ``collinear_isr1`` there; four-momentum conserving, s' = x1 x2 s), the photon
pair produced in the rest frame of Q = P - k1 - k2 with the Born distribution, times K_ISR
(the non-log O(alpha) soft+virtual factor of the s-channel annihilation, gen.radiation); the
ISR photons go down the beam pipe. The O(alpha) corrections specific to gamma gamma production
(Berends & Kleiss 1981: virtual boxes, photon emission at large angles; a few per mille to
~1 % for loose cuts) and wide-angle ISR are not included; running alpha does not enter (real
photons couple with alpha(0)). Each beam's hard (dx/x) ISR channel reaches down to the
smallest x its side of the cuts admits (``GammaGamma.isr_x_min_per_beam``).

Generator-level cuts (``[cuts]``, as BabaYaga@NLO ``cutsgg`` in the basf2 interface: an event
is accepted if any two photons pass): at least two photons with c.m. polar angle in
[theta_min, theta_max] and c.m. energy above ``e_min_gev``. Collinear ISR photons never pass,
so this is a cut on the two annihilation photons.

Output per event: the two annihilation photons (rows 0, 1; row 0 is the one sampled at
``cos_theta``), then the ISR photons of the e- and e+ beam (only above
``photon_min_energy_gev``), status 1, mother -1. Truth: ``sqrt_s``, ``sqrt_s_prime``,
``cos_theta`` (photon 0 in the pair frame), ``n_isr``.
"""

from __future__ import annotations

import math

import numpy as np

from gen.beams import (
    Beams,
    cm_to_lab1,
    collision_frame1,
    collision_sqrt_s1,
    sample_beam_energies1,
)
from gen.cards import Param
from gen.constants import ALPHA_EM, GEV2_TO_PB, M_E, PHOTON
from gen.events import EventChunk, SamplingStats
from gen.jit import kernel
from gen.kinematics import boost1
from gen.processes.base import PILOT_POINTS, PILOT_SAFETY, Process
from gen.processes.bhabha import (
    ISR_HARD_SHARE,
    collinear_isr_l2,
    isr_x_min,
    isr_x_min_eta,
    pair_frame_window_deg,
    validate_cm_pair_cuts,
)
from gen.radiation import ISR_K_FACTOR
from gen.unweight import (
    checked_chunk,
    fill_event1,
    new_events,
    new_stats,
    stats_from_array,
    unweight1,
)

#: safety factor on the pilot maximum instead of the generic ``PILOT_SAFETY`` (1.3): the weights
#: have a sharp upper edge. Measured (default card, seeds 1-3): the largest of 5e6 further
#: trials is at most 0.12 % above the 2e5-trial pilot maximum; 1.1 leaves eighty times that.
#: Overweight trials stay counted in n_overweight.
PILOT_SAFETY_SHARP_EDGE = 1.1
# layout of the flat parameter array handed to the kernels
P_EHER, P_ELER, P_SPH, P_SPL, P_HALF = 0, 1, 2, 3, 4
P_CLO, P_CHI, P_ECUT, P_CGEN = 5, 6, 7, 8
P_ISR, P_EMIN, P_XMIN, P_HARD, P_LMIN = 9, 10, 11, 12, 13
P_XMIN2, P_LMIN2 = 14, 15  # lower edge of the e+ beam's dx/x channel (P_XMIN: the e- beam's)
N_PAR = 16
#: the reach in sqrt(s) of the per-beam x_min at asymmetric cuts: this many standard deviations
#: of the beam-spread fluctuation above nominal (as ``Bhabha.isr_x_min_per_beam``; the x bound
#: falls as 1/sqrt(s))
SQRT_S_REACH_SIGMAS = 10.0
#: asymmetric cuts at 0 or 180 deg are taken this close to the axis for the sampling window and
#: x_min (as ``gen.processes.bhabha.isr_x_min``); photons closer to the axis than that in the
#: pair frame (1.7e-5 rad, well inside the m_e/E ~ 1e-4 rad plateau of the Born) are not sampled
THETA_EDGE_DEG = 1e-3


@kernel
def dsigma_domega(s: float, c: float) -> float:
    """Born dsigma/dOmega(e+e- -> gamma gamma) in GeV^-2 per steradian (module docstring)."""
    mu = 4.0 * M_E * M_E / s
    beta = math.sqrt(1.0 - mu)
    a = 1.0 - beta * c
    b = 1.0 + beta * c
    inv = 1.0 / a + 1.0 / b
    big_b = b / a + a / b + 2.0 * mu * inv - mu * mu * inv * inv
    return ALPHA_EM * ALPHA_EM / (2.0 * s * beta) * big_b


def born_sigma_gev2(s: float, cos_max: float) -> float:
    """Closed-form Born sigma (GeV^-2) for both photons within |cos(theta)| < cos_max.

    Antiderivatives over c in (-c0, c0), L = ln((1 + beta c0)/(1 - beta c0)):
    int (b/a + a/b) dc = 4 L / beta - 4 c0 (b/a = 2/a - 1), int (1/a + 1/b) dc = 2 L / beta,
    int (1/a + 1/b)^2 dc = int 4 / (1 - beta^2 c^2)^2 dc = 4 [c0 / (1 - beta^2 c0^2) + L/(2 beta)].
    sigma = (1/2) 2 pi alpha^2 / (2 s beta) x the sum (1/2: identical photons).
    """
    mu = 4.0 * M_E * M_E / s
    beta = math.sqrt(1.0 - mu)
    c0 = cos_max
    lg = math.log((1.0 + beta * c0) / (1.0 - beta * c0))
    i1 = 4.0 * lg / beta - 4.0 * c0
    i2 = 2.0 * lg / beta
    i3 = 4.0 * (c0 / (1.0 - beta * beta * c0 * c0) + lg / (2.0 * beta))
    return math.pi * ALPHA_EM**2 / (2.0 * s * beta) * (i1 + 2.0 * mu * i2 - mu * mu * i3)


@kernel
def _gg_weight1(rng, par, sqrt_s, kk):
    """Weight part of a trial: collinear ISR (photons into ``kk``), Born angle and the cuts.

    Returns (w, s', cos_theta); w (pb) = 0 if the point is not allowed or fails the cuts
    (which depend on the angle and the boost of the pair along z only, not on the azimuth).
    """
    w = 1.0
    if par[P_ISR] > 0.5:
        w = collinear_isr_l2(rng, sqrt_s, par[P_HARD], par[P_XMIN], par[P_LMIN], par[P_XMIN2],
                             par[P_LMIN2], par[P_EMIN], kk) * ISR_K_FACTOR
    else:
        for i in range(2):
            for j in range(4):
                kk[i, j] = 0.0
    qz = -(kk[0, 2] + kk[1, 2])
    qe = sqrt_s - kk[0, 3] - kk[1, 3]
    sp = qe * qe - qz * qz
    # photon 0: cos with density (1 + beta^2 c^2) / ((1 - beta^2 c^2) N) on [-c0, c0], the
    # massless Born (b/a + a/b = 2 (1 + beta^2 c^2) / (1 - beta^2 c^2)), so the Born weight is
    # flat up to mass terms; N = 4 atanh(beta c0) / beta - 2 c0. Drawn from 1/(1 - beta^2 c^2)
    # (eta = atanh(beta c) uniform), accepted with (1 + beta^2 c^2) / (1 + beta^2 c0^2).
    c0 = par[P_CGEN]
    if w <= 0.0 or qe <= 0.0 or sp <= 4.0 * M_E * M_E * (1.0 + 1e-9):
        return 0.0, 0.0, 0.0
    beta = math.sqrt(1.0 - 4.0 * M_E * M_E / sp)
    b2 = beta * beta
    eta_max = math.atanh(beta * c0)
    acc_max = 1.0 + b2 * c0 * c0
    while True:
        c = math.tanh(eta_max * (2.0 * rng.random() - 1.0)) / beta
        if rng.random() * acc_max < 1.0 + b2 * c * c:
            break
    pdf = (1.0 + b2 * c * c) / ((1.0 - b2 * c * c) * (4.0 * eta_max / beta - 2.0 * c0))
    # cuts: c.m. energy and angle of both photons (their z components and energies do not
    # depend on the azimuth); boost along z with bqz = qz / qe
    k = 0.5 * math.sqrt(sp)
    bqz = qz / qe
    gam = 1.0 / math.sqrt((1.0 - bqz) * (1.0 + bqz))
    for sgn in (1.0, -1.0):
        ez = gam * k * (1.0 + bqz * sgn * c)
        pz = gam * k * (sgn * c + bqz)
        ct = pz / ez
        if ez < par[P_ECUT] or ct < par[P_CLO] or ct > par[P_CHI]:
            return 0.0, sp, c
    # 2 pi (phi) x 1/2 (identical photons)
    w *= GEV2_TO_PB * math.pi * dsigma_domega(sp, c) / pdf
    return w, sp, c


@kernel
def _gg_event1(rng, sp, c, kk, ff, buf, bx, by, bz, nx, ny, nz):
    """Event part of a hit trial: azimuth, the lab event in ``buf``; returns (n, n_isr)."""
    qz = -(kk[0, 2] + kk[1, 2])
    qe = math.sqrt(sp + qz * qz)
    bqz = qz / qe
    phi = 2.0 * math.pi * rng.random()
    sn = math.sqrt(max(1.0 - c * c, 0.0))
    k = 0.5 * math.sqrt(sp)
    dx, dy = sn * math.cos(phi), sn * math.sin(phi)
    ff[0, 0], ff[0, 1], ff[0, 2], ff[0, 3] = k * dx, k * dy, k * c, k
    ff[1, 0], ff[1, 1], ff[1, 2], ff[1, 3] = -k * dx, -k * dy, -k * c, k
    n = 0
    for r in range(2):
        v = boost1(ff[r, 0], ff[r, 1], ff[r, 2], ff[r, 3], 0.0, 0.0, bqz)
        lab = cm_to_lab1(v[0], v[1], v[2], v[3], bx, by, bz, nx, ny, nz)
        for j in range(4):
            buf[n, j] = lab[j]
        n += 1
    n_isr = 0
    for i in range(2):
        if kk[i, 3] > 0.0:
            lab = cm_to_lab1(kk[i, 0], kk[i, 1], kk[i, 2], kk[i, 3], bx, by, bz, nx, ny, nz)
            for j in range(4):
                buf[n, j] = lab[j]
            n += 1
            n_isr += 1
    return n, n_isr


@kernel
def _gg_trial(rng, par, buf, kk, ff):
    """One trial: weight (pb) and the lab event in ``buf``.

    Returns (weight, n_particles, sqrt_s, sqrt_s_prime, cos_theta, n_isr).
    """
    eh, el = sample_beam_energies1(rng, par[P_EHER], par[P_ELER], par[P_SPH], par[P_SPL])
    sqrt_s = collision_sqrt_s1(eh, el, par[P_HALF])
    w, sp, c = _gg_weight1(rng, par, sqrt_s, kk)
    if w <= 0.0:
        return 0.0, 0, sqrt_s, math.sqrt(sp), c, 0
    bx, by, bz, nx, ny, nz = collision_frame1(eh, el, par[P_HALF])
    n, n_isr = _gg_event1(rng, sp, c, kk, ff, buf, bx, by, bz, nx, ny, nz)
    return w, n, sqrt_s, math.sqrt(sp), c, n_isr


@kernel
def _gg_weights(rng, par, n):
    out = np.empty(n)
    buf = np.zeros((4, 4))
    kk = np.zeros((2, 4))
    ff = np.zeros((2, 4))
    for i in range(n):
        out[i] = _gg_trial(rng, par, buf, kk, ff)[0]
    return out


_PDG_ROWS = np.full(4, PHOTON, dtype=np.int32)


@kernel
def _gg_generate(rng, par, n, w_max):
    """Hit-or-miss until ``n`` events; returns particle arrays, offsets, truth and statistics.

    The weight (with the cuts) needs no azimuth and no lab frame: both for hit trials only.
    """
    mom, pdg, offset = new_events(n, 4)
    t_sqrt_s = np.empty(n)
    t_sqrt_sp = np.empty(n)
    t_cos = np.empty(n)
    t_nisr = np.empty(n, np.int32)
    buf = np.zeros((4, 4))
    kk = np.zeros((2, 4))
    ff = np.zeros((2, 4))
    stats = new_stats()
    k = 0
    while k < n:
        eh, el = sample_beam_energies1(rng, par[P_EHER], par[P_ELER], par[P_SPH], par[P_SPL])
        sqrt_s = collision_sqrt_s1(eh, el, par[P_HALF])
        w, sp, c = _gg_weight1(rng, par, sqrt_s, kk)
        if not unweight1(rng, stats, w, w_max):
            continue
        bx, by, bz, nx, ny, nz = collision_frame1(eh, el, par[P_HALF])
        m, n_isr = _gg_event1(rng, sp, c, kk, ff, buf, bx, by, bz, nx, ny, nz)
        fill_event1(mom, pdg, offset, k, buf, m, _PDG_ROWS)
        t_sqrt_s[k] = sqrt_s
        t_sqrt_sp[k] = math.sqrt(sp)
        t_cos[k] = c
        t_nisr[k] = n_isr
        k += 1
    return mom, pdg, offset, t_sqrt_s, t_sqrt_sp, t_cos, t_nisr, stats


class GammaGamma(Process):
    """e+e- -> gamma gamma (gamma): Born with the electron mass and collinear ISR."""

    name = "gammagamma"
    description = (
        "e+e- -> gamma gamma(gamma): QED Born with electron mass (Berends-Kleiss), collinear "
        "ISR structure functions"
    )
    params = {
        "isr": Param(bool, True, "initial-state radiation (Kuraev-Fadin structure functions)"),
        "photon_min_energy_gev": Param(
            float, 1e-4, "ISR photons softer than this (c.m.) are not produced",
            minimum=1e-6, maximum=0.05,
        ),
    }
    cuts = {
        "theta_min_deg": Param(
            float, 10.0, "minimum c.m. polar angle of the two photons (deg)",
            minimum=0.0, maximum=179.0,
        ),
        "theta_max_deg": Param(
            float, 170.0, "maximum c.m. polar angle of the two photons (deg)",
            minimum=1.0, maximum=180.0,
        ),
        "e_min_gev": Param(
            float, 0.15, "minimum c.m. energy of the two photons (GeV)", minimum=0.0,
        ),
    }

    def validate(self, where: str) -> None:
        validate_cm_pair_cuts(self.c, self.beams, where)

    def cos_window(self) -> float:
        """c0: Born photons are sampled in |cos| < c0, every pair-frame angle from which a boost
        along z can bring both photons into the cuts (``pair_frame_window_deg``; the cuts
        themselves are applied exactly after the boost)."""
        tmin, tmax = self.c["theta_min_deg"], self.c["theta_max_deg"]
        if tmin + tmax != 180.0:
            # a cut at 0 or 180 deg: the reach of THETA_EDGE_DEG (ln tan(0) = -inf)
            tmin, tmax = max(tmin, THETA_EDGE_DEG), min(tmax, 180.0 - THETA_EDGE_DEG)
        lo, _ = pair_frame_window_deg(tmin, tmax)
        return math.cos(math.radians(lo))

    def _par(self) -> np.ndarray:
        par = np.zeros(N_PAR)
        c = self.c
        par[P_EHER:P_HALF + 1] = self.beams.as_tuple()
        par[P_CLO] = math.cos(math.radians(c["theta_max_deg"]))
        par[P_CHI] = math.cos(math.radians(c["theta_min_deg"]))
        par[P_ECUT] = c["e_min_gev"]
        par[P_CGEN] = self.cos_window()
        par[P_ISR] = float(self.p["isr"])
        par[P_EMIN] = self.p["photon_min_energy_gev"]
        par[P_XMIN], par[P_XMIN2] = self.isr_x_min_per_beam()
        par[P_HARD] = ISR_HARD_SHARE
        par[P_LMIN] = -math.log(par[P_XMIN])
        par[P_LMIN2] = -math.log(par[P_XMIN2])
        return par

    def isr_x_min_per_beam(self) -> tuple[float, float]:
        """Lower edges (x_min1, x_min2) of the dx/x ISR channels of the e- (+z) and e+ beam.

        Below x_min_i only the soft channel samples beam i (density ~ beta/2 instead of
        ~ 1/(x ln(1/x_min))): a point there that passes the cuts weighs ~ 1/x more than its
        neighbours (measured: 117 x w_max at 15-130 deg, 1 trial in 4e6). Hard ISR off the e-
        beam moves the pair towards -z, so its reach is set by the backward cut theta_max, that
        off the e+ beam by the forward cut theta_min (``isr_x_min_eta``: both photons at that
        rapidity, at E = e_min; the other beam radiating too). The symmetric pair-frame window
        used before (``isr_x_min`` of ``cos_window``: 26.5 deg at 15-130 deg) left x_e+ in
        [0.00097, 0.0033] to the soft channel. Asymmetric cuts: sqrt(s) at
        ``SQRT_S_REACH_SIGMAS`` standard deviations of its beam-spread fluctuation above
        nominal. Symmetric cuts: the value before, both beams, at the nominal sqrt(s) (the same
        events bit for bit). The beam-spread corner that leaves, x up to 0.5 % below x_min with
        both photons at the edge of the cuts, is not reached in practice: at the default cuts,
        of 6e6 trials of a sampler reaching x = 1e-5 on both beams (1e6 accepted), none came
        within 20 % of x_min.
        """
        c, b = self.c, self.beams
        if c["theta_min_deg"] + c["theta_max_deg"] == 180.0:
            theta_lo = math.degrees(math.acos(self.cos_window()))
            x = isr_x_min(c["e_min_gev"], theta_lo, b.sqrt_s_gev)
            return x, x
        # sqrt s ~ 2 sqrt(E_her E_ler): relative spread (1/2) (dE_her/E_her (+) dE_ler/E_ler)
        rel = 0.5 * math.hypot(b.spread_her_gev / b.e_her_gev, b.spread_ler_gev / b.e_ler_gev)
        sqrt_s = b.sqrt_s_gev * (1.0 + SQRT_S_REACH_SIGMAS * rel)
        return (isr_x_min_eta(c["e_min_gev"], _eta_deg(180.0 - c["theta_max_deg"]), sqrt_s),
                isr_x_min_eta(c["e_min_gev"], _eta_deg(c["theta_min_deg"]), sqrt_s))

    def trial_weights(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return _gg_weights(rng, self._par(), n)

    def prepare(self, rng: np.random.Generator, points: int = PILOT_POINTS) -> None:
        """Pilot run (``Process.prepare``) with ``PILOT_SAFETY_SHARP_EDGE`` as safety factor."""
        super().prepare(rng, points)
        self.w_max *= PILOT_SAFETY_SHARP_EDGE / PILOT_SAFETY

    def generate(self, rng: np.random.Generator, n: int) -> tuple[EventChunk, SamplingStats]:
        if self.w_max <= 0.0:
            raise RuntimeError(f"process {self.name!r}: prepare() must run before generate()")
        mom, pdg, offset, sqrt_s, sqrt_sp, cos, nisr, stats = _gg_generate(
            rng, self._par(), n, self.w_max)
        truth = {"sqrt_s": sqrt_s, "sqrt_s_prime": sqrt_sp, "cos_theta": cos, "n_isr": nisr}
        return checked_chunk(mom, pdg, offset, truth, self.name), stats_from_array(stats)


def _eta_deg(theta_deg: float) -> float:
    """Pseudorapidity -ln tan(theta/2) of a polar angle in degrees, the angle kept at least
    ``THETA_EDGE_DEG`` from the beam axis."""
    theta = min(max(theta_deg, THETA_EDGE_DEG), 180.0 - THETA_EDGE_DEG)
    return -math.log(math.tan(math.radians(0.5 * theta)))


def born_sigma_pb(beams: Beams, theta_min_deg: float, theta_max_deg: float) -> float:
    """Closed-form Born sigma (pb) at the nominal sqrt(s) within the polar-angle cuts."""
    c0 = math.cos(math.radians(max(theta_min_deg, 180.0 - theta_max_deg)))
    return GEV2_TO_PB * born_sigma_gev2(beams.sqrt_s_gev**2, c0)
