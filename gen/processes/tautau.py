"""e+e- -> tau+ tau- (gamma), both taus decayed (``gen.decays.tau``).

Born (photon exchange, massless electrons, tau mass kept; PDG RPP 2024 "Cross-section
formulae", e+e- -> f f-bar; Peskin & Schroeder sec. 5.1 with the final-state mass kept):

    dsigma/dcos = (pi alpha^2 / (2 s)) beta [1 + cos^2 + (1 - beta^2) sin^2],
    sigma       = (4 pi alpha^2 / (3 s)) beta (3 - beta^2) / 2,   beta = sqrt(1 - 4 m_tau^2 / s),

alpha = alpha(0): 0.772 nb at sqrt(s) = 10.58 GeV. As in ``mumu`` (formulas in
``gen.processes.ffbar``): ``z_exchange`` adds the tree-level Z (< 1e-4 of sigma here) and
``vacuum_polarisation`` (default) the running alpha(s') of the photon exchange at the s' of the
tau pair after ISR (``gen.vacpol``), +7.7 % on the Born value. With ISR + FSR + running alpha
sigma = 0.917 nb, against 0.919 nb of KKMC (Belle II Physics Book arXiv:1808.10567, table of
e+e- cross sections at the Upsilon(4S); tests/validation/test_xsec_lepton_pairs.py).

Radiation (``gen.radiation``, params ``isr`` and ``fsr``): ISR by electron structure functions
(Kuraev-Fadin) with the K_ISR factor, the tau pair produced in the rest frame of
Q = P_beams - k1 - k2 with the Born angular distribution about the Collins-Soper axis; FSR
PHOTOS-like off the taus (before their decays), with the inclusive massive O(alpha) factor
``gen.radiation.fsr_k_factor1`` (Schwinger) at the tau velocity in the pair frame: +0.085 % over
the massless 1 + 3 alpha/(4 pi) at 10.58 GeV (the Coulomb term). Radiation inside tau decays is
not generated.

Spin (``spin_correlations``, default on): the Born tau+ tau- spin correlations of
e+e- -> gamma* -> tau+ tau- (Tsai, Phys. Rev. D4 (1971) 2821) through the polarimeter vectors of
the l nu nu, pi nu, K nu, rho nu, K* nu and a1 nu (3 pi nu) decays (TAUOLA, Jadach, Kuhn, Was,
CPC 64 (1991) 275), by a rigid rotation of the tau+ rest-frame decay with the law of an
accept/reject on W = 1 + h- C h+ (``gen.decays.tau_spin``): events stay unweighted, the
tau-pair kinematics, the mode fractions and single-tau spectra are unchanged. The multi-body
phase-space modes (8.3 %), and the small tau polarisation of the Z exchange, are decayed
without spin (h = 0). Measured: corr(x+, x-) of tau+ tau- -> pi+ nu pi- nu =
0.299 +- 0.007 against (1 + beta^2)/(3 (3 - beta^2)) = 0.298 (tests/gen/test_tau_spin.py).

``one_prong_only``: both taus decay only in the modes of ``gen.decays.tau.one_prong_mask()``
(modes that can give exactly one charged particle); every trial weight, hence the cross section
in the file, is multiplied by B1^2, B1 = sum of their branching fractions (0.8754).

Importance sampling of the decay modes (``mode_bias``, a table {class = b}; classes of
``gen.decays.tau.MODE_CLASSES``: e, mu, pi, k, rho, one_prong, multi_prong, unlisted b = 1):
each tau decays in mode m with probability q_m = BF_m b_m / Z, Z = sum BF b (``tau_tables``).
Every trial keeps the unbiased cross-section weight w_sigma = W (BF-/q-)(BF+/q+) = W Z^2 /
(b- b+) (W: Born x radiation x cuts), so sigma within cuts = <w_sigma> stays exact; the
hit-or-miss uses w_hit = W Z^2, so accepted events follow sigma x b- b+ and get the weight
1/(b- b+). Because the cut acceptance depends on the modes, the mean of 1/(b- b+) over accepted
events is not known in advance: each block's weights are normalised to mean 1 (self-normalised
importance sampling, relative bias O(1/8192) per block), so sigma x L / N x weight is the
expected yield per event as for unweighted files. With all b equal the events are unweighted
(weight exactly 1) and ``weighted`` is False. Standard references: F. James, Rep. Prog. Phys.
43 (1980) 1145, sec. 4 (importance sampling); A. B. Owen, "Monte Carlo theory, methods and
examples" (2013), ch. 9 (self-normalised importance sampling).

Hit before the decays (exact in distribution): a trial's production variables y (collision,
ISR, Born angle, FSR) give w0 = W Z^2 (0 if a photon of y fails the photon veto); the decay
variables z (modes, decay kinematics, spin) are drawn after y, pass(y, z) in {0, 1} is the cut
decision and r(z) = 1/(b- b+). The full-weight hit-or-miss accepts with probability
min(w0 pass / w_max, 1) = pass min(w0 / w_max, 1), so the hit uniform u is drawn right after y
(hit H: u w_max < w0) and only hits are decayed and cut: u is independent of z given y, hence the
accepted (y, z) have exactly the law of the full-weight hit-or-miss (overweights, w0 pass >
w_max, included: there H = 1). The events differ bit-wise from the decay-first order (the
uniform comes earlier in the stream), not in distribution. Cross section: with X = pass r,
M = max(w0, w_max), P(H | y) = w0 / M, each trial counts c = w0 mu + H (X - mu) M (0 for
w0 = 0), mu a constant fixed before the generation; then E[c | y] = w0 mu + (w0 / M) M
(E[X | y] - mu) = w0 E[pass r | y], the conditional mean of the full weight w_sigma = w0 X,
for any mu: sigma = <c> is unbiased. mu = 1, r = 1 gives ``gen.unweight.cut_failed1``
(c = w0 - H fail M); for w0 >= w_max (H = 1) c = w0 X, the full weight. Its variance is that
of w_sigma plus E[w0 (M - w0) Var(X | y)] (the price of not decaying the misses) plus
E[w0 (M - w0) (E[X | y] - mu)^2], which mu* = E[w0 (M - w0) X] / E[w0 (M - w0)] minimises:
estimated on the pilot's full trials (``optimal_mu``; 0.966 with the default cuts, 0.032 with
the search card, where X is mostly 0). Variance per trial over that of w_sigma, computed from
4e5 full trials (seed 7): 1.12 (defaults; mu = 1: 1.13, mu = 0: 4.6), 1.43 (search card;
mu = 1: 11.6, mu = 0: 1.44), i.e. a 6 % (20 %) larger error of sigma at equal trials.
``sum_w2`` holds the sum of c^2, so the error of SamplingStats is the error of this estimator.
The pilot (w_max, mu) still decays every trial. Trials decayed: 58 % (search card; 12 % have
w0 = 0, 30 % are misses) and 64 % (defaults) instead of all with w0 > 0. Measured (issue 3,
interleaved A/B against the decay-first code, same blocks of seed 102, CPU time, load ~3 on 2
cores): search card 13.39 -> 10.33 us per event (1.30 +- 0.07 over 8 repeats of 1.23e6
events), sigma 126.806 +- 0.124 -> 126.823 +- 0.148 pb (9.83e6 events each, 4.45e7 trials,
trials per event 4.526 in both, weights of mean 1 per block, rms 3.56 -> 3.55); defaults
7.71 -> 5.93 us per event (1.31 +- 0.12, 4.9e6 events), sigma 887.895 +- 0.115 -> 887.797 +-
0.122 pb (tests/gen/test_tautau_hit_first.py checks unbiasedness and acceptance).

Early rejection (exact): photons are checked against the photon veto as soon as they exist
(ISR/FSR before the hit, the tau- tree before the tau+ decay); such events fail the cuts
anyway. No mode pair is rejected by its mode alone: every pair can pass the cuts (e.g. 3-prong x
3-prong with ``max_charged = 3`` when three tracks are soft or outside the polar window), so
such pairs are only made rarer with b < 1, never dropped.

Generator-level cuts (``[cuts]``), defaults chosen never to reject an event with two tracks
reconstructed in the CDC acceptance (17-150 deg, Belle II TDR arXiv:1011.0352 sec. 6):

- ``min_charged``: at least this many charged final-state particles (status 1) with lab polar
  angle in [``charged_theta_min_deg``, ``charged_theta_max_deg``] (default 2 in 10-170 deg);
- when exactly two charged final-state particles are in that window (the event the
  two-track analysis sees): the missing momentum |P_beams(nominal) - p1 - p2| in the nominal
  c.m. frame must exceed ``pmiss_cm_min_gev`` and its lab polar angle must lie in
  [``pmiss_theta_min_deg``, ``pmiss_theta_max_deg``] (defaults: off). Events with another number
  of charged particles in the window pass these two cuts.
- ``max_charged`` (default off): at most this many counted charged final-state particles. A
  particle is counted if its lab polar angle is inside the open window
  (``count_theta_min_deg``, ``count_theta_max_deg``), its pT exceeds ``charged_pt_count_gev``
  and it was produced at transverse radius below ``count_vertex_r_max_cm`` (K_S0 daughters).
  The count has its own window because it must be NARROWER than the tracker (count only
  tracks the detector surely finds: an event is then dropped only if the two-track selection
  would need several found tracks lost), whereas the ``min_charged`` window must be WIDER.
  Negative ``count_theta_*`` (default) take the ``charged_theta_*`` edges and radius 0 means any
  vertex: cards written before these keys count as before. Checked against the detector card by
  ``analysis.gencut_check``.

Output per event: tau- (row 0), tau+ (row 1) (status 2), then the photons (ISR of the e- beam,
ISR of the e+ beam, FSR of the tau-, FSR of the tau+; each only if emitted above
``photon_min_energy_gev``; status 1, mother -1), then the decay tree of the tau-, then that of
the tau+ (``gen.decays.tau.decay_tau1``: intermediate resonances and pi0, eta, omega, K_S0, K0
with status 2). Vertices: production at the origin (no beam spot), decays displaced.
Truth: ``mode_minus``, ``mode_plus`` (indices into ``gen.decays.tau.tau_modes()``),
``cos_theta`` (tau- direction about the Collins-Soper axis in the tau-pair frame), ``sqrt_s``,
``sqrt_s_prime`` (tau-pair mass before FSR), ``n_isr``, ``n_fsr``.
"""

from __future__ import annotations

import math

import numpy as np

from gen.beams import Beams, cm_to_lab1, lab_to_cm1
from gen.cards import CardError, Param, check, short_repr
from gen.constants import ALPHA_EM, M_TAU, PHOTON, TAU
from gen.decays.tau import (
    MODE_CLASSES,
    decay_tau1,
    max_tree_rows,
    mode_classes,
    one_prong_mask,
    rows_to_particles,
    tau_tables,
)
from gen.decays.tau_spin import decay_tau_plus_correlated1
from gen.events import DECAYED, FINAL, EventChunk, SamplingStats
from gen.gencuts import PHOTON_VETO_CUTS, photon_veto_array, photon_vetoed1, validate_photon_veto
from gen.jit import kernel
from gen.kinematics import boost1
from gen.processes.base import PILOT_POINTS, PILOT_SAFETY, Process, check_momentum_reachable
from gen.processes.ffbar import born_sigma_ff, pair_trial_cm1
from gen.radiation import (
    ISR_HARD_FRACTION,
)

# layout of the flat parameter array handed to the kernels
P_EHER, P_ELER, P_SPH, P_SPL, P_HALF = 0, 1, 2, 3, 4
P_CLO, P_CHI, P_NMIN, P_PMISS, P_PM_ON, P_PM_CLO, P_PM_CHI = 5, 6, 7, 8, 9, 10, 11
P_NOM_PX, P_NOM_PY, P_NOM_PZ, P_NOM_E = 12, 13, 14, 15
P_ISR, P_FSR, P_EMIN, P_XMIN, P_HARD, P_BFAC = 16, 17, 18, 19, 20, 21
P_PMIN, P_NMAX, P_PTCOUNT, P_ZEX, P_VP = 22, 23, 24, 25, 26
P_SPIN, P_EM_PX, P_EM_PY, P_EM_PZ, P_EM_E = 27, 28, 29, 30, 31
P_CNT_LO, P_CNT_HI, P_CNT_R2 = 32, 33, 34
N_PAR = 35

#: mode_bias factors lie in [1/MAX_MODE_BIAS, MAX_MODE_BIAS]: beyond, a few events of the
#: suppressed classes would carry weights so large that the sample is useless
MAX_MODE_BIAS = 1.0e4
#: rows of the fixed part of an event: two taus and up to four photons
_HEAD_ROWS = 6
#: initial rows per event of the output buffer (grown when needed): above the mean multiplicity
_ROWS_PER_EVENT = 16


@kernel
def born_sigma(s: float, zex: bool, vp: bool) -> float:
    """Born sigma(e+e- -> tau+tau-) in GeV^-2 (gen.processes.ffbar); 0 below threshold."""
    return born_sigma_ff(s, M_TAU, ALPHA_EM, zex, vp)


@kernel
def _is_charged(pdg) -> bool:
    a = abs(pdg)
    return a == 11 or a == 13 or a == 211 or a == 321 or a == 2212 or a == 15


@kernel
def _cuts1(par, veto, out_i, out_f, base, end) -> bool:
    """Generator-level cuts on the lab event in rows base..end-1 (module docstring)."""
    clo, chi = par[P_CLO], par[P_CHI]
    n_in = 0
    i1 = -1
    i2 = -1
    for r in range(base, end):
        if out_i[r, 1] != FINAL or not _is_charged(out_i[r, 0]):
            continue
        px, py, pz = out_f[r, 0], out_f[r, 1], out_f[r, 2]
        c = pz / math.sqrt(px * px + py * py + pz * pz)
        if clo <= c <= chi:
            n_in += 1
            if n_in == 1:
                i1 = r
            elif n_in == 2:
                i2 = r
    if n_in < par[P_NMIN]:
        return False
    if n_in == 2:
        for r in (i1, i2):
            p2 = out_f[r, 0] ** 2 + out_f[r, 1] ** 2 + out_f[r, 2] ** 2
            if p2 < par[P_PMIN] * par[P_PMIN]:
                return False
    # max_charged counts in its own (open) window, above charged_pt_count_gev and produced
    # inside count_vertex_r_max_cm: the tracks the detector surely finds (module docstring)
    n_hard = 0
    for r in range(base, end):
        if out_i[r, 1] != FINAL:
            continue
        px, py, pz = out_f[r, 0], out_f[r, 1], out_f[r, 2]
        if out_i[r, 0] == 22:
            if photon_vetoed1(veto, px, py, pz, out_f[r, 3]):
                return False
        elif (_is_charged(out_i[r, 0]) and px * px + py * py > par[P_PTCOUNT] ** 2
              and out_f[r, 4] ** 2 + out_f[r, 5] ** 2 < par[P_CNT_R2]):
            c = pz / math.sqrt(px * px + py * py + pz * pz)
            if par[P_CNT_LO] < c < par[P_CNT_HI]:
                n_hard += 1
    if n_hard > par[P_NMAX]:
        return False
    if n_in == 2 and par[P_PM_ON] > 0.5:
        px = par[P_NOM_PX] - out_f[i1, 0] - out_f[i2, 0]
        py = par[P_NOM_PY] - out_f[i1, 1] - out_f[i2, 1]
        pz = par[P_NOM_PZ] - out_f[i1, 2] - out_f[i2, 2]
        pe = par[P_NOM_E] - out_f[i1, 3] - out_f[i2, 3]
        e = par[P_NOM_E]
        cx, cy, cz, _ = lab_to_cm1(px, py, pz, pe, par[P_NOM_PX] / e, par[P_NOM_PY] / e,
                                   par[P_NOM_PZ] / e)
        if cx * cx + cy * cy + cz * cz < par[P_PMISS] * par[P_PMISS]:
            return False
        p = math.sqrt(px * px + py * py + pz * pz)
        if p <= 0.0:
            return False
        c = pz / p
        if c < par[P_PM_CLO] or c > par[P_PM_CHI]:
            return False
    return True


@kernel
def _photon_vetoed_rows(veto, out_i, out_f, lo, hi) -> bool:
    """A final-state photon in rows lo..hi-1 fails the photon veto (then so does the event)."""
    for r in range(lo, hi):
        if out_i[r, 1] == FINAL and out_i[r, 0] == 22 and photon_vetoed1(
                veto, out_f[r, 0], out_f[r, 1], out_f[r, 2], out_f[r, 3]):
            return True
    return False


@kernel
def _put(out_i, out_f, r, pdg, status, v):
    out_i[r, 0] = pdg
    out_i[r, 1] = status
    out_i[r, 2] = -1
    for j in range(4):
        out_f[r, j] = v[j]
    for j in range(4, 8):
        out_f[r, j] = 0.0


@kernel
def _production1(rng, par, veto, out_i, out_f, base, kk, ff):
    """Production part of a trial written from row ``base``: the taus and photons, lab frame.

    Returns (w0, head row, cos_theta, sqrt_s, sqrt_s_prime, n_isr, n_fsr): w0 (pb) is the
    mode-biased weight before the decays, W Z^2 (module docstring), 0 if the point is not
    allowed or a photon fails the photon veto (the event fails ``_cuts1`` anyway).
    """
    (w, sqrt_s, bx, by, bz, nx, ny, nz, bqx, bqy, bqz, msp, c,
     mask) = pair_trial_cm1(rng, par[P_EHER], par[P_ELER], par[P_SPH], par[P_SPL], par[P_HALF],
                            M_TAU, par[P_ISR] > 0.5, par[P_FSR] > 0.5, par[P_ZEX] > 0.5,
                            par[P_VP] > 0.5, par[P_EMIN], par[P_HARD], par[P_XMIN], kk, ff)
    if w <= 0.0:
        return 0.0, base, 0.0, sqrt_s, 0.0, 0, 0
    w *= par[P_BFAC]
    # tau-, tau+, ISR photons (e- beam, e+ beam), FSR photons (tau-, tau+): c.m. -> lab
    pos = base
    for r in range(2):
        v = boost1(ff[r, 0], ff[r, 1], ff[r, 2], ff[r, 3], bqx, bqy, bqz)
        lab = cm_to_lab1(v[0], v[1], v[2], v[3], bx, by, bz, nx, ny, nz)
        _put(out_i, out_f, pos, TAU if r == 0 else -TAU, DECAYED, lab)
        pos += 1
    n_isr = 0
    for i in range(2):
        if kk[i, 3] > 0.0:
            lab = cm_to_lab1(kk[i, 0], kk[i, 1], kk[i, 2], kk[i, 3], bx, by, bz, nx, ny, nz)
            _put(out_i, out_f, pos, PHOTON, FINAL, lab)
            pos += 1
            n_isr += 1
    n_fsr = 0
    for r in range(2, 4):
        if mask & (1 << (r - 2)):
            v = boost1(ff[r, 0], ff[r, 1], ff[r, 2], ff[r, 3], bqx, bqy, bqz)
            lab = cm_to_lab1(v[0], v[1], v[2], v[3], bx, by, bz, nx, ny, nz)
            _put(out_i, out_f, pos, PHOTON, FINAL, lab)
            pos += 1
            n_fsr += 1
    if _photon_vetoed_rows(veto, out_i, out_f, base, pos):
        return 0.0, pos, c, sqrt_s, msp, n_isr, n_fsr
    return w, pos, c, sqrt_s, msp, n_isr, n_fsr


@kernel
def _decays1(rng, par, veto, tables, out_i, out_f, base, head):
    """Decay both taus of the event at row ``base`` from row ``head``, then the cuts.

    Returns (passed, end row, mode_minus, mode_plus). The tau- tree is checked against the
    photon veto before the tau+ decays (a vetoed event fails ``_cuts1`` anyway).
    """
    end_m, mode_m = decay_tau1(rng, tables, base, base, out_i, out_f, head)
    if _photon_vetoed_rows(veto, out_i, out_f, head, end_m):
        return False, base, mode_m, -1
    if par[P_SPIN] > 0.5:
        # spin correlations: the tau+ decay follows the tau- one (gen.decays.tau_spin)
        beam = (par[P_EM_PX], par[P_EM_PY], par[P_EM_PZ], par[P_EM_E])
        pos, mode_p = decay_tau_plus_correlated1(rng, tables, out_i, out_f, base, base + 1,
                                                 mode_m, head, base, end_m, beam)
    else:
        pos, mode_p = decay_tau1(rng, tables, base + 1, base, out_i, out_f, end_m)
    return _cuts1(par, veto, out_i, out_f, base, pos), pos, mode_m, mode_p


@kernel
def _tautau_trial(rng, par, veto, tables, inv_b, out_i, out_f, base, kk, ff):
    """One full trial (production, decays, cuts) from row ``base``: (w0, w_hit, w_sigma).

    w_hit = w0 pass is the weight of the mode-biased sampling, w_sigma = w_hit / (b- b+) the
    unbiased cross-section weight (pb; ``inv_b`` = 1/b per mode, module docstring). The pilot's
    path: ``_tautau_generate`` decays only the hits of w0.
    """
    w0, head, _, _, _, _, _ = _production1(rng, par, veto, out_i, out_f, base, kk, ff)
    if w0 <= 0.0:
        return 0.0, 0.0, 0.0
    passed, _, mode_m, mode_p = _decays1(rng, par, veto, tables, out_i, out_f, base, head)
    if not passed:
        return w0, 0.0, 0.0
    return w0, w0, w0 * inv_b[mode_m] * inv_b[mode_p]


@kernel
def _tautau_weights(rng, par, veto, tables, inv_b, n, max_rows):
    """(w0, w_hit, w_sigma) of ``n`` full trial points (``_tautau_trial``)."""
    w0 = np.empty(n)
    w_hit = np.empty(n)
    w_sig = np.empty(n)
    out_i = np.zeros((max_rows, 3), np.int64)
    out_f = np.zeros((max_rows, 8))
    kk = np.zeros((2, 4))
    ff = np.zeros((4, 4))
    for i in range(n):
        w0[i], w_hit[i], w_sig[i] = _tautau_trial(rng, par, veto, tables, inv_b, out_i, out_f,
                                                  0, kk, ff)
    return w0, w_hit, w_sig


@kernel
def _grown(a, used, rows):
    """A copy of ``a`` with ``rows`` rows whose first ``used`` rows are those of ``a``."""
    b = np.empty((rows, a.shape[1]), a.dtype)
    b[:used] = a[:used]
    return b


@kernel
def _tautau_generate(rng, par, veto, tables, inv_b, n, w_max, mu, max_rows):
    """Hit-or-miss until ``n`` events, the hit decided on w0 before the decays (module
    docstring, "Hit before the decays"); returns rows, offsets, truth and statistics.

    The statistics sum the estimator c of every trial (``mu`` its control-variate constant).
    """
    # rows by the expected multiplicity (12.5 per event with the defaults, 8.5 with the search
    # card's cuts), grown when a trial could overflow: max_rows per event would reserve ~46
    # rows (33 MB a block of 8192 events)
    cap = _ROWS_PER_EVENT * n + max_rows
    out_i = np.empty((cap, 3), np.int64)
    out_f = np.empty((cap, 8))
    offset = np.zeros(n + 1, np.int64)
    t_mode_m = np.empty(n, np.int32)
    t_mode_p = np.empty(n, np.int32)
    t_cos = np.empty(n)
    t_sqrt_s = np.empty(n)
    t_sqrt_sp = np.empty(n)
    t_nisr = np.empty(n, np.int32)
    t_nfsr = np.empty(n, np.int32)
    kk = np.zeros((2, 4))
    ff = np.zeros((4, 4))
    n_trials = 0
    sum_w = 0.0
    sum_w2 = 0.0
    n_over = 0
    k = 0
    pos = 0
    while k < n:
        if pos + max_rows > cap:
            cap = cap + cap // 2 + max_rows
            out_i = _grown(out_i, pos, cap)
            out_f = _grown(out_f, pos, cap)
        w0, head, c, sqrt_s, msp, n_isr, n_fsr = _production1(rng, par, veto, out_i, out_f,
                                                              pos, kk, ff)
        n_trials += 1
        if w0 <= 0.0:
            continue
        # the hit uniform before the decays: P(hit | w0) = min(w0 / w_max, 1)
        if not rng.random() * w_max < w0:
            est = w0 * mu
            sum_w += est
            sum_w2 += est * est
            continue
        passed, end, mode_m, mode_p = _decays1(rng, par, veto, tables, out_i, out_f, pos, head)
        x = inv_b[mode_m] * inv_b[mode_p] if passed else 0.0
        if w0 >= w_max:
            est = w0 * x  # P(hit) = 1: the full weight, as without early hit
            if passed and w0 > w_max:
                n_over += 1
        else:
            est = w0 * mu + (x - mu) * w_max
        sum_w += est
        sum_w2 += est * est
        if passed:
            pos = end
            t_mode_m[k] = mode_m
            t_mode_p[k] = mode_p
            t_cos[k] = c
            t_sqrt_s[k] = sqrt_s
            t_sqrt_sp[k] = msp
            t_nisr[k] = n_isr
            t_nfsr[k] = n_fsr
            k += 1
            offset[k] = pos
    return (out_i[:pos], out_f[:pos], offset, t_mode_m, t_mode_p, t_cos, t_sqrt_s, t_sqrt_sp,
            t_nisr, t_nfsr, n_trials, sum_w, sum_w2, n_over)


def optimal_mu(w0: np.ndarray, w_sig: np.ndarray, w_max: float) -> float:
    """Control-variate constant of the generation's estimator from full pilot trials.

    mu* = sum (w_max - w0)_+ w_sigma / sum (w_max - w0)_+ w0 minimises the estimator's variance
    (module docstring, "Hit before the decays"); any constant keeps it unbiased. Without a
    pilot trial below w_max: the ratio sum w_sigma / sum w0.
    """
    lever = np.clip(w_max - w0, 0.0, None) * (w0 > 0.0)
    den = float(np.dot(lever, w0))
    if den > 0.0:
        return float(np.dot(lever, w_sig)) / den
    tot = float(w0.sum())
    return float(w_sig.sum()) / tot if tot > 0.0 else 0.0


def count_window_deg(cuts: dict) -> tuple[float, float]:
    """Lab polar-angle window (deg) in which ``max_charged`` counts: the ``count_theta_*`` keys,
    a negative one standing for the ``charged_theta_*`` edge (old cards)."""
    lo, hi = cuts["count_theta_min_deg"], cuts["count_theta_max_deg"]
    return (cuts["charged_theta_min_deg"] if lo < 0.0 else lo,
            cuts["charged_theta_max_deg"] if hi < 0.0 else hi)


def _mode_bias_error(bias: dict, one_prong_only: bool) -> str:
    """Problem with the ``mode_bias`` table as one line ('' if none)."""
    allowed = ", ".join(MODE_CLASSES)
    lo, hi = 1.0 / MAX_MODE_BIAS, MAX_MODE_BIAS
    for key, value in bias.items():
        if key not in MODE_CLASSES:
            return f"process.mode_bias: unknown mode class {short_repr(key)}; allowed: {allowed}"
        # a comparison, not math.isfinite: TOML integers can exceed the float range; NaN fails
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not lo <= value <= hi):
            return (f"process.mode_bias.{key}: must be a number in [{lo:g}, {hi:g}], "
                    f"got {short_repr(value)}")
    if one_prong_only and "multi_prong" in bias:
        return "process.mode_bias.multi_prong: no multi-prong modes with one_prong_only = true"
    return ""


def _mode_bias_vector(bias: dict) -> np.ndarray:
    """Bias factor b per mode of ``gen.decays.tau.tau_modes()`` from the class table."""
    per_class = np.array([float(bias.get(k, 1.0)) for k in MODE_CLASSES])
    return per_class[mode_classes()]


class TauTau(Process):
    """e+e- -> tau+ tau- (gamma) with both taus decayed."""

    name = "tautau"
    description = (
        "e+e- -> tau+tau-(gamma): Born with tau mass, ISR structure functions, FSR off the "
        "taus, tau decays from DECAY_BELLE2.DEC with tau+ tau- spin correlations (l, pi, K, "
        "rho, K*, a1 modes), optional importance sampling of the decay modes (weighted events)"
    )
    params = {
        "isr": Param(bool, True, "initial-state radiation (Kuraev-Fadin structure functions)"),
        "fsr": Param(bool, True, "final-state radiation off the taus (PHOTOS-like)"),
        "z_exchange": Param(bool, True, "add tree-level Z exchange (A_FB ~ -0.7 %)"),
        "vacuum_polarisation": Param(
            bool, True,
            "running alpha(s') in the photon exchange (gen.vacpol: leptons + hadrons; +7.7 % "
            "at 10.58 GeV), Z couplings with alpha(M_Z); false = alpha(0) everywhere",
        ),
        "one_prong_only": Param(
            bool, False,
            "decay both taus only in one-prong modes; the cross section is sigma x B1^2",
        ),
        "spin_correlations": Param(
            bool, True,
            "tau+ tau- spin correlations of the Born gamma* exchange through the polarimeter "
            "vectors of the l nu nu, pi/K nu, rho/K* nu, a1 (3 pi) nu modes "
            "(gen.decays.tau_spin; other modes decay without); false = independent unpolarised "
            "decays",
        ),
        "mode_bias": Param(
            dict, {},
            "importance sampling of the tau decay modes: {class = factor > 0}, classes "
            + ", ".join(MODE_CLASSES) + " (gen.decays.tau.mode_classes; unlisted: 1). Modes "
            "are drawn with probability ~ BF x factor and events get weights ~ 1/(b- b+), "
            "normalised to mean 1 per block: a weighted, unbiased sample",
        ),
        "photon_min_energy_gev": Param(
            float, 1e-4,
            "photons softer than this (c.m. for ISR, tau-pair frame for FSR) are not produced",
            minimum=1e-6, maximum=0.05,
        ),
    }
    cuts = {
        "min_charged": Param(
            int, 2,
            "minimum number of charged final-state particles inside the polar-angle window; "
            "0 = off",
            minimum=0, maximum=20,
        ),
        "charged_theta_min_deg": Param(
            float, 10.0, "lower edge of the lab polar-angle window for charged particles (deg)",
            minimum=0.0, maximum=180.0,
        ),
        "charged_theta_max_deg": Param(
            float, 170.0, "upper edge of the lab polar-angle window for charged particles (deg)",
            minimum=0.0, maximum=180.0,
        ),
        "charged_p_min_gev": Param(
            float, 0.0,
            "with exactly two charged particles in the window: minimum lab momentum of both "
            "(GeV); 0 = off. Muon ID needs p > 0.7 GeV (detector/config.py): a muon search "
            "may cut at 0.6",
            minimum=0.0,
        ),
        "max_charged": Param(
            int, 100,
            "maximum number of counted charged final-state particles: lab polar angle inside "
            "(count_theta_min_deg, count_theta_max_deg), transverse momentum above "
            "charged_pt_count_gev, produced inside count_vertex_r_max_cm (set these to tracks "
            "the detector surely finds); 100 = off",
            minimum=0,
        ),
        "charged_pt_count_gev": Param(
            float, 0.09,
            "transverse-momentum threshold for max_charged (GeV); the tracking threshold is "
            "0.1 GeV (detector/config.py)",
            minimum=0.0,
        ),
        "count_theta_min_deg": Param(
            float, -1.0,
            "lower edge of the lab polar-angle window of max_charged (deg); negative = "
            "charged_theta_min_deg (the behaviour before this key). CDC: 17 deg",
            minimum=-1.0, maximum=180.0,
        ),
        "count_theta_max_deg": Param(
            float, -1.0,
            "upper edge of the lab polar-angle window of max_charged (deg); negative = "
            "charged_theta_max_deg (the behaviour before this key). CDC: 150 deg",
            minimum=-1.0, maximum=180.0,
        ),
        "count_vertex_r_max_cm": Param(
            float, 0.0,
            "max_charged counts only particles produced at a transverse radius below this "
            "(cm; K_S0 daughters); 0 = any vertex. The tracking finds tracks from r < 60 cm "
            "(detector/config.py max_vertex_r_cm)",
            minimum=0.0,
        ),
        **PHOTON_VETO_CUTS,
        "pmiss_cm_min_gev": Param(
            float, 0.0,
            "with exactly two charged particles in the window: minimum |P_beams - p1 - p2| in "
            "the nominal c.m. frame (GeV); 0 = off. A 0.5 GeV recoil selection can use ~0.3",
            minimum=0.0,
        ),
        "pmiss_theta_min_deg": Param(
            float, 0.0,
            "with exactly two charged particles in the window: minimum lab polar angle of the "
            "missing 3-momentum (deg); 0 = off",
            minimum=0.0, maximum=180.0,
        ),
        "pmiss_theta_max_deg": Param(
            float, 180.0,
            "with exactly two charged particles in the window: maximum lab polar angle of the "
            "missing 3-momentum (deg); 180 = off",
            minimum=0.0, maximum=180.0,
        ),
    }

    def __init__(self, params: dict, cuts: dict, beams: Beams) -> None:
        super().__init__(params, cuts, beams)
        mask = one_prong_mask() if params["one_prong_only"] else None
        # a bad mode_bias is reported by validate() (it knows the card's name)
        self._bias_error = _mode_bias_error(params["mode_bias"], params["one_prong_only"])
        bias = None if self._bias_error else _mode_bias_vector(params["mode_bias"])
        #: bf_fraction = Z = sum of BF x b over the enabled modes (the unbiased BF sum if b = 1)
        self.tables, self.bf_fraction = tau_tables(mask, bias)
        enabled = np.ones(len(mode_classes()), bool) if mask is None else mask
        b = np.ones(len(enabled)) if bias is None else bias
        #: 1/b per mode: the event weight is proportional to 1/(b- b+)
        self.inv_bias = 1.0 / b
        #: events carry weights (``/events/weight``) when the bias differs between enabled modes
        self.weighted = bool(np.ptp(b[enabled]) > 0.0)
        self.max_rows = _HEAD_ROWS + 2 * (max_tree_rows() - 1)
        #: control-variate constant of the cross-section estimator (set by ``prepare``)
        self.mu = 0.0

    def validate(self, where: str) -> None:
        if self._bias_error:
            raise CardError(f"{where}: {self._bias_error}")
        c = self.c
        validate_photon_veto(c, where)
        p_min = c["charged_p_min_gev"]
        check_momentum_reachable(p_min, "cuts.charged_p_min_gev", self.beams, where)
        check(
            c["charged_theta_min_deg"] < c["charged_theta_max_deg"],
            f"{where}: cuts.charged_theta_min_deg ({c['charged_theta_min_deg']}) must be below "
            f"cuts.charged_theta_max_deg ({c['charged_theta_max_deg']})",
        )
        lo, hi = count_window_deg(c)
        check(
            lo < hi,
            f"{where}: cuts.count_theta_min_deg ({lo}) must be below cuts.count_theta_max_deg "
            f"({hi}) (negative: the charged_theta_* edge)",
        )
        check(
            c["pmiss_theta_min_deg"] < c["pmiss_theta_max_deg"],
            f"{where}: cuts.pmiss_theta_min_deg ({c['pmiss_theta_min_deg']}) must be below "
            f"cuts.pmiss_theta_max_deg ({c['pmiss_theta_max_deg']})",
        )
        check(
            c["pmiss_cm_min_gev"] < 0.5 * self.beams.sqrt_s_gev,
            f"{where}: cuts.pmiss_cm_min_gev ({c['pmiss_cm_min_gev']}) must be below "
            f"sqrt(s)/2 = {0.5 * self.beams.sqrt_s_gev:.3f} GeV",
        )
        check(
            self.beams.sqrt_s_gev > 2.0 * M_TAU,
            f"{where}: sqrt(s) = {self.beams.sqrt_s_gev:.3f} GeV is below the tau-pair "
            f"threshold {2.0 * M_TAU:.3f} GeV",
        )

    def _par(self) -> np.ndarray:
        par = np.zeros(N_PAR)
        c = self.c
        par[P_EHER:P_HALF + 1] = self.beams.as_tuple()
        lo, hi = c["charged_theta_min_deg"], c["charged_theta_max_deg"]
        par[P_CLO] = math.cos(math.radians(hi)) if hi < 180.0 else -2.0
        par[P_CHI] = math.cos(math.radians(lo)) if lo > 0.0 else 2.0
        par[P_NMIN] = float(c["min_charged"])
        par[P_PMISS] = c["pmiss_cm_min_gev"]
        lo, hi = c["pmiss_theta_min_deg"], c["pmiss_theta_max_deg"]
        par[P_PM_CLO] = math.cos(math.radians(hi)) if hi < 180.0 else -2.0
        par[P_PM_CHI] = math.cos(math.radians(lo)) if lo > 0.0 else 2.0
        par[P_PM_ON] = 1.0 if (par[P_PMISS] > 0.0 or lo > 0.0 or hi < 180.0) else 0.0
        em, ep = self.beams.nominal_four_momenta()
        par[P_NOM_PX:P_NOM_E + 1] = em + ep
        par[P_ISR] = float(self.p["isr"])
        par[P_FSR] = float(self.p["fsr"])
        par[P_EMIN] = self.p["photon_min_energy_gev"]
        # lower edge of the hard ISR sampling channel: the tau-pair threshold
        par[P_XMIN] = 4.0 * M_TAU**2 / self.beams.sqrt_s_gev**2
        par[P_HARD] = ISR_HARD_FRACTION
        par[P_BFAC] = self.bf_fraction**2
        par[P_PMIN] = c["charged_p_min_gev"]
        par[P_NMAX] = float(c["max_charged"])
        par[P_PTCOUNT] = c["charged_pt_count_gev"]
        lo, hi = count_window_deg(c)
        par[P_CNT_LO] = math.cos(math.radians(hi)) if hi < 180.0 else -2.0
        par[P_CNT_HI] = math.cos(math.radians(lo)) if lo > 0.0 else 2.0
        r_max = c["count_vertex_r_max_cm"]
        par[P_CNT_R2] = r_max * r_max if r_max > 0.0 else math.inf
        par[P_ZEX] = float(self.p["z_exchange"])
        par[P_VP] = float(self.p["vacuum_polarisation"])
        par[P_SPIN] = float(self.p["spin_correlations"])
        par[P_EM_PX:P_EM_E + 1] = em
        return par

    def _trials(self, rng: np.random.Generator,
                n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._bias_error:
            raise CardError(f"[process]: {self._bias_error}")
        return _tautau_weights(rng, self._par(), photon_veto_array(self.c), self.tables,
                               self.inv_bias, n, self.max_rows)

    def trial_weights(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Unbiased cross-section weights (pb) of ``n`` full trial points."""
        return self._trials(rng, n)[2]

    def prepare(self, rng: np.random.Generator, points: int = PILOT_POINTS) -> None:
        """Pilot run: ``w_max`` from the mode-biased weights, sigma from the unbiased ones, the
        control-variate constant ``mu`` of the generation's estimator (module docstring)."""
        w0, w_hit, w_sig = self._trials(rng, points)
        if not (np.all(np.isfinite(w_hit)) and np.all(np.isfinite(w_sig))):
            raise FloatingPointError(f"process {self.name!r}: non-finite weight in the pilot run")
        if not np.any(w_hit > 0):
            raise CardError(
                f"process {self.name!r}: no accepted phase-space point in {points} pilot trials; "
                "loosen the generator-level cuts"
            )
        self.w_max = float(w_hit.max()) * PILOT_SAFETY
        self.pilot_cross_section_pb = float(w_sig.mean())
        self.mu = optimal_mu(w0, w_sig, self.w_max)

    def generate(self, rng: np.random.Generator, n: int) -> tuple[EventChunk, SamplingStats]:
        if self.w_max <= 0.0:
            raise RuntimeError(f"process {self.name!r}: prepare() must run before generate()")
        (out_i, out_f, offset, mode_m, mode_p, cos, sqrt_s, sqrt_sp, nisr, nfsr,
         n_trials, sum_w, sum_w2, n_over) = _tautau_generate(
            rng, self._par(), photon_veto_array(self.c), self.tables, self.inv_bias, n,
            self.w_max, self.mu, self.max_rows)
        if self.weighted:
            # accepted events follow sigma x b- b+; weight 1/(b- b+) restores sigma. Normalised
            # to mean 1 in the block (self-normalised importance sampling, bias O(1/n)) so that
            # sigma x L / N x weight stays the expected yield per event: the acceptance of the
            # cuts depends on the modes, so E[1/(b- b+)] over accepted events is not known a
            # priori.
            raw = self.inv_bias[mode_m] * self.inv_bias[mode_p]
            weight = raw * (n / raw.sum())
        else:
            weight = np.ones(n)
        truth = {"mode_minus": mode_m, "mode_plus": mode_p, "cos_theta": cos,
                 "sqrt_s": sqrt_s, "sqrt_s_prime": sqrt_sp, "n_isr": nisr, "n_fsr": nfsr}
        chunk = EventChunk(weight=weight, offset=offset,
                           particles=rows_to_particles(out_i, out_f), truth=truth)
        chunk.check(self.name)
        return chunk, SamplingStats(int(n_trials), float(sum_w), float(sum_w2), int(n_over))

    def decay_overweights(self) -> int:
        """Trial weights above their maxima met so far inside tau decays (diagnostic)."""
        return int(self.tables.overweight.sum())
