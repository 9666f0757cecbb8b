"""e+e- -> Upsilon(4S) -> B+ B- / B0 anti-B0, generic B decays, coherent B0 mixing.

Cross section: fixed, sigma(e+e- -> Upsilon(4S)) = 1.110 nb at the Upsilon(4S) peak with the
SuperKEKB beam-energy spread and radiative corrections (Belle II Physics Book arXiv:1808.10567,
Table 1 of e+e- cross sections at sqrt(s) = 10.58 GeV), times BF(Upsilon(4S) -> B Bbar) =
0.9982 of the ``Decay Upsilon(4S)`` block of DECAY_BELLE2.DEC (the other 0.18 %, l+l-,
Upsilon(nS) pi pi, gamma chi_b, ggg, are not generated). The Upsilon(4S) line shape is NOT
sampled: the Upsilon(4S) mass of an event is the sqrt(s) of its collision (``gen.beams``, beam
energy spread ~5.5 MeV in sqrt(s)), which the B momenta follow (collisions below the threshold
of the drawn pair, 2 m_B0 being 4 sigma below the peak, are redrawn). Every trial point has the same
weight, so the unweighting (hit-or-miss against w_max) accepts 1/PILOT_SAFETY of the trials.

Pairs: B+ B- or B0 anti-B0 with the DEC-file fractions normalised over the two (f+- = 0.5160,
f00 = 0.4840). In the c.m. frame the first B goes along (theta, phi) with dN/dcos(theta) ~
sin^2(theta) about the e- beam: the Upsilon(4S) is produced with helicity +-1 along the beam
(massless e+e- annihilation through a photon) and decays to two spin-0 mesons (|d^1_{+-1,0}|^2 =
sin^2 / 2; PDG RPP 2024, "Clebsch-Gordan coefficients, spherical harmonics and d functions").
B masses from ``particle``; B momenta boosted to the lab with the collision's boost.

B0 mixing: the B0 anti-B0 pair is in the coherent C = -1 state. With proper decay times t1, t2
(each exponential with tau_B0, drawn independently), Delta t = t1 - t2, Delta Gamma = 0 and
|q/p| = 1, the joint rate is ~ exp(-Gamma (t1 + t2)) [1 + cos(Delta m_d Delta t)] for opposite
flavours and [1 - cos(Delta m_d Delta t)] for equal flavours at decay (e.g. PDG RPP 2024,
"B0-B0bar mixing" review; Belle II Physics Book arXiv:1808.10567 sec. 6). The flavour of the
first B at its decay is B0 or anti-B0 with probability 1/2, the second is opposite with
probability (1 + cos(Delta m_d Delta t)) / 2. Integrated over t1, t2 the same-flavour fraction
is chi_d = x^2 / (2 (1 + x^2)), x = Delta m_d tau_B0 (tested). B+- do not mix. The B rows carry
the flavour at decay; their decay points are fixed by the drawn proper times.

Delta m_d = 0.5069 ps^-1 (PDG RPP 2024, B0 listing, "B0-B0bar mass difference"); tau_B0 and
tau_B+ from ``particle`` (1.511 ps, 1.637 ps): x = 0.766, chi_d = 0.185 (PDG RPP 2024 average
chi_d = 0.1858 +- 0.0011).

Output per event: Upsilon(4S) (row 0, status 2, lab four-momentum of the collision), B (row 1,
along theta), B (row 2), then their decay trees (``gen.decays.generic``: every unstable particle
decayed down to e, mu, pi+-, K+-, K_L0, p, n, gamma, neutrinos; the quark-level PYTHIA modes,
~46 % of the B width, hadronised as Pythia 8 does, ``gen.decays.quark_modes``). Production at
the origin (no beam spot). Truth: ``sqrt_s``, ``cos_theta`` (row-1 B about the e- beam, c.m.),
``neutral`` (1 for B0 anti-B0), ``mixed`` (1 when both B0 have the same flavour at decay),
``t1``, ``t2`` (proper decay times of rows 1 and 2, ns).

Validation against PDG RPP 2026 inclusive B rates: tests/validation/test_bbbar_inclusive.py
(D, D*, D_s, Lambda_c, charmonium, K, phi, p, eta, semileptonic, per-flavour charm). Known
excesses there, split by source (exclusive DEC modes / quark-level modes) in its docstring, all
shared by EvtGen + Pythia 8 with DECAY_BELLE2.DEC, i.e. by Belle II's generic MC: D+- X and
B0 -> D- X (both the B0's exclusive modes and the spectator D(*)- of its quark-level modes are
D+- rich: charm too often charged, no D** at the quark level), D_s X (the DEC file's exclusive
D_s modes alone exceed PDG), p X (charm-diquark lines and Pythia's diquark breaks), direct
J/psi (quark-level c cbar pairs all S-wave); chi_c1 / chi_c2 below PDG (DEC modes only).
B -> D(*) l nu use the DEC file's BGL / HQET3 form factors
(gen.decays.semileptonic); D** l nu are still phase space.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from gen.beams import Beams, cm_to_lab1, sample_collision1
from gen.cards import Param
from gen.constants import C_CM_PER_NS
from gen.decays.generic import (
    COLS,
    ICOLS,
    MAXD,
    POL_NONE,
    dec_block,
    decay_tables,
    decay_tree_forced1,
    grow,
    row_margin,
    rows_to_particles,
)
from gen.decays.tau import tau_tables
from gen.events import DECAYED, FINAL, EventChunk, SamplingStats
from gen.jit import kernel
from gen.kinematics import direction1, two_body_momentum1
from gen.processes.base import Process

#: sigma(e+e- -> Upsilon(4S)) in pb (Belle II Physics Book arXiv:1808.10567, Table 1)
SIGMA_UPSILON4S_PB = 1110.0
#: Delta m_d in ps^-1 (PDG RPP 2024, B0 listing)
DELTA_M_D_PER_PS = 0.5069
UPSILON4S, B0, B_PLUS = 300553, 511, 521

# flat parameter array of the kernels
P_EHER, P_ELER, P_SPH, P_SPL, P_HALF = 0, 1, 2, 3, 4
P_F00, P_MB0, P_MBP, P_CT_B0, P_CT_BP, P_DM, P_MIX = 5, 6, 7, 8, 9, 10, 11
N_PAR = 12


@functools.lru_cache(maxsize=1)
def upsilon4s_fractions() -> tuple[float, float, float]:
    """(BF(B+B-), BF(B0 anti-B0), f00 = BF(B0B0bar)/BF(BBbar)) of the DEC Upsilon(4S) block."""
    bf = {tuple(sorted(d["fs"])): d["bf"] for d in dec_block("Upsilon(4S)")}
    charged = bf[("B+", "B-")]
    neutral = bf[("B0", "anti-B0")]
    return charged, neutral, neutral / (charged + neutral)


def mixing_chi_d(x: float) -> float:
    """Time-integrated same-flavour fraction of a coherent C = -1 pair, x = Delta m tau."""
    return x * x / (2.0 * (1.0 + x * x))


@kernel
def _sin2_cos(rng):
    """cos(theta) with density (3/4)(1 - cos^2) (hit-or-miss, bound 1)."""
    while True:
        c = 2.0 * rng.random() - 1.0
        if rng.random() < 1.0 - c * c:
            return c


@kernel
def pair_flavours1(rng, neutral: bool, ctau: float, dm_per_ps: float, mixing: bool):
    """Proper decay lengths c*t (cm) and flavours at decay of the two B of one event.

    Returns (ct1, ct2, pdg1, pdg2, mixed). Neutral pairs: coherent C = -1 mixing (module
    docstring): pdg2 = -pdg1 with probability (1 + cos(Delta m_d Delta t)) / 2.
    """
    ct1 = ctau * rng.exponential()
    ct2 = ctau * rng.exponential()
    if not neutral:
        f1 = B_PLUS if rng.random() < 0.5 else -B_PLUS
        return ct1, ct2, f1, -f1, 0
    f1 = B0 if rng.random() < 0.5 else -B0
    dt_ps = (ct1 - ct2) / C_CM_PER_NS * 1.0e3
    p_opposite = 0.5 * (1.0 + math.cos(dm_per_ps * dt_ps)) if mixing else 1.0
    if rng.random() < p_opposite:
        return ct1, ct2, f1, -f1, 0
    return ct1, ct2, f1, f1, 1


@kernel
def _put(out_i, out_f, r, pdg, status, mother, v):
    out_i[r, 0] = pdg
    out_i[r, 1] = status
    out_i[r, 2] = mother
    out_i[r, 3] = POL_NONE
    for j in range(4):
        out_f[r, j] = v[j]
    for j in range(4, COLS):
        out_f[r, j] = 0.0


@kernel(inline="always")
def _bbbar_event(rng, par, tb, tau_tb, out_i, out_f, base, margin, dm):
    """One event from row ``base``: returns (end, out_i, out_f, truth...). Inlined: a call
    that passes the decay tables costs ~0.6 us of reference counting."""
    while True:
        sqrt_s, bx, by, bz, nx, ny, nz = sample_collision1(
            rng, par[P_EHER], par[P_ELER], par[P_SPH], par[P_SPL], par[P_HALF])
        neutral = rng.random() < par[P_F00]
        mb = par[P_MB0] if neutral else par[P_MBP]
        # the beam-energy spread reaches below 2 m_B (2 m_B0 is 4 sigma below the peak): no B
        # pair there, so redraw (1e-4 of the events)
        if sqrt_s > 2.0 * mb:
            break
    p = two_body_momentum1(sqrt_s, mb, mb)
    c = _sin2_cos(rng)
    ux, uy, uz = direction1(c, 2.0 * math.pi * rng.random())
    eb = 0.5 * sqrt_s
    out_i, out_f = grow(out_i, out_f, base + 3 + 2 * margin)
    _put(out_i, out_f, base, UPSILON4S, DECAYED, -1,
         cm_to_lab1(0.0, 0.0, 0.0, sqrt_s, bx, by, bz, nx, ny, nz))
    _put(out_i, out_f, base + 1, 0, FINAL, 0,
         cm_to_lab1(p * ux, p * uy, p * uz, eb, bx, by, bz, nx, ny, nz))
    _put(out_i, out_f, base + 2, 0, FINAL, 0,
         cm_to_lab1(-p * ux, -p * uy, -p * uz, eb, bx, by, bz, nx, ny, nz))
    ctau = par[P_CT_B0] if neutral else par[P_CT_BP]
    ct1, ct2, f1, f2, mixed = pair_flavours1(rng, neutral, ctau, par[P_DM], par[P_MIX] > 0.5)
    out_i[base + 1, 0] = f1
    out_i[base + 2, 0] = f2
    # the two B (rows base+1, base+2) with their drawn proper decay lengths, then their trees
    pos, out_i, out_f = decay_tree_forced1(rng, tb, tau_tb, out_i, out_f, base + 1, base + 3,
                                           base, margin, dm, 2, ct1, ct2)
    return (pos, out_i, out_f, sqrt_s, c, int(neutral), mixed, ct1 / C_CM_PER_NS,
            ct2 / C_CM_PER_NS)


@kernel
def _bbbar_generate(rng, par, tb, tau_tb, n, w, w_max, margin):
    out_i = np.empty((60 * n + 100, ICOLS), np.int64)
    out_f = np.empty((60 * n + 100, COLS))
    offset = np.zeros(n + 1, np.int64)
    t_sqrt_s = np.empty(n)
    t_cos = np.empty(n)
    t_neutral = np.empty(n, np.int32)
    t_mixed = np.empty(n, np.int32)
    t_t1 = np.empty(n)
    t_t2 = np.empty(n)
    dm = np.zeros(MAXD)
    n_trials = 0
    pos = 0
    k = 0
    while k < n:
        n_trials += 1
        if not rng.random() * w_max < w:  # the weight is constant: decide before decaying
            continue
        pos, out_i, out_f, s, c, neu, mix, t1, t2 = _bbbar_event(
            rng, par, tb, tau_tb, out_i, out_f, pos, margin, dm)
        t_sqrt_s[k] = s
        t_cos[k] = c
        t_neutral[k] = neu
        t_mixed[k] = mix
        t_t1[k] = t1
        t_t2[k] = t2
        k += 1
        offset[k] = pos
    return out_i[:pos], out_f[:pos], offset, t_sqrt_s, t_cos, t_neutral, t_mixed, t_t1, t_t2, \
        n_trials


class BBbar(Process):
    """e+e- -> Upsilon(4S) -> B Bbar with generic decays and coherent B0 mixing."""

    name = "bbbar"
    description = (
        "e+e- -> Upsilon(4S) -> B+B- / B0 anti-B0 (fixed 1.110 nb x BF(BBbar)), sin^2 theta, "
        "coherent B0 mixing, generic DECAY_BELLE2.DEC decays"
    )
    params = {
        "mixing": Param(bool, True, "coherent B0 anti-B0 mixing (false: flavours stay opposite)"),
    }
    cuts: dict = {}

    def __init__(self, params: dict, cuts: dict, beams: Beams) -> None:
        super().__init__(params, cuts, beams)
        from particle import Particle

        charged, neutral, f00 = upsilon4s_fractions()
        self.sigma_pb = SIGMA_UPSILON4S_PB * (charged + neutral)
        ct_b0 = Particle.from_pdgid(B0).lifetime * C_CM_PER_NS  # ns -> cm
        ct_bp = Particle.from_pdgid(B_PLUS).lifetime * C_CM_PER_NS
        m_b0 = Particle.from_pdgid(B0).mass * 1e-3
        m_bp = Particle.from_pdgid(B_PLUS).mass * 1e-3
        self.par = np.array([*beams.as_tuple(), f00, m_b0, m_bp, ct_b0, ct_bp, DELTA_M_D_PER_PS,
                             1.0 if params["mixing"] else 0.0])
        self.tables = decay_tables()
        self.tau_tables, _ = tau_tables()

    def trial_weights(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.sigma_pb)

    def generate(self, rng: np.random.Generator, n: int) -> tuple[EventChunk, SamplingStats]:
        w_max = self.w_max if self.w_max > 0 else self.sigma_pb
        out_i, out_f, offset, s, c, neu, mix, t1, t2, n_trials = _bbbar_generate(
            rng, self.par, self.tables, self.tau_tables, n, self.sigma_pb, w_max, row_margin())
        stats = SamplingStats(
            n_trials=int(n_trials), sum_w=self.sigma_pb * n_trials,
            sum_w2=self.sigma_pb**2 * n_trials,
            n_overweight=int(self.sigma_pb > w_max) * int(n_trials),
        )
        chunk = EventChunk(
            weight=np.ones(n), offset=offset, particles=rows_to_particles(out_i, out_f),
            truth={"sqrt_s": s, "cos_theta": c, "neutral": neu, "mixed": mix, "t1": t1, "t2": t2},
        )
        return chunk, stats
