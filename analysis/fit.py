"""Binned extended-likelihood model for one mass hypothesis.

Model
-----
Bin ``i`` of the fitted histogram has the Poisson expectation

    nu_i(mu, theta, gamma) = mu * s_i * f_0(theta) + gamma_i * sum_k b_ki * f_k(theta)

with ``s`` the signal template for signal strength ``mu = 1`` and ``b_k`` the background
templates (expected counts per bin).  The systematic uncertainties are multiplicative and fully
correlated across bins: systematic ``j`` (standardised nuisance parameter ``theta_j``, constraint
``N(0, 1)``, relative width ``sigma_j``) scales every component it applies to by the
*log-normal* factor

    f_k(theta) = prod_j (1 + sigma_j) ** (theta_j * A_jk),      A_jk in {0, 1},

the exponential interpolation of HistFactory ``normsys`` (K. Cranmer et al., CERN-OPEN-2012-016,
eq. 9 with symmetric kappa) and CMS ``lnN`` (ATL-PHYS-PUB-2011-011 / CMS NOTE-2011/005, sect. 3).
Log-normal was chosen over the additive Gaussian ``1 + sigma * theta`` because it keeps every
expectation positive for any ``theta``; for ``sigma << 1`` the two coincide.

Optionally (``background_sumw2`` given) the finite Monte Carlo statistics of the background
templates are treated with the Barlow-Beeston-lite method (R. Barlow, C. Beeston,
Comput. Phys. Commun. 77 (1993) 219; "lite": one factor ``gamma_i`` per bin scaling the total
background, J. S. Conway, arXiv:1103.0354, sect. 3.3) with a Gaussian constraint
``N(gamma_i | 1, delta_i)``, ``delta_i = sqrt(sum_k sumw2_ki) / sum_k b_ki``.  The ``gamma_i`` are
profiled analytically per bin (root of a quadratic, below), so the minimiser only sees ``mu``
and the ``theta_j``.

The negative log-likelihood (data ``n_i``, global observables ``g_j`` (nominal 0) and ``h_i``
(nominal 1), all constant terms dropped via the saturated model) is

    nll = sum_i [nu_i - n_i - n_i ln(nu_i / n_i)] + sum_j (theta_j - g_j)^2 / 2
          + sum_i (gamma_i - h_i)^2 / (2 delta_i^2),

so ``nll = 0`` for an Asimov data set at its own parameters, and ``2 * nll`` is the Poisson
deviance (Baker & Cousins, NIM 221 (1984) 437) plus the constraint chi^2.  Profile-likelihood
ratios follow arXiv:1007.1727 (Cowan, Cranmer, Gross, Vitells), eq. (7).

The signal strength may be negative down to the value where the nominal expectation of some bin
vanishes; below a tiny expectation the Poisson term is continued by its second-order Taylor
expansion (a steep convex wall), so the minimiser never sees ``log`` of a non-positive number.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from iminuit import Minuit
from numpy.typing import ArrayLike
from scipy.special import xlogy

from gen.jit import kernel

__all__ = [
    "Dataset",
    "FitResult",
    "Systematic",
    "TemplateModel",
    "asimov",
    "fit",
    "profile_likelihood_ratio",
    "standard_systematics",
]

SIGNAL = "signal"
# Below this expectation (events) the Poisson term of a bin with n > 0 is continued by its
# quadratic Taylor expansion (see module docstring).
_NU_FLOOR = 1e-10


# --------------------------------------------------------------------------------------------
# model description
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Systematic:
    """A multiplicative, bin-correlated normalisation uncertainty (log-normal, see module doc).

    ``rel_width`` is the relative 1-sigma uncertainty (kappa = 1 + rel_width); ``applies_to``
    lists the components it scales: ``"signal"`` and/or background names.  A width of 0 fixes
    the nuisance parameter (no effect on the fit).
    """

    name: str
    rel_width: float
    applies_to: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "applies_to", tuple(self.applies_to))
        w = float(self.rel_width)
        if not np.isfinite(w) or w < 0.0:
            raise ValueError(f"systematic {self.name!r}: rel_width must be finite and >= 0")
        object.__setattr__(self, "rel_width", w)
        if not self.applies_to:
            raise ValueError(f"systematic {self.name!r}: applies_to is empty")


def standard_systematics(
    background_names: Sequence[str],
    *,
    lumi: float,
    tracking: float,
    muon_id: float,
    normalisation: float | Mapping[str, float],
    data_driven: Sequence[str] = (),
) -> tuple[Systematic, ...]:
    """The default set of systematics of a b2dark search.

    ``lumi``, ``tracking`` and ``muon_id`` (relative widths; the caller cites their source) scale
    the signal and every Monte Carlo background (i.e. every background not in ``data_driven``,
    whose normalisation comes from data and is therefore not affected by luminosity or
    simulated efficiencies).  ``normalisation`` gives one independent normalisation uncertainty
    per background (``norm_<name>``), as one number for all or a mapping name -> width.
    """
    names = tuple(background_names)
    unknown = set(data_driven) - set(names)
    if unknown:
        raise ValueError(f"data_driven names unknown backgrounds: {sorted(unknown)}")
    mc = (SIGNAL,) + tuple(n for n in names if n not in set(data_driven))
    systs = [
        Systematic("lumi", lumi, mc),
        Systematic("tracking", tracking, mc),
        Systematic("muon_id", muon_id, mc),
    ]
    for n in names:
        if isinstance(normalisation, Mapping):
            if n not in normalisation:
                raise ValueError(f"normalisation: no width given for background {n!r}")
            w = normalisation[n]
        else:
            w = normalisation
        systs.append(Systematic(f"norm_{n}", w, (n,)))
    return tuple(systs)


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class TemplateModel:
    """Signal + background templates of one mass hypothesis and their systematics.

    Parameters
    ----------
    signal : (n_bins,) expected signal counts per bin for ``mu = 1``.
    backgrounds : (n_bkg, n_bins) expected background counts (a 1-D array means one component).
    background_names : one unique name per background row (not ``"signal"``).
    systematics : tuple of :class:`Systematic` (see :func:`standard_systematics`).
    background_sumw2 : optional (n_bkg, n_bins) per-bin sum of squared MC weights of each
        background template; enables the Barlow-Beeston-lite treatment.
    """

    signal: np.ndarray
    backgrounds: np.ndarray
    background_names: tuple[str, ...]
    systematics: tuple[Systematic, ...] = ()
    background_sumw2: np.ndarray | None = None
    # derived (filled in __post_init__)
    _lnk: np.ndarray = field(init=False, repr=False)
    _core: _Core = field(init=False, repr=False)

    def __post_init__(self) -> None:
        s = np.asarray(self.signal, dtype=np.float64)
        b = np.asarray(self.backgrounds, dtype=np.float64)
        if s.ndim != 1 or s.size == 0:
            raise ValueError("signal must be a non-empty 1-D array")
        if b.ndim == 1:
            b = b[None, :]
        if b.ndim != 2 or b.shape[1] != s.size:
            raise ValueError(f"backgrounds must have shape (n_bkg, {s.size}), got {b.shape}")
        for what, a in (("signal", s), ("backgrounds", b)):
            if not np.all(np.isfinite(a)) or np.any(a < 0.0):
                raise ValueError(f"{what} must be finite and >= 0")
        if not np.any(s > 0.0):
            raise ValueError("signal template is zero everywhere")
        names = tuple(self.background_names)
        if len(names) != b.shape[0] or len(set(names)) != len(names) or SIGNAL in names:
            raise ValueError(
                f"background_names must be {b.shape[0]} unique names other than 'signal'"
            )
        systs = tuple(self.systematics)
        if len({x.name for x in systs}) != len(systs):
            raise ValueError("systematic names must be unique")
        comps = (SIGNAL,) + names
        lnk = np.zeros((len(systs), len(comps)))
        for j, x in enumerate(systs):
            if not isinstance(x, Systematic):
                raise TypeError("systematics must be Systematic instances")
            bad = set(x.applies_to) - set(comps)
            if bad:
                raise ValueError(f"systematic {x.name!r} applies to unknown {sorted(bad)}")
            for c in x.applies_to:
                lnk[j, comps.index(c)] = np.log1p(x.rel_width)
        w2 = self.background_sumw2
        if w2 is not None:
            w2 = np.asarray(w2, dtype=np.float64)
            if w2.ndim == 1:
                w2 = w2[None, :]
            if w2.shape != b.shape or not np.all(np.isfinite(w2)) or np.any(w2 < 0.0):
                raise ValueError(f"background_sumw2 must be finite, >= 0, shape {b.shape}")
            w2 = _readonly(w2)
        object.__setattr__(self, "signal", _readonly(s))
        object.__setattr__(self, "backgrounds", _readonly(b))
        object.__setattr__(self, "background_names", names)
        object.__setattr__(self, "systematics", systs)
        object.__setattr__(self, "background_sumw2", w2)
        object.__setattr__(self, "_lnk", _readonly(lnk))
        object.__setattr__(self, "_core", _Core(self))

    # ---- convenience -----------------------------------------------------------------------
    @property
    def n_bins(self) -> int:
        return self.signal.size

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """``("mu", <systematic names>...)``: the order of :attr:`FitResult.values`."""
        return ("mu",) + tuple(x.name for x in self.systematics)

    @property
    def mu_min(self) -> float:
        """Smallest allowed signal strength: the nominal expectation stays >= 0 in every bin."""
        return self._core.mu_min

    def scaled(self, factor: float) -> TemplateModel:
        """The same model for ``factor`` times the luminosity (MC relative errors unchanged)."""
        f = float(factor)
        if not f > 0.0:
            raise ValueError("factor must be > 0")
        w2 = None if self.background_sumw2 is None else self.background_sumw2 * f * f
        return TemplateModel(
            self.signal * f, self.backgrounds * f, self.background_names, self.systematics, w2
        )

    def expected(self, mu: float, theta: ArrayLike | None = None) -> np.ndarray:
        """Expected counts per bin at (mu, theta), Barlow-Beeston factors at 1."""
        return self._core.expected(float(mu), self._theta(theta))

    def nll(self, mu: float, theta: ArrayLike | None, data: ArrayLike | Dataset) -> float:
        """Negative log-likelihood (module docstring), Barlow-Beeston factors profiled."""
        ds = _as_dataset(self, data)
        return self._core.nll(float(mu), self._theta(theta), ds)[0]

    def _theta(self, theta: ArrayLike | None) -> np.ndarray:
        m = len(self.systematics)
        if theta is None:
            return np.zeros(m)
        t = np.asarray(theta, dtype=np.float64).reshape(-1)
        if t.size != m:
            raise ValueError(f"theta must have {m} entries")
        return t


@dataclass(frozen=True, eq=False)
class Dataset:
    """Observed counts plus the global observables of the constraints.

    ``aux_theta`` (nominal 0) are the centres of the N(theta_j | g_j, 1) constraints and
    ``aux_gamma`` (nominal 1) those of the Barlow-Beeston-lite constraints; pseudo-experiments
    randomise them.  Functions taking ``data`` accept a plain count array (nominal globals).
    """

    counts: np.ndarray
    aux_theta: np.ndarray | None = None
    aux_gamma: np.ndarray | None = None


def _as_dataset(model: TemplateModel, data: ArrayLike | Dataset) -> Dataset:
    if isinstance(data, Dataset):
        n, g, h = data.counts, data.aux_theta, data.aux_gamma
    else:
        n, g, h = data, None, None
    n = np.asarray(n, dtype=np.float64).reshape(-1)
    if n.size != model.n_bins:
        raise ValueError(f"data has {n.size} bins, model {model.n_bins}")
    if not np.all(np.isfinite(n)) or np.any(n < 0.0):
        raise ValueError("data counts must be finite and >= 0")
    m = len(model.systematics)
    g = np.zeros(m) if g is None else np.asarray(g, dtype=np.float64).reshape(-1)
    h = np.ones(model.n_bins) if h is None else np.asarray(h, dtype=np.float64).reshape(-1)
    if g.size != m or h.size != model.n_bins:
        raise ValueError("global observables have the wrong length")
    return Dataset(n, g, h)


# --------------------------------------------------------------------------------------------
# numerics
# --------------------------------------------------------------------------------------------
def _poisson_terms(
    n: np.ndarray, nu: np.ndarray, nsat: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """sum_i [nu - n - n ln(nu/n)] over the last axis and d/dnu_i, with the quadratic
    continuation below the floor.  ``nsat`` = xlogy(n, n) - n (precomputed); any leading shape
    (pseudo-experiments) broadcasts.
    """
    pos = n > 0.0
    t = np.where(pos, _NU_FLOOR, 0.0)
    low = nu < t
    nuc = np.where(low, t, nu)
    ratio = np.divide(n, nuc, out=np.zeros_like(nuc), where=pos)
    val = nuc - xlogy(n, nuc) + nsat
    d1 = 1.0 - ratio
    if np.any(low):
        # 2nd-order Taylor continuation (curvature n/t^2; 1/floor^2 for empty bins so that
        # negative expectations are penalised, not rewarded)
        curv = np.where(pos, ratio / np.where(pos, t, 1.0), 1.0 / _NU_FLOOR**2)
        dx = np.where(low, nu - t, 0.0)
        val = val + d1 * dx + 0.5 * curv * dx * dx
        d1 = d1 + curv * dx
    return np.sum(val, axis=-1), d1


def _bb_gamma(
    n: np.ndarray, nus: np.ndarray, nub: np.ndarray, d2: np.ndarray, h: np.ndarray
) -> np.ndarray:
    """Per-bin profiled Barlow-Beeston-lite factor (Conway, arXiv:1103.0354, eq. 15 with aux h).

    Minimises (nus + g*nub) - n ln(nus + g*nub) + (g - h)^2/(2 d2) in g: the stationarity
    condition times (nus + g nub) d2 is the quadratic a g^2 + B g + C = 0 with
    a = nub, B = nub^2 d2 + nus - h nub, C = nub d2 (nus - n) - h nus.  At g = -nus/nub it equals
    -n nub d2 <= 0, so its larger root is the minimum inside nus + g nub > 0 (for n = 0 it may sit
    on nu = 0).  Stable form of the larger root (Numerical Recipes sect. 5.6).
    """
    a = nub
    bq = nub * nub * d2 + nus - h * nub
    c = nub * d2 * (nus - n) - h * nus
    sq = np.sqrt(np.maximum(bq * bq - 4.0 * a * c, 0.0))
    q = -0.5 * (bq + np.copysign(sq, bq))
    with np.errstate(divide="ignore", invalid="ignore"):
        root = np.where(bq >= 0.0, np.where(q != 0.0, c / q, 0.0), q / a)
    return root


@kernel
def _nll_grad_kernel(mu, theta, s, b, lnk, n, nsat, g, h, bb_mask, d2, grad):
    """Compiled :meth:`_Core.nll_grad_reference` (same formulae, bin by bin): the likelihood of
    a 20-bin template fit is evaluated ~10^5 times per search, where NumPy's per-call overhead
    dominated. Fills ``grad`` (1 + n_sys) and returns the nll.
    """
    n_sys, n_comp = lnk.shape
    n_bins = s.size
    f = np.ones(n_comp)
    for k in range(n_comp):
        acc = 0.0
        for j in range(n_sys):
            acc += theta[j] * lnk[j, k]
        f[k] = math.exp(acc)
    val = 0.0
    cons = 0.0
    ws = 0.0  # sum_i w_i s_i
    wnus = 0.0  # sum_i w_i nus_i
    wb = np.zeros(n_comp - 1)  # sum_i w_i gamma_i b_ki f_k
    for i in range(n_bins):
        nus = mu * f[0] * s[i]
        nub = 0.0
        for k in range(n_comp - 1):
            nub += f[k + 1] * b[k, i]
        gam = 1.0
        if bb_mask[i]:
            a = nub
            bq = nub * nub * d2[i] + nus - h[i] * nub
            c = nub * d2[i] * (nus - n[i]) - h[i] * nus
            sq = math.sqrt(max(bq * bq - 4.0 * a * c, 0.0))
            q = -0.5 * (bq + math.copysign(sq, bq))
            gam = (c / q if q != 0.0 else 0.0) if bq >= 0.0 else q / a
            cons += 0.5 * (gam - h[i]) ** 2 / d2[i]
        nu = nus + gam * nub
        # Poisson term with the quadratic continuation below the floor (_poisson_terms)
        pos = n[i] > 0.0
        t = _NU_FLOOR if pos else 0.0
        nuc = t if nu < t else nu
        ratio = n[i] / nuc if pos else 0.0
        v = nuc - (n[i] * math.log(nuc) if pos else 0.0) + nsat[i]
        d1 = 1.0 - ratio
        if nu < t:
            curv = ratio / t if pos else 1.0 / _NU_FLOOR**2
            dx = nu - t
            v += d1 * dx + 0.5 * curv * dx * dx
            d1 += curv * dx
        val += v
        ws += d1 * s[i]
        wnus += d1 * nus
        for k in range(n_comp - 1):
            wb[k] += d1 * gam * f[k + 1] * b[k, i]
    grad[0] = f[0] * ws
    for j in range(n_sys):
        dt = theta[j] - g[j]
        cons += 0.5 * dt * dt
        acc = lnk[j, 0] * wnus + dt
        for k in range(n_comp - 1):
            acc += lnk[j, k + 1] * wb[k]
        grad[1 + j] = acc
    return val + cons


class _Core:
    """Arrays of a model restricted to its active bins, and the nll with its gradient."""

    def __init__(self, model: TemplateModel) -> None:
        s_all = model.signal
        b_all = model.backgrounds
        self.active = (s_all > 0.0) | np.any(b_all > 0.0, axis=0)
        self.s = s_all[self.active]
        self.b = b_all[:, self.active]
        self.lnk = model._lnk  # (n_sys, 1 + n_bkg)
        self.n_sys = self.lnk.shape[0]
        self.free_theta = np.any(self.lnk != 0.0, axis=1)
        btot = self.b.sum(axis=0)
        sig = self.s > 0.0
        # nominal expectation mu*s + b >= 0 in every bin
        self.mu_min = float(-np.min(btot[sig] / self.s[sig]))
        # scale of the signal-strength uncertainty (Fisher information at mu = 0, no systematics)
        self.mu_scale = float(1.0 / np.sqrt(np.sum(self.s**2 / np.maximum(btot, self.s))))
        self.bb = None
        if model.background_sumw2 is not None:
            w2 = model.background_sumw2[:, self.active].sum(axis=0)
            m = (btot > 0.0) & (w2 > 0.0)
            if np.any(m):
                d2 = np.zeros_like(btot)
                d2[m] = w2[m] / btot[m] ** 2
                self.bb = (m, d2)
        self._bb_mask = np.zeros(self.s.size, dtype=np.bool_)
        self._d2 = np.ones(self.s.size)
        if self.bb is not None:
            self._bb_mask[:] = self.bb[0]
            self._d2[self.bb[0]] = self.bb[1][self.bb[0]]

    @property
    def has_free_nuisance(self) -> bool:
        return bool(np.any(self.free_theta)) or self.bb is not None

    def factors(self, theta: np.ndarray) -> np.ndarray:
        if self.n_sys == 0:
            return np.ones(self.lnk.shape[1])
        return np.exp(theta @ self.lnk)

    def expected(self, mu: float, theta: np.ndarray) -> np.ndarray:
        f = self.factors(theta)
        out = np.zeros(self.active.size)
        out[self.active] = mu * f[0] * self.s + f[1:] @ self.b
        return out

    def expected_bb(self, mu: float, theta: np.ndarray, gamma: np.ndarray) -> np.ndarray:
        """Expected counts over all bins with Barlow-Beeston factors ``gamma`` (all bins)."""
        f = self.factors(theta)
        out = np.zeros(self.active.size)
        out[self.active] = mu * f[0] * self.s + gamma[self.active] * (f[1:] @ self.b)
        return out

    def gamma(self, mu: float, theta: np.ndarray, ds: Dataset) -> np.ndarray:
        """Profiled Barlow-Beeston factors over all bins (1 where not applicable)."""
        out = np.ones(self.active.size)
        if self.bb is not None:
            f = self.factors(theta)
            n = ds.counts[self.active]
            g = np.ones(self.s.size)
            m, d2 = self.bb
            nus = mu * f[0] * self.s
            nub = f[1:] @ self.b
            g[m] = _bb_gamma(n[m], nus[m], nub[m], d2[m], ds.aux_gamma[self.active][m])
            out[self.active] = g
        return out

    def prepare(self, ds: Dataset) -> tuple:
        n_all = ds.counts
        if np.any(n_all[~self.active] > 0.0):
            raise ValueError("data has events in bins where the model expects none")
        n = n_all[self.active]
        nsat = xlogy(n, n) - n
        h = ds.aux_gamma[self.active]
        return n, nsat, ds.aux_theta, h

    def nll_grad(
        self, mu: float, theta: np.ndarray, prep: tuple, want_grad: bool = True
    ) -> tuple[float, np.ndarray | None]:
        """nll (module docstring) and its gradient in (mu, theta), compiled."""
        n, nsat, g, h = prep
        grad = np.empty(1 + self.n_sys)
        val = _nll_grad_kernel(
            float(mu), np.asarray(theta, dtype=np.float64), self.s, self.b, self.lnk, n, nsat,
            g, h, self._bb_mask, self._d2, grad,
        )
        return val, (grad if want_grad else None)

    def nll_grad_reference(
        self, mu: float, theta: np.ndarray, prep: tuple, want_grad: bool = True
    ) -> tuple[float, np.ndarray | None]:
        """NumPy evaluation of :meth:`nll_grad` (the reference its kernel is tested against)."""
        n, nsat, g, h = prep
        f = self.factors(theta)
        nus = (mu * f[0]) * self.s
        bcomp = self.b * f[1:, None]
        nub = bcomp.sum(axis=0)
        cons = 0.0
        if self.bb is not None:
            m, d2 = self.bb
            gam = np.ones_like(nub)
            gam[m] = _bb_gamma(n[m], nus[m], nub[m], d2[m], h[m])
            cons += 0.5 * float(np.sum((gam[m] - h[m]) ** 2 / d2[m]))
            nu = nus + gam * nub
        else:
            gam = None
            nu = nus + nub
        val, w = _poisson_terms(n, nu, nsat)
        val = float(val)
        if self.n_sys:
            dt = theta - g
            cons += 0.5 * float(dt @ dt)
        if not want_grad:
            return val + cons, None
        # envelope theorem: the gamma_i are at their conditional minimum
        grad = np.empty(1 + self.n_sys)
        grad[0] = f[0] * float(w @ self.s)
        if self.n_sys:
            wg = w if gam is None else w * gam
            grad[1:] = self.lnk[:, 0] * float(w @ nus) + self.lnk[:, 1:] @ (bcomp @ wg) + dt
        return val + cons, grad

    def nll(self, mu: float, theta: np.ndarray, ds: Dataset) -> tuple[float, np.ndarray | None]:
        return self.nll_grad(mu, theta, self.prepare(ds), want_grad=False)


class _Fitter:
    """Repeated (conditional) minimisations of one model on one data set with iminuit."""

    def __init__(self, model: TemplateModel, data: ArrayLike | Dataset) -> None:
        self.model = model
        self.core = model._core
        self.ds = _as_dataset(model, data)
        self.prep = self.core.prepare(self.ds)
        self.names = model.parameter_names
        self._last_x: np.ndarray | None = None
        self._last_g: np.ndarray | None = None
        # start: nuisances at their global observables
        self.start = np.concatenate([[0.0], self.ds.aux_theta])
        n = self.prep[0]
        mu0 = (n.sum() - self.core.b.sum()) / self.core.s.sum()
        self.start[0] = max(mu0, self._mu_start_floor())

    def _mu_start_floor(self) -> float:
        # never start on (or next to) the lower bound: Minuit's bound transform is flat there
        return self.core.mu_min + 0.1 * self.core.mu_scale

    def _fcn(self, x: np.ndarray) -> float:
        v, g = self.core.nll_grad(x[0], x[1:], self.prep)
        self._last_x = np.array(x, copy=True)
        self._last_g = g
        return v

    def _grad(self, x: np.ndarray) -> np.ndarray:
        if self._last_x is None or not np.array_equal(x, self._last_x):
            self._fcn(x)
        return self._last_g

    def value(self, x: np.ndarray) -> float:
        return self.core.nll_grad(x[0], x[1:], self.prep, want_grad=False)[0]

    def minimize(
        self,
        mu: float | None = None,
        *,
        strategy: int = 1,
        hesse: bool = False,
        start: np.ndarray | None = None,
        tol: float = 0.01,
    ) -> tuple[np.ndarray, float, bool, Minuit | None]:
        """Minimise with mu free (None) or fixed. Returns (x, nll, valid, minuit-or-None)."""
        x0 = np.array(self.start if start is None else start, dtype=np.float64, copy=True)
        fixed = np.zeros(x0.size, dtype=bool)
        fixed[1:] = ~self.core.free_theta
        x0[1:][~self.core.free_theta] = self.ds.aux_theta[~self.core.free_theta]
        if mu is not None:
            x0[0] = mu
            fixed[0] = True
        else:
            x0[0] = max(x0[0], self._mu_start_floor())
        if np.all(fixed):
            return x0, self.value(x0), True, None
        m = Minuit(self._fcn, x0, grad=self._grad, name=self.names)
        m.errordef = Minuit.LIKELIHOOD
        m.strategy = strategy
        m.tol = tol
        m.print_level = 0
        m.limits["mu"] = (self.core.mu_min, None)
        m.errors["mu"] = self.core.mu_scale
        for i, fx in enumerate(fixed):
            m.fixed[i] = bool(fx)
        m.migrad()
        if not m.valid:
            m.migrad()  # second call restarts from the current point (iminuit recommendation)
        if hesse:
            m.hesse()
        x = np.array(m.values, dtype=np.float64)
        return x, float(m.fval), bool(m.valid), m


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class FitResult:
    """Best-fit point of :func:`fit` (errors from HESSE; 0 for fixed parameters)."""

    names: tuple[str, ...]
    x: np.ndarray
    err: np.ndarray
    nll: float
    valid: bool
    mu_fixed: bool
    covariance: np.ndarray | None = None

    @property
    def mu(self) -> float:
        return float(self.x[0])

    @property
    def mu_err(self) -> float:
        return float(self.err[0])

    @property
    def theta(self) -> np.ndarray:
        return self.x[1:]

    @property
    def theta_err(self) -> np.ndarray:
        return self.err[1:]

    @property
    def values(self) -> dict[str, float]:
        return {k: float(v) for k, v in zip(self.names, self.x, strict=True)}

    @property
    def errors(self) -> dict[str, float]:
        return {k: float(v) for k, v in zip(self.names, self.err, strict=True)}


def fit(
    model: TemplateModel,
    data: ArrayLike | Dataset,
    mu: float | None = None,
    *,
    hesse: bool = True,
) -> FitResult:
    """Maximum-likelihood fit with iminuit (MIGRAD, then HESSE).

    ``mu=None``: signal strength free in ``[model.mu_min, inf)``; a number fixes it.  Nuisance
    parameters with zero width stay fixed at their global observable.  The Barlow-Beeston
    factors (if any) are profiled analytically and not reported.
    """
    if mu is not None and mu < model.mu_min:
        raise ValueError(f"mu = {mu} below the allowed minimum {model.mu_min}")
    f = _Fitter(model, data)
    x, fval, valid, m = f.minimize(mu, strategy=1, hesse=hesse)
    if m is None:
        err = np.zeros_like(x)
        cov = None
    else:
        err = np.array(m.errors, dtype=np.float64)
        err[np.array(m.fixed, dtype=bool)] = 0.0
        cov = None if m.covariance is None else np.array(m.covariance, dtype=np.float64)
    return FitResult(f.names, x, err, fval, valid, mu is not None, cov)


def asimov(model: TemplateModel, mu: float) -> np.ndarray:
    """Asimov data set (arXiv:1007.1727 sect. 3.2): expected counts at ``mu``, nominal nuisances.

    Fitting it (with nominal global observables) returns ``mu`` and ``theta = 0`` exactly.
    """
    return model.expected(mu)


def profile_likelihood_ratio(model: TemplateModel, data: ArrayLike | Dataset, mu: float) -> float:
    """t_mu = -2 ln lambda(mu) (arXiv:1007.1727 eqs. 7-8) with mu_hat free in [mu_min, inf)."""
    f = _Fitter(model, data)
    _, nll_free, _, _ = f.minimize(None, strategy=1)
    _, nll_mu, _, _ = f.minimize(float(mu), strategy=1)
    return max(2.0 * (nll_mu - nll_free), 0.0)
