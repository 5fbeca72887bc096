"""The documentation site covers what ships: every policy field, CLI command and flag, and event
type appears in the generated reference pages, every page is reachable, and the README stays a
front page. (``make docs``, part of ``make test``, builds the site with ``--strict``.)"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import yaml
from icpilot.domain.events import EventType

import docs_reference

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def nav_pages(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [p for item in node for p in nav_pages(item)]
    if isinstance(node, dict):
        return [p for value in node.values() for p in nav_pages(value)]
    return []


def test_every_policy_field_is_in_the_policy_reference() -> None:
    text = docs_reference.policy_reference()
    fields = docs_reference.policy_fields()
    assert {"min_copies", "daily_report", "timezone", "refusal_cost", "predictive"} <= fields
    missing = sorted(f for f in fields if f"| `{f}` |" not in text)
    assert not missing, missing


def test_every_cli_command_and_flag_is_in_the_cli_reference() -> None:
    text = docs_reference.cli_reference()
    assert {"plan", "status", "scale", "resume", "report", "simulate", "init"} <= docs_reference.cli_commands()
    assert all(f"### `icpilot {c}`" in text for c in docs_reference.cli_commands())
    missing = sorted(f for f in docs_reference.cli_flags() if f"`{f}`" not in text)
    assert not missing, missing
    assert "--day" in docs_reference.cli_flags()


def test_every_event_type_is_in_the_event_reference_with_its_samples() -> None:
    text = docs_reference.events_reference()
    for event_type in EventType:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{event_type.value}` |"))
        for sample in re.findall(r"`(events/[^`]+)`", row):
            assert (ROOT / sample).is_file(), sample


def test_the_reference_pages_carry_their_generated_parts() -> None:
    for page, name in [
        ("reference/policy.md", "policy"),
        ("reference/cli.md", "cli"),
        ("reference/events.md", "events"),
        ("reference/iam.md", "iam"),
    ]:
        assert docs_reference.MARKER.format(name) in (DOCS / page).read_text(), page
    rendered = docs_reference.on_page_markdown((DOCS / "reference/iam.md").read_text())
    assert "<!-- reference:" not in rendered and "ScheduleWindowFunction" in rendered


def test_every_page_is_in_the_navigation_and_every_nav_entry_exists() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text().replace("!!python", "#"))
    listed = set(nav_pages(config["nav"]))
    on_disk = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert listed == on_disk


def test_the_readme_is_a_front_page() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200
    text = "\n".join(lines)
    assert "make demo" in text and "make test" in text
    for target in re.findall(r"\]\((docs/[^)#]+)", text):
        assert (ROOT / target).is_file(), target


def test_the_cli_parser_is_what_the_reference_reads() -> None:
    from icpilot_cli.main import parser

    subparsers = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert set(subparsers.choices) == docs_reference.cli_commands()
