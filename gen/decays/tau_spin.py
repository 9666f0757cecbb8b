"""tau+ tau- spin correlations of e+e- -> gamma* -> tau+ tau- through polarimeter vectors.

A tau decay with spin vector s (tau rest frame) has the rate dGamma(s) = dGamma (1 + h . s): h is
the polarimeter vector of the decay configuration (S. Jadach, J. H. Kuhn, Z. Was, TAUOLA,
Comput. Phys. Commun. 64 (1991) 275, sec. 2). Writing the V-A matrix element of the tau- with
p -> p - m s, |M|^2 = p.X - m s.X for a four-vector X built from the decay momenta, so in the
tau rest frame h = X_vec / X^0:

- tau- -> l- anti-nu_l nu_tau:  X = p(anti-nu_l)          (|M|^2 ~ (p.k_nubar)(k_l.k_nu));
- tau- -> pi- nu (K- nu):        X = 2 (k.q) q - q^2 k      (q the meson, k the nu_tau);
- tau- -> V nu, V -> a b:        X = 2 (k.J) J - J^2 k,  J = (q_a - q_b) orthogonal to q_a + q_b
  (the current of ``gen.decays.tau._vector_weight``; the form factor cancels in h);
- tau- -> a1 nu -> 3 pi nu:      X = 2 Re[(k.J*) J] - (J.J*) k + Y with the complex KS current
  J = c1 d1 + c2 d2 (``gen.decays.tau.a1_current1``) and the parity-odd
  Y.v = 2 Im(c1 c2*) eps(k, d1, v, d2), eps_{0123} = +1 (``gen.decays.tau.a1_x1``; TAUOLA's
  Pi and Pi^5, Jadach, Kuhn, Was, CPC 64 (1991) 275, eqs. 3.14-3.15). For the tau+ Y changes
  sign. The signs were fixed against a numerical Dirac trace (tests/gen/test_tau_a1.py), not
  transcribed: references differ in their eps and tau-spin sign conventions.

All X are light-like, so |h| = 1 for every configuration (the massless nu_tau has one helicity,
so each fully known final state of spinless hadrons is reached by one amplitude per tau spin
state: a pure spin state), the a1 included (tests/gen/test_tau_a1.py). For the tau+ (CP
conjugate) h = -X/X^0: tau+ -> pi+ nu-bar has h = -pi direction, tau+ -> l+ nu_l nu-bar_tau
has h = -(nu_l direction). Other modes (multi-body phase space, 8.3 % of tau decays) get h = 0
here: they are decayed without spin correlation.

Born spin correlations of e+e- -> gamma* -> tau+ tau- (unpolarised massless beams; Y. S. Tsai,
Phys. Rev. D4 (1971) 2821; helicity amplitudes: opposite tau helicities ~ (1 +- cos theta),
equal helicities ~ sin theta / gamma): in the tau-pair rest frame, z along the tau-, x in the
plane of the tau- and the e- beam with b_e- = cos theta z + sin theta x, y = z cross x, and both
tau rest frames reached by boosts along z,

    dsigma ~ D [1 + C_ij s-_i s+_j],  D = 1 + c^2 + s^2/gamma^2,
    D C_xx = s^2 (1 + 1/gamma^2),  D C_yy = -beta^2 s^2,  D C_zz = 1 + c^2 - s^2/gamma^2,
    D C_xz = D C_zx = 2 s c / gamma,   (c = cos theta, s = sin theta, gamma = E_tau/m_tau),

with no single-tau polarisation (photon exchange). Checks: trace C = 1 (triplet), C = b b^T at
threshold, C = diag(sin^2, -sin^2, 1 + cos^2)/(1 + cos^2) at high energy;
tests/gen/test_tau_spin.py checks C against a numerical Dirac trace. The Z exchange (tau
polarisation ~ -0.3 % at 10.58 GeV) and radiative corrections to the correlations are neglected;
with ISR/FSR the correlation is evaluated in the rest frame of the two taus, the beam axis being
the e- beam seen from that frame.

The joint decay weight W = 1 + h-_i C_ij h+_j lies in [0, 2] (|h| <= 1 and the spectral norm of
C is <= 1, tests/gen/test_tau_a1.py) and averages to 1 over the decay
configurations of either tau alone (no single-spin terms; <h> = 0 over any set of modes). So the
tau- is decayed once and the tau+ decay is redone until accepted with probability
W / W_max, W_max = 1 + |C^T h-| (a bound over every tau+ decay that depends on the tau- decay
only): the pair then follows f(d-) f(d+) W exactly, and the tau-pair kinematics, the mode
fractions and every single-tau spectrum are unchanged. ``decay_tau_plus_correlated1`` samples
the same law without retries: the unpolarised rest-frame distribution of every tau+ decay is
invariant under rotations, and W = 1 + G . h+ (G = ``spin_vector1``, in the frame of the
rest-frame block) is linear in h+, so writing the block as R d0 (d0 one unpolarised decay, R a
rotation) the joint density f(d0) dR (1 + G . R h0) has the unpolarised mode and d0 marginals
(the mean of W over R is 1) and, given d0, n = R h0/|h0| with density (1 + a cos theta)/(4 pi)
about G (a = |G| |h0| <= 1), exact by inverting its CDF, and a uniform rotation angle about n.
So the tau+ is decayed once and its block rotated rigidly (the four-vector X, built from the
momenta, rotates with it; so does the parity-odd a1 term, a pseudo-vector of proper rotations).
The flight, boost and secondary decays, which W does not depend on, follow (``finish_tau1``).
"""

from __future__ import annotations

import math

from gen.decays.tau import (
    A1,
    LEPTONIC,
    TWO_BODY,
    VECTOR,
    a1_current1,
    a1_x1,
    decay_secondaries1,
    finish_block1,
    pick_index1,
    rest_block1,
)
from gen.jit import kernel
from gen.kinematics import boost1


@kernel
def _mdot(a, b):
    return a[3] * b[3] - a[0] * b[0] - a[1] * b[1] - a[2] * b[2]


@kernel
def _row(out_f, r):
    return (out_f[r, 0], out_f[r, 1], out_f[r, 2], out_f[r, 3])


@kernel
def _x_of_current(k, j):
    """X = 2 (k.J) J - J^2 k."""
    kj = _mdot(k, j)
    jj = _mdot(j, j)
    return (2.0 * kj * j[0] - jj * k[0], 2.0 * kj * j[1] - jj * k[1],
            2.0 * kj * j[2] - jj * k[2], 2.0 * kj * j[3] - jj * k[3])


@kernel
def polarimeter_x1(tables, mode, out_f, r0, minus=True):
    """(ok, X) of the decay block of ``mode`` in rows r0.. (any frame; module docstring).

    ``minus``: the block is a tau- decay (else tau+; only the a1 X depends on it). ok is False
    for modes without a polarimeter here (h = 0).
    """
    return polarimeter_rows1(tables.kind[mode], tables.par[mode], tables.mass[mode], out_f, r0,
                             minus)


@kernel
def polarimeter_rows1(kind, par, masses, out_f, r0, minus):
    """``polarimeter_x1`` from the mode's kind and its ``par`` and ``mass`` rows: in hot loops
    this avoids passing the ``tables`` tuple (~0.1-0.2 us a call, ``gen.decays.tau``)."""
    if kind == A1:
        qa = _row(out_f, r0)
        c1, c2, d1, d2 = a1_current1(par, masses, out_f, r0, _mdot(qa, qa))
        return True, a1_x1(_row(out_f, r0 + 1), c1, c2, d1, d2, minus)
    if kind == LEPTONIC:
        return True, _row(out_f, r0 + 1)
    if kind == TWO_BODY:
        return True, _x_of_current(_row(out_f, r0 + 1), _row(out_f, r0))
    if kind == VECTOR:
        qa = _row(out_f, r0 + 2)
        qb = _row(out_f, r0 + 3)
        q = (qa[0] + qb[0], qa[1] + qb[1], qa[2] + qb[2], qa[3] + qb[3])
        d = (qa[0] - qb[0], qa[1] - qb[1], qa[2] - qb[2], qa[3] - qb[3])
        f = _mdot(q, d) / _mdot(q, q)
        j = (d[0] - f * q[0], d[1] - f * q[1], d[2] - f * q[2], d[3] - f * q[3])
        return True, _x_of_current(_row(out_f, r0 + 1), j)
    return False, (0.0, 0.0, 0.0, 0.0)


@kernel
def correlation_matrix1(c: float, gamma: float):
    """(C_xx, C_yy, C_zz, C_xz) of the Born tau-pair spin correlation (module docstring)."""
    s2 = max(0.0, 1.0 - c * c)
    s = math.sqrt(s2)
    ig2 = 1.0 / (gamma * gamma)
    d = 1.0 + c * c + s2 * ig2
    return (s2 * (1.0 + ig2) / d, -(1.0 - ig2) * s2 / d, (1.0 + c * c - s2 * ig2) / d,
            2.0 * s * c / gamma / d)


@kernel
def _pair_frame_g1(out_f, row_minus, row_plus, xm, beam):
    """The frames shared by ``spin_weight1`` and ``spin_vector1``: the tau-pair rest frame
    (velocity (vx, vy, vz) of the boost from the lab), its axes (x, y, z; z along the tau-, x in
    the beam plane), the tau velocity bt there, and g = C^T h- of the decayed tau- (polarimeter
    ``xm`` in the lab) with W_max = 1 + |g|. Returns (vx, vy, vz, x, y, z, bt, g, w_max, tp)."""
    tm = _row(out_f, row_minus)
    tp = _row(out_f, row_plus)
    pe = tm[3] + tp[3]
    vx, vy, vz = -(tm[0] + tp[0]) / pe, -(tm[1] + tp[1]) / pe, -(tm[2] + tp[2]) / pe
    # tau-pair rest frame
    t = boost1(tm[0], tm[1], tm[2], tm[3], vx, vy, vz)
    b = boost1(beam[0], beam[1], beam[2], beam[3], vx, vy, vz)
    xm = boost1(xm[0], xm[1], xm[2], xm[3], vx, vy, vz)
    pt = math.sqrt(t[0] * t[0] + t[1] * t[1] + t[2] * t[2])
    zx, zy, zz = t[0] / pt, t[1] / pt, t[2] / pt
    bn = math.sqrt(b[0] * b[0] + b[1] * b[1] + b[2] * b[2])
    c = (b[0] * zx + b[1] * zy + b[2] * zz) / bn
    ax, ay, az = b[0] / bn - c * zx, b[1] / bn - c * zy, b[2] / bn - c * zz
    an = math.sqrt(ax * ax + ay * ay + az * az)
    if an < 1e-12:  # beam along the tau: sin theta = 0, any x
        ax, ay, az = (1.0, 0.0, 0.0) if abs(zx) < 0.9 else (0.0, 1.0, 0.0)
        f = ax * zx + ay * zy + az * zz
        ax, ay, az = ax - f * zx, ay - f * zy, az - f * zz
        an = math.sqrt(ax * ax + ay * ay + az * az)
    xx, xy, xz = ax / an, ay / an, az / an
    yx, yy, yz = zy * xz - zz * xy, zz * xx - zx * xz, zx * xy - zy * xx
    # tau rest frames: boosts along -+z by the tau velocity in the pair frame
    bt = pt / t[3]
    rm = boost1(xm[0], xm[1], xm[2], xm[3], -bt * zx, -bt * zy, -bt * zz)
    hm = ((rm[0] * xx + rm[1] * xy + rm[2] * xz) / rm[3],
          (rm[0] * yx + rm[1] * yy + rm[2] * yz) / rm[3],
          (rm[0] * zx + rm[1] * zy + rm[2] * zz) / rm[3])
    cxx, cyy, czz, cxz = correlation_matrix1(c, t[3] / math.sqrt(max(_mdot(t, t), 1e-300)))
    # g = C^T h-: W = 1 + g . h+
    gx = cxx * hm[0] + cxz * hm[2]
    gy = cyy * hm[1]
    gz = cxz * hm[0] + czz * hm[2]
    w_max = 1.0 + math.sqrt(gx * gx + gy * gy + gz * gz)
    return ((vx, vy, vz), (xx, xy, xz), (yx, yy, yz), (zx, zy, zz), bt, (gx, gy, gz), w_max,
            tp)


@kernel
def spin_weight1(tables, out_f, row_minus, row_plus, mode_m, r_m, mode_p, r_p, beam):
    """(W, W_max) of a decayed tau pair (lab rows): W = 1 + h-_i C_ij h+_j and its bound
    W_max = 1 + |C^T h-| over every tau+ decay (it depends on the tau- decay only).

    ``row_minus``/``row_plus``: rows of the tau- / tau+; ``r_m``/``r_p``: first rows of their
    mode blocks; ``beam``: the e- beam four-momentum (lab) that fixes the production axis.
    """
    ok_m, xm = polarimeter_x1(tables, mode_m, out_f, r_m, True)
    if not ok_m:
        return 1.0, 1.0
    ok_p, xp = polarimeter_x1(tables, mode_p, out_f, r_p, False)
    (vx, vy, vz), (xx, xy, xz), (yx, yy, yz), (zx, zy, zz), bt, (gx, gy, gz), w_max, tp = (
        _pair_frame_g1(out_f, row_minus, row_plus, xm, beam))
    if not ok_p:
        return 1.0, w_max
    xp = boost1(xp[0], xp[1], xp[2], xp[3], vx, vy, vz)
    rp = boost1(xp[0], xp[1], xp[2], xp[3], bt * zx, bt * zy, bt * zz)
    hpx = -(rp[0] * xx + rp[1] * xy + rp[2] * xz) / rp[3]
    hpy = -(rp[0] * yx + rp[1] * yy + rp[2] * yz) / rp[3]
    hpz = -(rp[0] * zx + rp[1] * zy + rp[2] * zz) / rp[3]
    return 1.0 + gx * hpx + gy * hpy + gz * hpz, w_max


@kernel
def spin_vector1(tables, out_f, row_minus, row_plus, mode_m, r_m, beam):
    """(ok, Gx, Gy, Gz, W_max) of a decayed tau- for the correlated tau+ decay.

    With X the polarimeter four-vector of a tau+ decay in the tau+ rest frame reached from the
    lab by a pure boost (``gen.decays.tau.decay_rest1``), W = 1 - G . X_vec / X^0 equals
    ``spin_weight1``: G = M^T g, M the Wigner rotation from that frame to the tau+ frame of
    ``spin_weight1`` (reached through the tau-pair frame) expressed on its (x, y, z) axes, g =
    C^T h-. ok is False (W = 1) when the tau- mode has no polarimeter.
    """
    return spin_vector_rows1(tables.kind[mode_m], tables.par[mode_m], tables.mass[mode_m], out_f,
                             row_minus, row_plus, r_m, beam)


@kernel
def spin_vector_rows1(kind, par, masses, out_f, row_minus, row_plus, r_m, beam):
    """``spin_vector1`` from the tau- mode's kind and its ``par`` and ``mass`` rows (the
    ``tables`` tuple costs ~0.1 us a call, ``gen.decays.tau.decay_rest1``)."""
    ok_m, xm = polarimeter_rows1(kind, par, masses, out_f, r_m, True)
    if not ok_m:
        return False, 0.0, 0.0, 0.0, 1.0
    (vx, vy, vz), (xx, xy, xz), (yx, yy, yz), (zx, zy, zz), bt, (gx, gy, gz), w_max, tp = (
        _pair_frame_g1(out_f, row_minus, row_plus, xm, beam))
    # g on the lab-oriented axes of the pair frame; W = 1 + g . h+ with h+ = -(rotated X)/X^0
    ggx = gx * xx + gy * yx + gz * zx
    ggy = gx * xy + gy * yy + gz * zy
    ggz = gx * xz + gy * yz + gz * zz
    # G = M^T g: the boosts lab -> pair -> tau+ frame compose to the Wigner rotation M (they
    # take the tau+ at rest to rest), so M^T = M^-1 is the inverse chain of boosts applied to
    # (g, 0): three boosts instead of carrying the three unit vectors through three each
    ep = tp[3]
    u = boost1(ggx, ggy, ggz, 0.0, -bt * zx, -bt * zy, -bt * zz)
    u = boost1(u[0], u[1], u[2], u[3], -vx, -vy, -vz)
    u = boost1(u[0], u[1], u[2], u[3], -tp[0] / ep, -tp[1] / ep, -tp[2] / ep)
    return True, u[0], u[1], u[2], w_max


@kernel
def _rotation_to(hx, hy, hz, nx, ny, nz, psi):
    """Rows of the proper rotation R with R h = n (unit vectors) and angle ``psi`` about n:
    R v = (v.h) n + (v.a1) b1 + (v.a2) b2, (h, a1, a2) and (n, b1, b2) right-handed bases."""
    return _rotation_to_cs(hx, hy, hz, nx, ny, nz, math.cos(psi), math.sin(psi))


@kernel
def _unit_circle1(rng):
    """(cos, sin) of a uniform angle without trigonometric calls: (x, y) uniform in the unit
    disk, angle doubled: ((x^2 - y^2)/r^2, 2 x y / r^2) (J. von Neumann, NBS Appl. Math. Ser. 12
    (1951) 36)."""
    while True:
        x = 2.0 * rng.random() - 1.0
        y = 2.0 * rng.random() - 1.0
        r2 = x * x + y * y
        if 0.0 < r2 < 1.0:
            return (x * x - y * y) / r2, 2.0 * x * y / r2


@kernel
def _rotation_to_cs(hx, hy, hz, nx, ny, nz, c, s):
    """``_rotation_to`` with (cos psi, sin psi) given."""
    a1x, a1y, a1z = _orthogonal_unit(hx, hy, hz)
    a2x, a2y, a2z = hy * a1z - hz * a1y, hz * a1x - hx * a1z, hx * a1y - hy * a1x
    e1x, e1y, e1z = _orthogonal_unit(nx, ny, nz)
    e2x, e2y, e2z = ny * e1z - nz * e1y, nz * e1x - nx * e1z, nx * e1y - ny * e1x
    b1x, b1y, b1z = c * e1x + s * e2x, c * e1y + s * e2y, c * e1z + s * e2z
    b2x, b2y, b2z = ny * b1z - nz * b1y, nz * b1x - nx * b1z, nx * b1y - ny * b1x
    # R = n h^T + b1 a1^T + b2 a2^T
    return ((nx * hx + b1x * a1x + b2x * a2x, nx * hy + b1x * a1y + b2x * a2y,
             nx * hz + b1x * a1z + b2x * a2z),
            (ny * hx + b1y * a1x + b2y * a2x, ny * hy + b1y * a1y + b2y * a2y,
             ny * hz + b1y * a1z + b2y * a2z),
            (nz * hx + b1z * a1x + b2z * a2x, nz * hy + b1z * a1y + b2z * a2y,
             nz * hz + b1z * a1z + b2z * a2z))


@kernel
def _orthogonal_unit(x, y, z):
    """A unit vector orthogonal to the unit vector (x, y, z)."""
    if abs(x) < 0.9:  # e_x x v, away from the degenerate direction
        ux, uy, uz = 0.0, -z, y
    else:
        ux, uy, uz = z, 0.0, -x
    n = math.sqrt(ux * ux + uy * uy + uz * uz)
    return ux / n, uy / n, uz / n


@kernel
def linear_cos1(a, u):
    """cos theta of density (1 + a cos theta)/2 on [-1, 1] (|a| <= 1) at the CDF value u: the
    root of a c^2/2 + c + 1 - a/2 - 2u = 0 in the form without cancellation at a -> 0."""
    return (a - 2.0 + 4.0 * u) / (1.0 + math.sqrt((1.0 - a) ** 2 + 4.0 * a * u))


@kernel
def rotate_block1(rng, gx, gy, gz, x, out_f, pos, n):
    """Rotate rows pos..pos+n-1 (a tau+ rest-frame block of polarimeter four-vector ``x``) so
    that its h+ = -X_vec/X^0 follows (1 + G . h+) over orientations (module docstring)."""
    hx, hy, hz = -x[0] / x[3], -x[1] / x[3], -x[2] / x[3]
    h = math.sqrt(hx * hx + hy * hy + hz * hz)
    g = math.sqrt(gx * gx + gy * gy + gz * gz)
    if not (h > 0.0 and g > 0.0):
        return
    hx, hy, hz = hx / h, hy / h, hz / h
    # n = R h / |h| about the axis G: cos from (1 + a cos)/2, a = |G| |h| <= 1
    a = min(1.0, g * h)
    c = linear_cos1(a, rng.random())
    sn = math.sqrt(max(0.0, 1.0 - c * c))
    cphi, sphi = _unit_circle1(rng)
    ux, uy, uz = gx / g, gy / g, gz / g
    f1x, f1y, f1z = _orthogonal_unit(ux, uy, uz)
    f2x, f2y, f2z = uy * f1z - uz * f1y, uz * f1x - ux * f1z, ux * f1y - uy * f1x
    cp, sp = sn * cphi, sn * sphi
    nx = c * ux + cp * f1x + sp * f2x
    ny = c * uy + cp * f1y + sp * f2y
    nz = c * uz + cp * f1z + sp * f2z
    cpsi, spsi = _unit_circle1(rng)
    r0, r1, r2 = _rotation_to_cs(hx, hy, hz, nx, ny, nz, cpsi, spsi)
    for j in range(pos, pos + n):
        px, py, pz = out_f[j, 0], out_f[j, 1], out_f[j, 2]
        out_f[j, 0] = r0[0] * px + r0[1] * py + r0[2] * pz
        out_f[j, 1] = r1[0] * px + r1[1] * py + r1[2] * pz
        out_f[j, 2] = r2[0] * px + r2[1] * py + r2[2] * pz


@kernel
def decay_tau_plus_correlated1(rng, tables, out_i, out_f, row_minus, row_plus, mode_m, r_m,
                               base, pos, beam):
    """Decay the tau+ of row ``row_plus`` from row ``pos`` with the spin correlation to the
    decayed tau- (mode ``mode_m``, block at row ``r_m``); returns (end row, mode).

    One unpolarised rest-frame block (``pick_mode1`` + ``decay_rest1``), rotated rigidly to
    follow W = 1 + G . h+ (``rotate_block1``; the module docstring: the law of the accept/reject
    with probability W / W_max, without retries); then the flight, boost and secondary decays
    (``finish_tau1``).
    """
    # stages as in gen.decays.tau.decay_tau1: the kernels taking few arrays, not ``tables``
    ok, gx, gy, gz, _ = spin_vector_rows1(tables.kind[mode_m], tables.par[mode_m],
                                          tables.mass[mode_m], out_f, row_minus, row_plus, r_m,
                                          beam)
    mode = pick_index1(tables.cum, 0, tables.cum.shape[0], rng.random())
    kind, n = tables.kind[mode], tables.nrow[mode]
    if rest_block1(rng, kind, n, tables.m_tau, tables.mass[mode], tables.par[mode],
                   tables.wmax[mode], tables.env_cum[mode], tables.env_max[mode], False, out_f,
                   pos):
        tables.overweight[mode] += 1
    if ok:
        ok_p, xp = polarimeter_rows1(kind, tables.par[mode], tables.mass[mode], out_f, pos,
                                     False)
        if ok_p:
            rotate_block1(rng, gx, gy, gz, xp, out_f, pos, n)
    end = finish_block1(rng, n, tables.pdg_cc[mode], tables.status[mode], tables.mother[mode],
                        tables.ctau_cm, tables.sec_pdg, row_plus, base, out_i, out_f, pos)
    if end < 0:
        end = decay_secondaries1(rng, tables.sec_pdg, tables.sec_ctau, tables.sec_first,
                                 tables.ch_cum, tables.ch_nd, tables.ch_pdg, tables.ch_mass,
                                 tables.ch_wmax, tables.overweight, tables.cum.shape[0], out_i,
                                 out_f, pos, pos + n, base)
    return end, mode
