"""The generated parts of the documentation site, and the MkDocs hook that puts them in.

A page says ``<!-- reference:policy -->`` (or ``cli``, ``events``, ``iam``) where a generated
reference goes; ``on_page_markdown`` (MkDocs' hook API, ``hooks:`` in mkdocs.yml) replaces the
marker at build time. The sources are the code itself: the policy's JSON Schema (pydantic), the CLI's
argparse parser, the event models and their samples in ``events/``, and template.yaml's IAM
statements. So the reference cannot drift from what ships, and ``tests/unit/test_docs.py`` checks
that every field, flag and event type appears.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
MARKER = "<!-- reference:{} -->"


# ----------------------------------------------------------------------------------------- policy
def _type_of(spec: dict[str, Any]) -> str:
    if "$ref" in spec:
        return f"[{spec['$ref'].rsplit('/', 1)[-1]}](#{spec['$ref'].rsplit('/', 1)[-1].lower()})"
    if "anyOf" in spec:
        return " or ".join(_type_of(s) for s in spec["anyOf"])
    if "const" in spec:
        return f"`{json.dumps(spec['const'])}`"
    if "enum" in spec:
        return " \\| ".join(f"`{v}`" for v in spec["enum"])
    kind = spec.get("type", "any")
    if kind == "array":
        return f"list of {_type_of(spec.get('items', {}))}"
    if kind == "object" and isinstance(spec.get("additionalProperties"), dict):
        return f"map of name → {_type_of(spec['additionalProperties'])}"
    return str(kind)


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def policy_models() -> dict[str, dict[str, Any]]:
    """The policy's JSON Schema as {model: schema}, the top level as ``Policy``."""
    from icpilot.policy import policy_json_schema

    schema = policy_json_schema()
    models = dict(schema["$defs"])
    models["Policy"] = {k: v for k, v in schema.items() if k != "$defs"}
    return models


def policy_reference() -> str:
    """One table per policy model: field, type, default, what it means."""
    out = []
    for name, model in sorted(policy_models().items(), key=lambda item: (item[0] != "Policy", item[0])):
        out.append(f"### {name}\n")
        if model.get("description"):
            out.append(_cell(model["description"]).replace("``", "`") + "\n")
        out.append("| field | type | default | meaning |\n|---|---|---|---|")
        required = set(model.get("required", []))
        for field, spec in model.get("properties", {}).items():
            default = "required" if field in required else f"`{json.dumps(spec.get('default'))}`"
            out.append(
                f"| `{field}` | {_type_of(spec)} | {default} | {_cell(spec.get('description', spec.get('title', '')))} |"
            )
        out.append("")
    return "\n".join(out)


def policy_fields() -> set[str]:
    return {field for model in policy_models().values() for field in model.get("properties", {})}


# -------------------------------------------------------------------------------------------- cli
def _subcommands() -> dict[str, argparse.ArgumentParser]:
    from icpilot_cli.main import parser

    for action in parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise RuntimeError("the icpilot parser has no subcommands")


def cli_reference() -> str:
    """Every command with its options, from the argparse parser the CLI runs."""
    out = []
    for name, sub in _subcommands().items():
        out.append(f"### `icpilot {name}`\n\n{_cell(sub.description or '')}\n")
        out.append("| option | meaning | default |\n|---|---|---|")
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            flags = ", ".join(f"`{o}`" for o in action.option_strings) or f"`{action.dest}` (argument)"
            default = "" if action.default in (None, False, argparse.SUPPRESS) else f"`{action.default}`"
            out.append(f"| {flags} | {_cell(action.help or '')} | {default} |")
        out.append("")
    return "\n".join(out)


def cli_flags() -> set[str]:
    return {o for sub in _subcommands().values() for a in sub._actions for o in a.option_strings} - {"-h", "--help"}


def cli_commands() -> set[str]:
    return set(_subcommands())


# ----------------------------------------------------------------------------------------- events
def events_reference() -> str:
    """Every lifecycle event type: severity, what it means, what to do, its sample files."""
    from icpilot.domain.events import SEVERITY, EventType
    from icpilot.domain.notifications import HEADLINE, NEXT_STEPS

    samples = {
        json.loads(path.read_text())["Message"]["type"]: path.stem.removeprefix("sns_")
        for path in (ROOT / "events").glob("sns_*.json")
    }
    out = ["| type | severity | in words | what to do | samples |", "|---|---|---|---|---|"]
    for event_type in EventType:
        stem = samples[event_type.value]
        steps = " ".join(NEXT_STEPS.get(event_type, ())) or "nothing: for the record"
        out.append(
            f"| `{event_type.value}` | {SEVERITY[event_type]} | {HEADLINE[event_type]} | {_cell(steps)} | "
            f"`events/sns_{stem}.json`, `events/chat/{stem}.json` |"
        )
    return "\n".join(out) + "\n"


# -------------------------------------------------------------------------------------------- iam
def iam_reference() -> str:
    """Each function's IAM statements as template.yaml grants them."""
    from cfnlint.decode import decode

    template, _ = decode(str(ROOT / "template.yaml"))
    out = []
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        out.append(f"### {name}\n\n| statement | actions | resource |\n|---|---|---|")
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy.get("Statement", []):
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                resource_text = json.dumps(statement.get("Resource"), default=str)
                out.append(
                    f"| {statement.get('Sid', '')} | {', '.join(f'`{a}`' for a in actions)} | "
                    f"{_cell(resource_text)[:160]} |"
                )
        out.append("")
    return "\n".join(out)


GENERATORS = {"policy": policy_reference, "cli": cli_reference, "events": events_reference, "iam": iam_reference}


def on_page_markdown(markdown: str, **_: Any) -> str:
    """MkDocs hook: every ``<!-- reference:NAME -->`` marker replaced by its generated reference."""
    for name, generate in GENERATORS.items():
        marker = MARKER.format(name)
        if marker in markdown:
            markdown = markdown.replace(marker, generate())
    return markdown
