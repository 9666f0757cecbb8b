"""Faster exact sampling of the Lund symmetric fragmentation function (numba kernel).

The density is that of ``string.sample_z1``,

    f(z) ~ z^-c (1 - z)^a exp(-B / z),  B = b mT^2,  0 < z < 1

(arXiv:1404.5630; Bowler exponent in c), and ``sample_z_lund1`` draws exactly from it. Only the
envelope of the acceptance-rejection differs: ``sample_z1`` uses the flat envelope f(z_max),
whose efficiency falls like ~z_max ln(1/z_max) for light hadrons (pions at low pT: z_max ~ 0.01,
acceptance ~0.15, ~330 ns per z). When the mode z_max < 0.1 the envelope here is Pythia 8's
(StringZ::zLund, T. Sjostrand et al. arXiv:1410.3012): f / f(z_max) < 1 below
z_div = 2.75 z_max and < (z_div / z)^c above. That bound holds for a >= 0, c >= 0: at the mode
B / z_max = c + a z_max / (1 - z_max), and the exponent a ln((1-z)/(1-z_max)) + B/z_max - B/z
stays below c ln 2.75 for z > z_div (checked numerically for 0 <= a <= 3, 0 <= c <= 4,
1e-5 < B < 3: largest excess -0.002 in the log; tests/gen/test_fragmentation.py checks the
bound and the sampled distribution against the normalised density). Otherwise (z_max >= 0.1,
or an envelope area above ``MAX_ENVELOPE_AREA``) ``sample_z1`` itself is called. Same
distribution, different random numbers: the events change bit-wise, not statistically.
"""

from __future__ import annotations

import math

import numpy as np

from gen.hadronization.string import sample_z1, z_log_density, z_mode
from gen.jit import kernel

#: below this mode the two-piece envelope is used (Pythia 8 StringZ::zLund, peakedNearZero)
PEAKED_NEAR_ZERO = 0.1
#: z_div / z_max of that envelope (Pythia 8 StringZ::zLund)
Z_DIV_FACTOR = 2.75
LOG_Z_DIV_FACTOR = math.log(Z_DIV_FACTOR)
#: the two-piece envelope only if its area (units of f(z_max)) is below this: a draw from it
#: costs ~1.2 flat draws (measured), so above ~0.5 the flat envelope (area 1) is cheaper
MAX_ENVELOPE_AREA = 0.5


@kernel
def envelope_log_excess1(z: float, a: float, b: float, c: float, mt2: float) -> float:
    """log(f(z) / f(z_max)) - log(envelope(z)) of ``sample_z_lund1`` (<= 0 where it is valid)."""
    zm = z_mode(a, b, c, mt2)
    d = z_log_density(z, a, b, c, mt2) - z_log_density(zm, a, b, c, mt2)
    if zm >= PEAKED_NEAR_ZERO:
        return d
    zdiv = Z_DIV_FACTOR * zm
    return d if z <= zdiv else d - c * math.log(zdiv / z)


@kernel
def sample_z_lund1(rng, a: float, b: float, c: float, mt2: float) -> float:
    """z from f(z) ~ z^-c (1-z)^a exp(-b mT^2/z) on (0, 1), exact (see the module docstring)."""
    zm = z_mode(a, b, c, mt2)
    if zm >= PEAKED_NEAR_ZERO:
        return sample_z1(rng, a, b, c, mt2)
    bb = b * mt2
    lzm = math.log(zm)
    fmax = -c * lzm + a * math.log1p(-zm) - bb / zm
    zdiv = Z_DIV_FACTOR * zm
    ldiv = LOG_Z_DIV_FACTOR + lzm
    t = 1.0 - c
    # envelope areas (units of f(z_max)): 1 on (0, z_div); (z_div/z)^c on (z_div, 1), i.e.
    # z_div^c (1 - z_div^t) / t
    em = 0.0
    if t == 0.0:
        f_high = -zdiv * ldiv
    else:
        em = math.expm1(t * ldiv)
        f_high = math.exp(c * ldiv) * (-em / t)
    if zdiv + f_high >= MAX_ENVELOPE_AREA:
        return sample_z1(rng, a, b, c, mt2)
    p_low = zdiv / (zdiv + f_high)
    while True:
        if rng.random() < p_low:
            z = zdiv * rng.random()
            if z <= 0.0:
                continue
            if math.log(rng.random()) < z_log_density(z, a, b, c, mt2) - fmax:
                return z
        else:
            # inverse of the envelope's distribution z^-c on (z_div, 1), stable for c -> 1
            u = rng.random()
            lz = u * ldiv if t == 0.0 else math.log1p(u * em) / t
            z = math.exp(lz)
            if z >= 1.0 or z <= 0.0:
                continue
            # log f(z) - fmax - log envelope: the -c ln z terms cancel
            if math.log(rng.random()) < a * math.log1p(-z) - bb / z - fmax - c * ldiv:
                return z


@kernel
def sample_z_lund(rng, a: float, b: float, c: float, mt2: float, n: int):
    """``n`` draws of ``sample_z_lund1`` (for tests and studies)."""
    out = np.empty(n)
    for i in range(n):
        out[i] = sample_z_lund1(rng, a, b, c, mt2)
    return out


@kernel
def max_envelope_log_excess(z, a: float, b: float, c: float, mt2: float) -> float:
    """Largest ``envelope_log_excess1`` over the array ``z`` (<= 0: the envelope bounds f)."""
    worst = -np.inf
    for x in z:
        worst = max(worst, envelope_log_excess1(x, a, b, c, mt2))
    return worst
