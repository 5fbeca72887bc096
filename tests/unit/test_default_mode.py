"""The stack's DefaultMode fills the policy's top-level mode only where the policy sets none."""

from __future__ import annotations

import pytest
from icpilot.errors import PolicyError
from icpilot.policy.loader import load_policy_text
from icpilot.policy.source import with_default_mode

BODY = "endpoints: {ep: {components: {m: {max_copies: 2}, n: {max_copies: 1, mode: act}}}}\n"


@pytest.mark.parametrize(
    ("top", "default", "m", "n"),
    [
        ("", "observe", "observe", "act"),  # the component's own mode wins
        ("", "act", "act", "act"),
        ("mode: act\n", "observe", "act", "act"),  # the policy said act: the stack's default does not apply
        ("mode: observe\n", "act", "observe", "act"),
    ],
)
def test_the_stacks_default_mode_applies_where_the_policy_is_silent(top: str, default: str, m: str, n: str) -> None:
    policy = with_default_mode(load_policy_text(top + BODY), default)
    assert (policy.mode_of("m"), policy.mode_of("n")) == (m, n)


def test_an_unknown_default_mode_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match="DefaultMode"):
        with_default_mode(load_policy_text(BODY), "maybe")
