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
    msum = 0.0
    for i in range(n):
        msum += masses[i]
    tecm = big_m - msum
    if tecm <= 0.0:
        return 0.0
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
    return w


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
    """One unweighted flat n-body decay: hit-or-miss of ``genbod1`` against ``wmax``.

    Returns 1 if a trial weight exceeded ``wmax`` (the event is then slightly under-represented;
    callers count these), 0 otherwise. Two bodies need no unweighting (the weight is constant).
    """
    over = 0
    work = np.empty(3 * n)
    while True:
        w = genbod_work1(rng, big_m, masses, n, out, r0, work)
        if n == 2:
            return 0
        if w > wmax:
            over = 1
        if rng.random() * wmax < w:
            return over


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


@kernel
def _generate_kernel(rng, big_m, masses, n, n_events, weighted, wmax):
    out = np.empty((n_events * n, 4))
    w = np.ones(n_events)
    over = 0
    work = np.empty(3 * n)
    for k in range(n_events):
        if weighted:
            w[k] = genbod_work1(rng, big_m, masses, n, out, k * n, work)
        else:
            over += genbod_unweighted1(rng, big_m, masses, n, wmax, out, k * n)
    return out, w, over


def generate(
    rng: np.random.Generator,
    mass: float,
    masses: np.ndarray,
    n_events: int,
    *,
    weighted: bool = True,
    wmax: float | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Flat phase-space decays of a parent of ``mass`` at rest (Python entry point).

    Returns (p of shape (n_events, n, 4) as (px, py, pz, e), weights (n_events,), number of
    overweight trials). Unweighted: weights are 1, ``wmax`` defaults to ``genbod_wmax``.
    """
    m = np.ascontiguousarray(masses, dtype=np.float64)
    n = m.shape[0]
    if n < 2:
        raise ValueError(f"phase space needs at least 2 daughters, got {n}")
    if not mass > m.sum():
        raise ValueError(f"daughter masses {m.sum()} GeV do not fit in the parent mass {mass} GeV")
    if wmax is None:
        wmax = genbod_wmax(mass, m, n)
    out, w, over = _generate_kernel(rng, float(mass), m, n, int(n_events), weighted, float(wmax))
    return out.reshape(n_events, n, 4), w, int(over)
