"""Hadronisation of q qbar systems: a Lund string model in numba (``string``, ``tables``) and an
optional Pythia 8 engine (``pythia_engine``, needs the ``pythia8mc`` module)."""
