"""Events-file arrays of one chunk -> reco-file arrays: the parametrized Belle II detector.

``simulate_chunk(particles, offset, rng, config)`` takes the particle arrays of whole events
(events-file contract: pdg, status, mother, px, py, pz, e, vx, vy, vz, t; ``offset`` int64 of
length n+1 starting at 0) and returns the reco arrays named as in the reco-file contract
(``RECO_KEYS``). One numba kernel loops over events; randomness comes only from ``rng``, which
seeds one stream per component (tracking, PID, trigger, calorimeter, beam background). Within a
stream every particle draws a fixed count whatever the smeared outcomes (a lost track still draws
its smearing and PID, a cluster below threshold its angles), so the output is a deterministic
function of the rng state, the inputs and the configuration, and changing one setting changes
only the quantities it acts on (tests/test_reproducibility.py).

Conventions the reco-file writer and the analyses rely on:

- ``tracks/truth`` and ``clusters/truth`` are indices of the generated particle *within its event*
  (the convention of ``/particles/mother``): the particle is ``offset[i] + truth`` in the flat
  arrays of event i. Clusters of photons from a pi0 decayed here carry the pi0's index;
  beam-background clusters carry -1. A charged particle's cluster has the same truth as its
  track: use that as track-cluster matching.
- Tracks and clusters of an event are in the order of the generated particles; each event's
  beam-background clusters come last.
- ``tracks/pid`` is the PDG code of the most probable hypothesis with the track's charge
  (``detector.pid``); ``trigger`` bits are documented in ``detector.trigger``.
- Only status-1 particles are seen (models in ``detector.tracking``, ``detector.calorimeter``,
  ``detector.pid``, ``detector.trigger``). ``mother`` and ``t`` are not used.
"""

from __future__ import annotations

import math

import numpy as np

from gen.beams import Beams
from gen.jit import kernel
from gen.kinematics import two_body_decay1

from .calorimeter import (
    C_BKG_E,
    C_BKG_MEAN,
    C_DECAY_PI0,
    C_TH_BWD_MAX,
    C_TH_FWD_MIN,
    C_THRESHOLD,
    calorimeter_params,
    ecl_impact1,
    ecl_region1,
    hadron_deposit1,
    in_crystals1,
    mip_deposit1,
    photon_detected1,
    smear_angles1,
    smear_energy1,
)
from .config import DetectorConfig
from .pid import draw_pid1, hypothesis_pdg, pid_params, reaches_klm1
from .tracking import T_B, charge_of, perigee1, smear_track1, track_found1, tracking_params
from .trigger import (
    G_EFF,
    G_KLM_EFF,
    bhabha_veto1,
    track2d_accepted1,
    trigger_params,
    trigger_word1,
)

#: output keys, in the order of the kernel's return tuple (reco-file contract names)
RECO_KEYS: tuple[str, ...] = (
    "trigger",
    "track_offset",
    "cluster_offset",
    "tracks/px",
    "tracks/py",
    "tracks/pz",
    "tracks/charge",
    "tracks/d0",
    "tracks/z0",
    "tracks/vx",
    "tracks/vy",
    "tracks/vz",
    "tracks/pid",
    "tracks/mu_id",
    "tracks/e_id",
    "tracks/pi_id",
    "tracks/k_id",
    "tracks/truth",
    "clusters/e",
    "clusters/theta",
    "clusters/phi",
    "clusters/truth",
)

_INPUT_DTYPES = {
    "pdg": np.int32,
    "status": np.int8,
    "px": np.float64,
    "py": np.float64,
    "pz": np.float64,
    "e": np.float64,
    "vx": np.float64,
    "vy": np.float64,
    "vz": np.float64,
}

# kinds of ECL deposit
_EM, _MIP, _HADRON_CHARGED, _HADRON_NEUTRAL = 0, 1, 2, 3


@kernel
def _add_cluster(rng, r_eff, x0, y0, z0, px, py, pz, e, kind, q, truth, b_t, cp,
                 c_e, c_theta, c_phi, c_truth, nc):
    """Append the cluster of one particle if it reaches the ECL outside the gaps; returns nc."""
    reached, theta, phi = ecl_impact1(x0, y0, z0, px, py, pz, q, b_t, cp)
    if not reached:
        return nc
    region = ecl_region1(theta, cp)
    if not in_crystals1(region):
        return nc
    # photon efficiency from its own stream: at efficiency 1 the other draws are unchanged
    if kind == _EM and q == 0 and not photon_detected1(r_eff, region, cp):
        return nc
    if kind == _EM:
        dep = smear_energy1(rng, e, cp)
    else:
        p2 = px * px + py * py + pz * pz
        ekin = e - math.sqrt(max(e * e - p2, 0.0))
        if kind == _MIP:
            dep = mip_deposit1(rng, ekin, cp)
        else:
            dep = hadron_deposit1(rng, ekin, kind == _HADRON_CHARGED, cp)
    # angles drawn before the threshold test: the draw count never depends on a smeared outcome
    th, ph = smear_angles1(rng, theta, phi, max(dep, 1e-9), cp)
    if dep <= cp[C_THRESHOLD]:
        return nc
    c_e[nc] = dep
    c_theta[nc] = th
    c_phi[nc] = ph
    c_truth[nc] = truth
    return nc + 1


@kernel
def _simulate(r_trk, r_pid, r_trg, r_ecl, r_bkg, r_eff, pdg, status, px, py, pz, e, vx, vy, vz,
              offset, tp, cp, pp, gp, boost_x, boost_y, boost_z):
    n_ev = offset.shape[0] - 1
    n_p = pdg.shape[0]
    b_t = tp[T_B]

    n_bkg = np.zeros(n_ev, np.int64)
    if cp[C_BKG_MEAN] > 0.0:
        for i in range(n_ev):
            n_bkg[i] = r_bkg.poisson(cp[C_BKG_MEAN])
    max_mult = 0
    for i in range(n_ev):
        max_mult = max(max_mult, offset[i + 1] - offset[i])
    cap_cl = 2 * n_p + n_bkg.sum()

    trigger = np.zeros(n_ev, np.uint32)
    track_offset = np.zeros(n_ev + 1, np.int64)
    cluster_offset = np.zeros(n_ev + 1, np.int64)
    t_px = np.empty(n_p)
    t_py = np.empty(n_p)
    t_pz = np.empty(n_p)
    t_charge = np.empty(n_p, np.int8)
    t_d0 = np.empty(n_p)
    t_z0 = np.empty(n_p)
    t_vx = np.empty(n_p)
    t_vy = np.empty(n_p)
    t_vz = np.empty(n_p)
    t_pid = np.empty(n_p, np.int32)
    t_mu = np.empty(n_p, np.float32)
    t_e = np.empty(n_p, np.float32)
    t_pi = np.empty(n_p, np.float32)
    t_k = np.empty(n_p, np.float32)
    t_truth = np.empty(n_p, np.int32)
    c_e = np.empty(cap_cl)
    c_theta = np.empty(cap_cl)
    c_phi = np.empty(cap_cl)
    c_truth = np.empty(cap_cl, np.int32)
    phi2d = np.empty(max_mult)
    p2d = np.empty(max_mult)
    klm2d = np.zeros(max_mult, np.bool_)

    cos_lo = math.cos(cp[C_TH_BWD_MAX])
    cos_hi = math.cos(cp[C_TH_FWD_MIN])
    nt = 0
    nc = 0
    for ev in range(n_ev):
        first = offset[ev]
        c_start = nc
        n2d = 0
        for j in range(first, offset[ev + 1]):
            if status[j] != 1:
                continue
            a = abs(pdg[j])
            local = j - first
            q = charge_of(pdg[j])
            if q != 0:
                pt = math.hypot(px[j], py[j])
                p = math.sqrt(pt * pt + pz[j] * pz[j])
                theta = math.atan2(pt, pz[j])
                found = track_found1(r_trk, px[j], py[j], pz[j], vx[j], vy[j], tp)
                # smearing and PID drawn for every charged particle, kept only if found: a
                # setting that loses a track does not shift the draws of the others
                d0, z0, pxp, pyp = perigee1(vx[j], vy[j], vz[j], px[j], py[j], pz[j], q, b_t)
                sx, sy, sz, sd0, sz0 = smear_track1(r_trk, pxp, pyp, pz[j], e[j], d0, z0, tp)
                h, eid, muid, piid, kid = draw_pid1(r_pid, a, p, theta, pp)
                if found:
                    phs = math.atan2(sy, sx)
                    t_px[nt] = sx
                    t_py[nt] = sy
                    t_pz[nt] = sz
                    t_charge[nt] = q
                    t_d0[nt] = sd0
                    t_z0[nt] = sz0
                    t_vx[nt] = sd0 * math.sin(phs)
                    t_vy[nt] = -sd0 * math.cos(phs)
                    t_vz[nt] = sz0
                    t_pid[nt] = hypothesis_pdg(h, q)
                    t_e[nt] = eid
                    t_mu[nt] = muid
                    t_pi[nt] = piid
                    t_k[nt] = kid
                    t_truth[nt] = local
                    nt += 1
                if track2d_accepted1(vx[j], vy[j], vz[j], px[j], py[j], pz[j], q, b_t, gp):
                    found2d = r_trg.random() < gp[G_EFF]
                    klm = False
                    if a == 13 and reaches_klm1(p, theta, pp):
                        klm = r_trg.random() < gp[G_KLM_EFF]  # drawn whatever found2d is
                    if found2d:
                        phi2d[n2d] = math.atan2(py[j], px[j])
                        p2d[n2d] = p
                        klm2d[n2d] = klm
                        n2d += 1
                if a == 11:
                    kind = _EM
                elif a == 13:
                    kind = _MIP
                else:
                    kind = _HADRON_CHARGED
                nc = _add_cluster(r_ecl, r_eff, vx[j], vy[j], vz[j], px[j], py[j], pz[j], e[j],
                                  kind, q, local, b_t, cp, c_e, c_theta, c_phi, c_truth, nc)
            elif a == 22:
                nc = _add_cluster(r_ecl, r_eff, vx[j], vy[j], vz[j], px[j], py[j], pz[j], e[j],
                                  _EM, 0, local, b_t, cp, c_e, c_theta, c_phi, c_truth, nc)
            elif a == 111:
                if cp[C_DECAY_PI0] != 0.0:
                    cos_t = 2.0 * r_ecl.random() - 1.0
                    phi = 2.0 * math.pi * r_ecl.random()
                    g = two_body_decay1(px[j], py[j], pz[j], e[j], 0.0, 0.0, cos_t, phi)
                    nc = _add_cluster(r_ecl, r_eff, vx[j], vy[j], vz[j], g[0], g[1], g[2], g[3],
                                      _EM, 0, local, b_t, cp, c_e, c_theta, c_phi, c_truth, nc)
                    nc = _add_cluster(r_ecl, r_eff, vx[j], vy[j], vz[j], g[4], g[5], g[6], g[7],
                                      _EM, 0, local, b_t, cp, c_e, c_theta, c_phi, c_truth, nc)
            elif a == 130 or a == 2112:
                nc = _add_cluster(r_ecl, r_eff, vx[j], vy[j], vz[j], px[j], py[j], pz[j], e[j],
                                  _HADRON_NEUTRAL, 0, local, b_t, cp, c_e, c_theta, c_phi,
                                  c_truth, nc)
            # neutrinos, invisible BSM states and every other id: nothing
        for _ in range(n_bkg[ev]):
            eb = r_bkg.exponential(cp[C_BKG_E])
            cos_t = cos_lo + (cos_hi - cos_lo) * r_bkg.random()
            phi = 2.0 * math.pi * r_bkg.random() - math.pi
            region = ecl_region1(math.acos(cos_t), cp)
            if in_crystals1(region) and eb > cp[C_THRESHOLD]:
                c_e[nc] = eb
                c_theta[nc] = math.acos(cos_t)
                c_phi[nc] = phi
                c_truth[nc] = -1
                nc += 1
        e_sum = 0.0
        for k in range(c_start, nc):
            e_sum += c_e[k]
        veto = bhabha_veto1(c_e, c_theta, c_phi, c_start, nc, boost_x, boost_y, boost_z, gp)
        trigger[ev] = trigger_word1(n2d, phi2d, p2d, klm2d, e_sum, veto, gp)
        track_offset[ev + 1] = nt
        cluster_offset[ev + 1] = nc
    return (trigger, track_offset, cluster_offset,
            t_px[:nt].copy(), t_py[:nt].copy(), t_pz[:nt].copy(), t_charge[:nt].copy(),
            t_d0[:nt].copy(), t_z0[:nt].copy(), t_vx[:nt].copy(), t_vy[:nt].copy(),
            t_vz[:nt].copy(), t_pid[:nt].copy(), t_mu[:nt].copy(), t_e[:nt].copy(),
            t_pi[:nt].copy(), t_k[:nt].copy(), t_truth[:nt].copy(),
            c_e[:nc].copy(), c_theta[:nc].copy(), c_phi[:nc].copy(), c_truth[:nc].copy())


def simulate_chunk(
    particles: dict[str, np.ndarray],
    offset: np.ndarray,
    rng: np.random.Generator,
    config: DetectorConfig,
) -> dict[str, np.ndarray]:
    """Reco arrays (keys ``RECO_KEYS``) of the events ``offset[i]:offset[i+1]`` of ``particles``.

    Deterministic for a given state of ``rng`` (a ``numpy.random.Generator``, e.g.
    ``gen.streams.stream(seed, DETECTOR, block)``). Raises ValueError on inconsistent inputs.
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if not isinstance(config, DetectorConfig):
        raise ValueError(f"config must be a DetectorConfig, got {type(config).__name__}")
    missing = sorted(set(_INPUT_DTYPES) - set(particles))
    if missing:
        raise ValueError(f"particles lack the arrays {missing}")
    arrays = {k: np.ascontiguousarray(particles[k], dtype=t) for k, t in _INPUT_DTYPES.items()}
    n = arrays["pdg"].shape[0]
    for k, arr in arrays.items():
        if arr.ndim != 1 or arr.shape[0] != n:
            raise ValueError(f"particles[{k!r}] has shape {arr.shape}, expected ({n},)")
    offset = np.ascontiguousarray(offset, dtype=np.int64)
    if offset.ndim != 1 or offset.shape[0] < 1 or offset[0] != 0 or offset[-1] != n:
        raise ValueError(f"offset must start at 0 and end at the particle count {n}")
    if np.any(np.diff(offset) < 0):
        raise ValueError("offset must be non-decreasing")
    for k in ("px", "py", "pz", "e", "vx", "vy", "vz"):
        if not np.all(np.isfinite(arrays[k])):
            raise ValueError(f"particles[{k!r}] has non-finite values")
    bx, by, bz = (float(b) for b in Beams().boost)
    # one stream per detector component, seeded from ``rng``: changing one component's setting
    # never moves the random numbers of another
    r_trk, r_pid, r_trg, r_ecl, r_bkg, r_eff = (
        np.random.Generator(np.random.PCG64(int(k))) for k in rng.integers(0, 2**63, size=6)
    )
    out = _simulate(
        r_trk, r_pid, r_trg, r_ecl, r_bkg, r_eff,
        arrays["pdg"], arrays["status"], arrays["px"], arrays["py"], arrays["pz"],
        arrays["e"], arrays["vx"], arrays["vy"], arrays["vz"], offset,
        tracking_params(config.tracking), calorimeter_params(config.calorimeter),
        pid_params(config.pid), trigger_params(config.trigger), bx, by, bz,
    )
    return dict(zip(RECO_KEYS, out, strict=True))
