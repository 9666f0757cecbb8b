"""Tests of gen.decays.semileptonic: form-factor rates of B -> D(*) l nu against independent
references (covariant trace, closed forms, scipy quad, SM predictions of R(D(*)))."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.integrate import quad

from gen.constants import M_E, M_MU, M_TAU, mass_gev
from gen.decays import semileptonic as sl

M_B0, M_DP, M_DSTP = mass_gev(511), mass_gev(411), mass_gev(413)
#: DECAY_BELLE2.DEC parameters (B0 block): BGL D* (arXiv:2008.09341), BGL D (arXiv:1510.03657),
#: HQET3 (CLN) D* and D of the tau modes
BGL_V = np.array([0.02596, -0.06049, 0.01311, 0.01713, 0.00753, -0.09346])
BGL_P = np.array([0.0126, -0.094, 0.34, -0.1, 0.0115, -0.057, 0.12, 0.4])
CLN_V = np.array([0.912, 1.205, 1.15, 1.404, 0.854])
CLN_P = np.array([1.0541, 1.128, 1.0])
CASES = [
    (sl.KIND_BGL_V, BGL_V, M_DSTP), (sl.KIND_BGL_P, BGL_P, M_DP),
    (sl.KIND_CLN_V, CLN_V, M_DSTP), (sl.KIND_CLN_P, CLN_P, M_DP),
]


def _par(p):
    out = np.zeros(sl.NPAR)
    out[: len(p)] = p
    return out


def _total(kind, par, m_d, m_l):
    lo, hi = m_l * m_l, (M_B0 - m_d) ** 2
    return quad(lambda q: sl.dgamma_dq21(kind, _par(par), M_B0, m_d, m_l, q), lo, hi,
                limit=200, epsrel=1e-10)[0]


@pytest.mark.parametrize(("kind", "par", "m_d"), CASES)
@pytest.mark.parametrize("m_l", [M_MU, M_TAU])
def test_cos_integral_equals_closed_form(kind, par, m_d, m_l):
    """quad over cos theta_l of d2gamma1 = the closed-form dgamma_dq21 (coefficients 8/3, 4/3)."""
    for q2 in np.linspace(m_l**2 + 0.05, (M_B0 - m_d) ** 2 - 0.05, 7):
        num = quad(lambda c, q=q2: sl.d2gamma1(kind, _par(par), M_B0, m_d, m_l, q, c), -1, 1)[0]
        assert num == pytest.approx(sl.dgamma_dq21(kind, _par(par), M_B0, m_d, m_l, q2),
                                    rel=1e-10, abs=0.0)


@pytest.mark.parametrize("m_l", [M_MU, M_TAU])
def test_scalar_rate_equals_covariant_trace(m_l):
    """P -> P: |M|^2 = 2 (H.p_l)(H.p_nu) - H^2 (p_l.p_nu) (the lepton trace for real H^mu)
    built from 4-vectors, against the helicity formula: fixes theta_l and the H0-Ht sign."""
    par = _par(BGL_P)
    ratios = []
    for q2 in (1.0 + m_l**2, 4.0, 8.0):
        fp, f0 = sl.ff_scalar1(sl.KIND_BGL_P, par, M_B0, M_DP, q2)
        p = sl._p_had(M_B0, M_DP, q2)
        pb = np.array([M_B0, 0, 0, 0])
        pd = np.array([math.hypot(p, M_DP), 0, 0, -p])
        q = pb - pd
        h = fp * (pb + pd) + (f0 - fp) * (M_B0**2 - M_DP**2) / q2 * q
        beta, gam = q[3] / q[0], q[0] / math.sqrt(q2)
        ps = (q2 - m_l**2) / (2 * math.sqrt(q2))
        for c in (-0.8, -0.1, 0.4, 0.9):
            s = math.sqrt(1 - c * c)
            moms = []
            for sign, m in ((1, m_l), (-1, 0.0)):  # lepton along theta, neutrino opposite
                e, pz = math.hypot(ps, m), sign * ps * c
                moms.append(np.array([gam * (e + beta * pz), sign * ps * s, 0.0,
                                      gam * (pz + beta * e)]))

            def dot(a, b):
                return a[0] * b[0] - a[1:] @ b[1:]

            pl, pn = moms
            m2 = 2 * dot(h, pl) * dot(h, pn) - dot(h, h) * dot(pl, pn)
            ratios.append(m2 / sl.semileptonic_weight1(sl.KIND_BGL_P, par, M_B0, M_DP, m_l,
                                                       q2, c))
    # the weight is |M|^2 up to one constant (1/4 with this trace normalisation)
    np.testing.assert_allclose(ratios, 0.25, rtol=1e-9)


def test_massless_limit():
    """m_l -> 0: Ht drops out (f0 parameters irrelevant) and dGamma/dq2 = G_F^2 p^3 f+^2 /
    (24 pi^3) (PDG RPP "Semileptonic b-hadron decays", B -> D l nu)."""
    par = _par(BGL_P)
    other = par.copy()
    other[4:] = [0.03, 0.2, -0.5, 1.0]  # different f0
    for q2 in (0.5, 3.0, 9.0):
        for c in (-0.5, 0.3):
            assert sl.d2gamma1(1, par, M_B0, M_DP, 0.0, q2, c) == pytest.approx(
                sl.d2gamma1(1, other, M_B0, M_DP, 0.0, q2, c), rel=1e-13, abs=0.0)
        fp, _ = sl.ff_scalar1(1, par, M_B0, M_DP, q2)
        p = sl._p_had(M_B0, M_DP, q2)
        ref = sl.G_F**2 * p**3 * fp**2 / (24 * math.pi**3)
        assert sl.dgamma_dq21(1, par, M_B0, M_DP, 0.0, q2) == pytest.approx(ref, rel=1e-12, abs=0.0)
    # vector: Ht (A0) enters only through m_l^2: CLN with R0 changed, massless lepton
    v, v2 = _par(CLN_V), _par(CLN_V)
    v2[2] = 3.0
    a, b = (sl.d2gamma1(4, x, M_B0, M_DSTP, 0.0, 5.0, 0.2) for x in (v, v2))
    assert a == pytest.approx(b, rel=1e-13, abs=0.0)
    a, b = (sl.d2gamma1(4, x, M_B0, M_DSTP, M_TAU, 5.0, 0.2) for x in (v, v2))
    assert abs(a - b) > 0.1 * a  # with the tau mass, A0 matters


@pytest.mark.parametrize(("kind", "par"), [(sl.KIND_BGL_V, BGL_V), (sl.KIND_CLN_V, CLN_V)])
def test_zero_recoil(kind, par):
    """w -> 1: H+ = H- = H0 = 2 sqrt(M m) h_A1(1) and dGamma/dw / sqrt(w^2 - 1) ->
    G_F^2 M^5 r^3 (1 - r)^2 x 12 h_A1(1)^2 / (48 pi^3) (massless lepton; Neubert Phys. Rept.
    245 (1994) 259, eq. 5.2 at w = 1). h_A1(1): CLN parameter / BGL f(1) / (2 sqrt(M m))."""
    p = _par(par)
    w = 1.0 + 1e-7
    q2 = M_B0**2 + M_DSTP**2 - 2 * w * M_B0 * M_DSTP
    hp, hm, h0, ht = sl.helicity1(kind, p, M_B0, M_DSTP, q2)
    a1 = sl.ff_vector1(kind, p, M_B0, M_DSTP, q2)[0]
    ha1 = a1 * (M_B0 + M_DSTP) / (2 * math.sqrt(M_B0 * M_DSTP))  # A1 = (w+1)/2 r* h_A1
    if kind == sl.KIND_CLN_V:
        assert ha1 == pytest.approx(par[0], rel=1e-6)
    np.testing.assert_allclose([hp, hm, h0], 2 * math.sqrt(M_B0 * M_DSTP) * ha1, rtol=1e-3)
    r = M_DSTP / M_B0
    dgdw = sl.dgamma_dq21(kind, p, M_B0, M_DSTP, 0.0, q2) * 2 * M_B0 * M_DSTP
    ref = sl.G_F**2 * M_B0**5 * r**3 * (1 - r) ** 2 * 12 * ha1**2 / (48 * math.pi**3)
    assert dgdw / math.sqrt(w * w - 1) == pytest.approx(ref, rel=1e-4, abs=0.0)


def test_vector_spectrum_massless_cln_form():
    """m_l = 0, P -> V over the whole w range: dGamma/dw = G_F^2 M^5 / (48 pi^3) r^3
    sqrt(w^2 - 1) (w + 1)^2 h_A1(w)^2 {2 (1 - 2 w r + r^2) [1 + R1^2 (w - 1)/(w + 1)]
    + [(1 - r) + (w - 1)(1 - R2)]^2} (Caprini, Lellouch, Neubert hep-ph/9712417 eqs. 34-36,
    written out independently here with the CLN h_A1, R1, R2)."""
    a, rho2, _, r1_1, r2_1 = CLN_V
    r = M_DSTP / M_B0
    for w in np.linspace(1.01, (1 + r * r) / (2 * r) - 1e-4, 9):
        z = (math.sqrt(w + 1) - math.sqrt(2)) / (math.sqrt(w + 1) + math.sqrt(2))
        ha1 = a * (1 - 8 * rho2 * z + (53 * rho2 - 15) * z**2 - (231 * rho2 - 91) * z**3)
        r1 = r1_1 - 0.12 * (w - 1) + 0.05 * (w - 1) ** 2
        r2 = r2_1 + 0.11 * (w - 1) - 0.06 * (w - 1) ** 2
        ref = (sl.G_F**2 * M_B0**5 / (48 * math.pi**3) * r**3 * math.sqrt(w * w - 1)
               * (w + 1) ** 2 * ha1**2 * (2 * (1 - 2 * w * r + r * r)
               * (1 + r1**2 * (w - 1) / (w + 1)) + ((1 - r) + (w - 1) * (1 - r2)) ** 2))
        q2 = M_B0**2 + M_DSTP**2 - 2 * w * M_B0 * M_DSTP
        got = sl.dgamma_dq21(sl.KIND_CLN_V, _par(CLN_V), M_B0, M_DSTP, 0.0, q2) * 2 * M_B0 * M_DSTP
        assert got == pytest.approx(ref, rel=1e-10, abs=0.0)


def test_bgl_dstar_h_a1_matches_lattice():
    """h_A1(1) of the DEC BGL coefficients vs FNAL/MILC lattice 0.906 +- 0.013 (arXiv:1403.0635;
    the fit of arXiv:2008.09341 uses it): within 2 sigma."""
    q2 = (M_B0 - M_DSTP) ** 2 - 1e-9
    a1 = sl.ff_vector1(sl.KIND_BGL_V, _par(BGL_V), M_B0, M_DSTP, q2)[0]
    ha1 = a1 * (M_B0 + M_DSTP) / (2 * math.sqrt(M_B0 * M_DSTP))
    assert abs(ha1 - 0.906) < 2 * 0.013


@pytest.mark.parametrize(("kind", "par"), [(sl.KIND_BGL_P, BGL_P), (sl.KIND_CLN_P, CLN_P)])
def test_scalar_form_factors_agree_at_q2_zero(kind, par):
    """f+(0) = f0(0) (kinematic constraint; arXiv:1510.03657 imposes it in the fit): 2 %."""
    fp, f0 = sl.ff_scalar1(kind, _par(par), M_B0, M_DP, 1e-9)
    assert fp == pytest.approx(f0, rel=0.02)


@pytest.mark.parametrize(("kind", "par", "m_d", "ref", "tol"), [
    # HFLAV SM averages (arXiv:2206.07501, 2023 update): R(D*) = 0.254 +- 0.005,
    # R(D) = 0.298 +- 0.004; tolerance 3 sigma of the SM average
    (sl.KIND_CLN_V, CLN_V, M_DSTP, 0.254, 0.015),
    (sl.KIND_CLN_P, CLN_P, M_DP, 0.298, 0.012),
    (sl.KIND_BGL_P, BGL_P, M_DP, 0.298, 0.012),
])
def test_r_d_ratio(kind, par, m_d, ref, tol):
    """R(D(*)) = Gamma(tau) / Gamma(mu) from the DEC form factors (BGL D* has no A0: not
    usable for taus, the DEC file uses HQET3 there)."""
    r = _total(kind, par, m_d, M_TAU) / _total(kind, par, m_d, M_MU)
    assert abs(r - ref) < tol, r


def test_sampled_total_equals_quad():
    """Box Monte Carlo estimate of Gamma/|V|^2 (all trials) vs quad of dgamma_dq21; 4 sigma."""
    rng = np.random.default_rng(20261129)
    for kind, par, m_d, m_l in ((sl.KIND_BGL_V, BGL_V, M_DSTP, M_MU),
                                (sl.KIND_CLN_P, CLN_P, M_DP, M_TAU)):
        _, _, g, err, over = sl.sample_q2_cos(rng, kind, par, M_B0, m_d, m_l, 20000)
        assert over == 0
        assert abs(g - _total(kind, par, m_d, m_l)) < 4 * err, (g, err)


def _q2_cos_rest(mom, roles):
    """(q2, cos theta_l, E_l) from (n, 3, 4) momenta at rest (independent numpy boost)."""
    lep, nu, had = mom[:, roles[1]], mom[:, roles[2]], mom[:, roles[0]]
    q = lep + nu
    q2 = q[:, 3] ** 2 - np.sum(q[:, :3] ** 2, axis=1)
    qn = np.linalg.norm(q[:, :3], axis=1)
    u = q[:, :3] / qn[:, None]
    beta, gam = qn / q[:, 3], q[:, 3] / np.sqrt(q2)
    par_ = np.sum(lep[:, :3] * u, axis=1)
    pz = gam * (par_ - beta * lep[:, 3])
    perp2 = np.sum(lep[:, :3] ** 2, axis=1) - par_**2
    # hadron opposite to q at rest: the angle is measured from the W direction
    assert np.allclose(np.sum(had[:, :3] * u, axis=1), -qn, rtol=1e-9, atol=1e-9)
    return q2, pz / np.sqrt(perp2 + pz**2), lep[:, 3]


@pytest.mark.parametrize(("kind", "par", "m_d", "m_l"), [
    (sl.KIND_BGL_V, BGL_V, M_DSTP, M_MU), (sl.KIND_CLN_V, CLN_V, M_DSTP, M_TAU),
    (sl.KIND_BGL_P, BGL_P, M_DP, M_E),
])
def test_phase_space_route_distributions(kind, par, m_d, m_l):
    """GENBOD three-body + accept_rows1 (the generic decayer's route): q2 and cos theta_l
    histograms vs the analytic projections (quad), chi^2 p-value > 1e-3, 20000 events, seed
    fixed; no trial above the bound."""
    rng = np.random.default_rng(7)
    n = 20000
    mom, over, _ = sl.decay_at_rest(rng, kind, par, M_B0, (m_d, m_l, 0.0), (0, 1, 2), n)
    assert over == 0
    # four-momentum conservation
    np.testing.assert_allclose(mom.sum(axis=1), [[0, 0, 0, M_B0]] * n, atol=1e-9)
    q2, c, _ = _q2_cos_rest(mom, (0, 1, 2))
    p = _par(par)
    lo, hi = m_l**2, (M_B0 - m_d) ** 2
    total = _total(kind, par, m_d, m_l)
    edges = np.linspace(lo, hi, 21)
    expect = np.array([quad(lambda x: sl.dgamma_dq21(kind, p, M_B0, m_d, m_l, x), a, b)[0]
                       for a, b in zip(edges[:-1], edges[1:], strict=True)]) / total * n
    obs = np.histogram(q2, edges)[0]
    assert stats.chisquare(obs, expect * obs.sum() / expect.sum()).pvalue > 1e-3
    cedges = np.linspace(-1, 1, 11)

    def cos_marginal(cc):
        return quad(lambda x: sl.d2gamma1(kind, p, M_B0, m_d, m_l, x, cc), lo, hi,
                    limit=200)[0]

    expect_c = np.array([quad(cos_marginal, a, b, epsrel=1e-6)[0]
                         for a, b in zip(cedges[:-1], cedges[1:], strict=True)])
    obs_c = np.histogram(c, cedges)[0]
    assert stats.chisquare(obs_c, expect_c / expect_c.sum() * n).pvalue > 1e-3


def test_lepton_spectrum_harder_than_phase_space_is_fixed():
    """V - A: for B -> D* mu nu the charged lepton is harder than the neutrino (H- dominates,
    lepton along the W); flat phase space gives them equal mean energies (massless limit)."""
    rng = np.random.default_rng(3)
    mom, _, _ = sl.decay_at_rest(rng, sl.KIND_BGL_V, BGL_V, M_B0, (M_DSTP, M_MU, 0.0), (0, 1, 2),
                              20000)
    e_l, e_nu = mom[:, 1, 3], mom[:, 2, 3]
    diff = e_l - e_nu
    assert diff.mean() > 5 * diff.std() / math.sqrt(diff.size)


def _f_long(kind, par, m_l):
    """F_L = Gamma(lambda_V = 0) / Gamma from the helicity amplitudes: after the cos theta_l
    integration the longitudinal part is H0^2 (1 + m^2/2q2) + 3 m^2/(2 q2) Ht^2."""
    p = _par(par)

    def parts(q2):
        hp, hm, h0, ht = sl.helicity1(kind, p, M_B0, M_DSTP, q2)
        x = m_l * m_l / q2
        tot = (hp * hp + hm * hm + h0 * h0) * (1 + 0.5 * x) + 1.5 * x * ht * ht
        k = sl.dgamma_dq21(kind, p, M_B0, M_DSTP, m_l, q2) / tot
        return k * (h0 * h0 * (1 + 0.5 * x) + 1.5 * x * ht * ht), k * tot

    lo, hi = m_l * m_l, (M_B0 - M_DSTP) ** 2
    lon = quad(lambda q: parts(q)[0], lo, hi, limit=200)[0]
    return lon / quad(lambda q: parts(q)[1], lo, hi, limit=200)[0]


@pytest.mark.parametrize(("kind", "par", "m_l"), [(sl.KIND_BGL_V, BGL_V, M_MU),
                                                  (sl.KIND_CLN_V, CLN_V, M_TAU)])
def test_vector_helicity_draw(kind, par, m_l):
    """Share of helicity-0 D* from accept_rows1 = F_L (quad), 4 binomial sigma, 20000 events."""
    n = 20000
    _, _, hel = sl.decay_at_rest(np.random.default_rng(13), kind, par, M_B0, (M_DSTP, m_l, 0.0),
                                 (0, 1, 2), n)
    f = _f_long(kind, par, m_l)
    assert abs(np.mean(hel == sl.HEL_LONG) - f) < 4 * math.sqrt(f * (1 - f) / n)


def test_f_long_tau_sm():
    """F_L(D* tau nu) with the DEC HQET3 parameters vs the SM prediction 0.46 +- 0.04
    (Alok et al. arXiv:1606.03164), within that 1 sigma."""
    assert abs(_f_long(sl.KIND_CLN_V, CLN_V, M_TAU) - 0.46) < 0.04


def test_table_entry_and_errors():
    kind, par, roles = sl.table_entry("BGL", list(BGL_V), (-413, -11, 12), 2)
    assert kind == sl.KIND_BGL_V
    assert roles == (0, 1, 2)
    np.testing.assert_array_equal(par, np.r_[BGL_V, 0.0, 0.0])
    assert sl.table_entry("HQET3", list(CLN_P), (15, -16, 411), 0)[0] == sl.KIND_CLN_P
    assert sl.table_entry("HQET3", list(CLN_P), (15, -16, 411), 0)[2] == (2, 0, 1)
    assert sl.table_entry("ISGW2", [], (-411, -11, 12), 0)[0] == sl.KIND_NONE
    assert sl.table_entry("BGL", list(BGL_V), (-413, 211, 111), 2)[0] == sl.KIND_NONE
    with pytest.raises(ValueError, match="spin 1"):
        sl.table_entry("BGL", list(BGL_V), (-411, -11, 12), 0)


def test_dec_file_lines_are_handled():
    """Every BGL / HQET3 / LLSW three-body line of the B0 and B+ blocks maps to a kind."""
    from gen.decays.generic import _pdg_of, _props, dec_block, register_extra_particles

    register_extra_particles()  # D'_1+ (20413)
    seen = set()
    for name in ("B0", "B+", "anti-B0", "B-"):
        for row in dec_block(name):
            if row["model"] not in ("BGL", "HQET3", "LLSW"):
                continue
            ids = tuple(_pdg_of(f) for f in row["fs"])
            had = next(i for i in ids if abs(i) > 100)
            kind, _, _ = sl.table_entry(row["model"], row["model_params"], ids,
                                        _props(had)[3])
            assert kind != sl.KIND_NONE, row
            seen.add(kind)
    assert seen == {sl.KIND_BGL_P, sl.KIND_BGL_V, sl.KIND_CLN_P, sl.KIND_CLN_V,
                    sl.KIND_LLSW_S, sl.KIND_LLSW_A12, sl.KIND_LLSW_A32, sl.KIND_LLSW_T}


def test_generic_decayer_uses_form_factors():
    """B0 at rest decayed by gen.decays.generic (only B0 and D*- unstable): the muon energy of
    B0 -> D*- mu+ nu follows the form-factor model (KS vs decay_at_rest, p > 1e-3) and the
    D*- -> anti-D0 pi- helicity angle the drawn helicities: <cos^2> = 1/5 + 2/5 F_L (4 sigma)."""
    from gen.decays import generic
    from gen.events import EventChunk

    n = 40000
    z = np.zeros(n)
    parts = {"pdg": np.full(n, 511, np.int32), "status": np.ones(n, np.int8),
             "mother": np.full(n, -1, np.int32), "px": z, "py": z, "pz": z,
             "e": np.full(n, M_B0), "vx": z, "vy": z, "vz": z, "t": z}
    chunk = EventChunk(weight=np.ones(n), offset=np.arange(n + 1, dtype=np.int64),
                       particles=parts, truth={})
    # only the B0 and the D*- decay: every other species of the tables is stable
    stable = frozenset(int(abs(x)) for x in generic.decay_tables().sp_pdg) - {511, 413}
    out = generic.decay_unstable(chunk, np.random.default_rng(11), stable=stable)
    P = out.particles
    off = out.offset
    ev = np.repeat(np.arange(n), np.diff(off))
    from_b = P["mother"] == 0
    n_b = np.bincount(ev[from_b], minlength=n)
    dst = np.zeros(n, np.int64) - 1
    dst[ev[from_b & (P["pdg"] == -413)]] = np.flatnonzero(from_b & (P["pdg"] == -413))
    sel = from_b & (P["pdg"] == -13) & (n_b[ev] == 3) & (dst[ev] >= 0)
    assert sel.sum() > 500
    ref, _, _ = sl.decay_at_rest(np.random.default_rng(5), sl.KIND_BGL_V, BGL_V, M_B0,
                                 (M_DSTP, M_MU, 0.0), (0, 1, 2), 20000)
    assert stats.ks_2samp(P["e"][sel], ref[:, 1, 3]).pvalue > 1e-3
    # helicity angle of anti-D0 in D*- -> anti-D0 pi- (D* frame, axis = D* flight direction)
    d0 = np.flatnonzero((P["pdg"] == -421) & (P["mother"] >= 0))
    d0 = d0[np.isin(ev[d0], ev[sel])]
    d0 = d0[P["pdg"][off[ev[d0]] + P["mother"][d0]] == -413]
    ds = dst[ev[d0]]
    pd = np.stack([P[k][d0] for k in ("px", "py", "pz", "e")], axis=1)
    pv = np.stack([P[k][ds] for k in ("px", "py", "pz", "e")], axis=1)
    b = pv[:, :3] / pv[:, 3:4]
    u = b / np.linalg.norm(b, axis=1)[:, None]
    bb = np.linalg.norm(b, axis=1)
    g = 1 / np.sqrt(1 - bb**2)
    p_par = np.sum(pd[:, :3] * u, axis=1)
    pz = g * (p_par - bb * pd[:, 3])
    perp2 = np.sum(pd[:, :3] ** 2, axis=1) - p_par**2
    c2 = pz**2 / (pz**2 + perp2)
    f = _f_long(sl.KIND_BGL_V, BGL_V, M_MU)
    assert c2.size > 300
    assert abs(c2.mean() - (0.2 + 0.4 * f)) < 4 * c2.std() / math.sqrt(c2.size)
