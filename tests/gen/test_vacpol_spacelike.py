"""Spacelike running-alpha table (gen.vacpol.delta_alpha_space_tab1) against the exact function."""

from __future__ import annotations

import numpy as np

from gen.vacpol import delta_alpha1, delta_alpha_space_tab1


def test_space_table_matches_exact():
    # linear interpolation in ln Q^2, bound h^2 max|f''|/8 = 8.9e-9 (gen.vacpol)
    rng = np.random.default_rng(11)
    q2s = -np.concatenate([
        np.exp(rng.uniform(np.log(1e-4), np.log(144.0), 20000)),
        np.linspace(3.99, 4.01, 401), np.linspace(15.99, 16.01, 401),  # breakpoints Q = 2, 4
        np.linspace(99.99, 100.01, 401),  # breakpoint Q = 10 GeV
        np.linspace(0.99e-4, 1.01e-4, 41), np.linspace(143.9, 144.1, 41),  # table edges
    ])
    for q2 in q2s:
        re, im = delta_alpha1(q2)
        tre, tim = delta_alpha_space_tab1(q2)
        assert abs(tre - re) < 2e-8, q2
        assert tim == im == 0.0


def test_space_table_outside_is_exact():
    for q2 in (-1e-5, -200.0, 0.0, 0.5, 111.9):
        assert delta_alpha_space_tab1(q2) == delta_alpha1(q2)
