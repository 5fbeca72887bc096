"""Policy validation: every error names its path, the value and the allowed range."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from icpilot.errors import PolicyError
from icpilot.policy import load_policy, load_policy_text, policy_json_schema
from icpilot.policy.model import MAX_COPIES

from tests.strength import examples

EXAMPLE = Path(__file__).resolve().parents[2] / "layers" / "icpilot" / "policy.yaml"


def problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as exc:
        load_policy_text(text)
    return exc.value.problems


def test_holidays_are_calendar_days_written_either_way() -> None:
    """YAML reads 2026-12-24 as a date, a quoted one is a string: both are the same day."""
    policy = load_policy_text(
        base("        max_copies: 4\n        predictive: {holidays: [2026-12-24, '2026-12-25']}\n")
    )
    days = policy.endpoints["ep"].components["falcon-7b"].predictive.holidays
    assert [d.isoformat() for d in days] == ["2026-12-24", "2026-12-25"]


def test_example_policy_is_valid() -> None:
    policy = load_policy(EXAMPLE)
    assert {n for _, n, _ in policy.components()} == {"falcon-7b", "flan-t5-xxl"}
    assert policy.component("falcon-7b")[0] == "llm-endpoint"  # type: ignore[index]


def base(component: str) -> str:
    return f"version: 1\nendpoints:\n  ep:\n    components:\n      falcon-7b:\n{component}"


@pytest.mark.parametrize(
    ("component", "path", "fragment"),
    [
        ("        max_copies: -1\n", "endpoints.ep.components.falcon-7b.max_copies", "≥ 1"),
        ("        max_copies: 4\n        min_copies: 5\n", "endpoints.ep.components.falcon-7b", "above max_copies"),
        ("        max_copies: 4\n        priority: 5000\n", "priority", "≤ 1000"),
        (
            "        max_copies: 4\n        idle_scale_to_zero_after: soon\n",
            "idle_scale_to_zero_after",
            "not a duration",
        ),
        ("        max_copies: 4\n        colour: blue\n", "colour", "Extra inputs"),
        (
            "        max_copies: 4\n        schedules:\n          - {name: a, timezone: Mars/Base, start: '08:00', end: '10:00', min_copies: 1}\n",
            "schedules[0].timezone",
            "unknown IANA time zone",
        ),
        (
            "        max_copies: 4\n        schedules:\n          - {name: a, start: '08:00', end: '08:00', min_copies: 1}\n",
            "schedules[0]",
            "empty",
        ),
        (
            "        max_copies: 4\n        schedules:\n          - {name: a, start: '08:00', end: '10:00', min_copies: 6}\n",
            "falcon-7b",
            "exceed the component's max_copies",
        ),
        (
            "        max_copies: 4\n        schedules:\n          - {name: a, cron: '0 8 * * * *', duration: 1h, min_copies: 1}\n",
            "schedules[0]",
            "exactly one of day-of-month",
        ),
        (
            "        max_copies: 4\n        schedules:\n          - {name: a, start: '25:00', end: '10:00', min_copies: 1}\n",
            "schedules[0].start",
            "25:00",
        ),
        (
            "        max_copies: 4\n        schedules:\n          - {name: a, days: [MON, FUN], start: '08:00', end: '10:00', min_copies: 1}\n",
            "schedules[0].days[1]",
            "FUN",
        ),
        (
            "        max_copies: 4\n        predictive: {holidays: [2026-12-24, 24.12.2026]}\n",
            "predictive.holidays[1]",
            "YYYY-MM-DD",
        ),
    ],
)
def test_errors_name_path_value_and_range(component: str, path: str, fragment: str) -> None:
    found = problems(base(component))
    assert any(path in p and fragment in p for p in found), found


def test_every_problem_is_reported_at_once() -> None:
    found = problems(base("        max_copies: 0\n        priority: -1\n        warmup_copies: 0\n"))
    assert len(found) == 3


def test_field_bounds_and_cross_component_problems_come_in_one_pass() -> None:
    """Issue 18: pydantic runs a model's own rules only once its fields are valid, so `validate`
    used to report field errors, then bounds, then `after:` on three runs. Now: one run, every line."""
    text = """version: 1
endpoints:
  ep:
    components:
      a: {max_copies: 4, priority: 5000, after: [ghost]}
      b: {max_copies: 2, min_copies: 3, warmup_copies: 5}
      c: {max_copies: 2, after: [d]}
      d: {max_copies: 2, after: [c]}
  other:
    components:
      b: {max_copies: 1}
"""
    found = problems(text)
    assert any(p.startswith("endpoints.ep.components.a.priority:") and "≤ 1000" in p for p in found)
    assert any(p == "endpoints.ep.components.b: min_copies (3) is above max_copies (2)" for p in found)
    assert any(p == "endpoints.ep.components.b: warmup_copies (5) is above max_copies (2)" for p in found)
    assert any("components.a.after: 'ghost' is not a component of this endpoint" in p for p in found)
    assert any("dependency cycle: c -> d -> c" in p for p in found)
    assert any("component 'b' appears under endpoints 'ep' and 'other'" in p for p in found)
    assert len(found) == len(set(found)) == 6  # each once, though the models check some of them too
    assert not any("got {" in p for p in found)  # a whole mapping is named by its path, not dumped


def test_a_cross_component_problem_alone_is_reported_once() -> None:
    text = "version: 1\nendpoints:\n  ep:\n    components:\n      a: {max_copies: 1, after: [b]}\n      b: {max_copies: 1, after: [a]}\n"
    assert problems(text) == ["endpoints.ep: dependency cycle: a -> b -> a"]


def test_duplicate_component_across_endpoints() -> None:
    text = (
        "endpoints:\n  a:\n    components:\n      x: {max_copies: 1}\n  b:\n    components:\n      x: {max_copies: 1}\n"
    )
    assert any("appears under endpoints" in p for p in problems(text))


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "endpoints: [", "version: 2\nendpoints: {}\n"])
def test_not_a_policy(text: str) -> None:
    assert problems(text)


def test_json_schema_describes_the_policy() -> None:
    schema = policy_json_schema()
    assert schema["title"] == "icpilot policy"
    assert "ComponentPolicy" in schema["$defs"] and "ScheduleRule" in schema["$defs"]
    yaml.safe_dump(schema)  # serialisable


@pytest.mark.parametrize(
    ("components", "fragment"),
    [
        (
            "      a: {max_copies: 1, after: [b]}\n      b: {max_copies: 1, after: [a]}\n",
            "dependency cycle: a -> b -> a",
        ),
        ("      a: {max_copies: 1, after: [a]}\n", "dependency cycle: a -> a"),
        ("      a: {max_copies: 1, after: [ghost]}\n", "'ghost' is not a component of this endpoint"),
        ("      a: {max_copies: 1, outside: {max_copies: 2}}\n", "outside.max_copies (2) exceeds max_copies (1)"),
    ],
)
def test_dependency_and_outside_errors(components: str, fragment: str) -> None:
    found = problems(f"endpoints:\n  ep:\n    components:\n{components}")
    assert any(fragment in p for p in found), found


def test_auto_idle_and_probe_are_accepted() -> None:
    policy = load_policy_text(
        "endpoints:\n  ep:\n    components:\n      a: {max_copies: 1, idle_scale_to_zero_after: auto, cold_start_cost: 3.5,"
        " probe: {payload: {inputs: ping}, max_latency_ms: 800}, warmup_timeout: 12m}\n"
    )
    cp = policy.endpoints["ep"].components["a"]
    assert cp.idle_delay is None and cp.probe is not None and cp.warmup_deadline.total_seconds() == 720


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a: &a [*a]\nendpoints: {ep: {components: {m: {max_copies: 1, schedules: *a}}}}\n", "contains itself"),
        (
            "endpoints: &e {ep: {components: {m: {max_copies: 1, probe: {payload: *e}}}}}\n",
            "probe.payload contains itself",
        ),
        ("version: 1\nendpoints: " + "{x: " * 3000 + "1" + "}" * 3000 + "\n", "nested too deeply"),
        ("# " + "x" * 1_100_000 + "\nendpoints: {}\n", "larger than a policy may be"),
    ],
    ids=["recursive-anchor", "recursive-payload", "deep-nesting", "oversized"],
)
def test_hostile_documents_are_policy_errors_not_crashes(text: str, fragment: str) -> None:
    """Issue 14: a recursive anchor raised ValueError in the handler (retried, then dead-lettered)."""
    assert any(fragment in p for p in problems(text)), problems(text)


# --- A policy means what it reads (issue 30): YAML 1.2 scalars, no duplicate keys, bounded aliases ---

WINDOW = (
    "endpoints:\n  ep:\n    components:\n      m:\n        max_copies: {max_copies}\n        schedules:\n"
    "          - {{name: office, days: [MON], start: {start}, end: {end}, min_copies: 1}}\n"
)


def window_of(text: str) -> tuple[str, str]:
    rule = load_policy_text(text).endpoints["ep"].components["m"].schedules[0]
    assert rule.start is not None and rule.end is not None
    return f"{rule.start:%H:%M}", f"{rule.end:%H:%M}"


def test_unquoted_times_are_the_times_a_person_reads() -> None:
    """Before: YAML 1.1 read 8:00 as 480 (base 60) and pydantic took it as seconds: 00:08-00:19."""
    assert window_of(WINDOW.format(max_copies=2, start="8:00", end="19:00")) == ("08:00", "19:00")
    assert window_of(WINDOW.format(max_copies=2, start='"08:00"', end="'19:30'")) == ("08:00", "19:30")
    with pytest.raises(PolicyError, match="HH:MM"):
        load_policy_text(WINDOW.format(max_copies=2, start=480, end="19:00"))


@pytest.mark.parametrize("word", ["yes", "on", "true", "True", "y", "1.0"])
def test_a_count_must_be_a_number_not_a_word_that_yaml_once_called_true(word: str) -> None:
    """Before: max_copies: yes (and on, true) was accepted as 1."""
    with pytest.raises(PolicyError, match="max_copies"):
        load_policy_text(WINDOW.format(max_copies=word, start="8:00", end="19:00"))


def test_a_key_given_twice_is_an_error_not_the_last_one_wins() -> None:
    text = WINDOW.format(max_copies=2, start="8:00", end="19:00").replace(
        "max_copies: 2\n", "max_copies: 2\n        max_copies: 4\n"
    )
    with pytest.raises(PolicyError, match="given twice"):
        load_policy_text(text)


def test_aliases_that_expand_beyond_any_policy_are_refused_before_anything_walks_them() -> None:
    """Before: this 500-byte document (nine levels of nine aliases) kept the loader busy for more
    than 10 s, so a handler reading it from SSM timed out instead of reporting PolicyInvalid."""
    levels = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    levels += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    with pytest.raises(PolicyError, match="expand to more than"):
        load_policy_text("\n".join(levels) + "\nendpoints: {}\n")


@settings(max_examples=examples(60), deadline=None)
@given(
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    padded=st.booleans(),
    quote=st.sampled_from(["", '"', "'"]),
    count=st.one_of(st.integers(-1, 70), st.sampled_from(["yes", "no", "on", "off", "true", "false", "2.5", "0x3"])),
)
def test_any_window_reads_as_written_or_is_refused(
    hour: int, minute: int, padded: bool, quote: str, count: int | str
) -> None:
    """Whatever the YAML, the loader answers PolicyInvalid or a window whose start is what a person
    reading it sees (end fixed at 23:59), and a count that is the number written."""
    start = f"{hour:02d}:{minute:02d}" if padded else f"{hour}:{minute:02d}"
    text = WINDOW.format(max_copies=count, start=f"{quote}{start}{quote}", end='"23:59"')
    number = count if isinstance(count, int) else (3 if count == "0x3" else None)  # 0x3: YAML 1.2's hex 3
    if number is None or not 1 <= number <= MAX_COPIES or f"{hour:02d}:{minute:02d}" == "23:59":
        with pytest.raises(PolicyError):
            load_policy_text(text)
        return
    assert window_of(text) == (f"{hour:02d}:{minute:02d}", "23:59")
    assert load_policy_text(text).endpoints["ep"].components["m"].max_copies == number


@pytest.mark.parametrize(
    ("top", "endpoint", "component", "expected"),
    [
        (None, None, None, "act"),  # a policy that says nothing acts, as before
        ("observe", None, None, "observe"),
        ("observe", "act", None, "act"),
        ("act", "observe", None, "observe"),
        ("observe", "act", "observe", "observe"),
        ("act", None, "observe", "observe"),
    ],
)
def test_the_mode_in_force_is_the_components_else_its_endpoints_else_the_policys(
    top: str | None, endpoint: str | None, component: str | None, expected: str
) -> None:
    from icpilot.policy import load_policy_text

    lines = ["version: 1"] + ([f"mode: {top}"] if top else []) + ["endpoints:", "  ep:"]
    lines += [f"    mode: {endpoint}"] if endpoint else []
    lines += ["    components:", "      m:", "        max_copies: 2"]
    lines += [f"        mode: {component}"] if component else []
    lines += ["      other: {max_copies: 1}"]
    policy = load_policy_text("\n".join(lines) + "\n")
    assert policy.mode_of("m") == expected
    assert policy.observes("other") == ((endpoint or top) == "observe")


def test_durations_and_crons_are_parsed_once_and_a_copy_parses_its_own() -> None:
    """Durations and cron expressions are read once per loaded policy (the evaluation reads them
    every minute); a model_copy with other fields parses those, not the original's values."""
    from datetime import timedelta

    from icpilot.policy.cron import ScheduleExpression

    policy = load_policy_text(
        """
endpoints:
  ep:
    components:
      m:
        max_copies: 2
        idle_scale_to_zero_after: 30m
        expected_time_to_ready: 6m
        schedules:
          - {name: batch, cron: "0 2 * * ? *", duration: 2h, min_copies: 1}
"""
    )
    cp = policy.endpoints["ep"].components["m"]
    rule = cp.schedules[0]
    assert rule.schedule is rule.schedule and isinstance(rule.schedule, ScheduleExpression)
    assert (cp.idle_delay, cp.time_to_ready, rule.window) == (
        timedelta(minutes=30),
        timedelta(minutes=6),
        timedelta(hours=2),
    )
    other = cp.model_copy(update={"idle_scale_to_zero_after": "auto", "expected_time_to_ready": "9m"})
    assert (other.idle_delay, other.time_to_ready) == (None, timedelta(minutes=9))
    assert (cp.idle_delay, cp.time_to_ready) == (timedelta(minutes=30), timedelta(minutes=6))
    longer = rule.model_copy(update={"duration": "3h", "cron": "0 4 * * ? *"})
    assert longer.window == timedelta(hours=3) and longer.schedule.text == "cron(0 4 * * ? *)"
