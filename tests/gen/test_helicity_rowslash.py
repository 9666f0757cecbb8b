"""gen.helicity.rowslash1 (bar row times jslash) against explicit chiral-basis gamma matrices."""

from __future__ import annotations

import numpy as np

from gen.helicity import rowslash1, slash1

# chiral (Weyl) basis, Peskin & Schroeder eq. 3.25: gamma^mu = [[0, sigma^mu], [sigmabar^mu, 0]]
_SIGMA = [np.eye(2), np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]),
          np.array([[1, 0], [0, -1]])]
_GAMMA = [np.block([[np.zeros((2, 2)), _SIGMA[0]], [_SIGMA[0], np.zeros((2, 2))]])] + [
    np.block([[np.zeros((2, 2)), s], [-s, np.zeros((2, 2))]]) for s in _SIGMA[1:]]
_METRIC = np.diag([1.0, -1.0, -1.0, -1.0])


def _slash_matrix(j: np.ndarray) -> np.ndarray:
    jl = _METRIC @ j  # j_mu
    return sum(g * c for g, c in zip(_GAMMA, jl, strict=True))


def test_rowslash_is_row_times_jslash_and_transposes_slash():
    rng = np.random.default_rng(3)
    out = np.empty(4, np.complex128)
    out2 = np.empty(4, np.complex128)
    for _ in range(50):
        r = rng.normal(size=4) + 1j * rng.normal(size=4)
        w = rng.normal(size=4) + 1j * rng.normal(size=4)
        j = rng.normal(size=4) + 1j * rng.normal(size=4)
        m = _slash_matrix(j)
        rowslash1(r, j, out)
        np.testing.assert_allclose(out, r @ m, rtol=1e-13, atol=1e-13)
        # r (jslash w) = (r jslash) w: the contraction the amplitudes rely on
        slash1(j, w, out2)
        np.testing.assert_allclose(np.dot(r, out2), np.dot(out, w), rtol=1e-12)
        np.testing.assert_allclose(out2, m @ w, rtol=1e-13, atol=1e-13)
