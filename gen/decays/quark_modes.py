"""Hadrons from the quark-level (``PYTHIA``) modes of DECAY_BELLE2.DEC, as EvtGen + Pythia 8 do.

The DEC file gives ~45 % of the B width as parton lists handed to Pythia 8 (``u anti-d anti-c d
PYTHIA 23``); its header says the model numbers were converted to Pythia 8 ``meMode`` codes
(EvtGen ``EvtPythiaEngine``). Pythia 8 (``ParticleDecays::pickHadrons`` and ``mGenerator``;
manual page "Particle Decays", T. Sjostrand et al. arXiv:1410.3012) does NOT string-fragment
these: it turns the partons into a random number of hadrons by a flavour chain and distributes
them in phase space. We follow that algorithm:

- meMode 22 / 23 (weak decay): the last two partons (the spectator system, e.g. ``anti-c d``)
  collapse into one hadron; 23 requires at least three hadrons in total.
- The number of hadrons is Poissonian with mean
  n_known/2 + n_spec/2 + n_partons/4 + c ln(max(1.1, mDiff / multRefMass)), truncated to
  [nMin, 10], mDiff = mother mass - known/spectator hadron masses - constituent masses of the
  remaining partons; c = multIncreaseWeak for meMode 23, multIncrease otherwise;
  +multGoffset (0.5) for a closed gluon loop. nMin = max(2, n_known + n_partons/2), 3 for
  meMode 23, code - 40 for 42-50 and code - 50 for 52-60; fixed multiplicity code - 60 for
  62-70. multIncreaseWeak = 2.0 and multIncrease = 4.5 are the values EvtGen sets in its Pythia
  8 instances (``EvtPythiaEngine::updatePhysicsParameters``, EvtGen 1.x and 2.x; basf2's
  ``EvtGenInterface`` uses that engine unchanged), not the Pythia 8 defaults 2.5 / 4.0;
  multRefMass (0.7) and multGoffset are Pythia 8 defaults.
- Hadrons are split off the parton ends picked at random (never the last parton: the
  spectator), each with a new flavour from the Lund flavour machinery (``gen.hadronization
  .string``: pick_partner1 / hadron_id1, Monash 2013 parameters); the remaining ends are joined
  pairwise into colour singlets: end 1 with end 2, or with probability colRearrange = 0.5
  (ParticleDecays:colRearrange) with end 4, replaced by end 3 when the chosen pair is not a
  colour singlet (Pythia 8 pickHadrons). A c cbar pair becomes eta_c or J/psi (vector fraction
  mesonCvector), as in Pythia 8 StringFlav::combine. Two diquark ends, or hadron masses above
  the mother's, restart the flavour choice (at most NTRY_PICK times; then another mode of the
  mother is picked, as Pythia 8 does).
- Kinematics: flat phase space (the M-generator, hit-or-miss against the analytic maximum
  divided by Pythia 8's empirical ``WTCORRECTION[n]``; weights above it are accepted and
  counted; as in Pythia 8 the hit-or-miss is on the weight of the intermediate masses and the
  kinematics are built for accepted points only), times Pythia 8's effective matrix elements
  for meMode 22/23: hadronic decays x1 (3 - 2 x1), x1 = 2 |p1| / M of the first product (the
  spectator hadron); semileptonic (first product a lepton) M E_l (p_nu . p_rest) with
  exp(-p^2 / sigmaSoft^2), sigmaSoft = 0.5 GeV, for the 4th and later products.

No exclusive-channel veto, as in EvtGen 2 (``EvtPythiaEngine::doDecay`` keeps whatever
Pythia 8 returns). The Pythia 6 era interface (``EvtJetSet::decay``) regenerated a decay while
``EvtDecayTable::inChannelList`` found its primary hadrons among the mother's channels, and
DECAY_BELLE2.DEC still lists exclusive modes with BF 0 "to keep PYTHIA from generating these";
``exclusive_match1`` performs that comparison so the overlap can be measured, but it does not
reject anything. Measured (4000 decays per mode at the B mass, EvtGen's multIncrease values):
22 % of the quark-level B decays (10.6 % of all B0, 9.7 % of all B+ decays) give the hadrons
of an exclusive DEC channel, 38 % of the b -> c cbar s modes (``c anti-s anti-c d PYTHIA
43``). Applying the veto instead was measured (with Pythia 8's default multIncrease values,
<n_ch> then 10.94) to raise <n_ch> per Upsilon(4S) event to 11.24 (CLEO 10.71) and B -> D_s X
from 14.2 % to 14.9 %. With EvtGen's values <n_ch> is 10.79 +- 0.02 (20000 events).

Exceptions to pickHadrons, as in Pythia 8: meMode 91 to q qbar (e.g. ``anti-s d`` of the B0,
b -> s g) makes a Lund string in the mother's rest frame (``string.fragment_string1``, axis
isotropic); gluon modes (91 g g, 92 g g g / gamma g g, which Pythia 8 showers and
string-fragments) are approximated here by a closed gluon loop of random flavour (codes 83,
-83, with multGoffset) in phase space. Codes 82 / -82 (``rndmflav``) are a random light
flavour pair.
"""

from __future__ import annotations

import math

import numpy as np
from particle import Particle

from gen.hadronization.string import (
    MAX_HADRONS,
    constituent_mass1,
    fragment_string1,
    hadron_id1,
    new_flavour1,
    pick_partner1,
    sample_mass1,
)
from gen.hadronization.tables import (
    L_STOPM,
    L_VC,
    PSEUDOSCALARS,
    VECTORS,
    baryon_codes,
    lund_parameters,
    meson_tables,
)
from gen.jit import kernel
from gen.kinematics import direction1, rotate_z_to1
from gen.phasespace import genbod_build1, genbod_weight1, genbod_wmax

#: ParticleDecays:multIncrease / multIncreaseWeak as EvtGen sets them for Belle II's generic
#: decays (EvtPythiaEngine::updatePhysicsParameters; Pythia 8 defaults 4.0 / 2.5)
MULT_INCREASE = 4.5
MULT_INCREASE_WEAK = 2.0
#: the other ParticleDecays values: Pythia 8 defaults (manual page "Particle Decays")
MULT_REF_MASS = 0.7
MULT_G_OFFSET = 0.5
COL_REARRANGE = 0.5
M_SAFETY = 0.0005
SIGMA_SOFT = 0.5
#: Pythia 8 ParticleDecays.cc constants: tries of the flavour choice, most hadrons
NTRY_PICK = 100
MAX_MULT = 10
#: Pythia 8 ParticleDecays::WTCORRECTION, empirical divisors of the M-generator maximum weight
WTCORRECTION = np.array([1.0, 1.0, 1.0, 2.0, 5.0, 15.0, 60.0, 250.0, 1250.0, 7000.0, 50000.0])
#: Pythia 8 special codes: spectator remnant, random flavour, closed gluon loop
SPECTATOR, RANDOM_FLAV, GLUON_LOOP = 81, 82, 83
#: rows one quark-level decay may write (strings of a B: ~10 hadrons; longer ones are redone)
MAX_ROWS = 40
#: meMode codes handled (others are dropped by the table builder)
STRING_MODE, GLUON_MODE = 91, 92
_MAX_TRY_COMBINE = 100


def supported_me_mode(me: int) -> bool:
    """meMode values this module turns into hadrons."""
    return me in (0, 22, 23, 91, 92) or 42 <= me <= 50 or 52 <= me <= 60 or 62 <= me <= 70


def spectator_flavour(pdg: int) -> int:
    """Pythia 8 code 81 (remnant flavour) for a c or b hadron ``pdg`` (ParticleDecays.cc
    pickHadrons): the light antiquark of a meson, the (ordered, spin-0 unless equal) diquark of
    a baryon, with the hadron's sign."""
    a = abs(pdg)
    if (a // 1000) % 10 == 0:
        new = -((a // 10) % 10)
        if (a // 100) % 2 == 1:
            new = -new
    elif (a // 100) % 10 >= (a // 10) % 10:
        new = 100 * ((a // 10) % 100) + 3
    else:
        new = 1000 * ((a // 10) % 10) + 100 * ((a // 100) % 10) + 1
    return new if pdg > 0 else -new


def is_parton_code(code: int) -> bool:
    """Quark (1-4), diquark of d/u/s/c, or a Pythia special code 82/83."""
    a = abs(code)
    if 1 <= a <= 4 or a in (RANDOM_FLAV, GLUON_LOOP):
        return True
    return 1000 < a < 10000 and (a // 10) % 10 == 0 and (a // 1000) <= 4 and (a // 100) % 10 <= 4


def hadron_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(mass, width, m_lo, m_hi) indexed by |PDG id|: the string's tables (``meson_tables``)
    plus eta_c and J/psi (c cbar pairs; nominal masses from ``particle``)."""
    t = meson_tables()
    mass, width, m_lo, m_hi = (a.copy() for a in (t.mass, t.width, t.m_lo, t.m_hi))
    for pdg in (441, 443):
        mass[pdg] = Particle.from_pdgid(pdg).mass * 1e-3
        m_lo[pdg] = m_hi[pdg] = mass[pdg]
    return mass, width, m_lo, m_hi


def producible_hadrons() -> tuple[int, ...]:
    """Every hadron (both signs where distinct) the flavour chain or a string can make."""
    out = set()
    for p in (*PSEUDOSCALARS, *VECTORS, *baryon_codes(), 441, 443):
        out.add(p)
        try:
            Particle.from_pdgid(-p)
            out.add(-p)
        except Exception:  # self-conjugate: no antiparticle id
            pass
    return tuple(sorted(out))


def quark_parameters() -> np.ndarray:
    """Lund flavour parameters (Monash 2013, ``lund_parameters``) used by the flavour chain."""
    return lund_parameters()


def threshold(known_masses: list[float], partons: list[int]) -> float:
    """Lowest mother mass for which a mode is tried: known masses + constituent masses."""
    par = lund_parameters()
    s = sum(known_masses)
    for c in partons:
        a = abs(c)
        s += constituent_mass1(par, 1) if a in (RANDOM_FLAV, GLUON_LOOP) else \
            constituent_mass1(par, c)
    return s + M_SAFETY


# ----------------------------------------------------------------------------------------------
# Kernels
# ----------------------------------------------------------------------------------------------


@kernel
def combine1(rng, par, id1, id2) -> int:
    """Hadron of two flavour ends (Pythia 8 StringFlav::combine): c cbar -> eta_c / J/psi with
    the c vector fraction, everything else ``string.hadron_id1``; 0 if rejected."""
    a1, a2 = abs(id1), abs(id2)
    if a1 == a2 and a1 == 4 and id1 == -id2:
        if rng.random() * (1.0 + par[L_VC]) < par[L_VC]:
            return 443
        return 441
    return hadron_id1(rng, par, id1, id2)


@kernel
def _combine_retry(rng, par, id1, id2) -> int:
    for _ in range(_MAX_TRY_COMBINE):
        h = combine1(rng, par, id1, id2)
        if h != 0:
            return h
    return 0


@kernel
def mean_multiplicity1(me: int, n_fixed: int, n_partons: int, m_ps: float,
                       closed: bool) -> float:
    """Mean of the Poissonian hadron multiplicity (Pythia 8 pickHadrons): n_fixed known and
    spectator hadrons, n_partons partons, m_ps the mass left after the fixed hadrons and the
    partons' constituent masses; meMode 23 uses multIncreaseWeak (module docstring)."""
    inc = MULT_INCREASE_WEAK if me == 23 else MULT_INCREASE
    average = 0.5 * n_fixed + 0.25 * n_partons + inc * math.log(max(1.1, m_ps / MULT_REF_MASS))
    if closed:
        average += MULT_G_OFFSET
    return average


@kernel
def poisson_multiplicity1(rng, average, n_min) -> int:
    """Poissonian multiplicity truncated to [n_min, MAX_MULT] (Pythia 8 pickHadrons)."""
    value = 1.0
    total = 1.0
    for n_now in range(n_min + 1, MAX_MULT + 1):
        value *= average / n_now
        total += value
    n_tot = n_min
    value = 1.0
    total *= rng.random()
    total -= value
    while total > 0.0 and n_tot < MAX_MULT:
        n_tot += 1
        value *= average / n_tot
        total -= value
    return n_tot


@kernel(inline="always")  # takes the tables: a call costs ~0.3 us
def _resolve_partons(rng, tb, mode, m, parts):
    """Copy the mode's partons into ``parts``, replacing 82/83 by a random flavour pair.
    Returns (n_partons, closed gluon loop, ok)."""
    par = tb.qm_lund
    n_p = tb.md_npart[mode]
    closed = False
    for i in range(n_p):
        c = tb.md_part[mode, i]
        if c == RANDOM_FLAV or c == GLUON_LOOP:  # noqa: SIM109 - scalar compare in numba
            closed = closed or c == GLUON_LOOP
            ok = False
            for _ in range(NTRY_PICK):
                new = pick_partner1(rng, par, -new_flavour1(rng, par))
                if 2.0 * constituent_mass1(par, new) + par[L_STOPM] <= m:
                    ok = True
                    break
            if not ok:
                return n_p, closed, False
            parts[i] = new
        elif c == -RANDOM_FLAV or c == -GLUON_LOOP:
            parts[i] = -parts[i - 1]
        else:
            parts[i] = c
    return n_p, closed, True


@kernel
def _colour_sign(f) -> int:
    """+1 for a colour triplet end (quark, antidiquark), -1 for an antitriplet."""
    return 1 if (0 < f < 9) or f < -10 else -1


@kernel(inline="always")  # takes the tables: a call costs ~0.3 us
def pick_hadrons1(rng, tb, mode, m, ids, ms) -> int:
    """Hadron content of quark-level mode ``mode`` of a mother of mass m (Pythia 8
    pickHadrons, module docstring): ids/ms[:n] = known daughters, spectator hadron, new
    hadrons. Returns n, or -1 if no acceptable content was found."""
    par = tb.qm_lund
    me = tb.md_me[mode]
    nk = tb.md_nd[mode]
    parts = np.zeros(4, np.int64)
    n_p, closed, ok = _resolve_partons(rng, tb, mode, m, parts)
    if not ok:
        return -1
    n_min = max(2, nk + n_p // 2)
    if me == 23:
        n_min = 3
    if 41 < me <= 50:
        n_min = me - 40
    if 51 < me <= 60:
        n_min = me - 50
    n_fix = 0
    if me == 0:
        n_fix = n_min
    if 61 < me <= 70:
        n_fix = me - 60
    if n_fix > 0 and nk + n_p // 2 > n_fix:
        return -1
    ends = np.zeros(4, np.int64)
    for _ in range(NTRY_PICK):
        n = 0
        mdiff = m
        for i in range(nk):
            ids[n] = tb.md_pdg[mode, i]
            ms[n] = tb.sp_mass[tb.md_dau[mode, i]]
            mdiff -= ms[n]
            n += 1
        n_spec = 0
        n_left = n_p
        if (me == 22 or me == 23) and n_left > 1:
            had = _combine_retry(rng, par, parts[n_p - 2], parts[n_p - 1])
            if had == 0 or tb.qm_mass[abs(had)] <= 0.0:
                continue
            ids[n] = had
            ms[n] = sample_mass1(rng, tb.qm_mass, tb.qm_width, tb.qm_mlo, tb.qm_mhi, had)
            mdiff -= ms[n]
            n += 1
            n_spec = 1
            n_left -= 2
        first_new = n
        good = True
        if n_left > 0:
            if n_fix == 0:
                m_ps = mdiff
                for i in range(n_left):
                    m_ps -= constituent_mass1(par, parts[i])
                average = mean_multiplicity1(me, nk + n_spec, n_p, m_ps, closed)
                n_tot = poisson_multiplicity1(rng, average, n_min)
            else:
                n_tot = n_fix
            n_new = n_tot - nk - n_spec
            for i in range(n_left):
                ends[i] = parts[i]
            for _k in range(n_new - n_left // 2):
                # never the last end: with four partons it is the spectator
                i_end = int((n_left - 1.0) * rng.random())
                had = 0
                new = 0
                for _t in range(_MAX_TRY_COMBINE):
                    new = pick_partner1(rng, par, ends[i_end])
                    had = combine1(rng, par, ends[i_end], new)
                    if had != 0:
                        break
                if had == 0:
                    good = False
                    break
                ids[n] = had
                n += 1
                ends[i_end] = -new
            if not good:
                continue
            if n_left == 2:
                if abs(ends[0]) > 8 and abs(ends[1]) > 8:
                    continue  # diquark clash
                had = _combine_retry(rng, par, ends[0], ends[1])
                if had == 0:
                    continue
                ids[n] = had
                n += 1
            else:
                i1, i2, i3, i4 = 0, 1, 2, 3
                if rng.random() < COL_REARRANGE:
                    i2 = 3
                rel = _colour_sign(ends[i1])
                if _colour_sign(ends[i2]) == -1:
                    rel = -rel
                if rel == 1:  # same colour type: not a singlet
                    i2 = 2
                if i2 == 2:
                    i3 = 1
                if i2 == 3:
                    i4 = 1
                if (abs(ends[i1]) > 8 and abs(ends[i2]) > 8) or \
                        (abs(ends[i3]) > 8 and abs(ends[i4]) > 8):
                    continue
                had = _combine_retry(rng, par, ends[i1], ends[i2])
                had2 = _combine_retry(rng, par, ends[i3], ends[i4])
                if had == 0 or had2 == 0:
                    continue
                ids[n] = had
                ids[n + 1] = had2
                n += 2
            for i in range(first_new, n):
                if tb.qm_mass[abs(ids[i])] <= 0.0:
                    good = False
                    break
                ms[i] = sample_mass1(rng, tb.qm_mass, tb.qm_width, tb.qm_mlo, tb.qm_mhi, ids[i])
                mdiff -= ms[i]
            if not good:
                continue
        if mdiff >= M_SAFETY and n >= 2:
            return n
    return -1


@kernel
def _dot(out_f, r, ax, ay, az, ae):
    return out_f[r, 3] * ae - out_f[r, 0] * ax - out_f[r, 1] * ay - out_f[r, 2] * az


@kernel
def _me_weight(ids, ms, n, m, out_f, pos, me):
    """(weight, maximum) of Pythia 8's effective weak-decay matrix elements (module docstring)."""
    if (me != 22 and me != 23) or n < 3:
        return 1.0, 1.0
    msum = 0.0
    for i in range(n):
        msum += ms[i]
    a = abs(ids[0])
    if 11 <= a <= 16:
        ax, ay, az, ae = 0.0, 0.0, 0.0, 0.0
        for i in range(2, n):
            ax += out_f[pos + i, 0]
            ay += out_f[pos + i, 1]
            az += out_f[pos + i, 2]
            ae += out_f[pos + i, 3]
        w = m * out_f[pos, 3] * _dot(out_f, pos + 1, ax, ay, az, ae)
        for i in range(3, n):
            r = pos + i
            p2 = out_f[r, 0] ** 2 + out_f[r, 1] ** 2 + out_f[r, 2] ** 2
            w *= math.exp(-p2 / (SIGMA_SOFT * SIGMA_SOFT))
        wmax = m**4 / 16.0
        if n == 3:
            wmax = min(wmax, m * (m - ms[0] - ms[1]) * (m - ms[0] - ms[2]) * (m - ms[1] - ms[2]))
        return w, wmax
    p1 = math.sqrt(out_f[pos, 0] ** 2 + out_f[pos, 1] ** 2 + out_f[pos, 2] ** 2)
    x1 = 2.0 * p1 / m
    x_max = min(0.75, 2.0 * (1.0 - msum / m))
    return x1 * (3.0 - 2.0 * x1), x_max * (3.0 - 2.0 * x_max)


@kernel
def m_generator1(rng, m, ms, n, ids, me, out_f, pos) -> int:
    """Phase space of n products at rest into out_f rows pos.. (module docstring). Returns the
    number of trial weights above the (WTCORRECTION-reduced) maximum."""
    over = 0
    work = np.empty(3 * n)
    wmax = genbod_wmax(m, ms, n) / WTCORRECTION[min(n, MAX_MULT)]
    for _ in range(1000):  # ME loop (Pythia 8 NTRYMEWT)
        # hit-or-miss on the GENBOD weight of the intermediate masses, kinematics built for
        # accepted points only (Pythia 8 mGenerator; 7-10 trials a B decay, ~0.4 us per build)
        while True:
            w = genbod_weight1(rng, m, ms, n, work)
            if n == 2:
                break
            if w > wmax:
                over += 1
            if rng.random() * wmax <= w:
                break
        genbod_build1(rng, ms, n, out_f, pos, work)
        w_me, w_me_max = _me_weight(ids, ms, n, m, out_f, pos, me)
        if rng.random() * w_me_max <= w_me:
            break
    return over


@kernel(inline="always")  # takes the tables: a call costs ~0.3 us
def _string_decay1(rng, tb, mode, m, out_i, out_f, pos) -> int:
    """meMode 91 to q qbar: Lund string of mass m along an isotropic axis; n or -1."""
    a, b = tb.md_part[mode, 0], tb.md_part[mode, 1]
    id_pos, id_neg = (a, b) if _colour_sign(a) == 1 else (b, a)
    buf_pdg = np.empty(MAX_HADRONS, np.int32)
    buf_p = np.empty((MAX_HADRONS, 4))
    n, _ = fragment_string1(rng, tb.qm_lund, tb.qm_mass, tb.qm_width, tb.qm_mlo, tb.qm_mhi,
                            id_pos, id_neg, m, buf_pdg, buf_p)
    if n < 2 or n > MAX_ROWS:
        return -1
    nx, ny, nz = direction1(2.0 * rng.random() - 1.0, 2.0 * math.pi * rng.random())
    for i in range(n):
        r = pos + i
        px, py, pz = rotate_z_to1(buf_p[i, 0], buf_p[i, 1], buf_p[i, 2], nx, ny, nz)
        out_f[r, 0], out_f[r, 1], out_f[r, 2], out_f[r, 3] = px, py, pz, buf_p[i, 3]
        out_i[r, 0] = buf_pdg[i]
    return n


@kernel
def mother_modes1(tb, mode):
    """Mode range [lo, hi) of the species that owns ``mode``."""
    k = np.searchsorted(tb.sp_first, mode, side="right") - 1
    return tb.sp_first[k], tb.sp_first[k + 1]


@kernel
def exclusive_match1(tb, lo, hi, ids, n) -> int:
    """First non-quark-level mode in [lo, hi) whose daughters equal ids[:n] as a multiset
    (EvtGen ``EvtDecayTable::inChannelList``), -1 if none."""
    mine = np.sort(ids[:n])
    theirs = np.empty(n, np.int64)
    for i in range(lo, hi):
        if tb.md_me[i] >= 0 or tb.md_nd[i] != n:
            continue
        for j in range(n):
            theirs[j] = tb.md_pdg[i, j]
        theirs.sort()
        same = True
        for j in range(n):
            if theirs[j] != mine[j]:
                same = False
                break
        if same:
            return i
    return -1


@kernel
def quark_decay1(rng, tb, mode, m, out_i, out_f, pos):
    """Hadrons of quark-level mode ``mode`` of a mother of mass m at rest: pdg into
    out_i[pos:pos+n, 0], (px, py, pz, E) into out_f[pos:pos+n, 0:4]. Returns (n, overweights);
    n = -1 if the mode could not be made (the caller picks another mode)."""
    me = tb.md_me[mode]
    if me == STRING_MODE and tb.md_npart[mode] == 2 and tb.md_nd[mode] == 0:
        return _string_decay1(rng, tb, mode, m, out_i, out_f, pos), 0
    ids = np.empty(MAX_ROWS, np.int64)
    ms = np.empty(MAX_ROWS)
    n = pick_hadrons1(rng, tb, mode, m, ids, ms)
    if n < 0:
        return -1, 0
    over = m_generator1(rng, m, ms, n, ids, me, out_f, pos)
    for i in range(n):
        out_i[pos + i, 0] = ids[i]
    return n, over
