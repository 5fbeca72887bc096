"""Reading a policy: YAML text -> validated Policy, or PolicyError listing every problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import PolicyError
from .model import Policy, dependency_problems, duplicate_component_problems


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
        try:
            shown = json.dumps(value, default=str) if not isinstance(value, dict) else "{…}"
        except (ValueError, RecursionError):  # a recursive anchor: the value contains itself
            shown = "(a value that contains itself: a recursive YAML anchor)"
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
        got = "" if isinstance(value, dict) else f"; got {shown}"  # a whole mapping says nothing: the path does
        # A model's own rules report every problem at once, one per line.
        problems += [f"{_path(tuple(err['loc']))}: {line}{got}{allowed}" for line in message.split("\n")]
    return problems


def _cross_problems(data: dict[str, Any]) -> list[str]:
    """The rules that span components (``after:``, unique names), read from the raw document.

    pydantic runs a model's own rules only once every field in it is valid; reading them here too
    means ``validate`` reports every problem in one pass, not field errors first and these later."""
    endpoints = data.get("endpoints")
    if not isinstance(endpoints, dict):
        return []
    problems: list[str] = []
    names: dict[str, list[str]] = {}
    for endpoint, body in endpoints.items():
        components = body.get("components") if isinstance(body, dict) else None
        if not isinstance(components, dict):
            continue
        after: dict[str, list[str]] = {}
        for name, component in components.items():
            deps = component.get("after", []) if isinstance(component, dict) else []
            after[str(name)] = [str(d) for d in deps] if isinstance(deps, list) else []
        problems += [f"endpoints.{endpoint}: {p}" for p in dependency_problems(after)]
        names[str(endpoint)] = list(after)
    return [f"(top level): {p}" for p in duplicate_component_problems(names)] + problems


MAX_POLICY_BYTES = 256 * 1024  # far above any real policy; an SSM advanced parameter holds 8 KB


def load_policy_text(text: str, source: str = "policy") -> Policy:
    """Parse and validate YAML text. Raises PolicyError with every problem at once.

    Hostile documents are policy errors too, never a crash: one larger than MAX_POLICY_BYTES, a
    recursive anchor (``a: &a [*a]``, which YAML builds into a cycle) and nesting too deep to walk."""
    if len(text.encode("utf-8", "replace")) > MAX_POLICY_BYTES:
        raise PolicyError(
            [f"{source}: {len(text):,} characters is larger than a policy may be ({MAX_POLICY_BYTES:,} bytes)"]
        )
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError([f"{source}: not valid YAML: {exc}"]) from None
    except RecursionError:
        raise PolicyError([f"{source}: nested too deeply to read"]) from None
    if not isinstance(data, dict):
        raise PolicyError([f"{source}: the policy must be a mapping with 'version' and 'endpoints'"])
    cycle = _cycle(data)
    if cycle is not None:
        raise PolicyError([f"{source}: {cycle or '(top level)'} contains itself (a recursive YAML anchor)"])
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems = _problems(exc)
        raise PolicyError(problems + [p for p in _cross_problems(data) if p not in problems]) from None
    except ValueError as exc:  # pydantic: "Circular reference detected" for a recursive anchor
        raise PolicyError([f"{source}: {exc} (a YAML anchor that contains itself?)"]) from None
    except RecursionError:
        raise PolicyError([f"{source}: nested too deeply to validate"]) from None


def _cycle(data: Any) -> str | None:
    """The path of the first value that contains itself (YAML anchors can build cycles), or None."""
    stack: list[tuple[Any, str, frozenset[int]]] = [(data, "", frozenset())]
    while stack:
        value, path, above = stack.pop()
        if not isinstance(value, dict | list):
            continue
        if id(value) in above:
            return path
        inner = above | {id(value)}
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in items:
            stack.append((child, f"{path}[{key}]" if isinstance(value, list) else f"{path}.{key}".lstrip("."), inner))
    return None


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
