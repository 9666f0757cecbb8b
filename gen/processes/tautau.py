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
without spin (h = 0). Measured: corr(x+, x-) of tau+ tau- -> pi+ nu pi- nu (x = E_pi / E_beam
in the pair frame) = 0.2962 +- 0.0016 (3.27e5 pi pi events: Born, no beam spread, as
tests/gen/test_tau_spin.py; without spin correlations -0.0007 +- 0.0017; with ISR, FSR and
beam spread 0.2936 +- 0.0016) against (1 + beta^2)/(3 (3 - beta^2)) = 0.2977 (re-measured
in issue 3, 2026-11; formerly quoted 0.299 +- 0.007).

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

Hit before the event and the decays (exact in distribution): a trial's production weight
w0 = W Z^2 (W = K_ISR D D / pdf x sigma_Born(s') x K_FSR, pb) depends only on its variables y
(beam energies, ISR energy fractions); the rest, z (ISR photon angles, Born angle, FSR, decay
modes and kinematics, spin), is drawn after y; pass(y, z) in {0, 1} is the cut decision (photon
veto included) and r(z) = 1/(b- b+). The full-weight hit-or-miss accepts with probability
min(w0 pass / w_max, 1) = pass min(w0 / w_max, 1), so the hit uniform u is drawn with y (hit H:
u w_max < w0) and only hits get z and the cuts: u is independent of z given y, hence the
accepted (y, z) have exactly the law of the full-weight hit-or-miss (overweights, w0 > w_max,
included: there H = 1). Cross section: with X = pass r, M = max(w0, w_max), P(H | y) = w0 / M,
each trial counts c = w0 mu + H (X - mu) M (0 for w0 = 0), mu a constant fixed before the
generation; then E[c | y] = w0 mu + (w0 / M) M (E[X | y] - mu) = w0 E[pass r | y], the
conditional mean of the full weight w_sigma = w0 X, for any mu: sigma = <c> is unbiased.
mu = 1, r = 1 gives ``gen.unweight.cut_failed1`` (c = w0 - H fail M); for w0 >= w_max (H = 1)
c = w0 X, the full weight. Its variance is that of w_sigma plus E[w0 (M - w0) (X - mu)^2] (the
price of not making the misses' events), which mu* = E[w0 (M - w0) X] / E[w0 (M - w0)]
minimises: estimated on the pilot's full trials (``optimal_mu``; 0.961 with the default cuts,
0.024 with the search card, where X is mostly 0). Variance per trial over that of w_sigma, from
4e5 full trials (seed 7): 1.04 (defaults; mu = 1: 1.04, mu = 0: 2.0), 1.13 (search card;
mu = 1: 4.4, mu = 0: 1.13); before the block sampler (hit after the ISR/FSR photon veto,
w_max = 1.3 max w_hit) 1.12 and 1.43. ``sum_w2`` holds the sum of c^2, so the error of
SamplingStats is the error of this estimator. The pilot (w_max, mu) still makes and decays
every trial (scalar kernels, ``_tautau_weights``). tests/gen/test_tautau_hit_first.py checks
unbiasedness and acceptance.

Sampling in blocks (as ``gen.processes.mumu``; tests/gen/test_tautau_block.py): ``generate``
draws its trials in blocks of ``BLOCK_TRIALS``: the uniforms (ISR fractions, hit) and the
beam-energy normals in bulk, w0 stage by stage (``_weight_block1``: the arithmetic of
``gen.processes.ffbar.pair_weight_c1``, the same w0 bit for bit for the same numbers), the hits'
per-event constants in one short loop, then in trial order the statistics and, for hits only,
the event (``pair_event_cm_p1``, scalar draws; ``gen.unweight.pair_event_to_lab1``), the photon
veto, the decays and the cuts. Trials after the n-th event are not counted; the events of a
block do not depend on the number wanted. Measured against the scalar trials (issue 3, 2026-11;
CPU time, 2 cores at load 14-16, old and new side by side, medians of the repeats): pair
production without the decays at the process defaults 975 -> 622 ns per trial, 1528 -> 766 ns
per hit, 1.58 -> 0.79 us per event (1.62 -> 1.27 trials per event with ``w_max`` below): 1.3e6
events/s/core for the production alone at load 14-16, 1.8e6 at load 7 (565 ns per event); search
card 4.9 -> 2.4 us per event. Per trial (load ~7): draws 33 ns, w0 168 ns, per hit the constants
76 ns, the event (photon angles, Born angle, FSR) ~250 ns, lab frame, rows and veto ~180 ns.

``w_max`` = ``W0_SAFETY`` x the pilot's largest w0 (w0 >= w_hit = w0 pass, so it bounds the
hit weights too). sup w0 is the no-photon peak of the ISR weight (v1, v2 -> 0: K_ISR
(soft / (1 - a))^2 sigma(s), sigma ~ 1/s) at the lowest sqrt(s) of the beam spread (c.m. spread
4.7e-4 of sqrt(s) with ``gen.beams`` defaults: 0.094 % of w0 per standard deviation), half of
the trials lie within 1 % of it: the largest w0 of 3 x 1e7 block trials was 1.0005-1.0007 x
that of a 2e5-trial pilot, none above 1.001 (defaults and search card). 1.02 is > 20 standard
deviations of the spread beyond; the former ``PILOT_SAFETY`` x max w_hit (1.3) left 23 % of
the trials as misses: hits per trial 0.64 -> 0.81 (both cards), trials per event 1.62 -> 1.27
(defaults) and 4.52 -> 3.55 (search card).

Early rejection (exact): the ISR and FSR photons are checked against the photon veto as soon
as a hit's event exists (before its decays), the tau- tree before the tau+ decay; such events
fail the cuts anyway. No mode pair is rejected by its mode alone: every pair can pass the cuts
(e.g. 3-prong x 3-prong with ``max_charged = 3`` when three tracks are soft or outside the polar
window), so such pairs are only made rarer with b < 1, never dropped.

Where the time of cards/samples/tautau.toml goes (issue 3, 2026-11, 4e5 trials, load ~15, CPU
time): ~9.0 us per event = production 2.07 us (3.55 trials per event, 0.58 us per trial) +
decays and cuts 6.9 us (2.64 decayed hits per event, 2.6 us each). Per hit: 34.7 % pass the
cuts; the others fail on the two tracks' p > 0.7 GeV (26.6 %), the missing-momentum angle
(12.3 %), the veto of an ISR/FSR photon (8.5 %, before the decays), of a tau- decay photon
(8.2 %, before the tau+ decay) or a tau+ one (4.4 %), fewer than two tracks (3.7 %),
``max_charged`` (1.2 %), |p_miss| (0.5 %). Misses cost 17 % of the trials but only w0 each;
the decays of hits that fail the momentum and angle cuts (~2/3 of the decay time) cannot be
skipped exactly: those cuts need both taus' products (a 1-prong tau- below 0.7 GeV passes if
the tau+ gives three tracks in the window).

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

from gen.beams import (
    Beams,
    cm_to_lab1,
    collision_frame_sc1,
    collision_sqrt_s_sc1,
    crossing_trig1,
    lab_to_cm1,
)
from gen.cards import CardError, Param, check, short_repr
from gen.constants import ALPHA_EM, GEV2_TO_PB, M_E, M_TAU, PHOTON, TAU
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
from gen.processes.base import PILOT_POINTS, Process, check_momentum_reachable
from gen.processes.ffbar import (
    born_factors1,
    born_sigma_b1,
    born_sigma_ff,
    pair_event_cm_p1,
    pair_trial_cm1,
)
from gen.radiation import (
    ISR_HARD_FRACTION,
    ISR_K_FACTOR,
    emission_params1,
    fsr_k_factor1,
    fsr_rest_params1,
    isr_consts1,
    isr_fraction_u1,
    ll_beta_near1,
)
from gen.unweight import draw_block1, pair_event_to_lab1

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
#: w_max = W0_SAFETY x the pilot's largest production weight w0 (module docstring, "w_max")
W0_SAFETY = 1.02
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
    """Production part of a full (pilot) trial written from row ``base``: the taus and photons,
    lab frame (scalar draws; ``_tautau_generate`` draws its trials in blocks).

    Returns (w0, head row, cos_theta, sqrt_s, sqrt_s_prime, n_isr, n_fsr, vetoed): w0 (pb) is
    the mode-biased weight before the decays and the cuts, W Z^2 (module docstring; 0 if the
    point is not allowed), ``vetoed`` whether a photon fails the photon veto (the event then
    fails ``_cuts1``).
    """
    (w, sqrt_s, bx, by, bz, nx, ny, nz, bqx, bqy, bqz, msp, c,
     mask) = pair_trial_cm1(rng, par[P_EHER], par[P_ELER], par[P_SPH], par[P_SPL], par[P_HALF],
                            M_TAU, par[P_ISR] > 0.5, par[P_FSR] > 0.5, par[P_ZEX] > 0.5,
                            par[P_VP] > 0.5, par[P_EMIN], par[P_HARD], par[P_XMIN], kk, ff)
    if w <= 0.0:
        return 0.0, base, 0.0, sqrt_s, 0.0, 0, 0, False
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
    vetoed = _photon_vetoed_rows(veto, out_i, out_f, base, pos)
    return w, pos, c, sqrt_s, msp, n_isr, n_fsr, vetoed


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
    w0, head, _, _, _, _, _, vetoed = _production1(rng, par, veto, out_i, out_f, base, kk, ff)
    if w0 <= 0.0:
        return 0.0, 0.0, 0.0
    if vetoed:
        return w0, 0.0, 0.0
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


# ---------------------------------------------------------------------------------------------
# Trials in blocks (as gen.processes.mumu): the production weight w0 of every trial, stage by
# stage; the event (photon angles, Born angle, FSR), the lab frame and the decays for hits only

#: uniforms per trial in a block: the ISR fractions of the e- and e+ beams, the hit
TRIAL_UNIFORMS = 3
#: trials per block: uniforms and beam-energy normals drawn in bulk (2.3 ns per uniform against
#: 6.6 ns as scalar draws in a kernel, numba 0.68, PCG64; docs/benchmarks.md), the weights
#: computed stage by stage without the unpredictable hit branch (gen.processes.mumu)
BLOCK_TRIALS = 512
#: columns of the per-trial rows of ``_weight_block1``: eh, el, sqrt_s, v1, v2, C1, C2, CM
_TR_COLS = 8
#: columns of the per-hit rows of ``_hit_constants1``: ISR angle (3), FSR (4), frame (6)
_HP_COLS = 13


@kernel
def _weight_block1(pool, nh, nl, nt, par, sin_a, cos_a, cst, w, tr):
    """Production weights w0 (pb, W Z^2 before decays and cuts) of trials 0 .. nt-1 of a block
    into ``w``, their (eh, el, sqrt_s, v1, v2, C1, C2, CM) into the rows of ``tr``.

    Per trial the arithmetic of ``gen.beams.sample_beam_energies1``, ``collision_sqrt_s_sc1``
    and ``gen.processes.ffbar.pair_weight_c1`` (ISR by ``gen.radiation.isr_fraction_u1`` from
    the uniforms ``pool[3t]``, ``pool[3t + 1]``), times Z^2: the same weight bit for bit for the
    same random numbers (tests/gen/test_tautau_block.py); the scalar pilot trials compute the
    ISR constants at each trial's sqrt(s) (``pair_weight1``: the same weight to rounding).
    """
    isr, fsr = par[P_ISR] > 0.5, par[P_FSR] > 0.5
    zex, vp = par[P_ZEX] > 0.5, par[P_VP] > 0.5
    e_min = par[P_EMIN]
    sph, spl = par[P_SPH], par[P_SPL]
    m4 = 4.0 * M_TAU * M_TAU
    for t in range(nt):
        eh = par[P_EHER] + sph * nh[t] if sph > 0.0 else par[P_EHER]
        el = par[P_ELER] + spl * nl[t] if spl > 0.0 else par[P_ELER]
        tr[t, 0], tr[t, 1] = eh, el
        tr[t, 2] = collision_sqrt_s_sc1(eh, el, sin_a, cos_a)
    if isr:
        for t in range(nt):
            sqrt_s = tr[t, 2]
            beta = ll_beta_near1(sqrt_s * sqrt_s, cst[0], cst[1], M_E)
            tob = 2.0 / beta
            v1, n1, d1 = isr_fraction_u1(pool[TRIAL_UNIFORMS * t], beta, tob, cst)
            v2, n2, d2 = isr_fraction_u1(pool[TRIAL_UNIFORMS * t + 1], beta, tob, cst)
            eb = 0.5 * sqrt_s
            tr[t, 3] = 0.0 if v1 * eb < e_min else v1
            tr[t, 4] = 0.0 if v2 * eb < e_min else v2
            w[t] = (n1 * n2) / (d1 * d2) * ISR_K_FACTOR
    else:
        for t in range(nt):
            w[t] = 1.0
            tr[t, 3] = tr[t, 4] = 0.0
    bfac = par[P_BFAC]
    for t in range(nt):
        sqrt_s = tr[t, 2]
        sp = (1.0 - tr[t, 3]) * (1.0 - tr[t, 4]) * (sqrt_s * sqrt_s)
        if w[t] <= 0.0 or sp <= m4:
            w[t] = 0.0
            tr[t, 5] = tr[t, 6] = tr[t, 7] = 0.0
            continue
        f1, f2, fm = born_factors1(sp, M_TAU, zex, vp)
        tr[t, 5], tr[t, 6], tr[t, 7] = f1, f2, fm
        inv_sp = 1.0 / sp
        beta = math.sqrt(1.0 - m4 * inv_sp)
        wt = w[t] * (GEV2_TO_PB * born_sigma_b1(inv_sp, beta, ALPHA_EM, f1, fm))
        if fsr:
            wt *= fsr_k_factor1(beta)
        w[t] = wt * bfac


@kernel
def _hit_constants1(hits, nhit, tr, sin_a, cos_a, par, hp):
    """Rows of ``hp`` for the hit trials ``hits[:nhit]`` (rows of ``tr``): the constants of
    ``gen.processes.ffbar.pair_event_cm_p1`` (ISR photon-angle parameters of
    ``gen.radiation.emission_params1`` at the beam energy, or -1: none emitted; FSR parameters
    of ``gen.radiation.fsr_rest_params1`` at sqrt(s') = sqrt((1 - v1)(1 - v2) s)) and the
    collision frame (b, n) of ``gen.beams.collision_frame_sc1``, in one short loop off the
    events' dependent chains."""
    isr, fsr = par[P_ISR] > 0.5, par[P_FSR] > 0.5
    for j in range(nhit):
        t = hits[j]
        sqrt_s, v1, v2 = tr[t, 2], tr[t, 3], tr[t, 4]
        hp[j, 0], hp[j, 1], hp[j, 2] = -1.0, 0.0, 0.0
        if isr and (v1 > 0.0 or v2 > 0.0):
            hp[j, 0], hp[j, 1], hp[j, 2] = emission_params1(0.5 * sqrt_s, M_E)
        hp[j, 3], hp[j, 4], hp[j, 5], hp[j, 6] = 0.0, 1.0, 1.0, 1.0
        if fsr:
            msp = math.sqrt((1.0 - v1) * (1.0 - v2) * (sqrt_s * sqrt_s))
            hp[j, 3], hp[j, 4], hp[j, 5], hp[j, 6] = fsr_rest_params1(M_TAU, msp, par[P_EMIN])
        (hp[j, 7], hp[j, 8], hp[j, 9], hp[j, 10], hp[j, 11],
         hp[j, 12]) = collision_frame_sc1(tr[t, 0], tr[t, 1], sin_a, cos_a)


@kernel
def _block_hits1(pool, wb, nt, w_max, hits) -> int:
    """Indices of the hits among trials 0 .. nt-1 (u w_max < w0, u the block's third uniform)
    into ``hits``; returns their number."""
    nhit = 0
    for t in range(nt):
        if wb[t] > 0.0 and pool[TRIAL_UNIFORMS * t + 2] * w_max < wb[t]:
            hits[nhit] = t
            nhit += 1
    return nhit


#: particle ids and statuses of the head rows of an event (pair_event_to_lab1's order)
_HEAD_PDG = np.array([TAU, -TAU, PHOTON, PHOTON, PHOTON, PHOTON], dtype=np.int64)


@kernel
def _hit_event1(rng, par, veto, tr, t, hp, j, out_i, out_f, pos, kk, ff, buf):
    """The event of hit trial ``t`` (constants ``hp[j]``): photon angles, Born angle and FSR
    (``pair_event_cm_p1``), then taus and photons to the lab into rows ``pos``.. of the
    output (``gen.unweight.pair_event_to_lab1``: boosts with their parameters computed once).

    Returns (head row, cos_theta, sqrt_s_prime, n_isr, n_fsr, vetoed).
    """
    bqx, bqy, bqz, msp, c, mask = pair_event_cm_p1(
        rng, tr[t, 2], M_TAU, par[P_ISR] > 0.5, par[P_FSR] > 0.5, tr[t, 3], tr[t, 4],
        tr[t, 5], tr[t, 6], tr[t, 7], par[P_EMIN], kk, ff, hp[j, 0], hp[j, 1], hp[j, 2],
        hp[j, 3], hp[j, 4], hp[j, 5], hp[j, 6])
    m, n_isr, n_fsr = pair_event_to_lab1(buf, kk, ff, mask, bqx, bqy, bqz, hp[j, 7], hp[j, 8],
                                         hp[j, 9], hp[j, 10], hp[j, 11], hp[j, 12])
    vetoed = False
    for r in range(m):
        q = pos + r
        out_i[q, 0] = _HEAD_PDG[r]
        out_i[q, 1] = DECAYED if r < 2 else FINAL
        out_i[q, 2] = -1
        for col in range(4):
            out_f[q, col] = buf[r, col]
        for col in range(4, 8):
            out_f[q, col] = 0.0
        if r >= 2 and photon_vetoed1(veto, buf[r, 0], buf[r, 1], buf[r, 2], buf[r, 3]):
            vetoed = True
    return pos + m, c, msp, n_isr, n_fsr, vetoed


@kernel
def _block_setup(par):
    """(sin_a, cos_a, ISR constants) of a chunk: the crossing angle and ``isr_consts1`` at the
    nominal sqrt(s)."""
    sin_a, cos_a = crossing_trig1(par[P_HALF])
    cst = isr_consts1(collision_sqrt_s_sc1(par[P_EHER], par[P_ELER], sin_a, cos_a), M_E,
                      par[P_HARD], par[P_XMIN])
    return sin_a, cos_a, cst


@kernel
def _tautau_generate(rng, par, veto, tables, inv_b, n, w_max, mu, max_rows):
    """Hit-or-miss until ``n`` events, the hit decided on w0 before the event and the decays
    (module docstring, "Hit before the decays"); returns rows, offsets, truth and statistics.

    Trials in blocks of ``BLOCK_TRIALS``: w0 of every trial (``_weight_block1``), then in trial
    order the statistics and, for hits, the event (``_hit_event1``), the photon veto, the decays
    and the cuts. The statistics sum the estimator c of every trial (``mu`` its control-variate
    constant); trials after the n-th event are not counted.
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
    buf = np.zeros((_HEAD_ROWS, 4))
    nbk = BLOCK_TRIALS
    pool = np.empty(nbk * TRIAL_UNIFORMS)
    nh, nl, wb = np.empty(nbk), np.empty(nbk), np.empty(nbk)
    tr = np.empty((nbk, _TR_COLS))
    hits = np.empty(nbk, np.int64)
    hp = np.empty((nbk, _HP_COLS))
    sin_a, cos_a, cst = _block_setup(par)
    n_trials = 0
    sum_w = 0.0
    sum_w2 = 0.0
    n_over = 0
    k = 0
    pos = 0
    while k < n:
        draw_block1(rng, pool, nh, nl, par[P_SPH], par[P_SPL])
        _weight_block1(pool, nh, nl, nbk, par, sin_a, cos_a, cst, wb, tr)
        nhit = _block_hits1(pool, wb, nbk, w_max, hits)
        _hit_constants1(hits, nhit, tr, sin_a, cos_a, par, hp)
        j = 0
        for t in range(nbk):
            w0 = wb[t]
            n_trials += 1
            if w0 <= 0.0:
                continue
            if j >= nhit or hits[j] != t:
                # a miss: P(hit | w0) = min(w0 / w_max, 1) < 1
                est = w0 * mu
                sum_w += est
                sum_w2 += est * est
                continue
            if pos + max_rows > cap:
                cap = cap + cap // 2 + max_rows
                out_i = _grown(out_i, pos, cap)
                out_f = _grown(out_f, pos, cap)
            head, c, msp, n_isr, n_fsr, vetoed = _hit_event1(rng, par, veto, tr, t, hp, j,
                                                             out_i, out_f, pos, kk, ff, buf)
            j += 1
            passed = False
            mode_m = mode_p = -1
            end = pos
            if not vetoed:
                passed, end, mode_m, mode_p = _decays1(rng, par, veto, tables, out_i, out_f,
                                                       pos, head)
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
                t_sqrt_s[k] = tr[t, 2]
                t_sqrt_sp[k] = msp
                t_nisr[k] = n_isr
                t_nfsr[k] = n_fsr
                k += 1
                offset[k] = pos
                if k == n:
                    break  # trials after the n-th event are not counted
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
        """Pilot run: ``w_max`` from the production weights w0 (module docstring, "w_max"),
        sigma from the unbiased weights, the control-variate constant ``mu`` of the
        generation's estimator (module docstring)."""
        w0, w_hit, w_sig = self._trials(rng, points)
        if not (np.all(np.isfinite(w_hit)) and np.all(np.isfinite(w_sig))):
            raise FloatingPointError(f"process {self.name!r}: non-finite weight in the pilot run")
        if not np.any(w_hit > 0):
            raise CardError(
                f"process {self.name!r}: no accepted phase-space point in {points} pilot trials; "
                "loosen the generator-level cuts"
            )
        # w_max bounds w0 >= w_hit (the hit is decided on w0): sup w0 is the no-photon peak
        # of the ISR weight at the lowest sqrt(s) of the beam spread, which the pilot finds
        # within 0.07 % (module docstring, "w_max"); PILOT_SAFETY on max w_hit left 23 % of the
        # trials as misses
        self.w_max = float(w0.max()) * W0_SAFETY
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
