"""Level-1 trigger parametrization and the bits of ``/events/trigger`` (uint32).

Bits (names follow the Belle II GDL output bits, basf2 trg/gdl/dbobjects/log/ftd_0032.oup; the
logic is simplified, parameters and sources in ``detector/config.py``, ``TriggerConfig``):

====  ===========  =====================================================================
bit   name         condition
====  ===========  =====================================================================
0     FFF          at least ``fff_min_tracks`` (3) CDC 2D trigger tracks
1     FFO          at least two 2D tracks with azimuthal opening angle > ``ffo_opening_deg``
                   (90 deg), and not Bhabha-vetoed
2     STT          single-track trigger: a 2D track with p > ``stt_p_min_gev`` (0.7 GeV;
                   the neural z-vertex condition is taken as always met)
3     HIE          total reconstructed ECL cluster energy > ``hie_e_min_gev`` (1 GeV), not
                   Bhabha-vetoed
4     CDCKLM       a 2D-trigger muon that reaches the KLM (p >= pid.muon_p_min_gev, inside the
                   KLM polar acceptance), with efficiency ``klm_efficiency``
5     BHABHA_VETO  the ECL Bhabha veto fired (informational, not a physics trigger)
====  ===========  =====================================================================

Bits 6-31 are zero. ``PHYSICS_MASK`` holds bits 0-4; an event is recorded if
``trigger & mask != 0`` for the mask an analysis chooses (e.g. ``FFO | CDCKLM`` for a
two-muon search; use ``fired(trigger, mask)``).

2D trigger track (per true status-1 charged e, mu, pi, K, p): pT >= ``trk2d_pt_min_gev`` (Hough
plane limit), the helix from the production vertex reaches the radius of CDC axial superlayer 6
(``trk2d_radius_cm``: 4 of the 5 axial superlayers must be hit) with z between
``trk2d_z_bwd_cm`` and ``trk2d_z_fwd_cm`` there (for a prompt high-pT track about
28.8 < theta < 128.7 deg), then a uniform draw passes ``trk2d_efficiency``. The 2D track's
azimuth is the true azimuth of the momentum at production.

Bhabha veto (estimate of the ECL 3D Bhabha logic): two clusters back to back in the e+e- c.m.
frame (opening angle > ``bhabha_angle_deg``) with c.m. energies both above
``bhabha_e_low_cm_gev`` and one above ``bhabha_e_high_cm_gev``. Clusters are taken as massless and
boosted with the nominal SuperKEKB boost (``gen.beams.Beams().boost``).
"""

from __future__ import annotations

import math

import numpy as np

from gen.beams import lab_to_cm1
from gen.jit import kernel

from .config import TriggerConfig
from .tracking import arc_to_radius1

FFF = 1 << 0
FFO = 1 << 1
STT = 1 << 2
HIE = 1 << 3
CDCKLM = 1 << 4
BHABHA_VETO = 1 << 5

#: bit value -> name, for printing and documentation
BIT_NAMES: dict[int, str] = {
    FFF: "fff",
    FFO: "ffo",
    STT: "stt",
    HIE: "hie",
    CDCKLM: "cdcklm",
    BHABHA_VETO: "bhabha_veto",
}

#: every physics trigger bit (not the veto flag)
PHYSICS_MASK = FFF | FFO | STT | HIE | CDCKLM

# indices of the flat trigger parameter array (angles in rad)
G_PT_MIN = 0
G_RADIUS = 1
G_Z_FWD = 2
G_Z_BWD = 3
G_EFF = 4
G_FFF_N = 5
G_FFO_ANGLE = 6
G_STT_P = 7
G_HIE_E = 8
G_KLM_EFF = 9
G_VETO_ON = 10
G_VETO_E_HIGH = 11
G_VETO_E_LOW = 12
G_VETO_ANGLE = 13
N_TRIGGER_PARAMS = 14


def trigger_params(cfg: TriggerConfig) -> np.ndarray:
    """The flat float64 parameter array the trigger kernels read."""
    out = np.empty(N_TRIGGER_PARAMS)
    out[G_PT_MIN] = cfg.trk2d_pt_min_gev
    out[G_RADIUS] = cfg.trk2d_radius_cm
    out[G_Z_FWD] = cfg.trk2d_z_fwd_cm
    out[G_Z_BWD] = cfg.trk2d_z_bwd_cm
    out[G_EFF] = cfg.trk2d_efficiency
    out[G_FFF_N] = cfg.fff_min_tracks
    out[G_FFO_ANGLE] = math.radians(cfg.ffo_opening_deg)
    out[G_STT_P] = cfg.stt_p_min_gev
    out[G_HIE_E] = cfg.hie_e_min_gev
    out[G_KLM_EFF] = cfg.klm_efficiency
    out[G_VETO_ON] = 1.0 if cfg.bhabha_veto else 0.0
    out[G_VETO_E_HIGH] = cfg.bhabha_e_high_cm_gev
    out[G_VETO_E_LOW] = cfg.bhabha_e_low_cm_gev
    out[G_VETO_ANGLE] = math.radians(cfg.bhabha_angle_deg)
    return out


def fired(trigger: np.ndarray, mask: int) -> np.ndarray:
    """Boolean array: events with any bit of ``mask`` set."""
    return (np.asarray(trigger, dtype=np.uint32) & np.uint32(mask)) != 0


def bit_names(word: int) -> list[str]:
    """Names of the bits set in one trigger word."""
    return [name for bit, name in BIT_NAMES.items() if int(word) & bit]


@kernel
def track2d_accepted1(x0, y0, z0, px, py, pz, q, b_t, gp):
    """Geometric and pT acceptance of the CDC 2D track trigger (no efficiency draw)."""
    pt = math.hypot(px, py)
    if pt < gp[G_PT_MIN] or pt <= 0.0:
        return False
    s = arc_to_radius1(x0, y0, px, py, q, b_t, gp[G_RADIUS])
    if math.isnan(s):
        return False
    z = z0 + s * pz / pt
    return gp[G_Z_BWD] <= z <= gp[G_Z_FWD]


@kernel
def bhabha_veto1(cl_e, cl_theta, cl_phi, start, stop, bx, by, bz, gp):
    """ECL Bhabha veto on the clusters ``start:stop`` of one event."""
    if gp[G_VETO_ON] == 0.0:
        return False
    cos_max = math.cos(gp[G_VETO_ANGLE])
    for i in range(start, stop):
        ei = cl_e[i]
        if ei <= 0.0:
            continue
        si = math.sin(cl_theta[i])
        ax, ay, az, ae = lab_to_cm1(ei * si * math.cos(cl_phi[i]), ei * si * math.sin(cl_phi[i]),
                                    ei * math.cos(cl_theta[i]), ei, bx, by, bz)
        if ae < gp[G_VETO_E_LOW]:
            continue
        for j in range(i + 1, stop):
            ej = cl_e[j]
            if ej <= 0.0:
                continue
            sj = math.sin(cl_theta[j])
            cx, cy, cz, ce = lab_to_cm1(ej * sj * math.cos(cl_phi[j]),
                                        ej * sj * math.sin(cl_phi[j]),
                                        ej * math.cos(cl_theta[j]), ej, bx, by, bz)
            if ce < gp[G_VETO_E_LOW] or max(ae, ce) < gp[G_VETO_E_HIGH]:
                continue
            cos_open = (ax * cx + ay * cy + az * cz) / (
                math.sqrt(ax * ax + ay * ay + az * az) * math.sqrt(cx * cx + cy * cy + cz * cz))
            if cos_open < cos_max:
                return True
    return False


@kernel
def trigger_word1(n2d, phi2d, p2d, klm2d, e_sum, veto, gp):
    """The uint32 trigger word of one event from its 2D tracks and ECL energy."""
    word = 0
    if n2d >= gp[G_FFF_N]:
        word |= FFF
    if not veto:
        opened = False
        for i in range(n2d):
            for j in range(i + 1, n2d):
                dphi = abs(phi2d[i] - phi2d[j])
                if dphi > math.pi:
                    dphi = 2.0 * math.pi - dphi
                if dphi > gp[G_FFO_ANGLE]:
                    opened = True
        if opened:
            word |= FFO
        if e_sum > gp[G_HIE_E]:
            word |= HIE
    for i in range(n2d):
        if p2d[i] > gp[G_STT_P]:
            word |= STT
        if klm2d[i]:
            word |= CDCKLM
    if veto:
        word |= BHABHA_VETO
    return np.uint32(word)
