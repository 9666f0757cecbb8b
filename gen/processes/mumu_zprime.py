"""e+ e- -> mu+ mu- Z': the L_mu - L_tau Z' radiated off a muon of e+ e- -> gamma* -> mu+ mu-.

Process and model: the Belle II invisible-Z' search (arXiv:1912.11276, Fig. 1) and the BaBar
Z' -> mu+ mu- search (arXiv:1606.03501); the Z' couples to the muon as
g' mu-bar gamma^alpha mu Z'_alpha (``gen.models.lmu_ltau``). Two tree-level diagrams: the s-channel
photon makes the mu+ mu- pair and the Z' is emitted from the mu- or from the mu+ line. The
amplitude is

    M = (e^2 g' / s) [v-bar(q2) gamma^mu u(q1)]
        u-bar(p1) [ gamma^nu (p1+k+m) gamma_mu / D1 + gamma_mu (-p2-k+m) gamma^nu / D2 ] v(p2)
        eps*_nu(k),      D1 = (p1+k)^2 - m^2 = 2 p1.k + M^2,  D2 = (p2+k)^2 - m^2 = 2 p2.k + M^2,

with q1 (e-), q2 (e+), p1 (mu-), p2 (mu+), k (Z'), m = m_mu, M = m_Z', s = (q1+q2)^2.

|M|^2 summed over all spins and the three Z' polarizations (sum_pol eps eps* = -g + k k/M^2; the
k k term vanishes because the Z' couples to the conserved muon current) was derived for this module
with the trace technique, muon mass kept, electron mass neglected (corrections O(m_e^2/s) ~ 1e-8:
there is no t-channel), and checked against an independent numerical trace with explicit Dirac
matrices in tests/gen/test_mumu_zprime.py (agreement better than 1e-10, ~1e-14 typical). With
Q = q1 + q2, a_i = q1.p_i, b_i = q2.p_i, c = M^2 + 2 m^2:

    sum |M|^2 = 32 e^4 g'^2 / s^2 * [ T / (D1 D2) - c (t2 / D1^2 + t1 / D2^2)
                                      - s ((c + Q.p1) / D1 + (c + Q.p2) / D2) ],
    t_i = s (Q.p_i + m^2) - 4 a_i b_i,
    T   = s (M^4 + M^2 s - 4 m^4) + s (c + s) Q.(p1 + p2)
          - 4 c (a1 b2 + a2 b1) - 4 s (a1 b1 + a2 b2).

In the c.m. frame with the e- along +z (a_i = sqrt(s)(E_i - z_i)/2, b_i = sqrt(s)(E_i + z_i)/2)
this is ``32 e^4 g'^2 / s * F`` with F as in ``_msq_core``.

Phase space (c.m. frame, per trial sqrt(s) from the beam energies (Gaussian spreads, as
``gen.beams.sample_beam_energies1``) and ``collision_sqrt_s_sc1``; the lab frame only for accepted
events, ``_write_event1``; ``_hard_point1``): the configuration of the planar final state first,
the Z' momentum |k| = M sinh(u) with u drawn from min(u, 1) (towards the soft spectrum tanh(u)^2
du, i.e. dE/E above E ~ M with the threshold suppression below) and the polar angle chi of the mu-
to the Z' direction in the mu+ mu- rest frame from the mixture (1/D1 + 1/D2)/2 of the two collinear
propagators (exactly invertible in chi); then its orientation, by rotation invariance of dPhi_3:
the polar angle theta of the mu- to the e- beam, the rotation psi of the event plane about the mu-
and the azimuth phi about the beam (the weight does not depend on phi: taken for accepted trials
only, from the channel uniform of chi, see ``_generate``). The uniforms of u, chi, cos(theta) and
psi pass through an adaptive grid (``_grid_map1``: one piecewise-linear map per uniform, 32 bins,
VEGAS-style rebinning, G. P. Lepage, J. Comput. Phys. 27 (1978) 192) trained in ``prepare`` on the
pilot stream towards equal maximum weight per bin (``refine_grid``: hit-or-miss efficiency is
mean/max, not the variance VEGAS minimises); the grid's Jacobians enter the weight, so any grid
gives the same cross section (tests: phase-space volume and sigma with a random grid). It absorbs
the 1 + cos^2(theta)-like beam-axis dependence and the mass-dependent |k| spectrum. Unweighting
efficiency (sigma / w_max, pilot safety factor ``PILOT_SAFETY_SHARP_EDGE``, default beams, 4e6
trials) without ISR 0.64, 0.57, 0.65, 0.65 for M = 0.1, 1, 5, 8 GeV (0.42, 0.50, 0.39 for M = 0.1,
1, 5 before the grid and the orientation by the mu-, which replaced an isotropic Z' direction).
Trial weight (pb) = GEV2_TO_PB * 1/(2s) * (1/4) sum |M|^2 * dPhi_3 / (sampling density).

Blocks of trials (``BLOCK_TRIALS``): the uniforms of a trial (ISR fractions, hard point, hit) and
the beam-energy normals of a block are drawn in bulk (``_draw_block1``), the weights computed stage
by stage over the block (``_block1``: one loop per stage of the ISR and hard-point chain, bit for
bit the trial-by-trial functions; short loops let the CPU overlap consecutive trials, which one
long latency-bound chain per trial did not), then the hits in trial order and the accepted events'
own draws (photon directions) from the stream. Measured (M = 1 GeV, ISR, VP, spread; interleaved
A/B under load, docs/benchmarks.md): ~300 ns per trial instead of ~515; the events are a
deterministic function of the stream, whatever the number requested. Session 7: the azimuth phi of
an accepted event from the spare bits of the chi channel uniform (no draws); cos/sin of 2 pi x by a
branch-free polynomial (``cos_sin_2pi1``: 3.5 ns instead of 19 ns for math.cos, also per trial for
cos psi); the hard frame -> c.m. -> lab transformation as two matrices built from the four-momenta
(``_hard_to_cm_axes1``, ``_cm_to_lab_axes1``: ~12 divisions and square roots per event instead of
~40), written straight into the output; the ISR photon azimuths from one uniform each
(``_isr_photon_momenta1``: 82 instead of 113 ns per event); the soft ISR fraction in three loops
over the block (``_isr_soft_finish1``, bit for bit); the block's draws not copied. Trial weights
unchanged (old vs new on one stream: equal to 3e-9 relative, sigma to 1e-16, grid and w_max to
1e-14); the events differ bit-wise from session 6 (another azimuth origin about the Collins-Soper
axis, other draws), not in distribution (two-sample KS tests of lab momenta, angles and photons).

Initial-state radiation (card ``isr``, default true; ``gen.radiation``): per trial both beams
radiate one effective collinear photon each (``isr_photons1``: Kuraev-Fadin structure functions
at O(beta^2), finite photon angles, exact recoil s' = (P - k1 - k2)^2 = x1 x2 s), and the hard
2 -> 3 process is generated at sqrt(s') in the rest frame of Q = P - k1 - k2 with the exact
|M|^2 above, so the sample integrates

    sigma = K_ISR int dx1 dx2 D(x1) D(x2) sigma_hard(x1 x2 s)

(trial weight = ISR weight * ISR_K_FACTOR * hard weight at s'; 0 below s' = (M + 2 m_mu)^2).
Approximation: in the Q rest frame the radiating e- and e+ are not exactly back-to-back when the
photons have transverse momentum; the hard process is evaluated for on-shell massless e- and e+
of energy sqrt(s')/2 along the Collins-Soper axis (bisector of the e- direction and the reversed
e+ direction in that frame; Collins, Soper, Phys. Rev. D 16 (1977) 2219; the same choice as
``gen.processes.mumu``), which neglects
O(p_T(gamma)^2 / s') effects, within the collinear (leading-log) accuracy of the structure
functions themselves. FSR off the muons and initial-final interference are not included.
Acceptance first: s' = (1 - v1)(1 - v2) s is exact in the recoil scheme of ``isr_photons1``, so a
trial draws only the energy fractions; the photon directions and energies
(``_isr_photon_momenta1``, the distribution of ``gen.radiation.isr_photon_momenta1``) are
drawn for accepted trials. The energy fractions use ``gen.radiation``'s two-channel density
(soft v^(beta/2-1) plus a dx/x admixture, ``ISR_HARD_FRACTION``) with the soft channel's uniform
through the grid as well (``_isr_fraction1``): it learns how sigma_hard(s') weights the hard-photon
tail (e.g. suppressed near the threshold for a heavy Z').
Unweighting efficiency with ISR (sigma / w_max, see ``ISR_HARD_FRACTION``; 4e6 trials) 0.60,
0.54, 0.59, 0.55 for M = 0.1, 1, 5, 8 GeV (0.39, 0.43, 0.30 at 0.1, 1, 5 GeV before the grid).
ISR changes sigma
by +11 %, +3 %, -8 %, -16 % at M = 0.1, 1, 5, 8 GeV (vacuum polarisation off).

Vacuum polarisation (card ``vacuum_polarisation``, default true): the s-channel photon is
dressed with the running coupling at its virtuality, the reduced s' after ISR (s without ISR):
|M|^2 -> |M|^2 / |1 - Delta alpha(s')|^2 (``gen.vacpol.vp_factor1``: one-loop leptons plus the
Burkhardt-Pietrzyk hadronic parametrisation; +7.7 % at sqrt(s') = 10.58 GeV), as for the
e+ e- -> mu+ mu- background (``gen.processes.mumu``). The g' vertex and the Z' propagator are
not dressed (Z' on shell, g' defined at the Z' mass).

Decay: only ``decay = "invisible"`` for now: the Z' is written as a final-state particle (status 1).
The sample cross section is the PRODUCTION cross section sigma(e+ e- -> mu+ mu- Z'); multiply by
``gen.models.lmu_ltau.branching_invisible`` for the vanilla model (1 in the fully invisible case).
Further modes ("mumu", "tautau") can be added as choices of ``decay`` (Z' then status 2 with
daughters).

Output per event: mu-, mu+, Z', then the ISR photons (pdg 22; the e- beam's, then the e+ beam's),
each only if emitted above ``photon_min_energy_gev`` in the c.m. frame (softer photons are not
produced and their energy stays with the beam, an O(beta E_min / E_beam) ~ 1e-6 approximation), so
events hold 3-5 particles, all status 1, mother -1. Four-momentum is conserved exactly: P_beams =
p(mu-) + p(mu+) + p(Z') + sum of photons. Truth: ``m_x`` (M), ``sqrt_s`` (of the colliding beams)
and ``sqrt_s_prime`` (= sqrt((P - k1 - k2)^2), the mass of mu+ mu- Z'; equals ``sqrt_s`` with
``isr = false``).
"""

from __future__ import annotations

import math

import numpy as np

from gen.beams import collision_sqrt_s_sc1, crossing_trig1
from gen.cards import CardError, Param
from gen.constants import ALPHA_EM, GEV2_TO_PB, M_E, M_MU, MUON, PHOTON
from gen.events import EventChunk, SamplingStats
from gen.jit import kernel
from gen.pdgids import ZPRIME
from gen.processes.base import PILOT_POINTS, PILOT_SAFETY, Process
from gen.radiation import (
    ISR_K_FACTOR,
    emission_params1,
    isr_consts1,
    isr_hard_terms_q1,
    isr_log1m_over_v1,
    isr_recoil_energies1,
    isr_soft_factor,
    ll_beta_near1,
    sample_emission_angle_p1,
)
from gen.unweight import (
    checked_chunk,
    count_trial1,
    new_events,
    new_stats,
    stats_from_array,
)
from gen.vacpol import vp_factor_tab1

#: decay modes of the Z' the process can write (see module docstring)
DECAY_MODES = ("invisible",)
#: safety factor on the pilot maximum weight, instead of the generic ``PILOT_SAFETY`` (1.3): the
#: weights of this sampler have a sharp upper edge (see ``ISR_HARD_FRACTION``), so the pilot
#: maximum (2e5 trials after the grid training) is already close to the true one. Measured
#: (default beams, VP on, adapted grid): the largest of 4e6 further trials exceeds the pilot
#: maximum by 1.3-7 % with ISR for M = 0.1, 1, 5, 8 GeV, 11 % at M = 0.01 and 16 % at M = 10 GeV
#: (next to the kinematic limit: one trial in 4e6 above w_max), and by <= 2.4 % without ISR
#: (M = 0.01-5 GeV). Overweight trials stay counted in n_overweight (tests require <= 1e-3 of the
#: trials).
PILOT_SAFETY_SHARP_EDGE = 1.15

#: default coupling: near the (g-2)_mu-favoured band and the Belle II reach (arXiv:1912.11276);
#: the cross section scales exactly as g'^2 and the kinematics do not depend on g'
DEFAULT_G_PRIME = 1.0e-3

#: probability of the dx/x channel of the ISR energy-fraction sampling (``_isr_fraction1``) for a
#: light Z' (M < ``ISR_LIGHT_MASS_GEV``): the hard-process cross section then rises like 1/s'
#: (times logarithms) towards the threshold, and the dx/x admixture keeps the weights bounded.
#: Above, threshold suppression makes sigma_hard(s') fall towards low s' and less admixture is
#: better: ``ISR_HARD_FRACTION_HEAVY``. Unweighting efficiency (mean/max of 1e6 trials, adapted
#: grid, default beams): M = 0.1: 0.69 (0.05) vs 0.55 (0.02); M = 0.3: 0.61 vs 0.65;
#: M = 0.5: 0.60 vs 0.63; M = 1: 0.57 vs 0.60; M = 5: 0.63 vs 0.65; M = 8: 0.61 vs 0.64
#: (0.01 gains at most 0.01 more above 1 GeV and loses at 0.1 GeV)
ISR_HARD_FRACTION = 0.05
ISR_HARD_FRACTION_HEAVY = 0.02
ISR_LIGHT_MASS_GEV = 0.2

_E4 = (4.0 * math.pi * ALPHA_EM) ** 2  # e^4, e^2 = 4 pi alpha (PDG 2024, Physical constants)
_PS_NORM = 1.0 / (32.0 * math.pi**3)  # see _hard_point1
#: the geometry of a hard point below threshold (weight 0, no momenta; ``_hard_point1``)
_NO_GEOMETRY = (0.0,) * 12


@kernel
def _msq_core(sqrt_s, e1, e2, pt1sq, pt2sq, ezz, d1, d2, m, mz, g_prime):
    """sum |M|^2 in the c.m. frame (e- along +z) from energies, pT^2 and the propagators.

    ``ezz`` = E1 E2 - z1 z2; D1 = 2 p1.k + M^2, D2 = 2 p2.k + M^2 passed in (kept precise by the
    sampler). Module docstring: sum|M|^2 = 32 e^4 g'^2/s F with
    F = G/(D1 D2) - c [(W E2 - pT2^2)/D1^2 + (W E1 - pT1^2)/D2^2] - (c + W E1)/D1 - (c + W E2)/D2,
    G = M^4 + M^2 s - 4 m^4 + (c + s) W (E1 + E2) - 2 c ezz - s (2 m^2 + pT1^2 + pT2^2),
    W = sqrt(s), c = M^2 + 2 m^2.
    """
    s = sqrt_s * sqrt_s
    m2 = m * m
    mz2 = mz * mz
    c = mz2 + 2.0 * m2
    we1 = sqrt_s * e1
    we2 = sqrt_s * e2
    g = (
        mz2 * mz2
        + mz2 * s
        - 4.0 * m2 * m2
        + (c + s) * (we1 + we2)
        - 2.0 * c * ezz
        - s * (2.0 * m2 + pt1sq + pt2sq)
    )
    i1 = 1.0 / d1
    i2 = 1.0 / d2
    f = (
        g * i1 * i2
        - c * ((we2 - pt2sq) * i1 * i1 + (we1 - pt1sq) * i2 * i2)
        - (c + we1) * i1
        - (c + we2) * i2
    )
    return 32.0 * _E4 * g_prime * g_prime / s * f


@kernel
def msq_cm1(sqrt_s, p1x, p1y, p1z, e1, p2x, p2y, p2z, e2, m, mz, g_prime):
    """sum over spins and Z' polarizations of |M|^2 for e- e+ -> mu- mu+ Z' (dimensionless).

    c.m. frame, e- along +z with energy sqrt_s/2, e+ along -z; p1 = mu-, p2 = mu+ (px, py, pz, e);
    the Z' momentum is k = (0, 0, 0, sqrt_s) - p1 - p2, so D1 = (p1+k)^2 - m^2 = s - 2 sqrt_s E2
    and D2 = s - 2 sqrt_s E1. Electron mass neglected. Multiply by 1/4 for the spin average.
    """
    s = sqrt_s * sqrt_s
    d1 = s - 2.0 * sqrt_s * e2
    d2 = s - 2.0 * sqrt_s * e1
    return _msq_core(
        sqrt_s,
        e1,
        e2,
        p1x * p1x + p1y * p1y,
        p2x * p2x + p2y * p2y,
        e1 * e2 - p1z * p2z,
        d1,
        d2,
        m,
        mz,
        g_prime,
    )


@kernel
def _random_azimuth1(rng):
    """(cos phi, sin phi) of a uniform azimuth without trigonometric calls.

    von Neumann's method (J. von Neumann, NBS Appl. Math. Ser. 12 (1951) 36): (a, b) uniform in
    the unit disk, cos phi = (a^2 - b^2)/r^2, sin phi = 2ab/r^2 (phi = twice the angle of (a, b)).
    """
    while True:
        a = 2.0 * rng.random() - 1.0
        b = 2.0 * rng.random() - 1.0
        r2 = a * a + b * b
        if 0.0 < r2 <= 1.0:
            return (a * a - b * b) / r2, 2.0 * a * b / r2


#: Taylor coefficients (-1)^n / (2n)! of cos and (-1)^n / (2n+1)! of sin, n = 0..8, for
#: ``cos_sin_2pi1`` (|z| <= pi/4: truncation z^18/18! < 3e-18 and z^19/19! < 1e-19)
_COS_C = tuple((-1.0) ** n / math.factorial(2 * n) for n in range(9))
_SIN_C = tuple((-1.0) ** n / math.factorial(2 * n + 1) for n in range(9))
#: cos(k pi/2), k = 0..3 (sin(k pi/2) = cos((k + 3) pi/2))
_QUARTER_COS = np.array([1.0, 0.0, -1.0, 0.0])


@kernel
def cos_sin_2pi1(x):
    """(cos 2 pi x, sin 2 pi x) for 0 <= x <= 1 without libm calls (~19 ns for math.cos alone
    in a numba loop here, measured): x = q/4 + f/4 with the nearest quadrant q and |f| <= 1/2,
    z = (pi/2) f, and the Taylor series of cos z and sin z (|z| <= pi/4, truncation below
    rounding: ``_COS_C``) rotated by q quarter turns with exact table factors (no branch on the
    random quadrant). Agrees with math.cos/math.sin to a few 1e-16 (tests)."""
    y = 4.0 * x
    q = math.floor(y + 0.5)
    z = (0.5 * math.pi) * (y - q)
    z2 = z * z
    a, b = _COS_C, _SIN_C  # Horner in z^2, written out (a loop indexes the tuple at run time)
    c = a[0] + z2 * (a[1] + z2 * (a[2] + z2 * (a[3] + z2 * (a[4] + z2 * (a[5] + z2 * (
        a[6] + z2 * (a[7] + z2 * a[8])))))))
    sn = z * (b[0] + z2 * (b[1] + z2 * (b[2] + z2 * (b[3] + z2 * (b[4] + z2 * (b[5] + z2 * (
        b[6] + z2 * (b[7] + z2 * b[8]))))))))
    k = int(q) & 3
    # rotation by k quarter turns with exact factors 0, +-1 from a table: no branches
    cq, sq = _QUARTER_COS[k], _QUARTER_COS[(k + 3) & 3]
    return cq * c - sq * sn, sq * c + cq * sn


# ------------------------------------------------------------------ adaptive sampling grid
#: bins per dimension of the adaptive grid (module docstring, "Phase space")
GRID_BINS = 32
#: grid dimensions: the uniforms of the Z' momentum, of the collinear angle chi, of the polar
#: angle of the mu- and of the rotation psi of the event plane about the mu-, and the soft-channel
#: uniforms of the ISR energy fractions of the e- and e+ beams (``_isr_fraction1``)
GRID_DIMS = 6
_G_K, _G_X, _G_C, _G_PSI, _G_ISR1, _G_ISR2 = 0, 1, 2, 3, 4, 5
#: grid training in ``prepare``: iterations x trials (pilot stream, before the w_max pilot; fewer
#: trials for pilots shorter than 5 GRID_POINTS)
GRID_ITERATIONS = 6
GRID_POINTS = 40_000
#: damping exponent of the grid refinement (``refine_grid``)
GRID_BETA = 0.5


def identity_grid() -> np.ndarray:
    """The grid of plain (not adapted) sampling: every map is x = r."""
    return np.tile(np.linspace(0.0, 1.0, GRID_BINS + 1), (GRID_DIMS, 1))


@kernel
def _grid_map1(grid, d, r):
    """(x, dx/dr) of the piecewise-linear map of dimension ``d``: equal-probability bins.

    ``grid[d]``: increasing edges from 0 to 1; r uniform in bin j = floor(r nb) goes linearly to
    [grid[d, j], grid[d, j + 1]] (VEGAS, Lepage 1978, sec. 3), so x has the density
    1 / (nb (edge width)) and a weight picks up the Jacobian nb (edge width).
    """
    nb = grid.shape[1] - 1
    y = r * nb
    j = min(int(y), nb - 1)
    lo = grid[d, j]
    width = grid[d, j + 1] - lo
    return lo + (y - j) * width, nb * width


def refine_grid(grid: np.ndarray, bins: np.ndarray, w: np.ndarray,
                beta: float = GRID_BETA) -> np.ndarray:
    """One refinement of every dimension of ``grid`` towards equal maximum weights per bin.

    ``bins`` (n, dims): the bin of each trial's uniform; ``w`` (n,): its weight (with the
    Jacobians). Hit-or-miss efficiency is mean/max, so instead of VEGAS's equal integral per
    bin (Lepage, J. Comput. Phys. 27 (1978) 192, which minimises the variance but lets the
    largest weights grow) the density of bin i is raised in proportion to W_i^beta, W_i the
    largest weight seen in it (weights there scale as 1/density); beta < 1 damps the step
    against the noise of W_i (and the coupling between dimensions). New edges: equal shares of
    W_i^beta, linear within old bins (the VEGAS rebinning).
    """
    nb = grid.shape[1] - 1
    new = grid.copy()
    for d in range(grid.shape[0]):
        top = np.zeros(nb + 1)  # bin nb: trials that did not use this dimension
        np.maximum.at(top, bins[:, d], w)
        top = top[:nb]
        if not top.max() > 0.0:
            continue
        r = np.maximum(top / top.max(), 1e-3) ** beta
        cum = np.concatenate(([0.0], np.cumsum(r)))
        cum /= cum[-1]
        new[d, 1:-1] = np.interp(np.arange(1, nb) / nb, cum, grid[d])
    return new


@kernel
def _grid_jacobian_at1(grid, d, x):
    """dx/dr of the map of dimension ``d`` at the point x (binary search for its bin)."""
    nb = grid.shape[1] - 1
    lo = 0
    hi = nb
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if grid[d, mid] <= x:
            lo = mid
        else:
            hi = mid
    return nb * (grid[d, lo + 1] - grid[d, lo])


@kernel
def _isr_fraction1(u, grid, d, beta, tob, cst):
    """``gen.radiation.isr_fraction_u1`` with the rescaled uniform of the soft channel passed
    through grid dimension ``d``: (v, numerator, denominator) of the weight D(x)/pdf(x).

    The same two-channel density (soft (beta/2) v^(beta/2-1) with probability 1 - a, dx/x on
    [x_min, 1] with probability a; D: Kuraev-Fadin, ``gen.radiation``; ``cst``:
    ``gen.radiation.isr_consts1``, tob = 2/beta), except that the soft channel's w = v^(beta/2)
    has the grid density 1/j(w) instead of 1 (``_grid_map1``): the mixture pdf at v is
    (1 - a) (beta/2) v^(beta/2-1) / j(v^(beta/2)) + a / (x lmin), so a dx/x point looks up j at
    its own w (``_grid_jacobian_at1``). Both parts of the ratio are multiplied by j (no
    division). With the identity grid (j = 1 exactly) the values equal those of
    ``isr_fraction_u1`` bit for bit (tests). The soft channel's bin is min(int(w_r nb), nb - 1)
    of its rescaled uniform w_r = (u - a)/(1 - a) (``_trial_bins1``).
    """
    a, inv_a, inv_1ma = cst[2], cst[3], cst[4]
    x_min, lmin, inv_lmin = cst[5], cst[6], cst[7]
    soft = isr_soft_factor(beta)
    if u < a:
        lnx = -lmin * (u * inv_a)
        x = math.exp(lnx)
        v = -math.expm1(lnx)
        if v <= 0.0:
            return 0.0, soft * _first_jacobian1(grid, d), 1.0 - a
        lnv = math.log(v)
        r = tob * math.exp((1.0 - 0.5 * beta) * lnv)
        q = lnx / v
        j = _grid_jacobian_at1(grid, d, math.exp(0.5 * beta * lnv))
    else:
        w, j = _grid_map1(grid, d, (u - a) * inv_1ma)
        if w <= 0.0:
            return 0.0, soft * j, 1.0 - a
        lnv = tob * math.log(w)
        v = math.exp(lnv)
        if v <= 0.0:
            return 0.0, soft * j, 1.0 - a
        x = 1.0 - v
        if x <= 0.0:
            return 1.0, 0.0, 1.0
        q = isr_log1m_over_v1(v)
        r = tob * v / w
    h = inv_lmin / x if x >= x_min else 0.0
    hard = isr_hard_terms_q1(v, x, lnv, q, beta)
    rj = r * j
    return v, soft * j + hard * rj, (1.0 - a) + a * h * rj


@kernel
def _isr_soft_finish1(w, j, lnv, v, beta, tob, cst):
    """The soft channel of ``_isr_fraction1`` after its grid map (w, j), lnv = (2/beta) ln w
    (only if w > 0) and v = exp(lnv) (only if w > 0): the same operations, so the same
    (v, numerator, denominator) bit for bit (``_block1`` computes the stages in separate loops)."""
    a, x_min, inv_lmin = cst[2], cst[5], cst[7]
    soft = isr_soft_factor(beta)
    if w <= 0.0 or v <= 0.0:
        return 0.0, soft * j, 1.0 - a
    x = 1.0 - v
    if x <= 0.0:
        return 1.0, 0.0, 1.0
    q = isr_log1m_over_v1(v)
    r = tob * v / w
    h = inv_lmin / x if x >= x_min else 0.0
    hard = isr_hard_terms_q1(v, x, lnv, q, beta)
    rj = r * j
    return v, soft * j + hard * rj, (1.0 - a) + a * h * rj


@kernel
def _first_jacobian1(grid, d):
    """Jacobian of the first bin of dimension ``d`` (the map at r = 0)."""
    return (grid.shape[1] - 1) * (grid[d, 1] - grid[d, 0])


@kernel
def _isr_fraction_arrays(u, grid, d, beta, cst):
    """``_isr_fraction1`` for every uniform of ``u``: (n, 3) array of (v, numerator,
    denominator) (tests)."""
    out = np.empty((u.size, 3))
    tob = 2.0 / beta
    for i in range(u.size):
        out[i, 0], out[i, 1], out[i, 2] = _isr_fraction1(u[i], grid, d, beta, tob, cst)
    return out


# ------------------------------------------------------------------ hard 2 -> 3 point
@kernel
def _hp_range1(sqrt_s, m, mz):
    """Stage 1 of ``_hard_point1``: (u_max, norm) of the Z' rapidity-like variable u, |k| = M
    sinh(u); u_max < 0 below threshold."""
    s = sqrt_s * sqrt_s
    ek_max = (s + mz * mz - 4.0 * m * m) / (2.0 * sqrt_s)
    if sqrt_s <= mz + 2.0 * m or ek_max <= mz:
        return -1.0, 1.0
    # u_max = asinh(k_max/M) = ln((E_max + k_max)/M), as log1p of the small part near threshold
    # (one log instead of asinh's log and square root)
    dk = ek_max - mz
    u_max = math.log1p((dk + math.sqrt(dk * (ek_max + mz))) / mz)
    # g(u) = min(u, 1)/norm: square roots instead of the cube roots of the soft shape u^2 near
    # u = 0 (a pow call, ~50 ns); the grid absorbs the difference
    norm = 0.5 * u_max * u_max if u_max <= 1.0 else u_max - 0.5
    return u_max, norm


@kernel
def _hp_k1(sqrt_s, m, mz, grid, r_k, u_max, norm):
    """Stage 2: (u, j_k, |k|, E_k, E12, m12/2) of the Z' momentum from its mapped uniform;
    |k| <= 0 when the point is not allowed."""
    xk, jk = _grid_map1(grid, _G_K, r_k)
    if u_max <= 1.0:
        u = u_max * math.sqrt(xk)
    else:
        t = xk * norm
        u = math.sqrt(2.0 * t) if t < 0.5 else t + 0.5
    em = math.expm1(u)  # sinh u = em (em + 2) / (2 (em + 1)), cosh u = sinh u + 1/(em + 1)
    # (shared reciprocals here and below: divisions are the slow links of this chain)
    ie = 1.0 / (em + 1.0)
    kk = 0.5 * mz * em * (em + 2.0) * ie
    ek = kk + mz * ie
    e12 = sqrt_s - ek
    m12sq = (e12 - kk) * (e12 + kk)
    half = 0.5 * math.sqrt(m12sq)
    if half <= m:
        kk = 0.0
    return u, jk, kk, ek, e12, half


@kernel
def _hp_pair1(sqrt_s, m, mz, kk, half):
    """Stage 3: (1/m12, p*, B, A - B, L) in the mu+ mu- rest frame (``_hard_point1``)."""
    m2 = m * m
    mz2 = mz * mz
    im12 = 1.0 / (2.0 * half)
    p_st = math.sqrt((half - m) * (half + m))
    k_st = sqrt_s * kk * im12  # |k| in the mu+ mu- rest frame = sqrt(lambda(s, m12^2, M^2))/(2 m12)
    ek_st = math.sqrt(k_st * k_st + mz2)
    b = 2.0 * p_st * k_st
    # A - B without cancellation: E* E_k* - p* k* = (m^2 E_k*^2 + M^2 p*^2) / (E* E_k* + p* k*)
    amb = 2.0 * (m2 * ek_st * ek_st + mz2 * p_st * p_st) / (half * ek_st + p_st * k_st) + mz2
    lg = math.log1p(2.0 * b / amb)
    return im12, p_st, b, amb, lg


@kernel
def _hp_chi1(grid, r_ch, r_x, kk, e12, half, im12, p_st, b, amb, lg):
    """Stage 4: the collinear angle chi: (j_x, d1, d2, E1, E2, z1, z2, ux) in the frame with the
    Z' along +z and the mu- in the xz plane (``_hard_point1``)."""
    xx, jx = _grid_map1(grid, _G_X, r_x)
    x = min(amb * math.expm1(xx * lg) / b, 2.0)  # 1 - cos(chi) (channel 1) or 1 + cos(chi)
    # channel ~1/D1 (r_ch < 0.5, Z' collinear with the mu-) or ~1/D2 (with the mu+): selects,
    # not branches (a random branch here costs the overlap of consecutive trials)
    near = amb + b * x
    far = amb + b * (2.0 - x)
    ch1 = r_ch < 0.5
    cchi = (1.0 - x) if ch1 else -(1.0 - x)
    d1 = near if ch1 else far
    d2 = far if ch1 else near
    # event plane = xz, Z' along +z, mu- at azimuth 0 about it; boost from the mu+ mu- rest frame
    # to the c.m. frame (velocity -|k|/E12 along z)
    ux = p_st * math.sqrt(x * (2.0 - x))
    uz = p_st * cchi
    z1 = (e12 * uz - kk * half) * im12
    e1 = (e12 * half - kk * uz) * im12
    z2 = (-e12 * uz - kk * half) * im12
    e2 = (e12 * half + kk * uz) * im12
    return jx, d1, d2, e1, e2, z1, z2, ux


@kernel
def _hp_euler1(grid, r_c, r_psi):
    """Stage 5 (needs only its uniforms): the orientation of the event, the mu- polar angle
    theta and the rotation psi about the mu-: (j_c, cos theta, sin theta, j_psi, psi/(2 pi),
    cos psi) (``_hard_point1``)."""
    # orientation: e_1 -> d (polar angle theta), e_3 -> cos(psi) e_theta + sin(psi) e_phi
    xc, jc = _grid_map1(grid, _G_C, r_c)
    cth = 1.0 - 2.0 * xc
    sth = 2.0 * math.sqrt(xc * (1.0 - xc))
    xp, jp = _grid_map1(grid, _G_PSI, r_psi)
    return jc, cth, sth, jp, xp, cos_sin_2pi1(xp)[0]


@kernel
def _hp_axes1(kk, z1, z2, ux):
    """Stage 6: |p1| and the mu+ and Z' momenta along the mu- direction e_1 = (ux, 0, z1)/|p1|
    and along e_3 = (-z1, 0, ux)/|p1|: (p1, a2, b2, ak, bk) (``_hard_point1``)."""
    p1 = math.sqrt(ux * ux + z1 * z1)
    ip1 = 1.0 / p1
    return p1, (z1 * z2 - ux * ux) * ip1, ux * (z1 + z2) * ip1, kk * z1 * ip1, kk * ux * ip1


@kernel
def _hp_final1(kk, ek, u, jk, norm, im12, p_st, b, lg, jx, d1, d2, e1, e2, p1, a2, b2, ak, bk,
               jc, cth, sth, jp, xp, cpsi):
    """Stage 7: (psw, e1, e2, pt1sq, pt2sq, ezz, d1, d2, geometry) as ``_hard_point1``."""
    # the weight needs z and pT^2 only: z = A cos(theta) - B cos(psi) sin(theta); pT has
    # components A sin(theta) + B cos(psi) cos(theta) (radial) and B sin(psi) (azimuthal)
    z1l = p1 * cth
    z2l = a2 * cth - b2 * cpsi * sth
    rad2 = a2 * sth + b2 * cpsi * cth
    pt1sq = p1 * p1 * sth * sth
    pt2sq = rad2 * rad2 + b2 * b2 * (1.0 - cpsi) * (1.0 + cpsi)
    # psw = |k|^2 p* j / (32 pi^3 m12 f g(u)), f = B (D1 + D2) / (2 L D1 D2), g(u) = min(u, 1)/norm
    psw = (_PS_NORM * kk * kk * p_st * jk * jx * jc * jp * (2.0 * lg * d1 * d2 * norm) * im12
           / (b * (d1 + d2) * min(u, 1.0)))
    geometry = (e1, e2, ek, p1, a2, b2, ak, bk, cth, sth, cpsi, xp)
    return psw, e1, e2, pt1sq, pt2sq, e1 * e2 - z1l * z2l, d1, d2, geometry


@kernel
def _hard_point1(sqrt_s, m, mz, grid, r_k, r_ch, r_x, r_c, r_psi):
    """Phase-space point of mu- mu+ Z' (c.m. frame, e- along +z) from five uniforms.

    Returns (psw, e1, e2, pt1sq, pt2sq, ezz, d1, d2, geometry): what ``_msq_core`` needs
    (energies, pT^2, E1 E2 - z1 z2, D1 = 2 p1.k + M^2 and D2 = 2 p2.k + M^2 without
    cancellation), psw = dPhi_3 / (sampling density) (GeV^2; 0 below threshold) and the
    ``geometry`` tuple from which ``_hard_momenta1`` builds the momenta of an accepted point.

    dPhi_3 = d^3k / ((2 pi)^3 2 E_k) * p*/(16 pi^2 m12) dOmega* (PDG RPP 2024, Kinematics review,
    recursive n-body phase space), p* the muon momentum in the mu+ mu- rest frame (mass m12).
    Parametrisation (rotation invariance of dPhi_3): the configuration of the planar final state
    (|k| and the angle chi of the mu- to the Z' direction in the mu+ mu- rest frame), then its
    orientation: the mu- polar angle theta to the e- beam, the rotation psi of the event plane
    about the mu- and the azimuth phi about the beam (Haar measure dcos(theta) dphi dpsi, as
    the Z' direction and the muon azimuth about it). Densities: |k| = M sinh(u), u from
    g(u) = min(u^2, 1)/norm (the soft spectrum tanh(u)^2 du); cos(chi) from
    f = B/(2 L) (1/D1 + 1/D2) (in the mu+ mu- rest frame D1 = A - B cos(chi),
    D2 = A + B cos(chi), A = 2 E* E_k* + M^2, B = 2 p* k*, L = ln((A+B)/(A-B))), exactly
    inverted; cos(theta), psi, phi uniform; the uniforms of u, chi, theta, psi pass through the
    adaptive grid (``_grid_map1``, Jacobians j). So psw = |k|^2 p* j_k j_x j_c j_psi /
    (32 pi^3 m12 f g(u)). The weight does not depend on phi, drawn for accepted points only.
    """
    u_max, norm = _hp_range1(sqrt_s, m, mz)
    if u_max < 0.0:
        return 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, _NO_GEOMETRY
    u, jk, kk, ek, e12, half = _hp_k1(sqrt_s, m, mz, grid, r_k, u_max, norm)
    if kk <= 0.0:
        return 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, _NO_GEOMETRY
    im12, p_st, b, amb, lg = _hp_pair1(sqrt_s, m, mz, kk, half)
    jx, d1, d2, e1, e2, z1, z2, ux = _hp_chi1(grid, r_ch, r_x, kk, e12, half, im12, p_st, b, amb,
                                              lg)
    jc, cth, sth, jp, xp, cpsi = _hp_euler1(grid, r_c, r_psi)
    p1, a2, b2, ak, bk = _hp_axes1(kk, z1, z2, ux)
    return _hp_final1(kk, ek, u, jk, norm, im12, p_st, b, lg, jx, d1, d2, e1, e2, p1, a2, b2, ak,
                      bk, jc, cth, sth, jp, xp, cpsi)


@kernel
def _hard_momenta1(geometry, cphi, sphi):
    """mu-, mu+, Z' (px, py, pz, e each) of a ``_hard_point1`` geometry at azimuth phi."""
    e1, e2, ek, p1, a2, b2, ak, bk, cth, sth, cpsi, xp = geometry
    spsi = cos_sin_2pi1(xp)[1]
    # d = mu- direction; g = cos(psi) e_theta + sin(psi) e_phi
    dx, dy, dz = sth * cphi, sth * sphi, cth
    gx = cpsi * cth * cphi - spsi * sphi
    gy = cpsi * cth * sphi + spsi * cphi
    gz = -cpsi * sth
    return (
        p1 * dx, p1 * dy, p1 * dz, e1,
        a2 * dx + b2 * gx, a2 * dy + b2 * gy, a2 * dz + b2 * gz, e2,
        ak * dx + bk * gx, ak * dy + bk * gy, ak * dz + bk * gz, ek,
    )  # fmt: skip


@kernel
def _sample_cm1(rng, sqrt_s, m, mz, grid):
    """One point of ``_hard_point1`` with momenta: (p1 (4), p2 (4), k (4), d1, d2, psw)."""
    r_k = rng.random()
    r_ch = rng.random()
    r_x = rng.random()
    r_c = rng.random()
    r_psi = rng.random()
    psw, _, _, _, _, _, d1, d2, geo = _hard_point1(sqrt_s, m, mz, grid, r_k, r_ch, r_x, r_c,
                                                    r_psi)
    if not psw > 0.0:
        return (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0)
    cphi, sphi = _random_azimuth1(rng)
    return _hard_momenta1(geo, cphi, sphi) + (d1, d2, psw)


@kernel
def _sample_cm_arrays(rng, n, sqrt_s, m, mz, grid):
    """``n`` points of ``_sample_cm1`` at fixed sqrt_s as an (n, 15) array (tests, diagnostics)."""
    out = np.empty((n, 15))
    for i in range(n):
        r = _sample_cm1(rng, sqrt_s, m, mz, grid)
        for j in range(15):
            out[i, j] = r[j]
    return out


#: uniforms per trial: two ISR fractions, five of the hard point, the hit (``_draw_block1``)
TRIAL_UNIFORMS = 8
#: trials per block: their uniforms and beam-energy normals are drawn in bulk (2.3 ns per uniform
#: instead of 6.6 ns as scalar draws in a kernel, numba 0.68, PCG64; docs/benchmarks.md), then
#: their weights are computed in one loop without the unpredictable hit branch (``_block1``)
BLOCK_TRIALS = 512


@kernel
def _draw_block1(rng, nbk, spread_her, spread_ler, nh, nl):
    """The random numbers of a block of ``nbk`` trials: (pool, nh, nl), ``TRIAL_UNIFORMS``
    uniforms per trial, then the standard normals of the e- and e+ beam energies (drawn only for
    a beam with an energy spread; else ``nh``, ``nl`` are returned as given). New arrays from
    the generator, not copied into scratch ones (6 ns per trial, measured). Every block takes the
    same draws whatever the number of events wanted, so the events are a deterministic function
    of the stream."""
    pool = rng.random(nbk * TRIAL_UNIFORMS)
    if spread_her > 0.0:
        nh = rng.standard_normal(nbk)
    if spread_ler > 0.0:
        nl = rng.standard_normal(nbk)
    return pool, nh, nl


@kernel
def _isr_stage1(pool, k, eh, el, sin_a, cos_a, cst, m, mz, isr, e_min, grid):
    """First stage of a trial: (ISR weight wi (0 below the mu mu Z' threshold), sqrt_s, v1, v2,
    sqrt_sp) from the beam energies and the ISR uniforms ``pool[k:k + 2]``; the hard point
    (``_hard_point1``, ``_weight1``) takes the five uniforms ``pool[k + 2:k + 7]``.

    The trial weight w (pb) = [ISR weight D(x1) D(x2)/pdf * ISR_K_FACTOR] * GEV2_TO_PB * 1/(2s')
    * (1/4) sum|M|^2 * psw at s' = (1 - v1)(1 - v2) s (s' = s without ISR; flux for massless beams,
    spin average 1/4) times the vacuum polarisation |1/(1 - Delta alpha(s'))|^2 if ``vp``
    (``gen.vacpol``, tabulated: 2e-8 relative). ISR as ``gen.radiation.isr_fractions_c1``
    (structure functions with beta = ``ll_beta(s, m_e)`` via ``ll_beta_near1``; ``cst`` of
    ``isr_consts1``; photons below ``e_min`` not produced: v = 0) with the soft channels through
    the grid (``_isr_fraction1``). The hard momenta live in the rest frame of Q = P - k1 - k2
    with the colliding e- along +z. w = 0 below the mu mu Z' threshold.
    """
    sqrt_s = collision_sqrt_s_sc1(eh, el, sin_a, cos_a)
    wi, v1, v2 = 1.0, 0.0, 0.0
    sqrt_sp = sqrt_s
    if isr:
        s = sqrt_s * sqrt_s
        beta = ll_beta_near1(s, cst[0], cst[1], M_E)
        tob = 2.0 / beta
        v1, n1, d1 = _isr_fraction1(pool[k], grid, _G_ISR1, beta, tob, cst)
        v2, n2, d2 = _isr_fraction1(pool[k + 1], grid, _G_ISR2, beta, tob, cst)
        wi, v1, v2, sqrt_sp = _isr_combine1(sqrt_s, v1, n1, d1, v2, n2, d2, m, mz, e_min)
    return wi, sqrt_s, v1, v2, sqrt_sp


@kernel
def _isr_combine1(sqrt_s, v1, n1, d1, v2, n2, d2, m, mz, e_min):
    """(wi, v1, v2, sqrt_sp) of ``_isr_stage1`` from the two beams' ``_isr_fraction1``."""
    eb = 0.5 * sqrt_s
    if v1 * eb < e_min:
        v1 = 0.0
    if v2 * eb < e_min:
        v2 = 0.0
    wi = (n1 * n2) / (d1 * d2) * ISR_K_FACTOR
    sp = (1.0 - v1) * (1.0 - v2) * (sqrt_s * sqrt_s)
    thr = mz + 2.0 * m
    if wi <= 0.0 or sp <= thr * thr:
        return 0.0, v1, v2, 0.0
    return wi, v1, v2, math.sqrt(sp)


@kernel
def _weight1(wi, sqrt_sp, psw, e1, e2, pt1sq, pt2sq, ezz, d1, d2, m, mz, g_prime, vp):
    """Trial weight (pb; ``_isr_stage1``) from the ISR weight ``wi`` and a hard point at
    sqrt(s') (``_hard_point1``; w = 0 for psw <= 0)."""
    w = 0.0
    if psw > 0.0:
        msq = _msq_core(sqrt_sp, e1, e2, pt1sq, pt2sq, ezz, d1, d2, m, mz, g_prime)
        sp = sqrt_sp * sqrt_sp
        w = wi * (GEV2_TO_PB * 0.125 / sp) * msq * psw
        if vp:
            w *= vp_factor_tab1(sp)
    return w


@kernel
def _beam_energy1(e_nom, spread, normal):
    """Beam energy from its standard normal (``gen.beams.sample_beam_energies1``'s formula)."""
    return e_nom + spread * normal if spread > 0.0 else e_nom


#: columns of the per-block scratch array of ``_block1`` (the stages of ``_isr_stage1`` and
#: ``_hard_point1``)
_HS_COLS = 32


@kernel
def _block1(pool, nh, nl, nt, e_her, e_ler, spread_her, spread_ler, sin_a, cos_a, cst, m, mz,
            g_prime, vp, isr, e_min, grid, w, tr, geo, hs):
    """Trials 0 .. nt-1 of a block: weights into ``w``, (eh, el, sqrt_s, v1, v2, sqrt_sp) into
    the rows of ``tr``, the hard-point geometry into the rows of ``geo``.

    Bit for bit ``_isr_stage1`` followed by ``_hard_point1`` (and ``_msq_core``) for each
    trial, but stage by stage over the block, the intermediate values in the scratch rows of
    ``hs`` (``_HS_COLS``): one trial's hard point is a dependent chain of square roots,
    divisions, expm1 and log1p too long for the CPU's reorder window, so it would not overlap
    consecutive trials; short loops do. Trials below threshold get w = 0.
    """
    for t in range(nt):
        eh = _beam_energy1(e_her, spread_her, nh[t])
        el = _beam_energy1(e_ler, spread_ler, nl[t])
        sqrt_s = collision_sqrt_s_sc1(eh, el, sin_a, cos_a)
        tr[t, 0], tr[t, 1], tr[t, 2] = eh, el, sqrt_s
        if isr:
            hs[t, 21] = ll_beta_near1(sqrt_s * sqrt_s, cst[0], cst[1], M_E)
            hs[t, 22] = 2.0 / hs[t, 21]
        else:
            w[t] = 1.0
            tr[t, 3], tr[t, 4], tr[t, 5] = 0.0, 0.0, sqrt_s
    if isr:
        # ``_isr_fraction1`` in three loops over the block (soft channel: grid map and log, exp,
        # the rest; scratch columns 0-7, free until the hard point): bit for bit the same values
        a = cst[2]
        for i in range(2):
            for t in range(nt):
                u = pool[t * TRIAL_UNIFORMS + i]
                if u >= a:
                    wg, j = _grid_map1(grid, _G_ISR1 + i, (u - a) * cst[4])
                    hs[t, 3 * i], hs[t, 3 * i + 1] = wg, j
                    hs[t, 3 * i + 2] = hs[t, 22] * math.log(wg) if wg > 0.0 else 0.0
            for t in range(nt):
                if pool[t * TRIAL_UNIFORMS + i] >= a and hs[t, 3 * i] > 0.0:
                    hs[t, 6 + i] = math.exp(hs[t, 3 * i + 2])
            for t in range(nt):
                u = pool[t * TRIAL_UNIFORMS + i]
                c = 23 + 3 * i
                if u >= a:
                    hs[t, c], hs[t, c + 1], hs[t, c + 2] = _isr_soft_finish1(
                        hs[t, 3 * i], hs[t, 3 * i + 1], hs[t, 3 * i + 2], hs[t, 6 + i],
                        hs[t, 21], hs[t, 22], cst)
                else:
                    hs[t, c], hs[t, c + 1], hs[t, c + 2] = _isr_fraction1(
                        u, grid, _G_ISR1 + i, hs[t, 21], hs[t, 22], cst)
        for t in range(nt):
            w[t], tr[t, 3], tr[t, 4], tr[t, 5] = _isr_combine1(
                tr[t, 2], hs[t, 23], hs[t, 24], hs[t, 25], hs[t, 26], hs[t, 27], hs[t, 28], m,
                mz, e_min)
    for t in range(nt):
        hs[t, 0], hs[t, 1] = _hp_range1(tr[t, 5], m, mz) if w[t] > 0.0 else (-1.0, 1.0)
    for t in range(nt):
        hs[t, 4] = 0.0  # |k|: 0 marks a trial without a hard point
        if hs[t, 0] >= 0.0:
            k = t * TRIAL_UNIFORMS
            hs[t, 2], hs[t, 3], hs[t, 4], hs[t, 5], hs[t, 6], hs[t, 7] = _hp_k1(
                tr[t, 5], m, mz, grid, pool[k + 2], hs[t, 0], hs[t, 1])
    for t in range(nt):
        if hs[t, 4] > 0.0:
            hs[t, 8], hs[t, 9], hs[t, 10], hs[t, 11], hs[t, 12] = _hp_pair1(
                tr[t, 5], m, mz, hs[t, 4], hs[t, 7])
    for t in range(nt):
        if hs[t, 4] > 0.0:
            k = t * TRIAL_UNIFORMS
            (hs[t, 13], hs[t, 14], hs[t, 15], hs[t, 16], hs[t, 17], hs[t, 18], hs[t, 19],
             hs[t, 20]) = _hp_chi1(grid, pool[k + 3], pool[k + 4], hs[t, 4], hs[t, 6], hs[t, 7],
                                   hs[t, 8], hs[t, 9], hs[t, 10], hs[t, 11], hs[t, 12])
    for t in range(nt):
        if hs[t, 4] > 0.0:
            k = t * TRIAL_UNIFORMS
            hs[t, 21], hs[t, 22], hs[t, 23], hs[t, 24], hs[t, 25], hs[t, 26] = _hp_euler1(
                grid, pool[k + 5], pool[k + 6])
    for t in range(nt):
        if hs[t, 4] > 0.0:
            hs[t, 27], hs[t, 28], hs[t, 29], hs[t, 30], hs[t, 31] = _hp_axes1(
                hs[t, 4], hs[t, 18], hs[t, 19], hs[t, 20])
    for t in range(nt):
        if not hs[t, 4] > 0.0:
            w[t] = 0.0
            continue
        psw, e1, e2, pt1sq, pt2sq, ezz, d1, d2, g = _hp_final1(
            hs[t, 4], hs[t, 5], hs[t, 2], hs[t, 3], hs[t, 1], hs[t, 8], hs[t, 9], hs[t, 10],
            hs[t, 12], hs[t, 13], hs[t, 14], hs[t, 15], hs[t, 16], hs[t, 17], hs[t, 27],
            hs[t, 28], hs[t, 29], hs[t, 30], hs[t, 31], hs[t, 21], hs[t, 22], hs[t, 23],
            hs[t, 24], hs[t, 25], hs[t, 26])
        w[t] = _weight1(w[t], tr[t, 5], psw, e1, e2, pt1sq, pt2sq, ezz, d1, d2, m, mz, g_prime,
                        vp)
        (geo[t, 0], geo[t, 1], geo[t, 2], geo[t, 3], geo[t, 4], geo[t, 5], geo[t, 6], geo[t, 7],
         geo[t, 8], geo[t, 9], geo[t, 10], geo[t, 11]) = g


@kernel
def _trial_bins1(pool, k, isr, cst, nb, out, row):
    """Grid bins of a trial's uniforms into ``out[row]`` (GRID_DIMS): the hard point's four
    mapped uniforms; an ISR dimension's soft-channel bin, or ``nb`` ("not used") for the dx/x
    channel or without ISR."""
    out[row, _G_K] = min(int(pool[k + 2] * nb), nb - 1)
    out[row, _G_X] = min(int(pool[k + 4] * nb), nb - 1)
    out[row, _G_C] = min(int(pool[k + 5] * nb), nb - 1)
    out[row, _G_PSI] = min(int(pool[k + 6] * nb), nb - 1)
    for i in range(2):
        u = pool[k + i]
        b = nb
        if isr and u >= cst[2]:
            b = min(int((u - cst[2]) * cst[4] * nb), nb - 1)
        out[row, _G_ISR1 + i] = b


@kernel
def _chunk_constants1(e_her, e_ler, half_angle, hard_fraction, x_min):
    """Per-chunk constants of a trial: the crossing-angle sin/cos and the ISR constants about
    the nominal sqrt(s) (``gen.radiation.isr_consts1``)."""
    sin_a, cos_a = crossing_trig1(half_angle)
    sqrt_s0 = collision_sqrt_s_sc1(e_her, e_ler, sin_a, cos_a)
    return sin_a, cos_a, isr_consts1(sqrt_s0, M_E, hard_fraction, x_min)


@kernel
def _trial_weights(rng, n, e_her, e_ler, spread_her, spread_ler, half_angle, m, mz, g_prime, vp,
                   isr, hard_fraction, x_min, e_min, grid):
    """Weights of ``n`` trials and the grid bins of each trial (n, GRID_DIMS); the same blocks
    of draws as ``_generate``."""
    out = np.empty(n)
    bins = np.empty((n, GRID_DIMS), np.int64)
    nb = grid.shape[1] - 1
    sin_a, cos_a, cst = _chunk_constants1(e_her, e_ler, half_angle, hard_fraction, x_min)
    nbk = BLOCK_TRIALS
    nh, nl, wb = np.empty(nbk), np.empty(nbk), np.empty(nbk)
    tr, geo, hs = np.empty((nbk, 6)), np.empty((nbk, 12)), np.empty((nbk, _HS_COLS))
    done = 0
    while done < n:
        pool, nh, nl = _draw_block1(rng, nbk, spread_her, spread_ler, nh, nl)
        nt = min(nbk, n - done)
        _block1(pool, nh, nl, nt, e_her, e_ler, spread_her, spread_ler, sin_a, cos_a, cst, m, mz,
                g_prime, vp, isr, e_min, grid, wb, tr, geo, hs)
        for t in range(nt):
            out[done + t] = wb[t]
            _trial_bins1(pool, t * TRIAL_UNIFORMS, isr, cst, nb, bins, done + t)
        done += nt
    return out, bins


@kernel
def _cm_to_lab_axes1(eh, el, sqrt_s, sin_a, cos_a):
    """``gen.beams.cm_to_lab1`` as a matrix: the lab images of the c.m. x, z and time axes,
    (xx, xz, xe, zx, zz, ze, tx, tz, te) (x, z, e components; no y components).

    The transformation B_b R_n takes the beams' c.m. four-momenta (E*, 0, 0, +-p*) (equal
    masses: equal energies E* = sqrt(s)/2, p* = sqrt(s/4 - m_e^2)) onto their lab momenta p-, p+
    (``gen.beams``), so it maps the time axis onto T = (p- + p+)/sqrt(s) and the z axis onto
    Z = (p- - p+)/(2 p*). Both beams lie in the x-z plane (``gen.beams._beam_vector``: n_y = 0,
    b_y = 0), so R_n is a rotation about y and the y axis stays the y axis; the image X of the x
    axis is then fixed by Minkowski orthonormality and det = +1: X = T_ x Z_ (Euclidean cross
    product of the lowered (e, x, z) components; = x axis for T = e_t, Z = e_z). The same
    matrix as ``cm_to_lab1`` to rounding (tests), with 2 divisions and 3 square roots instead of
    ~14 and ~5.
    """
    ph = math.sqrt(max(eh * eh - M_E * M_E, 0.0))
    pl = math.sqrt(max(el * el - M_E * M_E, 0.0))
    i_s = 1.0 / sqrt_s
    i_p = 0.5 / math.sqrt(max(0.25 * sqrt_s * sqrt_s - M_E * M_E, 0.0))
    tx, tz, te = (ph + pl) * sin_a * i_s, (ph - pl) * cos_a * i_s, (eh + el) * i_s
    zx, zz, ze = (ph - pl) * sin_a * i_p, (ph + pl) * cos_a * i_p, (eh - el) * i_p
    return te * zz - tz * ze, tx * ze - te * zx, tx * zz - tz * zx, zx, zz, ze, tx, tz, te


@kernel
def _hard_to_cm_axes1(qx, qy, qz, qe, sqrt_sp):
    """A Lorentz transformation from the hard frame to the c.m. frame: the images X, Y (4
    components each), Z (z and e components; x = y = 0) and T (4) of the hard frame's axes.

    The hard frame is the rest frame of Q = (qx, qy, qz, qe) (c.m. frame, Q^2 = s') with its z
    axis along the Collins-Soper axis (module docstring; Collins, Soper, Phys. Rev. D 16 (1977)
    2219): T = Q/sqrt(s'); for massless beams P1 ~ (0, 0, 1, 1), P2 ~ (0, 0, -1, 1) the bisector
    of the e- and reversed e+ directions in the Q rest frame is the four-vector
    P1/(Q.P1) - P2/(Q.P2) ~ (0, 0, Q^0, Q_z) (Minkowski-orthogonal to Q), normalised:
    Z = (0, 0, Q^0, Q_z)/sqrt(s' + Q_T^2). The axes about Z (X, Y) are any completing proper
    orthonormal pair: Gram-Schmidt of the c.m. y, then x axis (Y = (e_y + Q_y/s' Q) / sqrt(1 +
    Q_y^2/s'), X = (e_x + Q_x/s' Q - Y_x Y) / sqrt(1 + Q_x^2/(s' + Q_y^2)); Y.Z = X.Z = 0 since Z
    has no x, y components and Z.Q = 0). A rotation about the Collins-Soper axis against the
    former choice (minimal rotation z -> axis, then the boost) only shifts the azimuth phi of
    the hard process about that axis, which is uniform and independent of everything else.
    """
    sp = sqrt_sp * sqrt_sp
    isp = 1.0 / sp
    im = sqrt_sp * isp
    iz = 1.0 / math.sqrt(sp + qx * qx + qy * qy)
    cy = qy * isp
    ny = 1.0 / math.sqrt(1.0 + cy * qy)
    yx, yy, yz, ye = cy * qx * ny, (1.0 + cy * qy) * ny, cy * qz * ny, cy * qe * ny
    cx = qx * isp
    nx = 1.0 / math.sqrt(1.0 + cx * qx - yx * yx)  # = 1 + Q_x^2/(s' + Q_y^2) >= 1
    xx = (1.0 + cx * qx - yx * yx) * nx
    xy = (cx * qy - yx * yy) * nx
    xz = (cx * qz - yx * yz) * nx
    xe = (cx * qe - yx * ye) * nx
    return (xx, xy, xz, xe, yx, yy, yz, ye, qe * iz, qz * iz, qx * im, qy * im, qz * im,
            qe * im)


#: ``_hard_to_cm_axes1`` for Q at rest (no ISR photon): the identity
_NO_PHOTON_AXES = (1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0)


@kernel
def _cm_row_to_lab1(mom, pos, cx, cy, cz, ce, c):
    """Column ``pos`` of ``mom``: the c.m. four-vector (cx, cy, cz, ce) in the lab (``c``: the
    axes of ``_cm_to_lab_axes1``)."""
    mom[0, pos] = cx * c[0] + cz * c[3] + ce * c[6]
    mom[1, pos] = cy
    mom[2, pos] = cx * c[1] + cz * c[4] + ce * c[7]
    mom[3, pos] = cx * c[2] + cz * c[5] + ce * c[8]


@kernel
def _hard_row_to_lab1(mom, pos, px, py, pz, e, a, c):
    """Column ``pos`` of ``mom``: the hard-frame four-vector (px, py, pz, e) in the lab (``a``:
    the axes of ``_hard_to_cm_axes1``, ``c``: of ``_cm_to_lab_axes1``)."""
    _cm_row_to_lab1(mom, pos,
                    px * a[0] + py * a[4] + e * a[10],
                    px * a[1] + py * a[5] + e * a[11],
                    px * a[2] + py * a[6] + pz * a[8] + e * a[12],
                    px * a[3] + py * a[7] + pz * a[9] + e * a[13], c)


@kernel
def _write_event1(mom, pdg, offset, i, sqrt_s, eh, el, sin_a, cos_a, kk, h, sqrt_sp):
    """Event ``i`` in the lab, appended to the output arrays (``gen.unweight.new_events``):
    mu-, mu+, Z' (``h``: 12 momenta, hard frame at sqrt(s') = ``sqrt_sp``) and the ISR photons
    (``kk``, c.m. frame; the e- beam's, then the e+ beam's, if their energy is > 0).

    Hard frame -> c.m. (``_hard_to_cm_axes1``, Q = P - k1 - k2) -> lab (``_cm_to_lab_axes1``):
    each a matrix of the images of the axes, applied with 9 + 14 products per vector and
    written straight into the output (no scratch rows).
    """
    c = _cm_to_lab_axes1(eh, el, sqrt_s, sin_a, cos_a)
    a = _NO_PHOTON_AXES  # no photon: Q = (0, 0, 0, sqrt(s)), the hard frame is the c.m. frame
    if kk[0, 3] > 0.0 or kk[1, 3] > 0.0:
        a = _hard_to_cm_axes1(-(kk[0, 0] + kk[1, 0]), -(kk[0, 1] + kk[1, 1]),
                              -(kk[0, 2] + kk[1, 2]), sqrt_s - kk[0, 3] - kk[1, 3], sqrt_sp)
    pos = offset[i]
    # three explicit calls: a loop would index the tuple ``h`` at run time (slow in numba)
    _hard_row_to_lab1(mom, pos, h[0], h[1], h[2], h[3], a, c)
    _hard_row_to_lab1(mom, pos + 1, h[4], h[5], h[6], h[7], a, c)
    _hard_row_to_lab1(mom, pos + 2, h[8], h[9], h[10], h[11], a, c)
    pdg[pos], pdg[pos + 1], pdg[pos + 2] = MUON, -MUON, ZPRIME
    pos += 3
    for r in range(2):
        if kk[r, 3] > 0.0:
            _cm_row_to_lab1(mom, pos, kk[r, 0], kk[r, 1], kk[r, 2], kk[r, 3], c)
            pdg[pos] = PHOTON
            pos += 1
    offset[i + 1] = pos


@kernel
def _isr_photon_momenta1(rng, sqrt_s, v1, v2, k):
    """``gen.radiation.isr_photon_momenta_polar1`` for the e+ e- beams with the azimuths from one
    uniform each through ``cos_sin_2pi1`` (instead of the polar rejection, 2.55 draws and two
    divisions): the same distribution of the photon momenta (directions from one dipole leg of
    each beam, ``sample_emission_angle_p1``; energies of the recoil scheme,
    ``isr_recoil_energies1``), other draws."""
    eb = 0.5 * sqrt_s
    b = omb = lnr = -1.0
    if v1 > 0.0 or v2 > 0.0:
        b, omb, lnr = emission_params1(eb, M_E)
    for i in range(2):
        for j in range(4):
            k[i, j] = 0.0
        v = v1 if i == 0 else v2
        if v <= 0.0:
            continue
        c, sn = sample_emission_angle_p1(rng, b, omb, lnr)
        cphi, sphi = cos_sin_2pi1(rng.random())
        k[i, 0] = sn * cphi
        k[i, 1] = sn * sphi
        k[i, 2] = c if i == 0 else -c
    isr_recoil_energies1(k, v1 * eb, v2 * eb, sqrt_s)


@kernel
def _isr_photon_arrays(rng, n, sqrt_s, v1, v2):
    """``n`` photon pairs of ``_isr_photon_momenta1`` as an (n, 8) array (tests)."""
    out = np.empty((n, 8))
    k = np.zeros((2, 4))
    for i in range(n):
        _isr_photon_momenta1(rng, sqrt_s, v1, v2, k)
        for j in range(8):
            out[i, j] = k[j // 4, j % 4]
    return out


@kernel
def _generate(
    rng, n, w_max, e_her, e_ler, spread_her, spread_ler, half_angle, m, mz, g_prime, vp,
    isr, hard_fraction, x_min, e_min, grid,
):  # fmt: skip
    """Hit-or-miss until n events; returns particle arrays, offsets, truth and statistics.

    Blocks of ``BLOCK_TRIALS`` trials: their random numbers drawn in bulk (``_draw_block1``), their
    weights in one loop (``_block1``), then the trials in order: statistics, hit, and for accepted
    trials the azimuth phi (from the chi channel uniform) and the photon directions (which do not
    change the weight; scalar draws from ``rng`` after the block's bulk draws), then the frames
    (``_write_event1``). Trials after the n-th event are not counted.
    """
    mom, pdg, offset = new_events(n, 5)
    t_sqrt_s = np.empty(n)
    t_sqrt_sp = np.empty(n)
    kk = np.zeros((2, 4))
    stats = new_stats()
    sin_a, cos_a, cst = _chunk_constants1(e_her, e_ler, half_angle, hard_fraction, x_min)
    nbk = BLOCK_TRIALS
    nh, nl, wb = np.empty(nbk), np.empty(nbk), np.empty(nbk)
    tr, geo, hs = np.empty((nbk, 6)), np.empty((nbk, 12)), np.empty((nbk, _HS_COLS))
    acc = np.empty(nbk, np.int64)
    ev = np.empty((nbk, 10))
    i = 0
    while i < n:
        pool, nh, nl = _draw_block1(rng, nbk, spread_her, spread_ler, nh, nl)
        _block1(pool, nh, nl, nbk, e_her, e_ler, spread_her, spread_ler, sin_a, cos_a, cst, m,
                mz, g_prime, vp, isr, e_min, grid, wb, tr, geo, hs)
        # hits in trial order (gen.unweight.unweight1 with the hit uniform from the block)
        na = 0
        for t in range(nbk):
            w = wb[t]
            count_trial1(stats, w, w_max)
            if w > 0.0 and pool[(t + 1) * TRIAL_UNIFORMS - 1] * w_max < w:
                acc[na] = t
                # the azimuth phi / (2 pi) = frac(2 r_ch): the channel uniform r_ch of
                # ``_hp_chi1`` only decides r_ch < 0.5, so 2 r_ch mod 1 (exact in floating
                # point) is uniform in [0, 1) and independent of the trial, hit included
                r2 = 2.0 * pool[t * TRIAL_UNIFORMS + 3]
                ev[na, 0] = r2 - 1.0 if r2 >= 1.0 else r2
                na += 1
                if i + na == n:
                    break
        # the draws of the accepted events, in trial order: photon momenta
        for j in range(na):
            t = acc[j]
            if isr:
                _isr_photon_momenta1(rng, tr[t, 2], tr[t, 3], tr[t, 4], kk)
                for c in range(8):
                    ev[j, 2 + c] = kk[c // 4, c % 4]
        # their momenta in the lab (a separate loop: the CPU overlaps consecutive events)
        for j in range(na):
            t = acc[j]
            cphi, sphi = cos_sin_2pi1(ev[j, 0])
            h = _hard_momenta1((geo[t, 0], geo[t, 1], geo[t, 2], geo[t, 3], geo[t, 4], geo[t, 5],
                                geo[t, 6], geo[t, 7], geo[t, 8], geo[t, 9], geo[t, 10],
                                geo[t, 11]), cphi, sphi)
            if isr:
                for c in range(8):
                    kk[c // 4, c % 4] = ev[j, 2 + c]
            sqrt_s = tr[t, 2]
            _write_event1(mom, pdg, offset, i, sqrt_s, tr[t, 0], tr[t, 1], sin_a, cos_a, kk, h,
                          tr[t, 5])
            t_sqrt_s[i] = sqrt_s
            t_sqrt_sp[i] = tr[t, 5]
            i += 1
    return mom, pdg, offset, t_sqrt_s, t_sqrt_sp, stats


#: position of g' in ``MuMuZPrime._args`` (after the five beam values, m_mu and M)
_ARG_G_PRIME = 7


class MuMuZPrime(Process):
    """e+ e- -> mu+ mu- Z' with an invisible (final-state) L_mu - L_tau Z'."""

    name = "mumu_zprime"
    description = (
        "e+ e- -> mu+ mu- Z' (L_mu - L_tau Z' radiated off a muon; exact tree-level |M|^2 with "
        "muon mass), Z' invisible, ISR structure functions"
    )
    params = {
        "mass_gev": Param(
            float,
            doc="Z' mass in GeV (0 < M < sqrt(s) - 2 m_mu)",
            minimum=0.0,
            exclusive_minimum=True,
            required=True,
        ),
        "g_prime": Param(
            float,
            default=DEFAULT_G_PRIME,
            doc="L_mu - L_tau gauge coupling g' (cross section scales as g'^2); perturbative: "
            "g'^2/(4 pi) < 1",
            minimum=0.0,
            exclusive_minimum=True,
            maximum=math.sqrt(4.0 * math.pi),
        ),
        "decay": Param(
            str,
            default="invisible",
            doc="Z' decay mode: 'invisible' writes the Z' as a final-state particle",
            choices=DECAY_MODES,
        ),
        "isr": Param(
            bool,
            default=True,
            doc="initial-state radiation (Kuraev-Fadin structure functions, photons written)",
        ),
        "vacuum_polarisation": Param(
            bool,
            default=True,
            doc="running alpha in the s-channel photon: |M|^2 times |1/(1 - Delta alpha(s'))|^2 "
            "(gen.vacpol; +7.7 % at 10.58 GeV)",
        ),
        "photon_min_energy_gev": Param(
            float,
            default=1e-4,
            doc="ISR photons softer than this (c.m. frame) are not produced (energy kept by the "
            "beam)",
            minimum=1e-6,
            maximum=0.05,
        ),
    }
    cuts = {}

    def validate(self, where: str) -> None:
        mz = self.p["mass_gev"]
        limit = self.beams.sqrt_s_gev - 2.0 * M_MU
        if not mz < limit:
            raise CardError(
                f"{where}.mass_gev: must be < sqrt(s) - 2 m_mu = {limit:.6g} GeV for these beams, "
                f"got {mz!r}"
            )

    def __init__(self, params: dict, cuts: dict, beams) -> None:
        super().__init__(params, cuts, beams)
        #: adaptive sampling grid (``refine_grid``), trained by ``prepare``; plain sampling before
        self.grid = identity_grid()

    def _args(self) -> tuple:
        """Beams, masses, coupling, VP, ISR switch and sampling, photon cut, grid."""
        mz = float(self.p["mass_gev"])
        # lower edge of the dx/x ISR channel: the mu mu Z' threshold x_min = (M + 2 m_mu)^2 / s
        x_min = (mz + 2.0 * M_MU) ** 2 / self.beams.sqrt_s_gev**2
        return (
            *self.beams.as_tuple(), M_MU, mz, float(self.p["g_prime"]),
            bool(self.p["vacuum_polarisation"]), bool(self.p["isr"]),
            ISR_HARD_FRACTION if mz < ISR_LIGHT_MASS_GEV else ISR_HARD_FRACTION_HEAVY, x_min,
            float(self.p["photon_min_energy_gev"]), self.grid,
        )  # fmt: skip

    def train_grid(self, rng: np.random.Generator, iterations: int = GRID_ITERATIONS,
                   points: int = GRID_POINTS) -> None:
        """Adapt ``self.grid`` to the trial weights (VEGAS refinement, ``refine_grid``)."""
        # with g' = 1: the weights scale exactly as g'^2 and the grid (hence the events) must not
        # depend on g' even in the last bit (tests)
        args = list(self._args()[:-1])
        args[_ARG_G_PRIME] = 1.0
        grid = identity_grid()
        for _ in range(iterations):
            w, bins = _trial_weights(rng, int(points), *args, grid)
            grid = refine_grid(grid, bins, w)
        self.grid = grid

    def prepare(self, rng: np.random.Generator, points: int = PILOT_POINTS) -> None:
        """Grid training, then the pilot run (``Process.prepare``) with
        ``PILOT_SAFETY_SHARP_EDGE`` as safety factor; one pilot stream for both."""
        # training trials scale with the pilot (a short pilot stays short: bench_startup.py)
        self.train_grid(rng, points=min(GRID_POINTS, max(int(points) // 5, 1000)))
        super().prepare(rng, points)
        self.w_max *= PILOT_SAFETY_SHARP_EDGE / PILOT_SAFETY

    def trial_weights(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return _trial_weights(rng, int(n), *self._args())[0]

    def generate(self, rng: np.random.Generator, n: int) -> tuple[EventChunk, SamplingStats]:
        if not self.w_max > 0.0:
            raise RuntimeError(f"process {self.name!r}: call prepare() before generate()")
        n = int(n)
        mom, pdg, offset, sqrt_s, sqrt_sp, stats = _generate(rng, n, self.w_max, *self._args())
        truth = {
            "m_x": np.full(n, float(self.p["mass_gev"])),
            "sqrt_s": sqrt_s,
            "sqrt_s_prime": sqrt_sp,
        }
        return checked_chunk(mom, pdg, offset, truth, self.name), stats_from_array(stats)
