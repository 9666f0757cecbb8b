"""Lund string fragmentation of a q qbar system in its rest frame (numba kernels).

Model (B. Andersson, G. Gustafson, G. Ingelman, T. Sjostrand, Phys. Rept. 97 (1983) 31; the
iterative algorithm as in Pythia 8, T. Sjostrand et al. arXiv:1410.3012, StringFragmentation):

- The string stretches from the quark (flavour ``id_pos``, along +z) to the antiquark
  (``id_neg``, along -z); its light-cone momenta are W+ = W- = W (string mass; a massive c
  endpoint is absorbed, as in Pythia, into the mass of the first-rank hadron).
- Each step takes a hadron from a randomly chosen end (probability 1/2 each): a new flavour pair
  d:u:s = 1 : 1 : s/u (StringFlav:probStoUD) or a diquark pair (below), the meson of the old
  end flavour and the new
  antiflavour (spin from the vector/pseudoscalar ratio of the heavier quark; diagonal mesons by
  the pseudoscalar/vector mixing of ``tables.lund_parameters``, eta and eta' kept with
  probabilities etaSup, etaPrimeSup, otherwise the flavour choice is redone), a Gaussian pT of
  the new pair (each component sigma/sqrt 2; the hadron gets the old end's pT minus it), a
  Breit-Wigner mass, and a light-cone fraction z of the remaining W+ (or W-) from the Lund
  symmetric fragmentation function (arXiv:1404.5630 eq. for f(z); Bowler factor for c ends,
  M. G. Bowler, Z. Phys. C 11 (1981) 169):

      f(z) ~ z^-(1 + r_c b m_c^2 [old end is c]) (1 - z)^a exp(-b mT^2 / z).

  The hadron's other light-cone component is mT^2 / (z W+-).
- The iteration stops when the remaining mass is below (stopMass + constituent masses of the two
  ends + stopNewFlav x that of the new flavour)(1 +- stopSmear) (Pythia 8 energyUsedUp); the rest
  of the string then makes exactly two hadrons (the one just chosen and the one joining the new
  flavour to the other end), whose light-cone momenta follow from two-body kinematics (Pythia 8
  finalTwo). If that is impossible, or a step overshoots, the whole string is redone
  (``MAX_TRY`` times); then a last-resort two-pseudoscalar split along the axis (no pT).

Four-momentum is conserved exactly (sum p+ = sum p- = W, pT sums telescope to zero) and the
flavour too (every break makes a q qbar or diquark-antidiquark pair). Baryons: a quark end
makes a diquark-antidiquark pair with probability probQQtoQ/(1 + probQQtoQ), the baryon from
SU(6) weights (octet, decuplet; Pythia 8 StringFlav), the diquark end then makes the
antibaryon at the next step with a quark (no popcorn B M Bbar), f(z) with a + aExtraDiquark
at diquark ends. Gluon radiation is in ``gluon``. Not included: popcorn, Bose-Einstein
correlations, L = 1 mesons, leading-baryon suppression.
"""

from __future__ import annotations

import math

import numpy as np

from gen.events import FINAL, PARTICLE_FIELDS, EventChunk
from gen.hadronization.tables import (
    L_A,
    L_AQQ,
    L_B,
    L_CGMAX,
    L_CGOCT,
    L_CGSUM,
    L_DWT,
    L_ENHF,
    L_ENHW,
    L_ETA,
    L_ETAP,
    L_MC,
    L_MCC,
    L_MIX0_1,
    L_MIX0_2,
    L_MIX1_2,
    L_MS,
    L_MUD,
    L_QQ,
    L_RC,
    L_SIGMA,
    L_STOPM,
    L_STOPNF,
    L_STOPSM,
    L_SU,
    L_VC,
    L_VS,
    L_VUD,
    lund_parameters,
    meson_tables,
)
from gen.jit import kernel

#: whole-string restarts before the last-resort split (Pythia 8 uses 10 per call; the caller
#: repeats, so we allow more)
MAX_TRY = 100
#: eta/eta' re-draws of the joining hadron (Pythia 8 NTRYFLAV)
MAX_TRY_FLAV = 10
#: hadrons per string (buffer rows); W / m_pi0 ~ 80 at 10.58 GeV is the hard limit
MAX_HADRONS = 128


@kernel
def z_log_density(z: float, a: float, b: float, c: float, mt2: float) -> float:
    """log of z^-c (1-z)^a exp(-b mT^2/z) (unnormalised Lund function with Bowler exponent c)."""
    return -c * math.log(z) + a * math.log1p(-z) - b * mt2 / z


@kernel
def z_mode(a: float, b: float, c: float, mt2: float) -> float:
    """Maximum of the Lund function on (0, 1): root of (c - a) z^2 - (c + B) z + B, B = b mT^2.

    Written as 2B / ((c + B) + sqrt(...)) it is the root inside (0, 1) for every sign of c - a.
    """
    bb = b * mt2
    disc = (c + bb) * (c + bb) - 4.0 * (c - a) * bb
    return 2.0 * bb / ((c + bb) + math.sqrt(max(disc, 0.0)))


@kernel
def sample_z1(rng, a: float, b: float, c: float, mt2: float) -> float:
    """z from f(z) ~ z^-c (1-z)^a exp(-b mT^2/z) on (0, 1), exact (flat envelope at the mode)."""
    zm = z_mode(a, b, c, mt2)
    fmax = z_log_density(zm, a, b, c, mt2)
    while True:
        z = rng.random()
        if z <= 0.0 or z >= 1.0:
            continue
        if math.log(rng.random()) < z_log_density(z, a, b, c, mt2) - fmax:
            return z


@kernel
def new_flavour1(rng, par) -> int:
    """A new quark flavour for a string break: d : u : s = 1 : 1 : probStoUD."""
    u = rng.random() * (2.0 + par[L_SU])
    if u < 1.0:
        return 1
    if u < 2.0:
        return 2
    return 3


@kernel
def _quark_constituent1(par, aq: int) -> float:
    if aq == 3:
        return par[L_MS]
    if aq == 4:
        return par[L_MCC]
    return par[L_MUD]


@kernel
def constituent_mass1(par, q: int) -> float:
    """Constituent mass of quark or diquark code q (Pythia 8 constituentMass; diquark = sum)."""
    aq = abs(q)
    if aq > 1000:
        return _quark_constituent1(par, aq // 1000) + _quark_constituent1(par, (aq // 100) % 10)
    return _quark_constituent1(par, aq)


@kernel
def new_diquark1(rng, par) -> int:
    """A new diquark code 1000 q1 + 100 q2 + (2s+1) for q -> B Bbar, no popcorn (Pythia 8
    StringFlav::pick, case 0 weights ``tables.L_DWT``): the "popcorn" quark (s/u ratio dWT0),
    the vertex quark (dWT1, dWT2; identical light flavours dWT3), spin 1 or 0 (dWT4-6)."""
    d0 = L_DWT
    u = (2.0 + par[d0]) * rng.random()
    qp = 1 if u < 1.0 else (2 if u < 2.0 else 3)
    w_vtx = par[d0 + 1] if qp < 3 else par[d0 + 2]
    u = (2.0 + w_vtx) * rng.random()
    qv = 1 if u < 1.0 else (2 if u < 2.0 else 3)
    if qp < 3 and qv < 3:
        qv = qp
        if rng.random() > par[d0 + 3]:
            qv = 3 - qp
    spin = 3
    if qv != qp:
        w = par[d0 + 6]
        if qv == 3:
            w = par[d0 + 5]
        if qp >= 3:
            w = par[d0 + 4]
        if (1.0 + w) * rng.random() < 1.0:
            spin = 1
    return 1000 * max(qv, qp) + 100 * min(qv, qp) + spin


@kernel
def pick_partner1(rng, par, f_old: int) -> int:
    """Signed flavour joining the end flavour ``f_old`` in the next hadron; the new string end is
    its opposite. A quark end makes a diquark with probability probQQtoQ / (1 + probQQtoQ)
    (baryon), a diquark end always a quark (no popcorn)."""
    if abs(f_old) > 1000:
        q = new_flavour1(rng, par)
        return -q if f_old < 0 else q
    if (1.0 + par[L_QQ]) * rng.random() > 1.0:
        d = new_diquark1(rng, par)
        return d if f_old > 0 else -d
    q = new_flavour1(rng, par)
    return -q if f_old > 0 else q


@kernel
def baryon_id1(rng, par, q: int, dq: int) -> int:
    """Baryon (sign of ``q``) of quark q and diquark dq (same sign), or 0 if rejected by the SU(6)
    weights (Pythia 8 StringFlav::combine: octet/decuplet by SU(6) Clebsch-Gordans, Lambda- or
    Sigma-like for three different flavours)."""
    id_min = abs(q)
    ad = abs(dq)
    q1, q2, spin_qq = ad // 1000, (ad // 100) % 10, ad % 10
    spin_flav = spin_qq - 1
    if spin_flav == 2 and q1 != q2:
        spin_flav = 4
    if id_min != q1 and id_min != q2:
        spin_flav += 1
    if spin_flav < 0 or spin_flav > 5:
        return 0
    if par[L_CGSUM + spin_flav] < rng.random() * par[L_CGMAX + spin_flav]:
        return 0
    o1 = max(id_min, max(q1, q2))
    o3 = min(id_min, min(q1, q2))
    o2 = id_min + q1 + q2 - o1 - o3
    spin_bar = 2 if par[L_CGSUM + spin_flav] * rng.random() < par[L_CGOCT + spin_flav] else 4
    lam = False
    if spin_bar == 2 and o1 > o2 and o2 > o3:
        lam = spin_qq == 1
        if o1 != id_min and spin_qq == 1:
            lam = rng.random() < 0.25
        elif o1 != id_min:
            lam = rng.random() < 0.75
    if lam:
        code = 1000 * o1 + 100 * o3 + 10 * o2 + spin_bar
    else:
        code = 1000 * o1 + 100 * o2 + 10 * o3 + spin_bar
    return code if q > 0 else -code


@kernel
def hadron_id1(rng, par, id1: int, id2: int) -> int:
    """Hadron of two string flavours (quark/antiquark -> meson, quark + diquark -> baryon);
    0 if rejected (eta/eta' suppression, SU(6) weights) or impossible (two diquarks)."""
    a1, a2 = abs(id1), abs(id2)
    if a1 < 10 and a2 < 10:
        return meson_id1(rng, par, id1, id2)
    if a1 > 1000 and a2 > 1000:
        return 0
    if a1 > 1000:
        return baryon_id1(rng, par, id2, id1)
    return baryon_id1(rng, par, id1, id2)


@kernel
def meson_id1(rng, par, id1: int, id2: int) -> int:
    """PDG id of the meson of quark/antiquark ids id1, id2 (one positive, one negative).

    Spin from the vector/pseudoscalar ratio of the heavier quark; flavour-diagonal states mixed
    (``tables.lund_parameters``); 0 if an eta/eta' is rejected by etaSup/etaPrimeSup. The sign
    convention of Pythia 8 StringFlav::combine: positive if the heavier quark is an up-type quark
    or a down-type antiquark (pi+ = u dbar, K+ = u sbar, D+ = c dbar).
    """
    q1, q2 = abs(id1), abs(id2)
    qmax = max(q1, q2)
    qmin = min(q1, q2)
    if qmax <= 2:
        ratio = par[L_VUD]
    elif qmax == 3:
        ratio = par[L_VS]
    else:
        ratio = par[L_VC]
    spin = 1 if rng.random() * (1.0 + ratio) < ratio else 0
    if q1 == q2:
        u = rng.random()
        if q1 <= 2:
            if u < par[L_MIX0_1 + spin]:
                code = 111
            elif u < par[L_MIX0_2 + spin]:
                code = 221
            else:
                code = 331
        else:
            code = 221 if u < par[L_MIX1_2 + spin] else 331
        if spin == 0:
            if code == 221 and rng.random() > par[L_ETA]:
                return 0
            if code == 331 and rng.random() > par[L_ETAP]:
                return 0
        return code + 2 * spin
    code = 100 * qmax + 10 * qmin + 2 * spin + 1
    sign = 1 if qmax % 2 == 0 else -1
    if (qmax == q1 and id1 < 0) or (qmax == q2 and id2 < 0):
        sign = -sign
    return sign * code


@kernel
def lightest_meson1(id1: int, id2: int) -> int:
    """The pseudoscalar of quark/antiquark ids id1, id2 (pi0 for u ubar, d dbar; eta for s sbar)."""
    q1, q2 = abs(id1), abs(id2)
    if q1 == q2:
        return 111 if q1 <= 2 else 221
    qmax, qmin = max(q1, q2), min(q1, q2)
    sign = 1 if qmax % 2 == 0 else -1
    if (qmax == q1 and id1 < 0) or (qmax == q2 and id2 < 0):
        sign = -sign
    return sign * (100 * qmax + 10 * qmin + 1)


@kernel
def sample_mass1(rng, mass, width, m_lo, m_hi, pdg: int) -> float:
    """Mass of meson ``pdg``: Breit-Wigner (non-relativistic, truncated to its window) or fixed."""
    k = abs(pdg)
    g = width[k]
    m0 = mass[k]
    if g <= 0.0:
        return m0
    lo = math.atan(2.0 * (m_lo[k] - m0) / g)
    hi = math.atan(2.0 * (m_hi[k] - m0) / g)
    return m0 + 0.5 * g * math.tan(lo + (hi - lo) * rng.random())


@kernel
def _pair_pt(rng, par):
    """(kx, ky) of a new q qbar pair: Gaussian, width sigma/sqrt 2 per component (enhanced
    by enhancedWidth in a fraction enhancedFraction of the breaks)."""
    sig = par[L_SIGMA]
    if rng.random() < par[L_ENHF]:
        sig *= par[L_ENHW]
    s = sig / math.sqrt(2.0)
    return s * rng.standard_normal(), s * rng.standard_normal()


@kernel
def reserve_rows1(pdg, mom, pos: int, n: int):
    """(pdg, mom) with room for ``n`` rows after ``pos``: doubled (plus n) when full."""
    if pos + n <= pdg.shape[0]:
        return pdg, mom
    new_cap = 2 * pdg.shape[0] + n
    pdg2 = np.empty(new_cap, np.int32)
    mom2 = np.empty((new_cap, 4))
    pdg2[:pos] = pdg[:pos]
    mom2[:pos] = mom[:pos]
    return pdg2, mom2


@kernel
def append_rows1(pdg, mom, pos: int, src_pdg, src_p, n: int):
    """Append ``n`` rows (ids, four-momenta) at ``pos``, growing the arrays; (pdg, mom)."""
    pdg, mom = reserve_rows1(pdg, mom, pos, n)
    for j in range(n):
        pdg[pos + j] = src_pdg[j]
        for c in range(4):
            mom[pos + j, c] = src_p[j, c]
    return pdg, mom


@kernel
def _store(out_pdg, out_p, n, pdg, px, py, pplus, pminus):
    out_pdg[n] = pdg
    out_p[n, 0] = px
    out_p[n, 1] = py
    out_p[n, 2] = 0.5 * (pplus - pminus)
    out_p[n, 3] = 0.5 * (pplus + pminus)


@kernel
def _try_fragment(rng, par, mass, width, m_lo, m_hi, id_pos, id_neg, w, out_pdg, out_p) -> int:
    """One attempt of the iterative fragmentation; number of hadrons, or -1 to start again."""
    a, b = par[L_A], par[L_B]
    c_heavy = 1.0 + par[L_RC] * b * par[L_MC] * par[L_MC]
    wp = w
    wm = w
    f_pos, f_neg = id_pos, id_neg
    xp, yp, xn, yn = 0.0, 0.0, 0.0, 0.0
    n = 0
    while True:
        from_pos = rng.random() < 0.5
        f_old = f_pos if from_pos else f_neg
        while True:
            partner = pick_partner1(rng, par, f_old)
            had = hadron_id1(rng, par, f_old, partner)
            if had != 0:
                break
        f_new = -partner
        kx, ky = _pair_pt(rng, par)
        wmin = (par[L_STOPM] + constituent_mass1(par, f_pos) + constituent_mass1(par, f_neg)
                + par[L_STOPNF] * constituent_mass1(par, f_new))
        wmin *= 1.0 + (2.0 * rng.random() - 1.0) * par[L_STOPSM]
        tx, ty = xp + xn, yp + yn
        w2rem = wp * wm - tx * tx - ty * ty
        mh = sample_mass1(rng, mass, width, m_lo, m_hi, had)
        if from_pos:
            hx, hy = xp - kx, yp - ky
        else:
            hx, hy = xn - kx, yn - ky
        mt2 = mh * mh + hx * hx + hy * hy
        if w2rem < wmin * wmin:
            break
        # Lund symmetric function with end parameters a_old, a_new: z^-(1 + a_new - a_old)
        # (1-z)^a_new (aExtraDiquark for diquark ends; Andersson et al. 1983, Pythia 8 zFrag)
        a_old = a + (par[L_AQQ] if abs(f_old) > 1000 else 0.0)
        a_new = a + (par[L_AQQ] if abs(f_new) > 1000 else 0.0)
        c = 1.0 + a_new - a_old + (c_heavy - 1.0 if abs(f_old) == 4 else 0.0)
        z = sample_z1(rng, a_new, b, c, mt2)
        if from_pos:
            pplus = z * wp
            pminus = mt2 / pplus
        else:
            pminus = z * wm
            pplus = mt2 / pminus
        wp -= pplus
        wm -= pminus
        if wp <= 0.0 or wm <= 0.0 or n >= MAX_HADRONS - 2:
            return -1
        _store(out_pdg, out_p, n, had, hx, hy, pplus, pminus)
        n += 1
        if from_pos:
            f_pos, xp, yp = f_new, kx, ky
        else:
            f_neg, xn, yn = f_new, kx, ky
    # final two hadrons: ``had`` at the chosen end, the joining one at the other end
    f_other = f_neg if from_pos else f_pos
    had2 = 0
    for _ in range(MAX_TRY_FLAV):
        had2 = hadron_id1(rng, par, f_new, f_other)
        if had2 != 0:
            break
    if had2 == 0:
        return -1
    m2 = sample_mass1(rng, mass, width, m_lo, m_hi, had2)
    if from_pos:
        ox, oy = xn + kx, yn + ky
    else:
        ox, oy = xp + kx, yp + ky
    mt2b = m2 * m2 + ox * ox + oy * oy
    s = wp * wm
    lam = (s - mt2 - mt2b) ** 2 - 4.0 * mt2 * mt2b
    if s <= 0.0 or lam <= 0.0 or math.sqrt(s) < math.sqrt(mt2) + math.sqrt(mt2b):
        return -1
    frac = (s + mt2 - mt2b + math.sqrt(lam)) / (2.0 * s)
    if from_pos:
        pp1 = frac * wp
        pm1 = mt2 / pp1
    else:
        pm1 = frac * wm
        pp1 = mt2 / pm1
    _store(out_pdg, out_p, n, had, hx, hy, pp1, pm1)
    _store(out_pdg, out_p, n + 1, had2, ox, oy, wp - pp1, wm - pm1)
    return n + 2


@kernel
def _last_resort(rng, par, mass, id_pos, id_neg, w, out_pdg, out_p) -> int:
    """Two pseudoscalars along the axis (no pT, nominal masses); -1 if no flavour fits in W."""
    for qn in (2, 1, 3):
        f_new = qn if id_pos > 0 else -qn
        h1 = lightest_meson1(id_pos, -f_new)
        h2 = lightest_meson1(f_new, id_neg)
        m1, m2 = mass[abs(h1)], mass[abs(h2)]
        if w <= m1 + m2:
            continue
        s = w * w
        lam = (s - m1 * m1 - m2 * m2) ** 2 - 4.0 * m1 * m1 * m2 * m2
        pp1 = w * (s + m1 * m1 - m2 * m2 + math.sqrt(lam)) / (2.0 * s)
        pm1 = m1 * m1 / pp1
        _store(out_pdg, out_p, 0, h1, 0.0, 0.0, pp1, pm1)
        _store(out_pdg, out_p, 1, h2, 0.0, 0.0, w - pp1, w - pm1)
        return 2
    return -1


@kernel
def fragment_string1(rng, par, mass, width, m_lo, m_hi, id_pos: int, id_neg: int, w: float,
                     out_pdg, out_p):
    """Fragment the string (quark ``id_pos`` along +z, antiquark ``id_neg``, mass ``w``).

    Hadrons go to ``out_pdg[:n]`` and ``out_p[:n]`` = (px, py, pz, E) in the string rest frame
    (buffers of ``MAX_HADRONS`` rows). Returns ``(n, n_restarts)``; n = -1 if even the last-resort
    split does not fit (W below the lightest two-meson threshold).
    """
    for k in range(MAX_TRY):
        n = _try_fragment(rng, par, mass, width, m_lo, m_hi, id_pos, id_neg, w, out_pdg, out_p)
        if n > 0:
            return n, k
    return _last_resort(rng, par, mass, id_pos, id_neg, w, out_pdg, out_p), MAX_TRY


@kernel
def _fragment_many(rng, par, mass, width, m_lo, m_hi, id_pos, w, n_events):
    cap = n_events * 16 + MAX_HADRONS
    pdg = np.empty(cap, np.int32)
    mom = np.empty((cap, 4))
    offset = np.zeros(n_events + 1, np.int64)
    buf_pdg = np.empty(MAX_HADRONS, np.int32)
    buf_p = np.empty((MAX_HADRONS, 4))
    restarts = 0
    pos = 0
    for i in range(n_events):
        n, k = fragment_string1(rng, par, mass, width, m_lo, m_hi, id_pos, -id_pos, w,
                                buf_pdg, buf_p)
        restarts += k
        if n < 0:
            n = 0
        pdg, mom = append_rows1(pdg, mom, pos, buf_pdg, buf_p, n)
        pos += n
        offset[i + 1] = pos
    return pdg[:pos], mom[:pos], offset, restarts


def fragment(rng: np.random.Generator, flavour: int, w_gev: float, n_events: int,
             params: dict | None = None) -> tuple[EventChunk, int]:
    """Fragment ``n_events`` strings of quark ``flavour`` (1-4, along +z) and its antiquark.

    Returns the primary hadrons (status 1, mother -1, string rest frame, vertices 0) and the
    number of whole-string restarts. For tests and studies; processes call the kernels directly.
    """
    if flavour not in (1, 2, 3, 4):
        raise ValueError(f"flavour must be 1 (d), 2 (u), 3 (s) or 4 (c), got {flavour!r}")
    if not (math.isfinite(w_gev) and w_gev > 0.0):
        raise ValueError(f"w_gev must be a positive finite string mass, got {w_gev!r}")
    t = meson_tables()
    pdg, mom, offset, restarts = _fragment_many(
        rng, lund_parameters(params), t.mass, t.width, t.m_lo, t.m_hi, flavour, float(w_gev),
        int(n_events))
    n = pdg.shape[0]
    particles = {k: np.zeros(n, dtype=v) for k, v in PARTICLE_FIELDS.items()}
    particles["pdg"][:] = pdg
    particles["status"][:] = FINAL
    particles["mother"][:] = -1
    for c, name in enumerate(("px", "py", "pz", "e")):
        particles[name][:] = mom[:, c]
    return EventChunk(np.ones(n_events), offset, particles), int(restarts)
