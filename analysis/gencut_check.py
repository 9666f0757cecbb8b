"""Guard rails: a sample's generator-level cuts against the detector and selection in use.

Generator-level cuts (cards/samples/*.toml, shared cut sets of gen.processes.mumu, gen.gencuts,
gen.processes.tautau and gen.processes.eemumu) were derived from the default Belle II detector
(detector/config.py) and the invisible-Z' selection: they drop only events the selection can
never accept. A detector card that widens an acceptance, lowers a threshold, loses photons or
worsens a resolution can make a cut drop events the selection would accept, and the background
would then be silently too small (limits too strong). ``check_cuts`` compares each cut with the
detector it relies on and raises a one-line CardError naming the sample, the cut and the
detector (or selection) key. It is an error, not a warning: the failure biases the result in the
unsafe direction, and the fix (loosen the cut or turn it off, regenerate) is cheap to state,
whereas a warning scrolls past in a long ``b2dark run``.

Checks (cut keys as in the processes; each only when the cut is active):

- muon / charged-track window and momentum (``mu_*``, ``charged_*``): the sample must keep
  every muon the detector finds and identifies: tracking polar range (CDC) intersected with the
  KLM range, and p >= ``pid.muon_p_min_gev`` (detector/pid.py: P(mu) = 0 outside the KLM or
  below that momentum, so ``mu_id > 0.5`` needs both). Without muon ID in the selection
  (``muon_id_min`` < 0.5: a non-winning hypothesis can pass it, detector/pid.py) the tracking
  range alone and p > ``tracking.pt_min_gev``.
- photon veto (``photon_veto_*``, gen/gencuts.py) and e+- veto (``e_veto_*``, eemumu): every
  vetoed direction must hit the ECL crystals (veto window inside the ECL edges, the detector's
  barrel-endcap gaps inside the veto's gaps), each photon there must make a cluster (photon
  efficiency 1 in every region the window overlaps; e+- clusters have no efficiency knob), its
  reconstructed energy must pass the cluster threshold and the selection's ``cluster_e_min_gev``
  (the veto energy at least ``Z_ENERGY`` resolution sigma above both), and the selection must
  reject any extra cluster (``max_extra_clusters`` = 0). The e+- veto also assumes the helix
  geometry of gen.processes.eemumu (B field, ECL barrel radius, endcap z) equals the detector's.
- eemumu's resolution-loosened missing-momentum cuts (``pmiss_resolution_sigmas`` > 0) assume the
  default tracking resolution (gen.processes.eemumu TRK_* constants): a worse resolution in the
  detector card is an error.

``check_multiplicity`` (tautau ``max_charged``) is reported as a log warning only: the hole it
finds (charged particles counted by the cut that the detector cannot find) needs two lost tracks
in an event with four or more charged particles, whose lost pions mostly still leave ECL clusters
(the default tautau card has it: window 10-170 deg vs the CDC's 17-150 deg, pT count 0.09 GeV vs
the 0.1 GeV tracking threshold).

Not checked: cuts against the selection's recoil cuts (``pmiss_*`` vs ``recoil_*``; selection,
not detector), and cut keys of other processes (bhabha, gammagamma, four-lepton...).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from detector.calorimeter import calorimeter_params, sigma_e1
from detector.config import DetectorConfig
from gen.cards import CardError

log = logging.getLogger("b2dark")

#: a vetoed particle's cluster must pass the thresholds unless its energy fluctuates down by more
#: than this many Gaussian sigma: one-sided probability 1e-4 per particle (Phi(-3.719) = 1e-4)
Z_ENERGY = 3.719
#: tolerance of the float comparisons (degrees, GeV, relative resolution)
EPS = 1e-9


def _fail(name: str, cut: str, value: Any, why: str) -> None:
    raise CardError(f"sample {name!r}: cuts.{cut} = {value!r} {why}; loosen or turn off the cut "
                    "and regenerate the sample")


def _muon_acceptance(det: DetectorConfig, muon_id: bool) -> tuple[tuple, tuple, tuple]:
    """((theta_lo, key), (theta_hi, key), (p_min, key)) of the tracks the selection can accept."""
    trk, pid = det.tracking, det.pid
    lo = (trk.theta_min_deg, "tracking.theta_min_deg")
    hi = (trk.theta_max_deg, "tracking.theta_max_deg")
    p = (trk.pt_min_gev, "tracking.pt_min_gev")  # p >= pT: nothing below pt_min is found
    if muon_id:
        lo = max(lo, (pid.klm_theta_min_deg, "pid.klm_theta_min_deg"))
        hi = min(hi, (pid.klm_theta_max_deg, "pid.klm_theta_max_deg"))
        p = (pid.muon_p_min_gev, "pid.muon_p_min_gev")
    return lo, hi, p


def _check_track_window(name: str, cuts: Mapping, prefix: str, p_key: str,
                        det: DetectorConfig, muon_id: bool) -> None:
    (lo, lo_key), (hi, hi_key), (p, p_key_det) = _muon_acceptance(det, muon_id)
    what = "muons" if prefix == "mu" else "charged tracks"
    t_min, t_max = cuts[f"{prefix}_theta_min_deg"], cuts[f"{prefix}_theta_max_deg"]
    if t_min > lo + EPS:
        _fail(name, f"{prefix}_theta_min_deg", t_min,
              f"drops {what} the detector accepts down to {lo:g} deg (detector {lo_key})")
    if t_max < hi - EPS:
        _fail(name, f"{prefix}_theta_max_deg", t_max,
              f"drops {what} the detector accepts up to {hi:g} deg (detector {hi_key})")
    if cuts.get(p_key, 0.0) > p + EPS:
        _fail(name, p_key, cuts[p_key],
              f"drops {what} the detector accepts from p = {p:g} GeV (detector {p_key_det})")


def _uncovered(lo: float, hi: float, covers: Iterable[tuple[float, float]]) -> float:
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


def _check_veto(name: str, cuts: Mapping, prefix: str, det: DetectorConfig,
                selection: Mapping | None, photons: bool) -> None:
    e_key = f"{prefix}_e_gev"
    e_veto = cuts[e_key]
    if e_veto <= 0.0:
        return
    cal = det.calorimeter
    t_min, t_max = cuts[f"{prefix}_theta_min_deg"], cuts[f"{prefix}_theta_max_deg"]
    gaps = [(float(a), float(b)) for a, b in cuts[f"{prefix}_gaps_deg"]]
    what = "a photon" if photons else "an e+-"
    if t_min < cal.theta_fwd_min_deg - EPS:
        _fail(name, f"{prefix}_theta_min_deg", t_min, f"vetoes {what} the ECL does not see below "
              f"{cal.theta_fwd_min_deg:g} deg (detector calorimeter.theta_fwd_min_deg)")
    if t_max > cal.theta_bwd_max_deg + EPS:
        _fail(name, f"{prefix}_theta_max_deg", t_max, f"vetoes {what} the ECL does not see above "
              f"{cal.theta_bwd_max_deg:g} deg (detector calorimeter.theta_bwd_max_deg)")
    for g_lo, g_hi, keys in (
        (cal.theta_fwd_max_deg, cal.theta_brl_min_deg, "theta_fwd_max_deg/theta_brl_min_deg"),
        (cal.theta_brl_max_deg, cal.theta_bwd_min_deg, "theta_brl_max_deg/theta_bwd_min_deg"),
    ):
        lo, hi = max(g_lo, t_min), min(g_hi, t_max)
        if hi > lo and _uncovered(lo, hi, gaps) > EPS:
            _fail(name, f"{prefix}_gaps_deg", cuts[f"{prefix}_gaps_deg"],
                  f"vetoes {what} in the ECL gap {g_lo:g}-{g_hi:g} deg (detector "
                  f"calorimeter.{keys})")
    if photons:
        regions = (("fwd", cal.theta_fwd_min_deg, cal.theta_fwd_max_deg),
                   ("brl", cal.theta_brl_min_deg, cal.theta_brl_max_deg),
                   ("bwd", cal.theta_bwd_min_deg, cal.theta_bwd_max_deg))
        for region, r_lo, r_hi in regions:
            eff = getattr(cal, f"photon_efficiency_{region}")
            lo, hi = max(r_lo, t_min), min(r_hi, t_max)
            if eff < 1.0 and hi > lo and _uncovered(lo, hi, gaps) > EPS:
                _fail(name, e_key, e_veto, f"drops events with a photon the ECL misses with "
                      f"probability {1.0 - eff:.6g} (detector calorimeter.photon_efficiency_"
                      f"{region} = {eff:g})")
    else:
        from gen.processes import eemumu as g  # the helix geometry the e+- veto was computed with

        for det_value, gen_value, key in (
            (det.tracking.b_field_t, g.B_FIELD_T, "tracking.b_field_t"),
            (cal.barrel_r_cm, g.ECL_BARREL_R_CM, "calorimeter.barrel_r_cm"),
            (cal.fwd_z_cm, g.ECL_FWD_Z_CM, "calorimeter.fwd_z_cm"),
            (cal.bwd_z_cm, g.ECL_BWD_Z_CM, "calorimeter.bwd_z_cm"),
        ):
            if abs(det_value - gen_value) > EPS * max(1.0, abs(gen_value)):
                _fail(name, e_key, e_veto, f"assumes the ECL impact geometry {key} = "
                      f"{gen_value:g} (gen/processes/eemumu.py), the detector has {det_value:g}")
    threshold, t_key = cal.cluster_threshold_gev, "calorimeter.cluster_threshold_gev"
    if selection is not None:
        if selection["max_extra_clusters"] > 0:
            _fail(name, e_key, e_veto, "assumes one extra cluster rejects the event, the "
                  f"selection allows max_extra_clusters = {selection['max_extra_clusters']}")
        if selection["cluster_e_min_gev"] > threshold:
            threshold, t_key = selection["cluster_e_min_gev"], "selection.cluster_e_min_gev"
    sigma = sigma_e1(e_veto, calorimeter_params(cal))
    if e_veto - Z_ENERGY * sigma < threshold:
        _fail(name, e_key, e_veto,
              f"is within {Z_ENERGY} energy-resolution sigma ({sigma:.3g} GeV, detector "
              f"calorimeter.res_*) of the cluster threshold {threshold:g} GeV ({t_key})")


def _check_pmiss_resolution(name: str, cuts: Mapping, det: DetectorConfig) -> None:
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
            _fail(name, "pmiss_resolution_sigmas", cuts["pmiss_resolution_sigmas"],
                  f"loosens the missing-momentum cuts for the default tracking resolution, the "
                  f"detector's is worse (tracking.{key})")


def check_cuts(name: str, cuts: Mapping[str, Any], det: DetectorConfig,
               selection: Mapping[str, Any] | None = None) -> None:
    """Raise CardError if a generator-level cut of sample ``name`` drops events that ``det``
    (and the selection's ``muon_id_min``, ``cluster_e_min_gev``, ``max_extra_clusters``, if
    given) could accept. ``cuts`` are the validated cuts (with defaults) of the sample card."""
    muon_id = selection is None or selection["muon_id_min"] >= 0.5
    if "mu_theta_min_deg" in cuts:
        _check_track_window(name, cuts, "mu", "mu_p_min_gev", det, muon_id)
    if "charged_theta_min_deg" in cuts and cuts.get("min_charged", 0) > 0:
        _check_track_window(name, cuts, "charged", "charged_p_min_gev", det, muon_id)
    if "photon_veto_e_gev" in cuts:
        _check_veto(name, cuts, "photon_veto", det, selection, photons=True)
    if "e_veto_e_gev" in cuts:
        _check_veto(name, cuts, "e_veto", det, selection, photons=False)
    _check_pmiss_resolution(name, cuts, det)


def check_multiplicity(name: str, cuts: Mapping[str, Any], det: DetectorConfig) -> list[str]:
    """Soft findings (log warnings, returned) of a ``max_charged`` cut: charged particles it
    counts that the detector cannot find (module docstring: why only a warning)."""
    if cuts.get("max_charged", 100) >= 100 or "charged_theta_min_deg" not in cuts:
        return []
    trk = det.tracking
    found = []
    if (cuts["charged_theta_min_deg"] < trk.theta_min_deg - EPS
            or cuts["charged_theta_max_deg"] > trk.theta_max_deg + EPS):
        found.append(f"sample {name!r}: cuts.max_charged counts charged particles at "
                     f"{cuts['charged_theta_min_deg']:g}-{cuts['charged_theta_max_deg']:g} deg, "
                     f"the detector finds tracks only at {trk.theta_min_deg:g}-"
                     f"{trk.theta_max_deg:g} deg (tracking.theta_min/max_deg)")
    if cuts["charged_pt_count_gev"] < trk.pt_min_gev - EPS:
        found.append(f"sample {name!r}: cuts.charged_pt_count_gev = "
                     f"{cuts['charged_pt_count_gev']:g} counts tracks below the tracking "
                     f"threshold (tracking.pt_min_gev = {trk.pt_min_gev:g})")
    for message in found:
        log.warning("%s: events with two such lost tracks are dropped", message)
    return found


def check_samples(cards: Iterable[Any], det: DetectorConfig,
                  selection: Mapping[str, Any] | None = None) -> None:
    """``check_cuts`` and ``check_multiplicity`` for sample cards (gen.runcard.SampleCard),
    named by their file stem: call before producing the samples."""
    for card in cards:
        name = Path(card.path).stem
        check_cuts(name, card.cuts, det, selection)
        check_multiplicity(name, card.cuts, det)


def cuts_of_events_file(path: str | Path) -> tuple[str, dict[str, Any]]:
    """(process, validated cuts with defaults) stored in an events or reco file's ``card``."""
    import h5py

    from gen.cards import parse_table, tomllib  # tomllib, or tomli on Python 3.10
    from gen.processes import get_process

    with h5py.File(path, "r") as f:
        process, text = str(f.attrs["process"]), str(f.attrs["card"])
    table = tomllib.loads(text)
    return process, parse_table(table.get("cuts", {}), get_process(process).cuts,
                                f"{path} [cuts]")


def check_events_file(path: str | Path, det: DetectorConfig,
                      selection: Mapping[str, Any] | None = None,
                      name: str | None = None) -> None:
    """``check_cuts`` on the generator cuts stored in an events (or reco) file."""
    _, cuts = cuts_of_events_file(path)
    check_cuts(name or Path(path).stem, cuts, det, selection)


__all__ = ["check_cuts", "check_events_file", "check_multiplicity", "check_samples",
           "cuts_of_events_file", "Z_ENERGY"]
