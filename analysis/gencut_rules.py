"""The rules of ``analysis.gencut_check``: one generator per cut family, yielding the one-line
finding for each cut that can drop events the detector (and the selection, if given) accepts.

Each rule yields nothing when the cut is off or safe; ``analysis.gencut_check`` raises the first
finding as a CardError (``b2dark run``) or logs them all (``b2dark simulate``). The reasoning
behind each rule is in the ``analysis.gencut_check`` docstring.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from detector.calorimeter import calorimeter_params, sigma_e1
from detector.config import DetectorConfig
from gen.beams import Beams

#: a vetoed particle's cluster must pass the thresholds unless its energy fluctuates down by more
#: than this many Gaussian sigma: one-sided probability 1e-4 per particle (Phi(-3.719) = 1e-4)
Z_ENERGY = 3.719
#: tolerance of the float comparisons (degrees, GeV, relative resolution)
EPS = 1e-9
#: found tracks of the two-track selection (analysis.selections.two_track_events: exactly two)
N_SELECTED_TRACKS = 2
#: max_charged: largest allowed probability that an event it drops loses enough of its counted
#: tracks to tracking inefficiency to show the selection's two tracks. Scale (default tautau
#: card, 1e6 trials, issue-2 report): the cut drops 60 pb (4.8e6 events at 79.7 fb^-1); at the
#: kept events' selection efficiency (3.7 %: 3.77e5 of 1.01e7) 1e-3 of them would be 4.7e-4 of
#: the selected yield, below its 8e-4 MC error (cards/samples/tautau.toml). Dropped events
#: select worse (a 3-prong pion must pass muon ID, lost tracks leave vetoed ECL clusters)
P_TRACK_LOSS = 1.0e-3
#: c.m. cuts (bhabha, gammagamma) are applied in each trial's collision frame; the check maps the
#: detector into the nominal one. Beam-energy spread (5 MeV of 7 GeV, gen/beams.py) moves the
#: frame by < 1e-3 in energy and < 0.05 deg in angle: these margins cover it
CM_E_TOL, CM_THETA_TOL_DEG = 1.0e-3, 0.05


def finding(name: str, cut: str, value: Any, why: str) -> str:
    """The one-line message of a cut that drops events the detector may accept."""
    return (f"sample {name!r}: cuts.{cut} = {value!r} {why}; loosen or turn off the cut and "
            "regenerate the sample")


def muon_acceptance(det: DetectorConfig, muon_id: bool) -> tuple[tuple, tuple, tuple]:
    """((theta_lo, key), (theta_hi, key), (p_min, key)) of the tracks the selection can accept;
    without muon ID p_min is the tracking pT threshold (p >= pT: nothing below is found)."""
    trk, pid = det.tracking, det.pid
    lo = (trk.theta_min_deg, "tracking.theta_min_deg")
    hi = (trk.theta_max_deg, "tracking.theta_max_deg")
    p = (trk.pt_min_gev, "tracking.pt_min_gev")
    if muon_id:
        lo = max(lo, (pid.klm_theta_min_deg, "pid.klm_theta_min_deg"))
        hi = min(hi, (pid.klm_theta_max_deg, "pid.klm_theta_max_deg"))
        p = (pid.muon_p_min_gev, "pid.muon_p_min_gev")
    return lo, hi, p


def track_window(name: str, cuts: Mapping, prefix: str, p_key: str, det: DetectorConfig,
                 muon_id: bool) -> Iterator[str]:
    """``<prefix>_theta_min/max_deg`` and ``p_key`` contain every track the selection accepts."""
    (lo, lo_key), (hi, hi_key), (p, p_key_det) = muon_acceptance(det, muon_id)
    what = "muons" if prefix == "mu" else "charged tracks"
    t_min, t_max = cuts[f"{prefix}_theta_min_deg"], cuts[f"{prefix}_theta_max_deg"]
    if t_min > lo + EPS:
        yield finding(name, f"{prefix}_theta_min_deg", t_min,
                      f"drops {what} the detector accepts down to {lo:g} deg (detector {lo_key})")
    if t_max < hi - EPS:
        yield finding(name, f"{prefix}_theta_max_deg", t_max,
                      f"drops {what} the detector accepts up to {hi:g} deg (detector {hi_key})")
    if cuts.get(p_key, 0.0) > p + EPS:
        yield finding(name, p_key, cuts[p_key], f"drops {what} the detector accepts from "
                      f"p = {p:g} GeV (detector {p_key_det})")


def uncovered(lo: float, hi: float, covers: Iterable[tuple[float, float]]) -> float:
    """Length of [lo, hi] not covered by the union of the intervals ``covers``."""
    left = hi - lo
    pos = lo
    for a, b in sorted(covers):
        if b <= pos:
            continue
        if a >= hi:
            break
        left -= max(0.0, min(b, hi) - max(a, pos))
        pos = max(pos, b)
    return max(left, 0.0)


def veto(name: str, cuts: Mapping, prefix: str, det: DetectorConfig,
         selection: Mapping | None, photons: bool) -> Iterator[str]:
    """Photon / e+- veto: every vetoed particle makes a cluster the selection rejects."""
    e_key = f"{prefix}_e_gev"
    e_veto = cuts[e_key]
    if e_veto <= 0.0:
        return
    cal = det.calorimeter
    t_min, t_max = cuts[f"{prefix}_theta_min_deg"], cuts[f"{prefix}_theta_max_deg"]
    gaps = [(float(a), float(b)) for a, b in cuts[f"{prefix}_gaps_deg"]]
    what = "a photon" if photons else "an e+-"
    if t_min < cal.theta_fwd_min_deg - EPS:
        yield finding(name, f"{prefix}_theta_min_deg", t_min, f"vetoes {what} the ECL does not "
                      f"see below {cal.theta_fwd_min_deg:g} deg (detector "
                      "calorimeter.theta_fwd_min_deg)")
    if t_max > cal.theta_bwd_max_deg + EPS:
        yield finding(name, f"{prefix}_theta_max_deg", t_max, f"vetoes {what} the ECL does not "
                      f"see above {cal.theta_bwd_max_deg:g} deg (detector "
                      "calorimeter.theta_bwd_max_deg)")
    for g_lo, g_hi, keys in (
        (cal.theta_fwd_max_deg, cal.theta_brl_min_deg, "theta_fwd_max_deg/theta_brl_min_deg"),
        (cal.theta_brl_max_deg, cal.theta_bwd_min_deg, "theta_brl_max_deg/theta_bwd_min_deg"),
    ):
        lo, hi = max(g_lo, t_min), min(g_hi, t_max)
        if hi > lo and uncovered(lo, hi, gaps) > EPS:
            yield finding(name, f"{prefix}_gaps_deg", cuts[f"{prefix}_gaps_deg"],
                          f"vetoes {what} in the ECL gap {g_lo:g}-{g_hi:g} deg (detector "
                          f"calorimeter.{keys})")
    if photons:
        regions = (("fwd", cal.theta_fwd_min_deg, cal.theta_fwd_max_deg),
                   ("brl", cal.theta_brl_min_deg, cal.theta_brl_max_deg),
                   ("bwd", cal.theta_bwd_min_deg, cal.theta_bwd_max_deg))
        for region, r_lo, r_hi in regions:
            eff = getattr(cal, f"photon_efficiency_{region}")
            lo, hi = max(r_lo, t_min), min(r_hi, t_max)
            if eff < 1.0 and hi > lo and uncovered(lo, hi, gaps) > EPS:
                yield finding(name, e_key, e_veto, f"drops events with a photon the ECL misses "
                              f"with probability {1.0 - eff:.6g} (detector "
                              f"calorimeter.photon_efficiency_{region} = {eff:g})")
    else:
        from gen.processes import eemumu as g  # the helix geometry the e+- veto was computed with

        for det_value, gen_value, key in (
            (det.tracking.b_field_t, g.B_FIELD_T, "tracking.b_field_t"),
            (cal.barrel_r_cm, g.ECL_BARREL_R_CM, "calorimeter.barrel_r_cm"),
            (cal.fwd_z_cm, g.ECL_FWD_Z_CM, "calorimeter.fwd_z_cm"),
            (cal.bwd_z_cm, g.ECL_BWD_Z_CM, "calorimeter.bwd_z_cm"),
        ):
            if abs(det_value - gen_value) > EPS * max(1.0, abs(gen_value)):
                yield finding(name, e_key, e_veto, f"assumes the ECL impact geometry {key} = "
                              f"{gen_value:g} (gen/processes/eemumu.py), the detector has "
                              f"{det_value:g}")
    threshold, t_key = cal.cluster_threshold_gev, "calorimeter.cluster_threshold_gev"
    if selection is not None:
        if selection["max_extra_clusters"] > 0:
            yield finding(name, e_key, e_veto, "assumes one extra cluster rejects the event, the "
                          f"selection allows max_extra_clusters = "
                          f"{selection['max_extra_clusters']}")
        if selection["cluster_e_min_gev"] > threshold:
            threshold, t_key = selection["cluster_e_min_gev"], "selection.cluster_e_min_gev"
    sigma = sigma_e1(e_veto, calorimeter_params(cal))
    if e_veto - Z_ENERGY * sigma < threshold:
        yield finding(name, e_key, e_veto, f"is within {Z_ENERGY} energy-resolution sigma "
                      f"({sigma:.3g} GeV, detector calorimeter.res_*) of the cluster threshold "
                      f"{threshold:g} GeV ({t_key})")


def pmiss_resolution(name: str, cuts: Mapping, det: DetectorConfig) -> Iterator[str]:
    """eemumu's resolution-loosened pmiss cuts assume the default tracking resolution."""
    if cuts.get("pmiss_resolution_sigmas", 0.0) <= 0.0:
        return
    from gen.processes import eemumu as g  # resolution the loosened cuts were computed with

    trk = det.tracking
    for det_value, gen_value, key in (
        (trk.sigma_pt_a_per_gev, g.TRK_PT_A, "sigma_pt_a_per_gev"),
        (trk.sigma_pt_b, g.TRK_PT_B, "sigma_pt_b"),
        (trk.sigma_theta_a_mrad * 1e-3, g.TRK_ANG_A, "sigma_theta_a_mrad"),
        (trk.sigma_theta_b_mrad_gev * 1e-3, g.TRK_ANG_B, "sigma_theta_b_mrad_gev"),
        (trk.sigma_phi_a_mrad * 1e-3, g.TRK_ANG_A, "sigma_phi_a_mrad"),
        (trk.sigma_phi_b_mrad_gev * 1e-3, g.TRK_ANG_B, "sigma_phi_b_mrad_gev"),
    ):
        if det_value > gen_value * (1.0 + EPS):
            yield finding(name, "pmiss_resolution_sigmas", cuts["pmiss_resolution_sigmas"],
                          "loosens the missing-momentum cuts for the default tracking "
                          f"resolution, the detector's is worse (tracking.{key})")
            return


def track_loss_probability(n_tracks: int, efficiency: float, n_lost: int) -> float:
    """P(at least ``n_lost`` of ``n_tracks`` tracks are not found), independent losses."""
    q = 1.0 - efficiency
    return float(sum(math.comb(n_tracks, k) * q**k * efficiency ** (n_tracks - k)
                     for k in range(n_lost, n_tracks + 1)))


def multiplicity(name: str, cuts: Mapping, det: DetectorConfig) -> Iterator[str]:
    """tautau ``max_charged``: it may count only tracks the detector surely finds."""
    if cuts.get("max_charged", 100) >= 100 or "count_theta_min_deg" not in cuts:
        return
    from gen.processes.tautau import count_window_deg

    trk = det.tracking
    n_max = cuts["max_charged"]
    lo, hi = count_window_deg(cuts)
    if lo < trk.theta_min_deg - EPS:
        yield finding(name, "count_theta_min_deg", cuts["count_theta_min_deg"],
                      f"(window from {lo:g} deg) counts for max_charged particles the detector "
                      f"finds only from {trk.theta_min_deg:g} deg (detector "
                      "tracking.theta_min_deg)")
    if hi > trk.theta_max_deg + EPS:
        yield finding(name, "count_theta_max_deg", cuts["count_theta_max_deg"],
                      f"(window up to {hi:g} deg) counts for max_charged particles the detector "
                      f"finds only up to {trk.theta_max_deg:g} deg (detector "
                      "tracking.theta_max_deg)")
    if cuts["charged_pt_count_gev"] < trk.pt_min_gev - EPS:
        yield finding(name, "charged_pt_count_gev", cuts["charged_pt_count_gev"],
                      f"counts for max_charged tracks below the tracking threshold pT = "
                      f"{trk.pt_min_gev:g} GeV (detector tracking.pt_min_gev)")
    r_max = cuts["count_vertex_r_max_cm"]
    if r_max <= 0.0 or r_max > trk.max_vertex_r_cm + EPS:
        yield finding(name, "count_vertex_r_max_cm", r_max,
                      f"counts for max_charged particles produced where the detector finds no "
                      f"track (r >= {trk.max_vertex_r_cm:g} cm, detector "
                      "tracking.max_vertex_r_cm)")
    if n_max < N_SELECTED_TRACKS:
        yield finding(name, "max_charged", n_max, f"drops events with the "
                      f"{N_SELECTED_TRACKS} found tracks the two-track selection accepts")
        return
    n_lost = n_max + 1 - N_SELECTED_TRACKS
    p_loss = track_loss_probability(n_max + 1, trk.efficiency, n_lost)
    if p_loss > P_TRACK_LOSS:
        yield finding(name, "max_charged", n_max, f"drops events with {n_max + 1} tracks, "
                      f"{p_loss:.3g} of which lose {n_lost} to the tracking efficiency "
                      f"{trk.efficiency:g} (detector tracking.efficiency) and show the selection's "
                      f"{N_SELECTED_TRACKS}; allowed {P_TRACK_LOSS:g}")


def four_lepton_taus(name: str, cuts: Mapping, final_state: str) -> Iterator[str]:
    """four_lepton ``min_charged`` counts taus before their decay: their daughters' directions
    and momenta are not the tau's, so only a cut that counts every tau is safe."""
    if "tau" not in final_state or cuts.get("min_charged", 0) <= 0:
        return
    if cuts["charged_theta_min_deg"] > EPS or cuts["charged_theta_max_deg"] < 180.0 - EPS:
        yield finding(name, "charged_theta_min_deg", cuts["charged_theta_min_deg"],
                      f"(window to {cuts['charged_theta_max_deg']:g} deg) counts taus before "
                      f"decay ({final_state}): a tau outside it can decay into a track inside the "
                      "detector (tracking.theta_min/max_deg)")
    if cuts["charged_p_min_gev"] > EPS:
        yield finding(name, "charged_p_min_gev", cuts["charged_p_min_gev"],
                      f"counts taus before decay ({final_state}): a slow tau decays into tracks "
                      "up to m_tau/2 = 0.89 GeV (detector tracking.pt_min_gev)")


def _cm_images(beams: Beams, theta_deg: np.ndarray, n_phi: int = 361):
    """(c.m. polar angle in deg, c.m. energy) of unit-energy massless lab particles at
    ``theta_deg`` x n_phi azimuths; c.m. polar angle about the e- beam (gen.beams frame)."""
    em, ep = beams.nominal_four_momenta()
    tot = em + ep
    b = tot[:3] / tot[3]
    gamma = 1.0 / math.sqrt(1.0 - b @ b)

    def to_cm(p3: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        bp = p3 @ b  # boost by -b (PDG RPP "Kinematics", Lorentz transformations)
        e_cm = gamma * (e - bp)
        p_cm = p3 + ((gamma - 1.0) * bp / (b @ b) - gamma * e)[..., None] * b
        return p_cm, e_cm

    n_cm, _ = to_cm(em[:3], np.array(em[3]))
    n_cm = n_cm / np.linalg.norm(n_cm)
    th = np.radians(theta_deg)[:, None]
    ph = np.linspace(0.0, 2.0 * math.pi, n_phi)[None, :]
    u = np.stack(np.broadcast_arrays(np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph),
                                     np.cos(th)), axis=-1)
    p_cm, e_cm = to_cm(u, np.ones(u.shape[:-1]))
    cos_cm = np.clip(p_cm @ n_cm / np.linalg.norm(p_cm, axis=-1), -1.0, 1.0)
    return np.degrees(np.arccos(cos_cm)), e_cm


def _cm_reach(beams: Beams, lo: float, hi: float, e_of_theta) -> tuple[float, float, float]:
    """(min, max c.m. polar angle, min c.m. energy) of the particles a detector window
    [lo, hi] deg sees, ``e_of_theta(theta_deg)`` being the smallest lab energy it sees there."""
    theta = np.linspace(lo, hi, max(2, int((hi - lo) / 0.25) + 1))
    angle, e_unit = _cm_images(beams, theta)
    e_cm = e_unit * np.asarray(e_of_theta(theta))[:, None]
    return float(angle.min()), float(angle.max()), float(e_cm.min())


def cm_pair(name: str, cuts: Mapping, beams: Beams, det: DetectorConfig,
            selection: Mapping | None, photons: bool) -> Iterator[str]:
    """bhabha / gammagamma: both e+- (photons) in a c.m. polar window above a c.m. energy. Safe
    if every e+- (photon) the detector sees maps into the window above the energy."""
    cal, trk = det.calorimeter, det.tracking
    cp = calorimeter_params(cal)
    thr, thr_key = cal.cluster_threshold_gev, "calorimeter.cluster_threshold_gev"
    if selection is not None and selection["cluster_e_min_gev"] > thr:
        thr, thr_key = selection["cluster_e_min_gev"], "selection.cluster_e_min_gev"
    # a cluster is seen if its measured energy passes: true energies down to Z sigma below
    e_cluster = max(thr - Z_ENERGY * sigma_e1(thr, cp), 0.0)
    muon_id = selection is not None and selection["muon_id_min"] >= 0.5
    seen = []  # (lo, hi, keys of the window, smallest lab energy(theta), its key)
    if photons or not muon_id:
        seen.append((cal.theta_fwd_min_deg, cal.theta_bwd_max_deg,
                     "calorimeter.theta_fwd_min_deg/theta_bwd_max_deg",
                     lambda t: np.full_like(t, e_cluster), f"{thr_key}, resolution"))
    if not photons:
        (lo, lo_key), (hi, hi_key), (p, p_key) = muon_acceptance(det, muon_id)
        e_track = ((lambda t: np.full_like(t, p)) if muon_id
                   else (lambda t: trk.pt_min_gev / np.sin(np.radians(t))))
        seen.append((lo, hi, f"{lo_key}/{hi_key}", e_track, p_key))
    what = "photons" if photons else "e+-"
    for lo, hi, keys, e_of_theta, e_key in seen:
        a_min, a_max, e_min = _cm_reach(beams, lo, hi, e_of_theta)
        if cuts["theta_min_deg"] > a_min - CM_THETA_TOL_DEG:
            yield finding(name, "theta_min_deg", cuts["theta_min_deg"], f"(c.m.) drops {what} "
                          f"the detector sees down to {a_min:.2f} deg c.m. (detector {keys})")
        if cuts["theta_max_deg"] < a_max + CM_THETA_TOL_DEG:
            yield finding(name, "theta_max_deg", cuts["theta_max_deg"], f"(c.m.) drops {what} "
                          f"the detector sees up to {a_max:.2f} deg c.m. (detector {keys})")
        if cuts["e_min_gev"] > e_min * (1.0 - CM_E_TOL):
            yield finding(name, "e_min_gev", cuts["e_min_gev"], f"(c.m.) drops {what} the "
                          f"detector sees from {e_min:.3g} GeV c.m. (detector {e_key})")
