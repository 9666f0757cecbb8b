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
whereas a warning scrolls past in a long ``b2dark run``. The rules live in
``analysis.gencut_rules`` (one generator of findings per cut family).

Checks (cut keys as in the processes; each only when the cut is active):

- muon / charged-track window and momentum (``mu_*``, ``charged_*``; mumu, eemumu, tautau,
  four_lepton): the sample must keep every muon the detector finds and identifies: tracking
  polar range (CDC) intersected with the KLM range, and p >= ``pid.muon_p_min_gev``
  (detector/pid.py: P(mu) = 0 outside the KLM or below that momentum, so ``mu_id > 0.5`` needs
  both). Without muon ID in the selection (``muon_id_min`` < 0.5: a non-winning hypothesis can
  pass it, detector/pid.py) the tracking range alone and p > ``tracking.pt_min_gev``.
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
- tautau ``max_charged`` (``check_multiplicity``): the particles it counts must be tracks the
  detector surely finds: counting window (``count_theta_*``) inside the tracking polar range,
  ``charged_pt_count_gev`` >= ``tracking.pt_min_gev``, ``count_vertex_r_max_cm`` <=
  ``tracking.max_vertex_r_cm`` (the tracker's conditions are on the true angle, pT and vertex,
  detector/tracking.py). Then a dropped event (>= max_charged + 1 such tracks) reaches the
  two-track selection only if tracking inefficiency loses all but two of them: with
  independent losses its probability (at n = max_charged + 1, the worst case) must stay below
  ``P_TRACK_LOSS`` = 1e-3 (5.9e-4 for max_charged = 3 at the default efficiency 0.99;
  max_charged < 2 always fails). Lost tracks that still leave an ECL cluster (rejected by the
  selection) are not credited: the bound is conservative.
- bhabha / gammagamma c.m. cuts (``theta_min_deg``, ``theta_max_deg``, ``e_min_gev`` on both e+-
  / photons, c.m. frame): every e+- (photon) the detector sees, mapped into the nominal c.m.
  frame (boost and crossing angle of the card's beams, all azimuths), must lie inside the window
  above the energy. Seen: a photon as an ECL cluster (ECL edges, true energy down to
  ``Z_ENERGY`` sigma below the cluster threshold or the selection's ``cluster_e_min_gev``); an
  e+- as a cluster or a found track (pT >= ``tracking.pt_min_gev``), or with a muon-ID selection
  only as a track passing muon ID (KLM range, p >= ``pid.muon_p_min_gev``).
- four_lepton ``min_charged`` with taus (eetautau, mumutautau): it counts taus before their
  decay, whose tracks go elsewhere: only a window of 0-180 deg without momentum cut is safe.

Not checked: cuts against the selection's recoil cuts (``pmiss_*`` vs ``recoil_*``; selection,
not detector); four_lepton ``w_min_gev`` and process parameters; qqbar, bbbar and mumu_zprime
have no generator-level cuts.

``b2dark simulate`` (no selection known) calls ``detector_findings`` on the events file: the
same rules against the detector alone (muon ID assumed for the track windows, the two-track
selection for ``max_charged``), logged as warnings, not errors, because whether a cut matters
depends on the analysis the reco file will serve; ``b2dark run`` repeats the check with its
selection, as an error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from analysis import gencut_rules as rules
from analysis.gencut_rules import P_TRACK_LOSS, Z_ENERGY
from detector.config import DetectorConfig
from gen.beams import Beams
from gen.cards import CardError

log = logging.getLogger("b2dark")


def _findings(name: str, cuts: Mapping[str, Any], det: DetectorConfig,
              selection: Mapping[str, Any] | None, process: str | None,
              params: Mapping[str, Any] | None, beams: Beams | None) -> Iterator[str]:
    muon_id = selection is None or selection["muon_id_min"] >= 0.5
    if "mu_theta_min_deg" in cuts:
        yield from rules.track_window(name, cuts, "mu", "mu_p_min_gev", det, muon_id)
    if "charged_theta_min_deg" in cuts and cuts.get("min_charged", 0) > 0:
        yield from rules.track_window(name, cuts, "charged", "charged_p_min_gev", det, muon_id)
    if "photon_veto_e_gev" in cuts:
        yield from rules.veto(name, cuts, "photon_veto", det, selection, photons=True)
    if "e_veto_e_gev" in cuts:
        yield from rules.veto(name, cuts, "e_veto", det, selection, photons=False)
    yield from rules.pmiss_resolution(name, cuts, det)
    yield from rules.multiplicity(name, cuts, det)
    if process in ("bhabha", "gammagamma"):
        yield from rules.cm_pair(name, cuts, beams or Beams(), det, selection,
                                 photons=process == "gammagamma")
    if process == "four_lepton" and params is not None:
        yield from rules.four_lepton_taus(name, cuts, params["final_state"])


def check_cuts(name: str, cuts: Mapping[str, Any], det: DetectorConfig,
               selection: Mapping[str, Any] | None = None, process: str | None = None,
               params: Mapping[str, Any] | None = None, beams: Beams | None = None) -> None:
    """Raise CardError if a generator-level cut of sample ``name`` drops events that ``det``
    (and the selection's ``muon_id_min``, ``cluster_e_min_gev``, ``max_extra_clusters``, if
    given) could accept. ``cuts`` are the validated cuts (with defaults) of the sample card;
    ``process`` (with its validated ``params`` and ``beams``) enables the process-specific
    rules (bhabha, gammagamma, four_lepton); without it only the rules found by cut keys run."""
    for message in _findings(name, cuts, det, selection, process, params, beams):
        raise CardError(message)


def check_multiplicity(name: str, cuts: Mapping[str, Any], det: DetectorConfig) -> None:
    """Raise CardError if tautau's ``max_charged`` counts particles the detector may not find,
    or drops events that tracking inefficiency could bring to two tracks (module docstring)."""
    for message in rules.multiplicity(name, cuts, det):
        raise CardError(message)


def check_samples(cards: Iterable[Any], det: DetectorConfig,
                  selection: Mapping[str, Any] | None = None) -> None:
    """``check_cuts`` for sample cards (gen.runcard.SampleCard), named by their file stem: call
    before producing the samples."""
    for card in cards:
        check_cuts(Path(card.path).stem, card.cuts, det, selection, card.process, card.params,
                   card.beams)


def card_of_events_file(path: str | Path) -> tuple[str, dict[str, Any], dict[str, Any], Beams]:
    """(process, params, cuts, beams), validated with defaults, of the ``card`` stored in an
    events or reco file (the tables only: the process is not built)."""
    import h5py

    from gen.cards import parse_table, tomllib  # tomllib, or tomli on Python 3.10
    from gen.processes import get_process
    from gen.runcard import BEAMS_SCHEMA

    with h5py.File(path, "r") as f:
        process, text = str(f.attrs["process"]), str(f.attrs["card"])
    table = tomllib.loads(text)
    cls = get_process(process)
    params = parse_table(table.get("process", {}), cls.params, f"{path} [process]")
    cuts = parse_table(table.get("cuts", {}), cls.cuts, f"{path} [cuts]")
    beams = Beams(**parse_table(table.get("beams", {}), BEAMS_SCHEMA, f"{path} [beams]"))
    return process, params, cuts, beams


def detector_findings(path: str | Path, det: DetectorConfig) -> list[str]:
    """Findings of the rules on the generator cuts stored in an events file, against the
    detector alone (``b2dark simulate``: logged as warnings, returned). A file whose card cannot
    be read is left to the simulation's own checks."""
    try:
        process, params, cuts, beams = card_of_events_file(path)
    except (OSError, KeyError, TypeError, ValueError) as exc:  # ValueError: CardError, TOML
        log.info("generator-cut check skipped for %s: %s", path, exc)
        return []
    found = list(_findings(Path(path).stem, cuts, det, None, process, params, beams))
    for message in found:
        log.warning("%s (detector card; the selection of b2dark run decides)", message)
    return found


def cuts_of_events_file(path: str | Path) -> tuple[str, dict[str, Any]]:
    """(process, validated cuts with defaults) stored in an events or reco file's ``card``."""
    process, _, cuts, _ = card_of_events_file(path)
    return process, cuts


def check_events_file(path: str | Path, det: DetectorConfig,
                      selection: Mapping[str, Any] | None = None,
                      name: str | None = None) -> None:
    """``check_cuts`` on the generator cuts stored in an events (or reco) file."""
    process, params, cuts, beams = card_of_events_file(path)
    check_cuts(name or Path(path).stem, cuts, det, selection, process, params, beams)


__all__ = ["P_TRACK_LOSS", "Z_ENERGY", "card_of_events_file", "check_cuts", "check_events_file",
           "check_multiplicity", "check_samples", "cuts_of_events_file", "detector_findings"]
