import os

from hypothesis import HealthCheck, settings

# CI keeps the randomized sweeps short; RNNFAST_HYPOTHESIS=thorough widens them locally.
settings.register_profile(
    "ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("RNNFAST_HYPOTHESIS", "ci"))
