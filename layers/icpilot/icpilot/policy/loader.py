"""Reading a policy: YAML text -> validated Policy, or PolicyError listing every problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import PolicyError
from .model import Policy


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-after", "function-before", "function-wrap")) or part in (
            "str",
            "int",
            "list[...]",
            "literal['MON','TUE','WED','THU','FRI','SAT','SUN']",
        ):
            continue  # pydantic's internal validator steps, not part of the user's path
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _problems(exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        value = err.get("input")
        shown = json.dumps(value, default=str) if not isinstance(value, dict) else "{…}"
        if len(shown) > 80:
            shown = shown[:77] + "..."
        allowed = ""
        ctx = err.get("ctx") or {}
        for key, label in (
            ("ge", "≥"),
            ("le", "≤"),
            ("gt", ">"),
            ("lt", "<"),
            ("min_length", "at least"),
            ("pattern", "matching"),
        ):
            if key in ctx:
                allowed += f" (allowed: {label} {ctx[key]})"
        if "expected" in ctx:
            allowed += f" (allowed: {ctx['expected']})"
        message = err["msg"].removeprefix("Value error, ")
        problems.append(f"{_path(tuple(err['loc']))}: {message}; got {shown}{allowed}")
    return problems


def load_policy_text(text: str, source: str = "policy") -> Policy:
    """Parse and validate YAML text. Raises PolicyError with every problem at once."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError([f"{source}: not valid YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise PolicyError([f"{source}: the policy must be a mapping with 'version' and 'endpoints'"])
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(_problems(exc)) from None


def load_policy(path: str | Path) -> Policy:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError([f"{p}: cannot read: {exc.strerror}"]) from None
    return load_policy_text(text, str(p))


def policy_json_schema() -> dict[str, Any]:
    schema = Policy.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "icpilot policy"
    return schema
