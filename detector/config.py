"""Parameters of the parametrized Belle II detector, each with its source.

``DetectorConfig()`` is the default Belle II detector; ``DetectorConfig.from_toml(table, where)``
overrides any parameter from a detector card (tables ``[tracking]``, ``[calorimeter]``, ``[pid]``,
``[trigger]``, optional ``schema_version``); ``to_toml()`` writes the full configuration, with each
parameter's source as a comment, for the reco file's ``detector`` attribute.

Sources are cited next to every value (the ``doc`` string of each field, also written as a comment
by ``to_toml``). Abbreviations:

- TDR: Belle II Technical Design Report, arXiv:1011.0352.
- PB: The Belle II Physics Book, arXiv:1808.10567 (PTEP 2019 123C01), detector overview table.
- basf2: the Belle II software, github.com/belle2/basf2 (file named in each entry).
- "estimate": no published number was found for this exact quantity; the value is our estimate and
  says what it is based on. "not verified here" marks numbers quoted from memory of a paper that
  could not be re-read while writing this file. Change them from a detector card when better
  numbers are known.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from gen.cards import SCHEMA_VERSION, CardError, Param, check, short_repr


def _par(default: Any, doc: str, minimum: float | None = None, maximum: float | None = None,
         exclusive_minimum: bool = False) -> Any:
    """A config field: default value plus card schema (range) and its documented source."""
    return field(
        default=default,
        metadata={"param": Param(type(default), default, doc, minimum, maximum, exclusive_minimum)},
    )


@dataclass(frozen=True)
class TrackingConfig:
    """CDC + VXD tracking: acceptance, efficiency, resolutions (detector/tracking.py)."""

    b_field_t: float = _par(
        1.5, "solenoid field; TDR sec. 1 and basf2 online_book/fundamentals/02-datataking.rst",
        0.0, 10.0, True)
    theta_min_deg: float = _par(
        17.0, "CDC polar acceptance (lab); basf2 analysis/VariableManager/src/"
        "AcceptanceVariables.cc inCDCAcceptance (17 < theta < 150 deg)", 0.0, 180.0)
    theta_max_deg: float = _par(150.0, "CDC polar acceptance, upper edge; same source", 0.0, 180.0)
    pt_min_gev: float = _par(
        0.1, "minimum transverse momentum of a found track; estimate (tracks down to ~50-100 MeV "
        "are found with the VXD, the CDC needs pT > ~0.1 GeV to cross several superlayers)",
        0.0, 10.0)
    efficiency: float = _par(
        0.99, "finding efficiency above pt_min inside the acceptance; estimate for isolated "
        "tracks (Belle II track finding, arXiv:2003.12466; not verified here)", 0.0, 1.0)
    max_vertex_r_cm: float = _par(
        60.0, "tracks produced at a transverse radius above this are not found; estimate (about "
        "half of the CDC's 56 layers, r = 16-113 cm, basf2 cdc/data/CDC.xml, must be crossed)",
        0.0, 113.0)
    sigma_pt_a_per_gev: float = _par(
        0.0011, "sigma_pT/pT = a pT (+) b/beta, curvature term a; TDR design value as quoted in "
        "the project brief (not verified here)", 0.0, 1.0)
    sigma_pt_b: float = _par(
        0.0025, "multiple-scattering term b of sigma_pT/pT; TDR design value as quoted in the "
        "project brief (not verified here)", 0.0, 1.0)
    sigma_theta_a_mrad: float = _par(
        0.5, "polar-angle resolution sigma = a (+) b/(p beta), constant term; estimate (CDC "
        "stereo layers + SVD, high-momentum limit)", 0.0, 100.0)
    sigma_theta_b_mrad_gev: float = _par(
        1.5, "polar-angle resolution, multiple-scattering term; estimate (scattering in beam "
        "pipe + VXD, ~1% X0)", 0.0, 100.0)
    sigma_phi_a_mrad: float = _par(
        0.5, "azimuthal resolution, constant term; estimate as sigma_theta_a", 0.0, 100.0)
    sigma_phi_b_mrad_gev: float = _par(
        1.5, "azimuthal resolution, multiple-scattering term; estimate as sigma_theta_b",
        0.0, 100.0)
    sigma_d0_a_um: float = _par(
        10.0, "d0 resolution sigma = a (+) b/(p beta sin^1.5 theta), intrinsic term; estimate of "
        "the PXD+SVD design (TDR ch. PXD; not verified here)", 0.0, 1.0e4)
    sigma_d0_b_um_gev: float = _par(
        15.0, "d0 resolution, multiple-scattering term; estimate (TDR ch. PXD; not verified "
        "here)", 0.0, 1.0e4)
    sigma_z0_a_um: float = _par(
        15.0, "z0 resolution sigma = a (+) b/(p beta sin^2.5 theta), intrinsic term; estimate "
        "(PB quotes sigma_z0 ~ 20 um; not verified here)", 0.0, 1.0e4)
    sigma_z0_b_um_gev: float = _par(
        20.0, "z0 resolution, multiple-scattering term; estimate", 0.0, 1.0e4)

    def validate(self, where: str) -> None:
        check(self.theta_min_deg < self.theta_max_deg,
              f"{where}.theta_min_deg: must be < theta_max_deg ({self.theta_max_deg})")


@dataclass(frozen=True)
class CalorimeterConfig:
    """ECL: acceptance with the barrel-endcap gaps, resolutions, thresholds (calorimeter.py)."""

    theta_fwd_min_deg: float = _par(
        12.4, "ECL forward endcap, lower edge; basf2 ecl/utility/include/utilityFunctions.h "
        "getDetectorRegion", 0.0, 180.0)
    theta_fwd_max_deg: float = _par(31.4, "forward endcap upper edge (gap to 32.2); same source",
                                     0.0, 180.0)
    theta_brl_min_deg: float = _par(32.2, "barrel lower edge; same source", 0.0, 180.0)
    theta_brl_max_deg: float = _par(128.7, "barrel upper edge (gap to 130.7); same source",
                                     0.0, 180.0)
    theta_bwd_min_deg: float = _par(130.7, "backward endcap lower edge; same source", 0.0, 180.0)
    theta_bwd_max_deg: float = _par(155.1, "backward endcap upper edge; same source", 0.0, 180.0)
    barrel_r_cm: float = _par(
        125.0, "inner radius of the barrel crystals; PB detector table (r = 125-162 cm; not "
        "verified here; consistent with the 32.2/128.7 deg edges and the endcap z)",
        1.0, 1000.0)
    fwd_z_cm: float = _par(196.0, "z of the forward endcap face; PB detector table (not "
                           "verified here)", 1.0, 1000.0)
    bwd_z_cm: float = _par(-102.0, "z of the backward endcap face; PB detector table (not "
                           "verified here)", -1000.0, -1.0)
    cluster_threshold_gev: float = _par(
        0.02, "minimum reconstructed cluster energy kept; estimate (~20 MeV, project brief); an "
        "analysis applies its own photon threshold (e.g. 0.1 GeV)", 0.0, 10.0)
    res_noise_gev: float = _par(
        0.002, "sigma_E/E = a/E (+) b/E^(1/4) (+) c: noise term a = 0.2% GeV; TDR ECL chapter as "
        "quoted in the project brief (not verified here)", 0.0, 1.0)
    res_stochastic: float = _par(
        0.016, "stochastic term b = 1.6% GeV^(1/4); same source", 0.0, 1.0)
    res_constant: float = _par(0.012, "constant term c = 1.2%; same source", 0.0, 1.0)
    sigma_angle_a_mrad: float = _par(
        3.0, "cluster angular resolution sigma = a (+) b/sqrt(E/GeV), same for theta and phi; "
        "a, b chosen to give the PB numbers 13 mrad at 0.1 GeV and ~3 mrad at high energy "
        "(PB detector table; not verified here)", 0.0, 1000.0)
    sigma_angle_b_mrad: float = _par(4.0, "angular resolution stochastic term; see a", 0.0, 1000.0)
    mip_mpv_gev: float = _par(
        0.168, "most probable ECL deposit of a minimum-ionising track: PDG CsI dE/dx_min "
        "1.243 MeV cm2/g x 4.51 g/cm3 x 30 cm crystal length (TDR ECL; length not verified here)",
        0.0, 1.0)
    mip_width_gev: float = _par(
        0.01, "width of the Moyal (Landau-like) MIP deposit distribution; estimate", 0.0, 1.0)
    hadron_interaction_prob: float = _par(
        0.55, "probability that a hadron interacts in the ECL: 1 - exp(-0.8), ECL = 0.8 "
        "interaction lengths (basf2 online_book/fundamentals/02-datataking.rst)", 0.0, 1.0)
    decay_pi0: bool = _par(
        True, "decay final-state pi0 to two photons in the detector (BR(gamma gamma) = 98.8%, "
        "PDG; Dalitz decays treated as gamma gamma)")
    # Photon (cluster) reconstruction efficiency inside the crystals above threshold, per region.
    # No absolute Belle II number was found to cite (searched: Belle II Z' papers
    # arXiv:1912.11276, arXiv:2212.03066 and ALP paper arXiv:2007.13071 (abstracts/text stored
    # here quote none); BELLE2-NOTE-PL-2021-008 (radiative mu-pair events, barrel) and basf2
    # analysis/modules/PhotonEfficiencySystematics give only data/MC ratios; photon GNN
    # reconstruction arXiv:2306.04179 reports resolutions; TDR/PB ECL sections: no efficiency
    # table). Default 1.0 = the previous behaviour; set a measured value from a detector card.
    photon_efficiency_fwd: float = _par(
        1.0, "probability that a photon hitting the forward-endcap crystals above threshold makes "
        "a cluster; 1.0 = no cited number (see the comment in detector/config.py for the sources "
        "checked, e.g. BELLE2-NOTE-PL-2021-008 gives only data/MC ratios); estimate", 0.0, 1.0)
    photon_efficiency_brl: float = _par(
        1.0, "the same for the barrel crystals; estimate (same sources)", 0.0, 1.0)
    photon_efficiency_bwd: float = _par(
        1.0, "the same for the backward-endcap crystals; estimate (same sources)", 0.0, 1.0)
    beam_bkg_clusters_mean: float = _par(
        0.0, "mean number of beam-background clusters per event (Poisson; truth -1); 0 = off "
        "(default: no cited number; set an estimate from a detector card for background "
        "studies)", 0.0, 100.0)
    beam_bkg_energy_gev: float = _par(
        0.05, "mean energy of beam-background clusters (exponential spectrum); estimate",
        0.0, 10.0, True)

    def validate(self, where: str) -> None:
        edges = ("theta_fwd_min_deg", "theta_fwd_max_deg", "theta_brl_min_deg",
                 "theta_brl_max_deg", "theta_bwd_min_deg", "theta_bwd_max_deg")
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            check(getattr(self, lo) <= getattr(self, hi),
                  f"{where}.{hi}: the ECL edges must increase ({lo} = {getattr(self, lo)}, "
                  f"{hi} = {getattr(self, hi)})")


@dataclass(frozen=True)
class PIDConfig:
    """Particle identification tables: efficiencies and mis-identification rates (detector/pid.py).

    Each track gets one identified hypothesis h in {e, mu, pi, K} drawn from these rates; a cut
    ``X_id > X_working_point`` selects exactly the tracks with h = X (see pid.py).
    """

    klm_theta_min_deg: float = _par(
        25.0, "KLM polar acceptance (lab); basf2 AcceptanceVariables.cc inKLMAcceptance "
        "(forward 25-40, barrel 40-129, backward 129-155 deg)", 0.0, 180.0)
    klm_theta_max_deg: float = _par(155.0, "KLM acceptance upper edge; same source", 0.0, 180.0)
    muon_p_min_gev: float = _par(
        0.7, "muons below this momentum do not penetrate the KLM; arXiv:2503.11351 (Belle II KLM "
        "muon ID: mu/pi separated by penetration above 0.7 GeV/c)", 0.0, 10.0)
    mu_efficiency: float = _par(
        0.90, "muon ID efficiency above muon_p_min in the KLM acceptance at the standard working "
        "point; arXiv:2503.11351 (current algorithm: 90% efficiency)", 0.0, 1.0)
    pi_to_mu: float = _par(
        0.041, "pion -> muon fake rate at that working point; arXiv:2503.11351 (4.1% at 90% "
        "muon efficiency, simulation)", 0.0, 1.0)
    k_to_mu: float = _par(
        0.02, "kaon -> muon fake rate; estimate (below the pion rate: fewer decays in flight, "
        "larger interaction cross section)", 0.0, 1.0)
    p_to_mu: float = _par(0.005, "proton -> muon fake rate; estimate", 0.0, 1.0)
    e_to_mu: float = _par(0.001, "electron -> muon fake rate; estimate (electrons shower in the "
                          "ECL and do not reach the KLM)", 0.0, 1.0)
    e_p_min_gev: float = _par(
        0.3, "electron ID needs p above this (E/p, shower shape); estimate", 0.0, 10.0)
    e_efficiency: float = _par(
        0.95, "electron ID efficiency in the ECL acceptance above e_p_min; estimate (Belle II "
        "lepton-ID performance note BELLE2-NOTE-PL-2022 Moriond; not verified here)", 0.0, 1.0)
    pi_to_e: float = _par(0.005, "pion -> electron fake rate; estimate", 0.0, 1.0)
    k_to_e: float = _par(0.005, "kaon -> electron fake rate; estimate", 0.0, 1.0)
    p_to_e: float = _par(0.005, "proton -> electron fake rate; estimate", 0.0, 1.0)
    mu_to_e: float = _par(0.002, "muon -> electron fake rate; estimate", 0.0, 1.0)
    k_efficiency: float = _par(
        0.90, "kaon ID efficiency; estimate (Belle II charged-hadron ID, arXiv:2506.04355; not "
        "verified here)", 0.0, 1.0)
    pi_to_k: float = _par(0.05, "pion -> kaon fake rate; estimate (same source)", 0.0, 1.0)
    p_to_k: float = _par(0.10, "proton -> kaon fake rate; estimate", 0.0, 1.0)
    mu_to_k: float = _par(0.01, "muon -> kaon fake rate; estimate", 0.0, 1.0)
    e_to_k: float = _par(0.01, "electron -> kaon fake rate; estimate", 0.0, 1.0)
    mu_working_point: float = _par(
        0.9, "mu_id > this <=> identified as muon (model choice, pid.py): the muonID > 0.9 cut of "
        "Belle II analyses (e.g. basf2 online_book FEI lesson)", 0.5, 1.0, True)
    e_working_point: float = _par(0.9, "e_id > this <=> identified as electron (model "
                          "choice, pid.py; estimate)", 0.5, 1.0, True)
    pi_working_point: float = _par(0.6, "pi_id > this <=> identified as pion (model "
                           "choice, pid.py; estimate)", 0.5, 1.0, True)
    k_working_point: float = _par(0.6, "k_id > this <=> identified as kaon (model "
                          "choice, pid.py; estimate)", 0.5, 1.0, True)

    def validate(self, where: str) -> None:
        check(self.klm_theta_min_deg < self.klm_theta_max_deg,
              f"{where}.klm_theta_min_deg: must be < klm_theta_max_deg")
        for wp in ("mu_working_point", "e_working_point", "pi_working_point",
                   "k_working_point"):
            check(getattr(self, wp) < 1.0, f"{where}.{wp}: must be < 1")
        rows = {
            "muon": ("mu_efficiency", "mu_to_e", "mu_to_k"),
            "pion": ("pi_to_mu", "pi_to_e", "pi_to_k"),
            "kaon": ("k_to_mu", "k_to_e", "k_efficiency"),
            "proton": ("p_to_mu", "p_to_e", "p_to_k"),
            "electron": ("e_to_mu", "e_efficiency", "e_to_k"),
        }
        for name, keys in rows.items():
            total = sum(getattr(self, k) for k in keys)
            check(total <= 1.0, f"{where}: the {name} identification probabilities "
                  f"({', '.join(keys)}) add up to {total:.6g} > 1")


@dataclass(frozen=True)
class TriggerConfig:
    """Level-1 trigger parametrization (detector/trigger.py, where the bits are documented)."""

    trk2d_pt_min_gev: float = _par(
        0.3, "2D (Hough) track-finder pT limit; basf2 trg/cdc/modules/houghtracking/src/"
        "CDCTrigger2DFinderModule.cc parameter minPt = 0.3 GeV", 0.0, 10.0)
    trk2d_radius_cm: float = _par(
        83.84, "a 2D trigger track must reach axial superlayer 6 (4 of the 5 axial superlayers, "
        "minHits = 4 in CDCTrigger2DFinderModule.cc): radius of CDC layer 40, its centre, "
        "basf2 cdc/data/CDC.xml", 1.0, 113.0)
    trk2d_z_fwd_cm: float = _par(152.593, "forward end of CDC layer 40; basf2 cdc/data/CDC.xml",
                                 0.0, 1000.0)
    trk2d_z_bwd_cm: float = _par(-67.0934, "backward end of CDC layer 40; basf2 "
                                 "cdc/data/CDC.xml", -1000.0, 0.0)
    trk2d_efficiency: float = _par(
        0.96, "per-track efficiency of the L1 track trigger inside its acceptance; "
        "arXiv:2510.02762 (average signal-track efficiency 96% for pT > 0.3 GeV, current "
        "neural track trigger)", 0.0, 1.0)
    fff_min_tracks: int = _par(
        3, "'fff': at least this many 2D tracks; basf2 trg/gdl/dbobjects/log/ftd_0032 (fff = "
        "t2 >= 3)", 1, 100)
    ffo_opening_deg: float = _par(
        90.0, "'ffo': two 2D tracks with an azimuthal opening angle above this; basf2 ftd_0032 "
        "(ffo = t2 >= 2 and cdc_open90, vetoed by the Bhabha veto)", 0.0, 180.0)
    stt_p_min_gev: float = _par(
        0.7, "single-track trigger: one 2D track with p above this (neural z-vertex trigger, "
        "arXiv:2402.14962)", 0.0, 10.0)
    hie_e_min_gev: float = _par(
        1.0, "'hie': total ECL energy above this, vetoed by the Bhabha veto; Belle II L1 menu "
        "(basf2 ftd input 'ehigh'; threshold not verified here)", 0.0, 20.0)
    klm_efficiency: float = _par(
        0.98, "per-muon efficiency of the CDC-KLM single-muon trigger for a 2D-trigger muon "
        "reaching the KLM (above pid.muon_p_min_gev, in the KLM acceptance); estimate from the "
        "Belle KLM trigger (~98%, Belle NIM A 479 (2002) 117)", 0.0, 1.0)
    bhabha_veto: bool = _par(True, "apply the ECL Bhabha veto to 'ffo' and "
                       "'hie' (both carry !bha_veto in basf2 trg/gdl/dbobjects/log/ftd_0032.alg)")
    bhabha_e_high_cm_gev: float = _par(
        4.5, "Bhabha veto: the more energetic of two back-to-back clusters above this c.m. "
        "energy; estimate of the Belle II 3D Bhabha logic (not verified here)", 0.0, 20.0)
    bhabha_e_low_cm_gev: float = _par(
        3.0, "Bhabha veto: the other cluster above this c.m. energy; estimate (not verified "
        "here)", 0.0, 20.0)
    bhabha_angle_deg: float = _par(
        160.0, "Bhabha veto: c.m. opening angle of the two clusters above this; estimate",
        0.0, 180.0)

    def validate(self, where: str) -> None:
        check(self.bhabha_e_low_cm_gev <= self.bhabha_e_high_cm_gev,
              f"{where}.bhabha_e_low_cm_gev: must be <= bhabha_e_high_cm_gev")


_SECTIONS: dict[str, type] = {
    "tracking": TrackingConfig,
    "calorimeter": CalorimeterConfig,
    "pid": PIDConfig,
    "trigger": TriggerConfig,
}


def _schema(cls: type) -> dict[str, Param]:
    return {f.name: f.metadata["param"] for f in dataclasses.fields(cls)}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write a non-finite detector parameter {value!r}")
        return repr(value)
    return str(value)


@dataclass(frozen=True)
class DetectorConfig:
    """The whole parametrized detector; ``DetectorConfig()`` is the default Belle II."""

    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    calorimeter: CalorimeterConfig = field(default_factory=CalorimeterConfig)
    pid: PIDConfig = field(default_factory=PIDConfig)
    trigger: TriggerConfig = field(default_factory=TriggerConfig)

    def __post_init__(self) -> None:
        self.validate("detector")

    def validate(self, where: str) -> None:
        """Cross-key checks; raise CardError naming ``where`` and the key."""
        for name in _SECTIONS:
            getattr(self, name).validate(f"{where}.{name}")

    @classmethod
    def from_toml(cls, table: dict, where: str) -> DetectorConfig:
        """Override default parameters from a detector card's table (unknown keys are errors)."""
        if not isinstance(table, dict):
            raise CardError(f"{where}: expected a table, got {table!r}")
        allowed = sorted([*_SECTIONS, "schema_version"])
        for kind, command in (("sample", "b2dark generate"), ("search", "b2dark run")):
            if kind in table:
                raise CardError(f"{where}: this is a {kind} card, not a detector card; use it "
                                f"with '{command} {where}'")
        sections = {}
        for key, value in table.items():
            if key == "schema_version":
                version = Param(int, SCHEMA_VERSION).parse(value, f"{where}.schema_version")
                check(version == SCHEMA_VERSION,
                      f"{where}.schema_version: must be {SCHEMA_VERSION}, got {version}")
                continue
            if key not in _SECTIONS:
                raise CardError(
                    f"{where}: unknown key {short_repr(key)}; allowed keys: {', '.join(allowed)}")
            schema = _schema(_SECTIONS[key])
            if not isinstance(value, dict):
                raise CardError(f"{where}.{key}: expected a table, got {short_repr(value)}")
            unknown = sorted(set(value) - set(schema))
            if unknown:
                raise CardError(f"{where}.{key}: unknown key {short_repr(unknown[0])}; allowed "
                                f"keys: {', '.join(sorted(schema))}")
            parsed = {k: schema[k].parse(v, f"{where}.{key}.{k}") for k, v in value.items()}
            section = _SECTIONS[key](**parsed)
            section.validate(f"{where}.{key}")
            sections[key] = section
        return cls(**sections)

    def to_toml(self) -> str:
        """The full configuration as TOML text (each parameter's source as a comment)."""
        lines = ["# b2dark parametrized Belle II detector (detector/config.py)",
                 f"schema_version = {SCHEMA_VERSION}"]
        for name in _SECTIONS:
            section = getattr(self, name)
            lines += ["", f"[{name}]"]
            for f in dataclasses.fields(section):
                lines.append(f"# {f.metadata['param'].doc}")
                lines.append(f"{f.name} = {_toml_value(getattr(section, f.name))}")
        return "\n".join(lines) + "\n"
