"""PDG-style ids of the new-physics states b2dark generates.

``particle`` does not know these states; the ids follow the PDG Monte Carlo numbering scheme
(RPP 2024, "Monte Carlo particle numbering scheme") where it has a slot, and its 9xxxxxx
"generator-specific" range otherwise. Masses and widths come from ``gen.models``.
"""

#: L_mu - L_tau gauge boson Z' (PDG slot 32: Z'0).
ZPRIME = 32
#: Leptophilic / muonphilic scalar S (generator-specific range).
DARK_SCALAR = 9000025
#: Axion-like particle a (generator-specific range).
ALP = 9000036
#: Invisible LFV boson alpha of tau -> l alpha (generator-specific range).
LFV_ALPHA = 9000037
#: Dark-matter fermion chi (generator-specific range), for Z' -> chi chi-bar.
DARK_MATTER = 9000052

#: ids the detector never sees (plus neutrinos): used by detector and truth code.
INVISIBLE_BSM = (ZPRIME, LFV_ALPHA, DARK_MATTER)
