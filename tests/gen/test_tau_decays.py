"""Tests of gen.decays.tau: mode table, matrix elements, conservation, masses, flight."""

from __future__ import annotations

import math

import numpy as np
import pytest
from particle import Particle
from scipy import integrate, stats

from gen.constants import C_CM_PER_NS, M_E, M_K, M_MU, M_PI, M_PI0, M_TAU
from gen.decays import tau
from gen.events import DECAYED, FINAL

N_MODES = len(tau.tau_modes())
CTAU_CM = Particle.from_pdgid(15).lifetime * C_CM_PER_NS


def _mask(*names_or_indices) -> np.ndarray:
    m = np.zeros(N_MODES, bool)
    for x in names_or_indices:
        m[x] = True
    return m


def _mode_index(name: str) -> int:
    return next(m.index for m in tau.tau_modes() if m.name == name)


def _random_taus(rng, n, p_max=5.0, charge=None):
    """Taus with isotropic directions and |p| uniform in [0, p_max]."""
    p = p_max * rng.random(n)
    c = 2 * rng.random(n) - 1
    phi = 2 * np.pi * rng.random(n)
    s = np.sqrt(1 - c * c)
    px, py, pz = p * s * np.cos(phi), p * s * np.sin(phi), p * c
    e = np.sqrt(p * p + M_TAU**2)
    q = np.where(rng.random(n) < 0.5, -1.0, 1.0) if charge is None else np.full(n, charge)
    return px, py, pz, e, q


def _p4(chunk, rows):
    P = chunk.particles
    return np.stack([P["px"][rows], P["py"][rows], P["pz"][rows], P["e"][rows]], axis=1)


def _boost(p4, b):
    """Boost rows of (px, py, pz, e) by velocities b (n, 3) (Jackson eq. 11.19)."""
    b2 = (b * b).sum(1)
    g = 1 / np.sqrt(1 - b2)
    bp = (b * p4[:, :3]).sum(1)
    g2 = np.where(b2 > 0, (g - 1) / np.where(b2 > 0, b2, 1), 0.0)
    f = g2 * bp + g * p4[:, 3]
    return np.column_stack([p4[:, :3] + f[:, None] * b, g * (p4[:, 3] + bp)])


def _to_tau_frame(chunk, rows):
    """Four-momenta of ``rows`` in the rest frame of the tau of their entry (row 0 of each)."""
    tau_rows = chunk.offset[:-1]
    ev = np.searchsorted(chunk.offset, rows, side="right") - 1
    t4 = _p4(chunk, tau_rows[ev])
    return _boost(_p4(chunk, rows), -t4[:, :3] / t4[:, 3:4])


def _first_row_with(chunk, pdg_abs):
    """Row of the first particle with |pdg| = pdg_abs in each entry (all entries must have it)."""
    P = chunk.particles
    rows = []
    for k in range(chunk.n_events):
        lo, hi = chunk.offset[k], chunk.offset[k + 1]
        rows.append(lo + int(np.flatnonzero(np.abs(P["pdg"][lo:hi]) == pdg_abs)[0]))
    return np.array(rows)


def test_mode_table_matches_dec_file():
    modes = tau.tau_modes()
    lines = tau.dec_file_path().read_text(encoding="utf-8").splitlines()
    assert abs(sum(m.bf for m in modes) - 1.0) < 1e-12
    by_line: dict[int, float] = {}
    for m in modes:
        by_line[m.line] = by_line.get(m.line, 0.0) + m.bf_dec
    for line, bf in by_line.items():
        assert float(lines[line - 1].split()[0]) == pytest.approx(bf, rel=1e-12), line
    # the whole "Decay tau-" block is covered, each line once
    start = lines.index("Decay tau-")
    end = start + lines[start:].index("Enddecay")
    mode_lines = [i + 1 for i in range(start + 1, end) if lines[i].strip()]
    assert sorted(by_line) == mode_lines
    # the main modes have the PDG-2020-like values of the DEC file
    assert modes[_mode_index("tau- -> mu- anti-nu_mu nu_tau")].bf_dec == 0.173937
    assert modes[_mode_index("tau- -> pi- nu_tau")].bf_dec == 0.108164


def test_mode_table_text_and_one_prong_fraction():
    text = tau.format_mode_table()
    assert len(text.splitlines()) == N_MODES + 1
    mask = tau.one_prong_mask()
    modes = tau.tau_modes()
    assert all(m.prongs_min == 1 for m, k in zip(modes, mask, strict=True) if k)
    # e, mu, pi, rho, a1 (pi- 2pi0) are one-prong, 3pi is not
    for name in ("tau- -> e- anti-nu_e nu_tau", "tau- -> mu- anti-nu_mu nu_tau",
                 "tau- -> pi- nu_tau"):
        assert mask[_mode_index(name)]
    assert not mask[_mode_index("tau- -> pi- pi- pi+ nu_tau (via a_1-)")]
    _, b1 = tau.tau_tables(mask)
    assert b1 == pytest.approx(sum(m.bf for m in modes if m.prongs_min == 1), rel=1e-12)
    # PDG topological one-prong B = 85.2 %; ours also counts modes one-prong only through
    # K_S0 -> pi0 pi0 / omega -> pi0 gamma / eta -> gamma gamma: between 0.85 and 0.90
    assert 0.85 < b1 < 0.90


@pytest.mark.parametrize(("name", "m_l"), [("tau- -> mu- anti-nu_mu nu_tau", M_MU),
                                           ("tau- -> e- anti-nu_e nu_tau", M_E)])
def test_michel_spectrum(name, m_l):
    """Lepton energy in the tau rest frame vs the Michel spectrum with the mass term (KS test).

    PDG RPP 2024 "Muon decay parameters", eq. 1 with rho = 3/4, eta = 0, unpolarised:
    dGamma/dx ~ sqrt(x^2 - x0^2) (3x - 2x^2 - x0^2), x = E/W, W = (M^2 + m^2)/(2M), x0 = m/W.
    """
    rng = np.random.default_rng(11)
    n = 20_000
    px, py, pz, e, q = _random_taus(rng, n)
    chunk = tau.decay_taus(rng, px, py, pz, e, q, mode_mask=_mask(_mode_index(name)))
    rows = _first_row_with(chunk, 13 if m_l == M_MU else 11)
    energy = _to_tau_frame(chunk, rows)[:, 3]
    w_end = (M_TAU**2 + m_l**2) / (2 * M_TAU)
    x0 = m_l / w_end

    def pdf(x):
        return math.sqrt(max(x * x - x0 * x0, 0.0)) * (3 * x - 2 * x * x - x0 * x0)

    grid = np.linspace(x0, 1.0, 4001)
    pieces = [integrate.quad(pdf, a, b)[0] for a, b in zip(grid[:-1], grid[1:], strict=True)]
    cdf_grid = np.concatenate([[0.0], np.cumsum(pieces)])
    cdf_grid /= cdf_grid[-1]
    x = energy / w_end
    assert x.min() >= x0 - 1e-12
    assert x.max() <= 1.0 + 1e-12
    p = stats.kstest(x, lambda v: np.interp(v, grid, cdf_grid)).pvalue
    assert p > 0.01


@pytest.mark.parametrize(("name", "m_h", "pdg"), [("tau- -> pi- nu_tau", M_PI, 211),
                                                  ("tau- -> K- nu_tau", M_K, 321)])
def test_two_body_momentum(name, m_h, pdg):
    rng = np.random.default_rng(12)
    px, py, pz, e, q = _random_taus(rng, 2000)
    chunk = tau.decay_taus(rng, px, py, pz, e, q, mode_mask=_mask(_mode_index(name)))
    h = _to_tau_frame(chunk, _first_row_with(chunk, pdg))
    p = np.sqrt((h[:, :3] ** 2).sum(1))
    expected = (M_TAU**2 - m_h**2) / (2 * M_TAU)  # two-body momentum with a massless neutrino
    np.testing.assert_allclose(p, expected, rtol=1e-9)


def test_mode_frequencies_match_branching_fractions():
    rng = np.random.default_rng(13)
    n = 200_000
    px, py, pz, e, q = _random_taus(rng, n, p_max=3.0)
    chunk = tau.decay_taus(rng, px, py, pz, e, q)
    counts = np.bincount(chunk.truth["mode"], minlength=N_MODES)
    bf = np.array([m.bf for m in tau.tau_modes()])
    expected = n * bf
    sigma = np.sqrt(n * bf * (1 - bf))
    big = expected >= 10
    assert np.all(np.abs(counts[big] - expected[big]) <= 4 * sigma[big])
    # rare modes pooled (each expects < 10)
    pooled, pooled_bf = counts[~big].sum(), bf[~big].sum()
    assert abs(pooled - n * pooled_bf) <= 4 * math.sqrt(n * pooled_bf * (1 - pooled_bf))


def _check_tree(chunk, rtol=1e-12, atol=1e-9):
    """Every decayed particle equals the sum of its daughters; mothers precede daughters."""
    P = chunk.particles
    ev = np.repeat(np.arange(chunk.n_events), np.diff(chunk.offset))
    idx = np.arange(chunk.n_particles)
    has_mother = P["mother"] >= 0
    gm = chunk.offset[ev] + P["mother"]
    assert np.all(P["mother"][has_mother] < (idx - chunk.offset[ev])[has_mother])
    assert np.all(P["status"][gm[has_mother]] == DECAYED)
    sums = np.zeros((chunk.n_particles, 4))
    p4 = _p4(chunk, idx)
    np.add.at(sums, gm[has_mother], p4[has_mother])
    decayed = P["status"] == DECAYED
    scale = np.abs(p4[decayed]).max(axis=1, keepdims=True)
    assert np.all(np.abs(sums[decayed] - p4[decayed]) <= atol + rtol * 10 * scale)
    # every decayed particle has daughters, final-state particles have none
    n_daughters = np.bincount(gm[has_mother], minlength=chunk.n_particles)
    assert np.all(n_daughters[decayed] >= 1)
    assert np.all(n_daughters[P["status"] == FINAL] == 0)
    # the daughters of one mother start at one point (where it decayed)
    for c in ("vx", "vy", "vz", "t"):
        lo = np.full(chunk.n_particles, np.inf)
        hi = np.full(chunk.n_particles, -np.inf)
        np.minimum.at(lo, gm[has_mother], P[c][has_mother])
        np.maximum.at(hi, gm[has_mother], P[c][has_mother])
        assert np.all(hi[decayed] - lo[decayed] <= 1e-12 * np.maximum(1.0, np.abs(hi[decayed])))


def test_four_momentum_conservation_every_decay():
    rng = np.random.default_rng(14)
    px, py, pz, e, q = _random_taus(rng, 30_000)
    chunk = tau.decay_taus(rng, px, py, pz, e, q)
    _check_tree(chunk)
    # every mode on its own, rare ones included
    rng2 = np.random.default_rng(15)
    for i in range(N_MODES):
        px, py, pz, e, q = _random_taus(rng2, 200)
        c2 = tau.decay_taus(rng2, px, py, pz, e, q, mode_mask=_mask(i))
        assert np.all(c2.truth["mode"] == i)
        _check_tree(c2)


def test_charge_conjugation_and_charge_conservation():
    rng = np.random.default_rng(16)
    px, py, pz, e, q = _random_taus(rng, 20_000)
    chunk = tau.decay_taus(rng, px, py, pz, e, q)
    P = chunk.particles
    charge = {}
    for pid in np.unique(P["pdg"]):
        charge[int(pid)] = float(Particle.from_pdgid(int(pid)).charge)
    ch = np.array([charge[int(p)] for p in P["pdg"]])
    final = P["status"] == FINAL
    ev = np.repeat(np.arange(chunk.n_events), np.diff(chunk.offset))
    total = np.bincount(ev[final], weights=ch[final], minlength=chunk.n_events)
    np.testing.assert_allclose(total, q, atol=1e-9)
    # the tau- has a nu_tau among its daughters, the tau+ an anti-nu_tau
    nu = np.bincount(ev[P["pdg"] == 16], minlength=chunk.n_events)
    anu = np.bincount(ev[P["pdg"] == -16], minlength=chunk.n_events)
    assert np.all(nu[q < 0] == 1)
    assert np.all(anu[q < 0] == 0)
    assert np.all(anu[q > 0] == 1)
    assert np.all(nu[q > 0] == 0)


def test_on_shell_masses():
    rng = np.random.default_rng(17)
    px, py, pz, e, q = _random_taus(rng, 30_000)
    chunk = tau.decay_taus(rng, px, py, pz, e, q)
    P = chunk.particles
    p4 = _p4(chunk, np.arange(chunk.n_particles))
    m2 = p4[:, 3] ** 2 - (p4[:, :3] ** 2).sum(1)
    resonances = {213, 323, 20213}
    checked = 0
    for pid in np.unique(np.abs(P["pdg"])):
        sel = np.abs(P["pdg"]) == pid
        if pid in resonances:
            m = np.sqrt(m2[sel])
            assert np.all(m > 2 * M_PI0)
            assert np.all(m < M_TAU)
            continue
        mass = Particle.from_pdgid(int(pid)).mass
        mass = 0.0 if mass is None else mass * 1e-3
        scale = p4[sel, 3] ** 2
        assert np.all(np.abs(m2[sel] - mass**2) <= 1e-9 * np.maximum(scale, 1.0)), pid
        checked += 1
    assert checked >= 10  # tau, leptons, neutrinos, pions, kaons, photons, eta, omega ...


def test_flight_length_and_decay_vertices():
    rng = np.random.default_rng(18)
    n = 50_000
    p = 4.0
    direction = np.array([0.3, -0.4, math.sqrt(1 - 0.25)])
    px, py, pz = (np.full(n, p * d) for d in direction)
    e = np.full(n, math.hypot(p, M_TAU))
    q = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    v0 = (np.full(n, 0.01), np.full(n, -0.02), np.full(n, 0.5), np.full(n, 0.1))
    chunk = tau.decay_taus(rng, px, py, pz, e, q, vertex=v0)
    P = chunk.particles
    tau_rows = chunk.offset[:-1]
    np.testing.assert_array_equal(P["vx"][tau_rows], v0[0])
    d1 = tau_rows + 1  # first daughter: starts at the tau decay point
    disp = np.column_stack([P["vx"][d1] - v0[0], P["vy"][d1] - v0[1], P["vz"][d1] - v0[2]])
    length = np.sqrt((disp**2).sum(1))
    bg_ctau = p / M_TAU * CTAU_CM
    assert abs(length.mean() - bg_ctau) < 4 * bg_ctau / math.sqrt(n)
    # along the momentum, at the time L / (beta c)
    np.testing.assert_allclose(disp, length[:, None] * direction[None, :], atol=1e-12)
    beta = p / e[0]
    np.testing.assert_allclose(P["t"][d1] - v0[3], length / (beta * C_CM_PER_NS), rtol=1e-9)
    # all direct daughters of the tau start at the same point
    ev = np.repeat(np.arange(n), np.diff(chunk.offset))
    direct = P["mother"] == 0
    direct[tau_rows] = False
    for c in ("vx", "vy", "vz", "t"):
        np.testing.assert_allclose(P[c][direct], P[c][d1][ev[direct]], rtol=0, atol=1e-12)


def test_rho_mode_mass_spectrum_and_decay_angle():
    """tau -> rho nu: Q^2 spectrum and pi- angle vs the vector-current formulae.

    With J = F (q_pi - q_pi0)_perp and the unpolarised lepton tensor (Kuhn & Santamaria 1990):
    dGamma/dQ^2 ~ |F|^2 p*^3 (M^2 - Q^2)^2 (M^2 + 2 Q^2) / Q^3, and the pi- angle psi in the
    rho frame to the rho direction has dN/dcos ~ M^2 cos^2 + Q^2 sin^2, so
    E[cos^2 psi | Q^2] = (3 M^2 + 2 Q^2) / (5 (M^2 + 2 Q^2)).
    """
    name = "tau- -> rho- nu_tau (rho- -> pi- pi0)"
    rng = np.random.default_rng(19)
    n = 20_000
    px, py, pz, e, q = _random_taus(rng, n, charge=-1.0)
    chunk = tau.decay_taus(rng, px, py, pz, e, q, mode_mask=_mask(_mode_index(name)))
    rho = _to_tau_frame(chunk, chunk.offset[:-1] + 1)
    pim = _to_tau_frame(chunk, _first_row_with(chunk, 211))
    s = rho[:, 3] ** 2 - (rho[:, :3] ** 2).sum(1)
    # KS form factor with the TAUHADNU parameters of DECAY_BELLE2.DEC (beta, m, G, m', G')
    beta, m1, g1, m2, g2 = -0.108, 0.775, 0.149, 1.364, 0.400

    def pstar(m):
        return np.sqrt(np.maximum((m**2 - (M_PI + M_PI0) ** 2) * (m**2 - (M_PI - M_PI0) ** 2),
                                  0)) / (2 * m)

    def bw(ss, m0, g0):
        x = m0 * g0 * (pstar(np.sqrt(ss)) / pstar(m0)) ** 3
        return m0**2 / (m0**2 - ss - 1j * x)

    def density(ss):
        f = (bw(ss, m1, g1) + beta * bw(ss, m2, g2)) / (1 + beta)
        return (np.abs(f) ** 2 * pstar(np.sqrt(ss)) ** 3 * (M_TAU**2 - ss) ** 2
                * (M_TAU**2 + 2 * ss) / ss**1.5)

    lo, hi = (M_PI + M_PI0) ** 2, M_TAU**2
    grid = np.linspace(lo, hi, 4001)
    pieces = [integrate.quad(density, a, b)[0] for a, b in zip(grid[:-1], grid[1:], strict=True)]
    cdf = np.concatenate([[0.0], np.cumsum(pieces)])
    cdf /= cdf[-1]
    assert stats.kstest(s, lambda v: np.interp(v, grid, cdf)).pvalue > 0.01
    # decay angle: pi- in the rho frame relative to the rho direction (tau frame)
    pi_rho = _boost(pim, -rho[:, :3] / rho[:, 3:4])
    u_pi = pi_rho[:, :3] / np.linalg.norm(pi_rho[:, :3], axis=1, keepdims=True)
    u_rho = rho[:, :3] / np.linalg.norm(rho[:, :3], axis=1, keepdims=True)
    c2 = (u_pi * u_rho).sum(1) ** 2
    resid = c2 - (3 * M_TAU**2 + 2 * s) / (5 * (M_TAU**2 + 2 * s))
    assert abs(resid.mean()) < 4 * resid.std() / math.sqrt(n)
    # an isotropic decay (E = 1/3) would be far off: the test can tell
    assert abs(c2.mean() - 1 / 3) > 10 * resid.std() / math.sqrt(n)


@pytest.mark.parametrize(("name", "pdg_a"), [
    ("tau- -> rho- nu_tau (rho- -> pi- pi0)", 211),
    ("tau- -> K*- nu_tau (K*- -> K- pi0)", 321),
])
def test_vector_decay_angle_distribution(name, pdg_a):
    """cos of the charged daughter in the V frame to the V direction has the density
    s + (M^2 - s) c^2 at Q^2 = s (the angular factor of the rho test above): its conditional
    CDF F(c | s) = [s (c + 1) + (M^2 - s) (c^3 + 1)/3] / [2 s + 2 (M^2 - s)/3] of the generated
    decays is uniform (KS, p > 1e-3); and the azimuth about the V direction is uniform."""
    rng = np.random.default_rng(23)
    n = 20_000
    px, py, pz, e, q = _random_taus(rng, n, charge=-1.0)
    chunk = tau.decay_taus(rng, px, py, pz, e, q, mode_mask=_mask(_mode_index(name)))
    v = _to_tau_frame(chunk, chunk.offset[:-1] + 1)
    a = _to_tau_frame(chunk, _first_row_with(chunk, pdg_a))
    s = v[:, 3] ** 2 - (v[:, :3] ** 2).sum(1)
    a_v = _boost(a, -v[:, :3] / v[:, 3:4])
    u_a = a_v[:, :3] / np.linalg.norm(a_v[:, :3], axis=1, keepdims=True)
    u_v = v[:, :3] / np.linalg.norm(v[:, :3], axis=1, keepdims=True)
    c = (u_a * u_v).sum(1)
    big = M_TAU**2 - s
    cdf = (s * (c + 1) + big * (c**3 + 1) / 3) / (2 * s + 2 * big / 3)
    assert stats.kstest(cdf, "uniform").pvalue > 1e-3
    # azimuth of the daughter about the V direction, from a fixed reference axis
    ref = np.cross(u_v, [0.0, 0.0, 1.0])
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    phi = np.arctan2((np.cross(ref, u_a) * u_v).sum(1), (ref * u_a).sum(1))
    assert stats.kstest(phi, "uniform", args=(-np.pi, 2 * np.pi)).pvalue > 1e-3


def test_no_overweights_and_reproducible():
    px, py, pz, e, q = _random_taus(np.random.default_rng(20), 20_000)
    a = tau.decay_taus(np.random.default_rng(21), px, py, pz, e, q)
    b = tau.decay_taus(np.random.default_rng(21), px, py, pz, e, q)
    for k in a.particles:
        np.testing.assert_array_equal(a.particles[k], b.particles[k])
    np.testing.assert_array_equal(a.truth["mode"], b.truth["mode"])
    tables, _ = tau.tau_tables()
    rng = np.random.default_rng(22)
    tau._decay_taus_kernel(rng, tables, px, py, pz, e, q, *(np.zeros(px.size),) * 4,
                           tau.max_tree_rows())
    assert tables.overweight.sum() == 0


def test_one_prong_restriction():
    rng = np.random.default_rng(23)
    mask = tau.one_prong_mask()
    px, py, pz, e, q = _random_taus(rng, 20_000)
    chunk = tau.decay_taus(rng, px, py, pz, e, q, mode_mask=mask)
    assert np.all(mask[chunk.truth["mode"]])


def test_input_validation():
    rng = np.random.default_rng(24)
    z = np.zeros(3)
    e = np.full(3, M_TAU)
    with pytest.raises(ValueError, match="charge"):
        tau.decay_taus(rng, z, z, z, e, np.array([1.0, 0.0, -1.0]))
    with pytest.raises(ValueError, match="mass shell"):
        tau.decay_taus(rng, z, z, z, e + 0.1, np.ones(3))
    with pytest.raises(ValueError, match="no tau decay mode"):
        tau.tau_tables(np.zeros(N_MODES, bool))
    with pytest.raises(ValueError, match="entries"):
        tau.tau_tables(np.ones(3, bool))


def test_mode_classes_and_biased_tables():
    """mode_classes partitions the modes; biased tables draw with q = BF b / Z."""
    cls = tau.mode_classes()
    modes = tau.tau_modes()
    bf = np.array([m.bf for m in modes])
    assert cls.shape == (N_MODES,)
    assert set(cls.tolist()) == set(range(len(tau.MODE_CLASSES)))
    by = {k: bf[cls == i].sum() for i, k in enumerate(tau.MODE_CLASSES)}
    assert by["mu"] == pytest.approx(bf[_mode_index("tau- -> mu- anti-nu_mu nu_tau")])
    assert by["pi"] == pytest.approx(bf[_mode_index("tau- -> pi- nu_tau")])
    multi = np.array([m.prongs_min >= 3 for m in modes])
    assert np.array_equal(cls == tau.MODE_CLASSES.index("multi_prong"), multi)
    assert sum(by.values()) == pytest.approx(1.0, rel=1e-12)
    b = np.where(cls == tau.MODE_CLASSES.index("mu"), 4.0, 1.0)
    tables, z = tau.tau_tables(None, b)
    assert z == pytest.approx(float((bf * b).sum()), rel=1e-12)
    q = np.diff(np.r_[0.0, tables.cum])
    np.testing.assert_allclose(q, bf * b / z, rtol=1e-9, atol=1e-15)
    # importance weights Z / b average to one under q
    assert float((q * z / b).sum()) == pytest.approx(1.0, rel=1e-12)
    # with a mask the same holds over the enabled modes, Z/b averaging to their BF sum
    mask = tau.one_prong_mask()
    tables, z = tau.tau_tables(mask, b)
    q = np.diff(np.r_[0.0, tables.cum])
    assert float((q * z / b).sum()) == pytest.approx(bf[mask].sum(), rel=1e-9)
    for bad in (np.zeros(N_MODES), -b, np.ones(3), np.full(N_MODES, np.nan)):
        with pytest.raises(ValueError, match="bias"):
            tau.tau_tables(None, bad)
