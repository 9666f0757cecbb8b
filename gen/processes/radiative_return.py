"""Two-channel sampling of the ISR fractions for a cross section with narrow low-mass resonances.

The ISR convolution sigma = K int dx1 dx2 D(x1) D(x2) sigma_0(x1 x2 s) (``gen.radiation``) is
sampled by ``gen.radiation.isr_fractions1`` from a density p(x1) p(x2) that follows the soft
peak and dx/x. For e+e- -> hadrons below ~2 GeV (radiative return to the rho, omega, phi at
sqrt(s) = 10.58 GeV: x ~ 0.005-0.01) sigma_0 has peaks ~1000 times the continuum a few MeV wide,
so that density gives rare, huge weights. Here a second channel draws s' = x1 x2 s directly
from g(s') (truncated Breit-Wigners of rho, omega, phi plus a 1/s' continuum, on
[s_lo, s_hi]): one beam's fraction x_o from p, then x_b = s' / (x_o s) for the other beam
(chosen at random). Multi-channel weight (R. Kleiss, R. Pittau, Comput. Phys. Commun. 83 (1994)
141): with channel probability c,

    q(x1, x2) = (1 - c) p(x1) p(x2) + c/2 [p(x2) g(s') x2 s + p(x1) g(s') x1 s],
    w = D(x1) D(x2) / q(x1, x2),

(x_o s = ds'/dx_b is the Jacobian), an unbiased estimator of the convolution for any c (tests
compare with scipy quad). Photons softer than ``e_min`` are dropped afterwards exactly as in
``isr_fractions1``; photon angles come from ``isr_photon_momenta1``.
"""

from __future__ import annotations

import math

import numpy as np

from gen.jit import kernel
from gen.radiation import ll_beta, sample_isr_fraction_l1, structure_function

# layout of the proposal array ``q``
Q_SLO, Q_SHI = 0, 1
Q_FRAC = 2  # 4 cumulative fractions: rho, omega, phi, 1/s' continuum
Q_RES = 6  # 3 x (M, Gamma)
N_Q = 12


def proposal(s_lo: float, s_hi: float, resonances: list[tuple[float, float]],
             fractions: list[float]) -> np.ndarray:
    """Proposal array of g(s'): three (M, Gamma) Breit-Wigners and a 1/s' continuum with
    ``fractions`` (4 numbers, normalised here) on [s_lo, s_hi] (GeV^2)."""
    if not (0.0 < s_lo < s_hi) or len(resonances) != 3 or len(fractions) != 4:
        raise ValueError("proposal: need 0 < s_lo < s_hi, 3 resonances and 4 fractions")
    q = np.zeros(N_Q)
    q[Q_SLO], q[Q_SHI] = s_lo, s_hi
    f = np.asarray(fractions, float)
    q[Q_FRAC:Q_FRAC + 4] = np.cumsum(f / f.sum())
    for i, (m, g) in enumerate(resonances):
        q[Q_RES + 2 * i], q[Q_RES + 2 * i + 1] = m, g
    return q


@kernel
def _atan_range(m: float, g: float, lo: float, hi: float):
    mg = m * g
    return math.atan((lo - m * m) / mg), math.atan((hi - m * m) / mg)


@kernel
def proposal_density1(s: float, q) -> float:
    """g(s') of the proposal (normalised to 1 on [s_lo, s_hi]; 0 outside)."""
    lo, hi = q[Q_SLO], q[Q_SHI]
    if s < lo or s > hi:
        return 0.0
    dens = 0.0
    prev = 0.0
    for k in range(4):
        fk = q[Q_FRAC + k] - prev
        prev = q[Q_FRAC + k]
        if k < 3:
            m, g = q[Q_RES + 2 * k], q[Q_RES + 2 * k + 1]
            a_lo, a_hi = _atan_range(m, g, lo, hi)
            d = s - m * m
            dens += fk * m * g / ((d * d + m * m * g * g) * (a_hi - a_lo))
        else:
            dens += fk / (s * math.log(hi / lo))
    return dens


@kernel
def sample_proposal1(rng, q) -> float:
    """Draw s' from g (``proposal_density1``)."""
    lo, hi = q[Q_SLO], q[Q_SHI]
    u = rng.random()
    k = 0
    while k < 3 and u >= q[Q_FRAC + k]:
        k += 1
    v = rng.random()
    if k < 3:
        m, g = q[Q_RES + 2 * k], q[Q_RES + 2 * k + 1]
        a_lo, a_hi = _atan_range(m, g, lo, hi)
        s = m * m + m * g * math.tan(a_lo + v * (a_hi - a_lo))
        return min(max(s, lo), hi)
    return lo * math.exp(v * math.log(hi / lo))


@kernel
def isr_inverse_pdf1(v: float, beta: float, a: float, x_min: float, lmin: float) -> float:
    """1 / p(v) of ``sample_isr_fraction_l1`` (soft peak (1 - a) and dx/x on [x_min, 1] (a));
    0 at v = 0 (the soft density is infinite there)."""
    if v <= 0.0:
        return 0.0
    x = 1.0 - v
    p = (1.0 - a) * 0.5 * beta * math.exp((0.5 * beta - 1.0) * math.log(v))
    if x >= x_min:
        p += a / (x * lmin)
    return 1.0 / p


@kernel
def isr_fractions_two_channel1(rng, sqrt_s: float, m_beam: float, hard_fraction: float,
                               x_min: float, e_min: float, c_low: float, q):
    """``(weight, v1, v2)`` as ``gen.radiation.isr_fractions1`` with the low-mass channel of
    probability ``c_low`` (module docstring); weight = D(x1) D(x2) / q(x1, x2)."""
    s = sqrt_s * sqrt_s
    beta = ll_beta(s, m_beam)
    eb = 0.5 * sqrt_s
    lmin = -math.log(x_min)
    a = hard_fraction
    if rng.random() < c_low:
        beam = 0 if rng.random() < 0.5 else 1
        vo, ro = sample_isr_fraction_l1(rng, beta, a, x_min, lmin)
        sp = sample_proposal1(rng, q)
        xb = sp / ((1.0 - vo) * s)
        if xb >= 1.0 or xb <= 0.0:
            return 0.0, 0.0, 0.0
        vb = 1.0 - xb
        ib = isr_inverse_pdf1(vb, beta, a, x_min, lmin)
        rb = structure_function(xb, beta) * ib
        if beam == 0:
            v1, r1, v2, r2 = vb, rb, vo, ro
        else:
            v1, r1, v2, r2 = vo, ro, vb, rb
    else:
        v1, r1 = sample_isr_fraction_l1(rng, beta, a, x_min, lmin)
        v2, r2 = sample_isr_fraction_l1(rng, beta, a, x_min, lmin)
    x1, x2 = 1.0 - v1, 1.0 - v2
    g = proposal_density1(x1 * x2 * s, q)
    i1 = isr_inverse_pdf1(v1, beta, a, x_min, lmin)
    i2 = isr_inverse_pdf1(v2, beta, a, x_min, lmin)
    w = r1 * r2 / ((1.0 - c_low) + c_low * 0.5 * g * s * (x2 * i1 + x1 * i2))
    if v1 * eb < e_min:
        v1 = 0.0
    if v2 * eb < e_min:
        v2 = 0.0
    return w, v1, v2


def isr_luminosity(z: float, sqrt_s: float, m_beam: float) -> float:
    """L(z) = int dx1 dx2 D(x1) D(x2) delta(z - x1 x2) = 2 int_sqrt(z)^1 dx/x D(x) D(z/x)
    (symmetric under x <-> z/x) by scipy quad; the soft singularity of D(x) at x -> 1 is removed
    with v = 1 - x = t^(2/beta), D dv = [soft + hard(v) (2/beta) v/t] dt (computed from v: x
    rounds to 1 for v < 1e-16). A reference for the samplers, not used in event loops."""
    from scipy import integrate

    from gen.radiation import isr_hard_terms, isr_soft_factor

    beta = ll_beta(sqrt_s * sqrt_s, m_beam)
    soft = isr_soft_factor(beta)

    def f(t: float) -> float:
        if t <= 0.0:
            return soft * structure_function(z, beta)
        v = t ** (2.0 / beta)
        x = 1.0 - v
        return ((soft + isr_hard_terms(v, beta) * (2.0 / beta) * v / t)
                * structure_function(z / x, beta) / x)

    t_hi = (1.0 - math.sqrt(z)) ** (beta / 2.0)
    return 2.0 * integrate.quad(f, 0.0, t_hi, limit=200, epsrel=1e-8)[0]


def isr_convolution_quad(sigma, sqrt_s: float, m_beam: float, s_lo: float, s_hi: float,
                         poles: list[float]) -> float:
    """int_{s_lo}^{s_hi} ds'/s L(s'/s) sigma(s') by scipy quad with break points at ``poles``
    (GeV^2): the structure-function convolution (without K_ISR) of a cross section ``sigma``
    (callable of s', any unit) restricted to s_lo < s' < s_hi."""
    from scipy import integrate

    s = sqrt_s * sqrt_s
    edges = sorted({s_lo, s_hi, *[p for p in poles if s_lo < p < s_hi]})
    return sum(integrate.quad(lambda sp: isr_luminosity(sp / s, sqrt_s, m_beam) * sigma(sp) / s,
                              a, b, limit=400, epsrel=1e-7)[0]
               for a, b in zip(edges[:-1], edges[1:], strict=True))
