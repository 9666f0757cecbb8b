"""Lund fragmentation of a kinked string q g ... g qbar (open string, numba kernels).

Algorithm: T. Sjostrand, Nucl. Phys. B248 (1984) 469 and Comput. Phys. Commun. 39 (1986) 347,
as implemented in JETSET 7.4 / Pythia 6 PYSTRF (hep-ph/0603175 sect. 12.1.3), open strings
without junctions. Each string piece between colour-adjacent partons (a gluon gives half its
momentum to each of its two pieces) is spanned by two light-like vectors; hadrons are produced
alternately from the two ends as in ``string``, with the Lund z (drawn by
``zlund.sample_z_lund1``: the same f(z) as ``string.sample_z1`` with Pythia 8's envelope, ~3x
faster for pions), Gaussian pT and flavour rules of ``string`` (Monash parameters), but a
hadron may extend over several string regions: its momentum is the sum of the unused
fractions of the vectors it passes plus fractions x of the two vectors of its final region,
solved from its mass and the area law
Gamma_new = (1 - z)(Gamma_old + mT^2 / z) of the new breakup vertex (the (m^2, Gamma) equation
system of PYSTRF). When the remaining mass is below the stop threshold (``string``), the last
two hadrons are placed in the region of the larger remaining area and the very last one takes
the remaining four-momentum, so four-momentum is conserved exactly (to rounding); the step is
redone if that hadron's mass differs from its chosen mass by more than 1e-6 E^2 (PYSTRF uses
1e-10). Not included (as in ``string``): popcorn, endpoint pT, the heavy-quark z shift of
PYSTRF (c ends keep the Bowler exponent), the random ordering of the final two hadrons
(PARJ(39/40)). A failed join restarts the whole string (as PYSTRF and Pythia 8); after 15
failed attempts the stop mass grows by 5 % per attempt (Pythia 8 StringFragmentation::fragment,
NTRYJOIN - NSTOPMASS, FACSTOPMASS; without it the Belle II stopMass = 0.3 needed 11 attempts
per kinked string on average, 1.2 % of them exhausting all; with it 9.9 and none). Failure
after ``string.MAX_TRY`` attempts returns -1 (the caller falls back to ``chain``'s straight
segments).

Where the attempts fail (showered u ubar at 10.58 GeV, 5000 chains, Belle II settings: 9.8
attempts per string; Monash 3.8): 75 % (Monash 81 %) inside the iteration, a hadron spanning
several regions whose solved light-cone fraction is negative (PYSTRF's PARU(14) check, its
GOTO 200 restart), 18 % (16 %) the final two hadrons not fitting (PYSTRF FD >= 1), the rest
region overruns and W^2 < 0.1. So most restarts are not the final join, and they come from
soft shower gluons, which PYSTRF would first merge with a neighbour (PARU(12), PARU(13)) and
Pythia 8 would join below StringFragmentation:mJoin; neither is done here (a physics change,
left as is). The end regions' transverse vectors are computed once per string and the work
arrays allocated once per string, not per attempt (~10 % per attempt).
"""

from __future__ import annotations

import math

import numpy as np

from gen.hadronization.string import (
    MAX_TRY,
    MAX_TRY_FLAV,
    _pair_pt,
    constituent_mass1,
    hadron_id1,
    pick_partner1,
    sample_mass1,
)
from gen.hadronization.tables import (
    L_A,
    L_AQQ,
    L_B,
    L_MC,
    L_RC,
    L_STOPM,
    L_STOPNF,
    L_STOPSM,
)
from gen.hadronization.zlund import sample_z_lund1
from gen.jit import kernel

#: tolerance of the stored fractions (PYSTRF PARU(14))
FRAC_TOL = 0.01
#: relative mass-squared tolerance of the last hadron (see module docstring)
MASS_TOL = 1e-6
#: after this many failed attempts the stop mass grows by STOP_MASS_FACTOR per attempt, as
#: Pythia 8 StringFragmentation::fragment does (NTRYJOIN - NSTOPMASS = 30 - 15, FACSTOPMASS)
STOP_MASS_TRIES = 15
STOP_MASS_FACTOR = 1.05


@kernel
def _four(a, b) -> float:
    return a[3] * b[3] - a[0] * b[0] - a[1] * b[1] - a[2] * b[2]


@kernel
def _transverse(d1, d2, ex, ey):
    """Two space-like unit vectors orthogonal to the light-like d1, d2 (PYSTRF 810-820).

    The trial vectors dp3 = (x or z), dp4 = (y or z) are unit vectors: their components are
    scalars here (no arrays: this runs at every region change of every attempt), with the
    arithmetic of the array version term by term (same floating-point results)."""
    n1 = math.sqrt(d1[0] ** 2 + d1[1] ** 2 + d1[2] ** 2)
    n2 = math.sqrt(d2[0] ** 2 + d2[1] ** 2 + d2[2] ** 2)
    d5x = d1[0] / n1 - d2[0] / n2
    d5y = d1[1] / n1 - d2[1] / n2
    d5z = d1[2] / n1 - d2[2] / n2
    a0, a2 = (1.0, 0.0) if d5x * d5x <= d5y * d5y + d5z * d5z else (0.0, 1.0)
    b1, b2 = (1.0, 0.0) if d5y * d5y <= d5x * d5x + d5z * d5z else (0.0, 1.0)
    dhc12 = _four(d1, d2)
    dhcx1 = (0.0 * d1[3] - a0 * d1[0] - 0.0 * d1[1] - a2 * d1[2]) / dhc12
    dhcx2 = (0.0 * d2[3] - a0 * d2[0] - 0.0 * d2[1] - a2 * d2[2]) / dhc12
    dhcxx = 1.0 / math.sqrt(1.0 + 2.0 * dhcx1 * dhcx2 * dhc12)
    dhcy1 = (0.0 * d1[3] - 0.0 * d1[0] - b1 * d1[1] - b2 * d1[2]) / dhc12
    dhcy2 = (0.0 * d2[3] - 0.0 * d2[0] - b1 * d2[1] - b2 * d2[2]) / dhc12
    dhcyx = dhcxx * (dhcx1 * dhcy2 + dhcx2 * dhcy1) * dhc12
    dhcyy = 1.0 / math.sqrt(1.0 + 2.0 * dhcy1 * dhcy2 * dhc12 - dhcyx * dhcyx)
    ex[0] = dhcxx * (a0 - dhcx2 * d1[0] - dhcx1 * d2[0])
    ex[1] = dhcxx * (0.0 - dhcx2 * d1[1] - dhcx1 * d2[1])
    ex[2] = dhcxx * (a2 - dhcx2 * d1[2] - dhcx1 * d2[2])
    ex[3] = dhcxx * (0.0 - dhcx2 * d1[3] - dhcx1 * d2[3])
    ey[0] = dhcyy * (0.0 - dhcy2 * d1[0] - dhcy1 * d2[0] - dhcyx * ex[0])
    ey[1] = dhcyy * (b1 - dhcy2 * d1[1] - dhcy1 * d2[1] - dhcyx * ex[1])
    ey[2] = dhcyy * (b2 - dhcy2 * d1[2] - dhcy1 * d2[2] - dhcyx * ex[2])
    ey[3] = dhcyy * (0.0 - dhcy2 * d1[3] - dhcy1 * d2[3] - dhcyx * ex[3])


@kernel
def string_vectors1(p, n: int, v, wpc2) -> bool:
    """Light-like vectors of the n - 1 string pieces (PYSTRF 680-690): v[2k] from the left
    parton (half of a gluon), v[2k+1] from the right one, v[2k] + v[2k+1] = piece momentum."""
    dp1 = np.empty(4)
    dp2 = np.empty(4)
    for k in range(n - 1):
        f1 = 1.0 if k == 0 else 0.5
        f2 = 1.0 if k + 1 == n - 1 else 0.5
        for j in range(4):
            dp1[j] = f1 * p[k, j]
            dp2[j] = f2 * p[k + 1, j]
        m1 = max(_four(dp1, dp1), 0.0)
        m2 = max(_four(dp2, dp2), 0.0)
        c = _four(dp1, dp2)
        w2 = m1 + 2.0 * c + m2
        if w2 <= 0.0 or c <= 0.0:
            return False
        s = math.sqrt(c * c - m1 * m2)
        k1 = 0.5 * ((m2 + c) / s - 1.0)
        k2 = 0.5 * ((m1 + c) / s - 1.0)
        for j in range(4):
            v[2 * k, j] = (1.0 + k1) * dp1[j] - k2 * dp2[j]
            v[2 * k + 1, j] = (1.0 + k2) * dp2[j] - k1 * dp1[j]
        wpc2[k] = w2
    return True


@kernel
def _z_for(rng, par, f_old: int, f_new: int, mt2: float) -> float:
    a, b = par[L_A], par[L_B]
    a_old = a + (par[L_AQQ] if abs(f_old) > 1000 else 0.0)
    a_new = a + (par[L_AQQ] if abs(f_new) > 1000 else 0.0)
    c = 1.0 + a_new - a_old
    if abs(f_old) == 4:
        c += par[L_RC] * b * par[L_MC] * par[L_MC]
    return sample_z_lund1(rng, a_new, b, c, mt2)


#: rows of the float work array of ``_try_kinked`` (one allocation per string, not per attempt)
_W_REM, _W_H, _W_DHM, _W_DHG, _W_P1, _W_P2, _W_PXE, _W_PYE, _W_GAM, _W_PR = range(10)
_N_W = 10
#: rows of its int work array: two region rows (plus-vector row, minus-vector row) per side,
#: the end flavours, the current region
_I_REG0, _I_REG1, _I_KFL, _I_IDX = range(4)
_N_I = 4


@kernel
def _try_kinked(rng, par, mass, width, m_lo, m_hi, flav, p, n, v, bk, wpc2, tr, tr0, out_pdg,
                out_p, wk, iw) -> int:
    """One attempt (PYSTRF 710-1090, open string); number of hadrons or -1.

    ``tr0``: transverse vectors of the two end regions (the same in every attempt); ``wk``,
    ``iw``: work arrays (``_N_W`` x 4 float, ``_N_I`` x 2 int) reused between attempts."""
    ns = n - 1
    rem = wk[_W_REM]
    h = wk[_W_H]
    dhm = wk[_W_DHM]
    dhg = wk[_W_DHG]
    p1 = wk[_W_P1]
    p2 = wk[_W_P2]
    pxe = wk[_W_PXE, :2]
    pye = wk[_W_PYE, :2]
    gam = wk[_W_GAM, :2]
    pr = wk[_W_PR, :2]
    reg = iw[_I_REG0:_I_REG1 + 1]
    kfl = iw[_I_KFL]
    idx = iw[_I_IDX]
    for j in range(4):
        rem[j] = 0.0
    for k in range(n):
        for j in range(4):
            rem[j] += p[k, j]
    for k in range(2 * ns):
        bk[k, 0] = 1.0 if k % 2 == 0 else 0.0
        bk[k, 1] = 1.0 - bk[k, 0]
        bk[k, 2] = 1.0
        bk[k, 3] = 0.0
    reg[0, 0], reg[0, 1] = 0, 1
    reg[1, 0], reg[1, 1] = 2 * (ns - 1), 2 * (ns - 1) + 1
    for a in range(2):
        for b in range(2):
            for j in range(4):
                tr[a, b, j] = tr0[a, b, j]
    kfl[0], kfl[1] = flav, -flav
    for a in range(2):
        pxe[a] = 0.0
        pye[a] = 0.0
        gam[a] = 0.0
        pr[a] = 0.0
    nh = 0
    while True:
        jt = 0 if rng.random() < 0.5 else 1
        jr = 1 - jt
        js = 1 if jt == 0 else -1
        f_old = kfl[jt]
        while True:
            partner = pick_partner1(rng, par, f_old)
            had = hadron_id1(rng, par, f_old, partner)
            if had != 0:
                break
        kx, ky = _pair_pt(rng, par)
        mh = sample_mass1(rng, mass, width, m_lo, m_hi, had)
        pr_jt = mh * mh + (pxe[jt] + kx) ** 2 + (pye[jt] + ky) ** 2
        wmin = (par[L_STOPM] + constituent_mass1(par, kfl[0]) + constituent_mass1(par, kfl[1])
                + par[L_STOPNF] * constituent_mass1(par, partner))
        wmin *= 1.0 + (2.0 * rng.random() - 1.0) * par[L_STOPSM]
        wrem2 = _four(rem, rem)
        if wrem2 < 0.1:
            return -1
        if wrem2 < wmin * wmin:
            break
        if nh >= out_pdg.shape[0] - 2:
            return -1
        z = _z_for(rng, par, f_old, -partner, pr_jt)
        gam3 = (1.0 - z) * (gam[jt] + pr_jt / z)
        idx[0], idx[1] = reg[jt, 0], reg[jt, 1]
        tcur = jt
        fast = False
        if idx[0] + 1 == idx[1]:
            a = idx[0] // 2
            if z * bk[idx[0], 2] * bk[idx[1], 2] * wpc2[a] >= pr_jt:
                bk[idx[jt], 3] = z * bk[idx[jt], 2]
                bk[idx[jr], 3] = pr_jt / (bk[idx[jt], 3] * wpc2[a])
                for j in range(4):
                    h[j] = (pxe[jt] + kx) * tr[tcur, 0, j] + (pye[jt] + ky) * tr[tcur, 1, j]
                fast = True
            else:
                bk[idx[jr], 3] = bk[idx[jr], 2]
                bk[idx[jr], jt] = 1.0
                idx[jr] += 2 * js
                lim = reg[1, 1] if jt == 0 else reg[0, 0]
                if js * idx[jr] > js * lim:
                    return -1
                if _four(v[idx[0]], v[idx[1]]) <= 1e-2:
                    bk[idx[jt], 3] = bk[idx[jt], 2]
                    bk[idx[jt], jt] = 0.0
                    idx[jt] += 2 * js
        while not fast:
            if (js * idx[0] > js * reg[jr, 0] or js * idx[1] > js * reg[jr, 1]
                    or idx[0] > idx[1]):
                return -1
            if idx[0] != reg[jt, 0] or idx[1] != reg[jt, 1]:
                if _four(v[idx[0]], v[idx[1]]) <= 1e-2:
                    bk[idx[jt], 3] = bk[idx[jt], 2]
                    bk[idx[jt], jt] = 0.0
                    idx[jt] += 2 * js
                    continue
                tcur = 2
                _transverse(v[idx[0]], v[idx[1]], tr[2, 0], tr[2, 1])
                pxp = -(kx * _four(tr[jt, 0], tr[2, 0]) + ky * _four(tr[jt, 1], tr[2, 0]))
                pyp = -(kx * _four(tr[jt, 0], tr[2, 1]) + ky * _four(tr[jt, 1], tr[2, 1]))
                if abs(pxp * pxp + pyp * pyp - kx * kx - ky * ky) < 0.01:
                    kx, ky = pxp, pyp
            else:
                tcur = jt
            for j in range(4):
                h[j] = (pxe[jt] * tr[jt, 0, j] + pye[jt] * tr[jt, 1, j]
                        + kx * tr[tcur, 0, j] + ky * tr[tcur, 1, j])
            for q in range(2):  # unused fractions of the vectors passed on this side
                k = reg[jt, q]
                while js * (idx[q] - k) > 0:
                    for j in range(4):
                        h[j] += bk[k, 2] * v[k, j]
                    k += 2 * js
            dhm[0] = _four(h, h)
            dhm[1] = 2.0 * _four(h, v[idx[0]])
            dhm[2] = 2.0 * _four(h, v[idx[1]])
            dhm[3] = 2.0 * _four(v[idx[0]], v[idx[1]])
            dhg[:] = 0.0
            k2 = idx[0] + 1
            while k2 <= idx[1]:
                k1 = idx[0]
                while k1 < k2:
                    dhc = 2.0 * _four(v[k1], v[k2])
                    dhg[0] += bk[k1, jt] * bk[k2, jt] * dhc
                    if k1 == idx[0]:
                        dhg[1] -= js * bk[k2, jt] * dhc
                    if k2 == idx[1]:
                        dhg[2] += js * bk[k1, jt] * dhc
                    if k1 == idx[0] and k2 == idx[1]:
                        dhg[3] -= dhc
                    k1 += 2
                k2 += 2
            dhs1 = dhm[jr + 1] * dhg[3] - dhm[3] * dhg[jr + 1]
            if abs(dhs1) < 1e-4:
                return -1
            m2h = mh * mh
            dhs2 = (dhm[3] * (gam3 - dhg[0]) - dhm[jt + 1] * dhg[jr + 1]
                    - dhg[3] * (m2h - dhm[0]) + dhg[jt + 1] * dhm[jr + 1])
            dhs3 = dhm[jt + 1] * (gam3 - dhg[0]) - dhg[jt + 1] * (m2h - dhm[0])
            x_jr = 0.5 * (math.sqrt(max(0.0, dhs2 * dhs2 - 4.0 * dhs1 * dhs3)) / abs(dhs1)
                          - dhs2 / dhs1)
            if dhm[jt + 1] + dhm[3] * x_jr <= 0.0:
                return -1
            x_jt = (m2h - dhm[0] - dhm[jr + 1] * x_jr) / (dhm[jt + 1] + dhm[3] * x_jr)
            bk[idx[jr], 3] = x_jr
            bk[idx[jt], 3] = x_jt
            if x_jr > bk[idx[jr], 2]:  # step to the next region on the far side
                bk[idx[jr], 3] = bk[idx[jr], 2]
                bk[idx[jr], jt] = 1.0
                idx[jr] += 2 * js
                lim = reg[1, 1] if jt == 0 else reg[0, 0]
                if js * idx[jr] > js * lim:
                    return -1
                if _four(v[idx[0]], v[idx[1]]) <= 1e-2:
                    bk[idx[jt], 3] = bk[idx[jt], 2]
                    bk[idx[jt], jt] = 0.0
                    idx[jt] += 2 * js
                continue
            if x_jt > bk[idx[jt], 2]:  # or on the near side
                bk[idx[jt], 3] = bk[idx[jt], 2]
                bk[idx[jt], jt] = 0.0
                idx[jt] += 2 * js
                continue
            break
        for q in range(2):
            for j in range(4):
                h[j] += bk[idx[q], 3] * v[idx[q], j]
        for q in range(2):
            if bk[idx[q], 3] > 1.0 + FRAC_TOL or bk[idx[q], 3] < -FRAC_TOL:
                return -1
        if h[3] < mh:
            return -1
        for j in range(4):
            rem[j] -= h[j]
            out_p[nh, j] = h[j]
        out_pdg[nh] = had
        nh += 1
        kfl[jt] = -partner
        pxe[jt], pye[jt] = -kx, -ky
        gam[jt] = gam3
        if tcur != jt:
            for a in range(2):
                for j in range(4):
                    tr[jt, a, j] = tr[tcur, a, j]
        for q in range(2):
            reg[jt, q] = idx[q]
            bk[idx[q], 2] -= bk[idx[q], 3]
            bk[idx[q], jt] -= js * (1 - 2 * q) * bk[idx[q], 3]
    # final two hadrons (PYSTRF 1080-1090)
    had2 = 0
    for _ in range(MAX_TRY_FLAV):
        had2 = hadron_id1(rng, par, kfl[jr], -partner)
        if had2 != 0:
            break
    if had2 == 0:
        return -1
    m2 = sample_mass1(rng, mass, width, m_lo, m_hi, had2)
    pr[jt] = pr_jt
    pr[jr] = m2 * m2 + (pxe[jr] - kx) ** 2 + (pye[jr] - ky) ** 2
    area0 = bk[reg[0, 0], 2] * bk[reg[0, 1], 2] * _four(v[reg[0, 0]], v[reg[0, 1]])
    area1 = bk[reg[1, 0], 2] * bk[reg[1, 1], 2] * _four(v[reg[1, 0]], v[reg[1, 1]])
    jq = 1 if area0 < area1 else 0
    va = v[reg[jq, 0]]
    vb = v[reg[jq, 1]]
    dhc12 = _four(va, vb)
    dhr1 = _four(rem, vb) / dhc12
    dhr2 = _four(rem, va) / dhc12
    if reg[0, 0] != reg[1, 0] or reg[0, 1] != reg[1, 1]:
        o = 1 - jq
        pxe[o] = -_four(rem, tr[jq, 0]) - pxe[jq]
        pye[o] = -_four(rem, tr[jq, 1]) - pye[jq]
        m_o = mh if o == jt else m2
        sgn = (2 * jq - 1) * js
        pr[o] = m_o * m_o + (pxe[o] + sgn * kx) ** 2 + (pye[o] + sgn * ky) ** 2
    wrem2 = 2.0 * dhr1 * dhr2 * dhc12
    if wrem2 <= 0.0 or math.sqrt(pr[0]) + math.sqrt(pr[1]) >= math.sqrt(wrem2):
        return -1
    fa = wrem2 + pr[jt] - pr[jr]
    fb = js * math.sqrt(max(0.0, fa * fa - 4.0 * wrem2 * pr[jt]))
    for j in range(4):
        p1[j] = ((pxe[jt] + kx) * tr[jq, 0, j] + (pye[jt] + ky) * tr[jq, 1, j]
                 + 0.5 * (dhr1 * (fa + fb) * va[j] + dhr2 * (fa - fb) * vb[j]) / wrem2)
        p2[j] = rem[j] - p1[j]
    if p1[3] < mh or p2[3] < m2:
        return -1
    if (abs(_four(p1, p1) - mh * mh) > MASS_TOL * p1[3] ** 2
            or abs(_four(p2, p2) - m2 * m2) > MASS_TOL * p2[3] ** 2):
        return -1
    out_pdg[nh] = had
    out_pdg[nh + 1] = had2
    for j in range(4):
        out_p[nh, j] = p1[j]
        out_p[nh + 1, j] = p2[j]
    return nh + 2


@kernel
def fragment_kinked1(rng, par, mass, width, m_lo, m_hi, flav: int, p, n: int, out_pdg, out_p):
    """Fragment the colour chain in rows 0..n-1 of ``p`` (quark ``flav`` first, antiquark last,
    gluons between; any frame) as one kinked Lund string. Returns (n hadrons or -1, attempts)."""
    ns = n - 1
    v = np.zeros((2 * ns, 4))
    bk = np.zeros((2 * ns, 4))
    wpc2 = np.zeros(ns)
    tr = np.zeros((3, 2, 4))
    tr0 = np.zeros((2, 2, 4))
    wk = np.zeros((_N_W, 4))
    iw = np.zeros((_N_I, 2), np.int64)
    if not string_vectors1(p, n, v, wpc2):
        return -1, 0
    # the end regions' transverse vectors depend on the partons only: once per string
    _transverse(v[0], v[1], tr0[0, 0], tr0[0, 1])
    _transverse(v[2 * (ns - 1)], v[2 * (ns - 1) + 1], tr0[1, 0], tr0[1, 1])
    par_k = par.copy()  # its stop mass grows after STOP_MASS_TRIES failed joins
    for k in range(MAX_TRY):
        if k > STOP_MASS_TRIES:
            par_k[L_STOPM] *= STOP_MASS_FACTOR
        nh = _try_kinked(rng, par_k, mass, width, m_lo, m_hi, flav, p, n, v, bk, wpc2, tr, tr0,
                         out_pdg, out_p, wk, iw)
        if nh > 0:
            return nh, k + 1
    return -1, MAX_TRY
