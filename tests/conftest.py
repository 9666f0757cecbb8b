"""Test-wide settings: hypothesis runs derandomized so CI results do not depend on the run."""

from hypothesis import settings

settings.register_profile("b2dark", derandomize=True, deadline=None)
settings.load_profile("b2dark")
