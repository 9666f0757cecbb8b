"""Flat n-body phase space: the GENBOD algorithm (F. James, CERN 68-15 (1968), "Monte Carlo phase
space"), as implemented in ROOT's ``TGenPhaseSpace`` (``Generate``, ``SetDecay``, ``PDK``).

A parent of mass M at rest decays to n >= 2 daughters of masses m_1..m_n. GENBOD draws the n - 2
intermediate invariant masses mu_k = m_1 + ... + m_k + u_(k) T (T = M - sum m_i, u_(k) the sorted
uniforms: the ordered "kinetic energies" are uniform in their simplex), builds the two-body decays
mu_k -> mu_(k-1) m_k with momenta p_k = PDK(mu_k, mu_(k-1), m_k), rotates each step isotropically
and boosts it into the next. The event weight is w = prod_k p_k (ROOT's weight without its 1/wtmax
normalisation). With the Lorentz-invariant phase space

    R_n(M) = integral prod_i d^3p_i / (2 E_i) delta^4(P - sum p_i)

(James' normalisation), the recursion R_n(M) = int dmu^2 R_(n-1)(mu) R_2(M; mu, m_n),
R_2 = pi p*/M, gives

    R_n(M) = pi^(n-1) 2^(n-2) T^(n-2) / ((n-2)! M) * E[w],

``volume_factor`` below; for massless daughters R_n = (pi/2)^(n-1) M^(2n-4) / ((n-1)! (n-2)!)
(James, CERN 68-15, eq. for massless particles), which the tests check.

Three bodies have a dedicated path (``three_body1``, ``three_body_unweighted1``; ``generate`` and
``genbod_unweighted1`` use it for n = 3), the same law as GENBOD with n = 3: m_12 uniform in
[m_1 + m_2, M - m_3] with weight w = p*(m_12) q*(m_12) (p* the momentum of 3 in the parent frame,
q* that of 1 in the 12 frame; PDG RPP 2024, Kinematics, three-body decays: dPhi_3 ~ |p_1*| |p_3|
dm_12 dOmega_1* dOmega_3), the 12 system along an isotropic direction and the 1-2 decay
isotropic in its rest frame (GENBOD's two random rotations do exactly this). Directions come from
Marsaglia's method (G. Marsaglia, Ann. Math. Stat. 43 (1972) 645: no trigonometric calls) and the
12 -> 1 2 decay is one boost along the 12 momentum; unweighted events are hit-or-miss on the
weight alone against its exact maximum (``three_body_wmax``), kinematics built for accepted
trials only. Same distributions as ``genbod1``, different random stream (tests compare the two).
``two_body_cascade`` chains two isotropic two-body decays (B+ -> K+ S, S -> mu+ mu-) the same way.
The Python entry points draw their uniforms in blocks with numpy (cheaper than scalar draws in a
kernel) and run the kernels over arrays; ``genbod1``/``genbod_work1`` are unchanged GENBOD.

Kernels write four-momenta (px, py, pz, e) into columns 0..3 of rows r0..r0+n-1 of a 2-d float64
array (other columns untouched), in the parent rest frame.
"""

from __future__ import annotations

import math

import numpy as np

from gen.jit import kernel
from gen.kinematics import boost1


@kernel
def pdk(a: float, b: float, c: float) -> float:
    """Momentum of a -> b c in the rest frame of a (ROOT TGenPhaseSpace PDK); 0 if closed."""
    x = (a - b - c) * (a + b + c) * (a - b + c) * (a + b - c)
    return math.sqrt(x) / (2.0 * a) if x > 0.0 else 0.0


@kernel
def genbod1(rng, big_m: float, masses, n: int, out, r0: int) -> float:
    """One weighted flat n-body decay at rest (module docstring); returns w = prod p_k.

    Returns 0 (rows untouched) if the masses do not fit.
    """
    return genbod_work1(rng, big_m, masses, n, out, r0, np.empty(3 * n))


@kernel
def genbod_work1(rng, big_m: float, masses, n: int, out, r0: int, work) -> float:
    """``genbod1`` with caller-provided scratch ``work`` (>= 3 n floats): no allocation per
    event, which dominates the cost of a three-body decay."""
    w = _genbod_weight(rng, big_m, masses, n, work)
    if w < 0.0:
        return 0.0
    _genbod_build(rng, masses, n, out, r0, work)
    return w


@kernel
def genbod_weight1(rng, big_m: float, masses, n: int, work) -> float:
    """GENBOD's weight prod p_k from the n - 2 mass uniforms only (-1 if the masses do not
    fit), kinematics left for ``genbod_build1``: a hit-or-miss on the weight then builds only
    accepted points (as Pythia 8's M-generator does). ``work``: >= 3 n floats, kept between
    the two calls."""
    return _genbod_weight(rng, big_m, masses, n, work)


@kernel
def genbod_build1(rng, masses, n: int, out, r0: int, work) -> None:
    """Rotations and boosts of the point ``genbod_weight1`` left in ``work`` into rows r0..
    (same law of events as ``genbod_work1``)."""
    _genbod_build(rng, masses, n, out, r0, work)


@kernel
def _genbod_weight(rng, big_m, masses, n, work):
    """GENBOD's intermediate masses (work[n:2n]) and momenta (work[2n:3n]); returns prod p_k
    (-1 if the masses do not fit). Draws the n - 2 uniforms of the masses only."""
    msum = 0.0
    for i in range(n):
        msum += masses[i]
    tecm = big_m - msum
    if tecm <= 0.0:
        return -1.0
    rno = work[:n]
    inv = work[n:2 * n]
    pd = work[2 * n:3 * n]
    rno[0] = 0.0
    rno[n - 1] = 1.0
    for i in range(1, n - 1):  # insertion sort of n - 2 uniforms
        x = rng.random()
        j = i
        while j > 1 and rno[j - 1] > x:
            rno[j] = rno[j - 1]
            j -= 1
        rno[j] = x
    s = 0.0
    for i in range(n):
        s += masses[i]
        inv[i] = rno[i] * tecm + s
    w = 1.0
    for i in range(n - 1):
        pd[i] = pdk(inv[i + 1], inv[i], masses[i + 1])
        w *= pd[i]
    return w


@kernel
def _genbod_build(rng, masses, n, out, r0, work):
    """GENBOD's rotations and boosts from the masses and momenta of ``_genbod_weight``."""
    inv = work[n:2 * n]
    pd = work[2 * n:3 * n]
    _set(out, r0, 0.0, pd[0], 0.0, math.sqrt(pd[0] * pd[0] + masses[0] * masses[0]))
    i = 1
    while True:
        _set(out, r0 + i, 0.0, -pd[i - 1], 0.0,
             math.sqrt(pd[i - 1] * pd[i - 1] + masses[i] * masses[i]))
        # isotropic rotation of the subsystem built so far (ROOT: about z, then about y)
        cz = 2.0 * rng.random() - 1.0
        sz = math.sqrt(max(0.0, 1.0 - cz * cz))
        ang = 2.0 * math.pi * rng.random()
        cy, sy = math.cos(ang), math.sin(ang)
        for j in range(i + 1):
            r = r0 + j
            x, y = out[r, 0], out[r, 1]
            out[r, 0] = cz * x - sz * y
            out[r, 1] = sz * x + cz * y
            x, z = out[r, 0], out[r, 2]
            out[r, 0] = cy * x - sy * z
            out[r, 2] = sy * x + cy * z
        if i == n - 1:
            break
        beta = pd[i] / math.sqrt(pd[i] * pd[i] + inv[i] * inv[i])
        for j in range(i + 1):
            r = r0 + j
            a = boost1(out[r, 0], out[r, 1], out[r, 2], out[r, 3], 0.0, beta, 0.0)
            _set(out, r, a[0], a[1], a[2], a[3])
        i += 1


@kernel
def _set(out, r, px, py, pz, e):
    out[r, 0] = px
    out[r, 1] = py
    out[r, 2] = pz
    out[r, 3] = e


@kernel
def genbod_wmax(big_m: float, masses, n: int) -> float:
    """Analytic upper bound of the ``genbod1`` weight (ROOT TGenPhaseSpace::SetDecay).

    Each p_k is bounded by its value with all the kinetic energy given to step k. Tight for
    n = 3 (efficiency ~50 %), loose for n >= 5 (efficiency < 1 %): ``pilot_wmax`` is then faster.
    """
    msum = 0.0
    for i in range(n):
        msum += masses[i]
    emmax = big_m - msum + masses[0]
    emmin = 0.0
    w = 1.0
    for i in range(1, n):
        emmin += masses[i - 1]
        emmax += masses[i]
        w *= pdk(emmax, emmin, masses[i])
    return w


@kernel
def pilot_wmax(rng, big_m: float, masses, n: int, trials: int, scratch) -> float:
    """Largest ``genbod1`` weight in ``trials`` trials (``scratch``: >= n rows, >= 4 columns)."""
    wmax = 0.0
    for _ in range(trials):
        wmax = max(wmax, genbod1(rng, big_m, masses, n, scratch, 0))
    return wmax


@kernel
def genbod_unweighted1(rng, big_m: float, masses, n: int, wmax: float, out, r0: int) -> int:
    """One unweighted flat n-body decay: hit-or-miss of the ``genbod1`` weight against ``wmax``.

    The weight needs the intermediate masses only: the kinematics are built for accepted trials
    (the law of ``genbod1`` events, not their random stream); n = 3 goes to
    ``three_body_unweighted1``. Returns 1 if a trial weight exceeded ``wmax`` (the event is then
    slightly under-represented; callers count these), 0 otherwise. Two bodies need no
    unweighting (the weight is constant).
    """
    if n == 3:
        return three_body_unweighted1(rng, big_m, masses[0], masses[1], masses[2], wmax, out, r0)
    work = np.empty(3 * n)
    if n == 2:
        genbod_work1(rng, big_m, masses, n, out, r0, work)
        return 0
    over = 0
    while True:
        w = _genbod_weight(rng, big_m, masses, n, work)
        if w > wmax:
            over = 1
        if rng.random() * wmax < w:
            _genbod_build(rng, masses, n, out, r0, work)
            return over


@kernel
def isotropic1(rng):
    """Unit vector uniform on the sphere (Marsaglia, Ann. Math. Stat. 43 (1972) 645).

    (x, y) uniform in the unit disk (accepted with probability pi/4), s = x^2 + y^2:
    (2 x sqrt(1 - s), 2 y sqrt(1 - s), 1 - 2 s). No trigonometric call; 8/pi draws on average.
    """
    while True:
        x = 2.0 * rng.random() - 1.0
        y = 2.0 * rng.random() - 1.0
        s = x * x + y * y
        if s < 1.0:
            r = 2.0 * math.sqrt(1.0 - s)
            return x * r, y * r, 1.0 - 2.0 * s


@kernel
def pair_decay1(rng, px, py, pz, e, m, m1, q, out, r0) -> None:
    """Isotropic two-body decay of a parent (four-momentum p, mass m) into rows r0, r0 + 1:
    ``pair_decay_along1`` with a direction from ``isotropic1``."""
    ux, uy, uz = isotropic1(rng)
    pair_decay_along1(px, py, pz, e, m, m1, q, ux, uy, uz, out, r0)


@kernel
def pair_decay_along1(px, py, pz, e, m, m1, q, ux, uy, uz, out, r0) -> None:
    """Two-body decay of a parent (four-momentum p, mass m) into rows r0, r0 + 1.

    Daughter 1 (mass m1) has momentum q along the unit vector u in the parent rest frame
    (q = ``pdk(m, m1, m2)``, the caller's); boosted with b = p/e, gamma = e/m (Jackson,
    Classical Electrodynamics, eq. 11.19, with (gamma - 1)/b^2 = gamma^2/(gamma + 1)).
    Daughter 2 = parent - daughter 1: four-momentum conserved to rounding.
    """
    d1, d2 = pair_along1(px, py, pz, e, m, m1, q, ux, uy, uz)
    _set(out, r0, d1[0], d1[1], d1[2], d1[3])
    _set(out, r0 + 1, d2[0], d2[1], d2[2], d2[3])


@kernel
def pair_along1(px, py, pz, e, m, m1, q, ux, uy, uz):
    """``pair_decay_along1`` returning the two daughters as 4-tuples (px, py, pz, e) instead of
    writing rows: for kernels that keep momenta in registers (e.g. ``gen.decays.tau``)."""
    qx, qy, qz = q * ux, q * uy, q * uz
    e1s = math.sqrt(q * q + m1 * m1)
    g = e / m
    bq = (px * qx + py * qy + pz * qz) / e
    f = (g * g / (g + 1.0) * bq + g * e1s) / e
    x1, y1, z1, e1 = qx + f * px, qy + f * py, qz + f * pz, g * (e1s + bq)
    return (x1, y1, z1, e1), (px - x1, py - y1, pz - z1, e - e1)


@kernel
def three_body_build1(rng, m1, m3, m12, q, p, out, r0) -> None:
    """Three-body kinematics at rest for a given m_12 (q = pdk(m12, m1, m2), p = pdk(M, m12, m3)):
    ``three_body_along1`` with two directions from ``isotropic1``."""
    nx, ny, nz = isotropic1(rng)
    ux, uy, uz = isotropic1(rng)
    three_body_along1(m1, m3, m12, q, p, nx, ny, nz, ux, uy, uz, out, r0)


@kernel
def three_body_along1(m1, m3, m12, q, p, nx, ny, nz, ux, uy, uz, out, r0) -> None:
    """Three-body kinematics at rest: the 12 system with momentum p along the unit vector n,
    3 opposite, particle 1 along the unit vector u in the 12 rest frame (module docstring)."""
    e12 = math.sqrt(p * p + m12 * m12)
    pair_decay_along1(p * nx, p * ny, p * nz, e12, m12, m1, q, ux, uy, uz, out, r0)
    _set(out, r0 + 2, -p * nx, -p * ny, -p * nz, math.sqrt(p * p + m3 * m3))


@kernel
def three_body1(rng, big_m: float, m1: float, m2: float, m3: float, out, r0: int) -> float:
    """One weighted flat three-body decay at rest; returns the GENBOD weight w = q* p* (the same
    law of (event, weight) as ``genbod1`` with n = 3; ``volume_factor`` applies). 0 if closed."""
    tecm = big_m - m1 - m2 - m3
    if tecm <= 0.0:
        return 0.0
    m12 = m1 + m2 + rng.random() * tecm  # GENBOD: m_12 uniform
    q = pdk(m12, m1, m2)
    p = pdk(big_m, m12, m3)
    three_body_build1(rng, m1, m3, m12, q, p, out, r0)
    return q * p


@kernel
def three_body_unweighted1(rng, big_m: float, m1: float, m2: float, m3: float, wmax: float,
                           out, r0: int) -> int:
    """One unweighted flat three-body decay at rest: m_12 by hit-or-miss of w = q* p* against
    ``wmax`` (two draws a trial), then the kinematics. Returns 1 if a weight exceeded ``wmax``."""
    tecm = big_m - m1 - m2 - m3
    lo = m1 + m2
    over = 0
    while True:
        m12 = lo + rng.random() * tecm
        q = pdk(m12, m1, m2)
        p = pdk(big_m, m12, m3)
        w = q * p
        if w > wmax:
            over = 1
        if rng.random() * wmax < w:
            break
    three_body_build1(rng, m1, m3, m12, q, p, out, r0)
    return over


@kernel
def three_body_wmax(big_m: float, m1: float, m2: float, m3: float) -> float:
    """Maximum over m_12 of the three-body weight q*(m_12) p*(m_12) (0 if closed).

    Grid of 1025 points, then golden-section search between the neighbours of the best one;
    the result is raised by 1e-9 (relative) so that rounding never makes it a lower bound.
    Typically 1.3-2x below ``genbod_wmax`` (the product of the two separate maxima).
    """
    tecm = big_m - m1 - m2 - m3
    if tecm <= 0.0:
        return 0.0
    lo = m1 + m2
    n_grid = 1024
    best, ibest = -1.0, 0
    for i in range(n_grid + 1):
        x = lo + tecm * i / n_grid
        w = pdk(x, m1, m2) * pdk(big_m, x, m3)
        if w > best:
            best, ibest = w, i
    a = lo + tecm * max(ibest - 1, 0) / n_grid
    b = lo + tecm * min(ibest + 1, n_grid) / n_grid
    r = 0.5 * (math.sqrt(5.0) - 1.0)
    c, d = b - r * (b - a), a + r * (b - a)
    fc = pdk(c, m1, m2) * pdk(big_m, c, m3)
    fd = pdk(d, m1, m2) * pdk(big_m, d, m3)
    for _ in range(80):
        if fc > fd:
            b, d, fd = d, c, fc
            c = b - r * (b - a)
            fc = pdk(c, m1, m2) * pdk(big_m, c, m3)
        else:
            a, c, fc = c, d, fd
            d = a + r * (b - a)
            fd = pdk(d, m1, m2) * pdk(big_m, d, m3)
    return max(best, fc, fd) * (1.0 + 1e-9)


@kernel
def volume_factor(big_m: float, masses, n: int) -> float:
    """R_n(M) / E[w]: pi^(n-1) 2^(n-2) T^(n-2) / ((n-2)! M) (module docstring); 0 if closed."""
    msum = 0.0
    for i in range(n):
        msum += masses[i]
    tecm = big_m - msum
    if tecm <= 0.0:
        return 0.0
    fact = 1.0
    for k in range(2, n - 1):
        fact *= k
    return math.pi ** (n - 1) * 2.0 ** (n - 2) * tecm ** (n - 2) / (fact * big_m)


# Block samplers of the Python entry points: uniforms drawn in bulk by numpy (2.6 ns each
# against 6.6 ns as scalar draws in a kernel, docs/benchmarks.md, rng section) into a pool laid
# out in fixed regions (so the first k events do not depend on how many are asked for); a
# rejection loop that runs past its region continues with scalar draws from the same generator.
_BLOCK = 4096  # events per block: pool and scratch stay in the L2 cache


@kernel
def _uniform(u, k, hi, rng):
    """Next uniform of region u[k:hi] (then scalar draws from ``rng``) and the next index."""
    if k < hi:
        return u[k], k + 1
    return rng.random(), k + 1


@kernel
def _directions(u, k, hi, rng, d, nd) -> None:
    """nd isotropic unit vectors (Marsaglia, ``isotropic1``) into d[0:3, :nd] from u[k:hi]."""
    j = 0
    while j < nd:  # compaction of the accepted points of the disk ...
        a, k = _uniform(u, k, hi, rng)
        b, k = _uniform(u, k, hi, rng)
        x, y = 2.0 * a - 1.0, 2.0 * b - 1.0
        s = x * x + y * y
        if s < 1.0:
            d[0, j], d[1, j], d[2, j] = x, y, s
            j += 1
    for j in range(nd):  # ... then a branch-free loop over them
        r = 2.0 * math.sqrt(1.0 - d[2, j])
        d[0, j] *= r
        d[1, j] *= r
        d[2, j] = 1.0 - 2.0 * d[2, j]


@kernel
def _three_body_block(u, n_mass, rng, big_m, m1, m2, m3, nb, weighted, wmax, out, r0, w, w0,
                      d, kin):
    """nb three-body decays at rest into rows r0.. of out (weights w[w0:w0 + nb] if weighted).

    Pool u: m_12 (and, unweighted, acceptance) uniforms in u[:n_mass], directions after it.
    Returns the number of events with an overweight trial.
    """
    tecm = big_m - m1 - m2 - m3
    lo = m1 + m2
    over = 0
    if weighted:
        for i in range(nb):  # GENBOD: m_12 uniform, w = q* p* (branch-free: vectorised)
            m12 = lo + u[i] * tecm
            q = pdk(m12, m1, m2)
            p = pdk(big_m, m12, m3)
            kin[0, i], kin[1, i], kin[2, i] = m12, q, p
            w[w0 + i] = q * p
    else:
        k = 0
        for i in range(nb):
            ov = 0
            while True:
                a, k = _uniform(u, k, n_mass, rng)
                m12 = lo + a * tecm
                q = pdk(m12, m1, m2)
                p = pdk(big_m, m12, m3)
                if q * p > wmax:
                    ov = 1
                a, k = _uniform(u, k, n_mass, rng)
                if a * wmax < q * p:
                    break
            over += ov
            kin[0, i], kin[1, i], kin[2, i] = m12, q, p
    _directions(u, n_mass, u.shape[0], rng, d, 2 * nb)
    for i in range(nb):
        j = 2 * i  # directions interleaved: event i does not depend on nb
        three_body_along1(m1, m3, kin[0, i], kin[1, i], kin[2, i], d[0, j], d[1, j], d[2, j],
                          d[0, j + 1], d[1, j + 1], d[2, j + 1], out, r0 + 3 * i)
    return over


def _pool_size(n_dirs: int, draws_per_event: float = 0.0, var_per_event: float = 0.0) -> int:
    """Uniforms for ``_BLOCK`` events: mean + 6 sigma of a Marsaglia direction count (8/pi draws,
    variance 4 (1 - pi/4)/(pi/4)^2 each) plus ``draws_per_event``; more is wasted, less is
    completed by scalar draws."""
    p = math.pi / 4.0
    mean = _BLOCK * draws_per_event + n_dirs * _BLOCK * 2.0 / p
    var = _BLOCK * var_per_event + n_dirs * _BLOCK * 4.0 * (1.0 - p) / p**2
    return int(mean + 6.0 * math.sqrt(var)) + 16


def three_body_efficiency(mass: float, m: np.ndarray, wmax: float) -> float:
    """Hit-or-miss efficiency E[q* p*] / wmax of m_12 uniform (trapezoid rule, 4097 points)."""
    x = np.linspace(m[0] + m[1], mass - m[2], 4097)

    def mom(a, b, c):  # pdk on arrays; 0 at a = 0 (massless pair at threshold)
        a = np.broadcast_to(a, x.shape)
        x2 = np.maximum((a - b - c) * (a + b + c) * (a - b + c) * (a + b - c), 0.0)
        return np.divide(np.sqrt(x2), 2.0 * a, out=np.zeros_like(x), where=a > 0.0)

    wgt = mom(x, m[0], m[1]) * mom(mass, x, m[2])
    return float(np.mean(0.5 * (wgt[1:] + wgt[:-1]))) / wmax


def _generate3(rng, mass, m, n_events, weighted, wmax, out2, w) -> int:
    if weighted:
        n_mass = _BLOCK
    else:  # trials a block: 2/eff draws an event, geometric variance 4 (1 - eff)/eff^2
        eff = min(max(three_body_efficiency(mass, m, wmax), 0.05), 1.0)  # pool size only
        n_mass = _pool_size(0, 2.0 / eff, 4.0 * (1.0 - eff) / eff**2)
    pool = np.empty(n_mass + _pool_size(2))
    d = np.empty((3, 2 * _BLOCK))
    kin = np.empty((3, _BLOCK))
    over = 0
    for n0 in range(0, n_events, _BLOCK):
        nb = min(_BLOCK, n_events - n0)
        rng.random(out=pool)
        over += _three_body_block(pool, n_mass, rng, mass, m[0], m[1], m[2], nb, weighted, wmax,
                                  out2, 3 * n0, w, n0, d, kin)
    return over


@kernel
def _cascade_block(u, rng, m_a, m_b, m_b1, p_a, q, nb, out, r0, d) -> None:
    """nb decays M -> a b (a along an isotropic direction, momentum p_a), b -> b1 b2 isotropic
    in the b rest frame (momentum q): rows a, b, b1, b2 from r0 on."""
    _directions(u, 0, u.shape[0], rng, d, 2 * nb)
    e_a = math.sqrt(p_a * p_a + m_a * m_a)
    e_b = math.sqrt(p_a * p_a + m_b * m_b)
    for i in range(nb):
        r, j = r0 + 4 * i, 2 * i
        x, y, z = p_a * d[0, j], p_a * d[1, j], p_a * d[2, j]
        _set(out, r, x, y, z, e_a)
        _set(out, r + 1, -x, -y, -z, e_b)
        pair_decay_along1(-x, -y, -z, e_b, m_b, m_b1, q, d[0, j + 1], d[1, j + 1], d[2, j + 1],
                          out, r + 2)


def two_body_cascade(
    rng: np.random.Generator,
    mass: float,
    m_a: float,
    m_b: float,
    m_b1: float,
    m_b2: float,
    n_events: int,
    *,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Decays M -> a b, b -> b1 b2 of a parent at rest, both isotropic (scalar b of fixed mass,
    e.g. B+ -> K+ S, S -> mu+ mu-). Returns (n_events, 4, 4): rows a, b, b1, b2 as
    (px, py, pz, e); ``out`` as in ``generate``. The momenta are fixed (``pdk``): only the two
    directions are random (``isotropic1``'s law, drawn in blocks)."""
    p_a = pdk(mass, m_a, m_b)
    q = pdk(m_b, m_b1, m_b2)
    if not (mass > m_a + m_b and m_b > m_b1 + m_b2):
        raise ValueError(f"cascade {mass} -> {m_a} + {m_b} ({m_b} -> {m_b1} + {m_b2}) GeV is "
                         "kinematically closed")
    n_events = int(n_events)
    if out is None:
        out = np.empty((n_events, 4, 4))
    elif (out.shape != (n_events, 4, 4) or out.dtype != np.float64
          or not out.flags.c_contiguous):
        raise ValueError(f"out must be a C-contiguous float64 array of shape {(n_events, 4, 4)}")
    out2 = out.reshape(4 * n_events, 4)
    pool = np.empty(_pool_size(2))
    d = np.empty((3, 2 * _BLOCK))
    for n0 in range(0, n_events, _BLOCK):
        nb = min(_BLOCK, n_events - n0)
        rng.random(out=pool)
        _cascade_block(pool, rng, float(m_a), float(m_b), float(m_b1), p_a, q, nb, out2,
                       4 * n0, d)
    return out


@kernel
def _generate_kernel(rng, big_m, masses, n, n_events, weighted, wmax, out, w):
    over = 0
    work = np.empty(3 * n)
    for k in range(n_events):
        if weighted:
            w[k] = genbod_work1(rng, big_m, masses, n, out, k * n, work)
        else:
            over += genbod_unweighted1(rng, big_m, masses, n, wmax, out, k * n)
    return over


def generate(
    rng: np.random.Generator,
    mass: float,
    masses: np.ndarray,
    n_events: int,
    *,
    weighted: bool = True,
    wmax: float | None = None,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Flat phase-space decays of a parent of ``mass`` at rest (Python entry point).

    Returns (p of shape (n_events, n, 4) as (px, py, pz, e), weights (n_events,), number of
    overweight trials). Weighted: w = prod p_k (GENBOD; ``volume_factor`` turns its mean into
    R_n). Unweighted: weights are 1, ``wmax`` defaults to ``three_body_wmax`` (n = 3, exact) or
    ``genbod_wmax`` (n > 3). ``out``, if given, is a C-contiguous float64 array of shape
    (n_events, n, 4) that receives the momenta (a generator's reused chunk buffer: no page
    faults of a fresh array).
    """
    m = np.ascontiguousarray(masses, dtype=np.float64)
    n = m.shape[0]
    if n < 2:
        raise ValueError(f"phase space needs at least 2 daughters, got {n}")
    if not mass > m.sum():
        raise ValueError(f"daughter masses {m.sum()} GeV do not fit in the parent mass {mass} GeV")
    n_events = int(n_events)
    if out is None:
        out = np.empty((n_events, n, 4))
    elif (out.shape != (n_events, n, 4) or out.dtype != np.float64
          or not out.flags.c_contiguous):
        raise ValueError(f"out must be a C-contiguous float64 array of shape {(n_events, n, 4)}")
    if wmax is None:
        wmax = three_body_wmax(mass, m[0], m[1], m[2]) if n == 3 else genbod_wmax(mass, m, n)
    if not weighted and not wmax > 0.0:
        raise ValueError(f"wmax must be > 0 for unweighted events, got {wmax}")
    w = np.ones(n_events)
    if n == 3:  # block sampler: bulk uniforms, the kinematics of three_body_along1
        over = _generate3(rng, float(mass), m, n_events, weighted, float(wmax),
                          out.reshape(n_events * n, 4), w)
    else:
        over = _generate_kernel(rng, float(mass), m, n, n_events, weighted, float(wmax),
                                out.reshape(n_events * n, 4), w)
    return out, w, int(over)
