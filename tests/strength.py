"""Hypothesis example counts that follow the loaded profile (see ``tests/conftest.py``).

A test states the count it needs at ``ci`` strength, ``@settings(max_examples=examples(300))``;
an explicit ``max_examples`` would otherwise override every profile."""

from __future__ import annotations

from hypothesis import settings

CI_STRENGTH = 100  # the ``ci`` profile's max_examples (conftest registers it): counts are stated against it


def examples(at_ci_strength: int) -> int:
    """``at_ci_strength`` scaled by the loaded profile: 300 stays 300 under ``ci``, 30 under ``dev``."""
    loaded = settings.default
    strength = loaded.max_examples if loaded is not None else CI_STRENGTH
    return max(5, at_ci_strength * strength // CI_STRENGTH)
