"""Reading a policy: YAML text -> validated Policy, or PolicyError listing every problem.

The YAML is read as a person reads it (YAML 1.2's core schema), not as PyYAML's YAML 1.1 default:
``8:00`` is not the number 480 (base 60), ``yes``/``on``/``no``/``off`` are not booleans, and a key
given twice is an error, not "the last one wins". Aliases are expanded only within a budget
(``MAX_EXPANDED_NODES``), checked on the composed document before anything walks it, so a
"billion laughs" document is refused in milliseconds.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import date
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


# The largest store icpilot reads: an AppConfig hosted configuration (1 MB; 2,000 components of
# the fleet benchmark's policy are about 600 KB of YAML). An SSM advanced parameter holds 8 KB.
MAX_POLICY_BYTES = 1024 * 1024
# The document with every alias expanded: about 15 nodes a component, so 2,000 components are
# about 30,000; the bound stops an alias bomb long before it costs time.
MAX_EXPANDED_NODES = 400_000


class _PolicyYaml(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 core-schema scalars and duplicate keys refused."""

    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {
        first: [(tag, rx) for tag, rx in resolvers if tag.rsplit(":", 1)[-1] not in ("bool", "int", "float")]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if isinstance(key, list | dict):
                continue  # unhashable: PyYAML reports it below
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
):
    _PolicyYaml.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def _int_12(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    return int(text, 0) if text.lower().startswith(("0o", "0x")) else int(text)


_PolicyYaml.add_constructor("tag:yaml.org,2002:int", _int_12)


def _expanded_size(root: yaml.Node) -> int:
    """How many nodes the document has once every alias is expanded (a shared node counted once per
    use; a node that contains itself counted once there, as ``_cycle`` reports it by its path),
    stopping as soon as the count passes MAX_EXPANDED_NODES. Memoised per node, so the check costs
    the composed document's size, not its expansion's."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        if children_done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes.get(id(c), 1) for c in children)  # a back edge counts 1
            if sizes[key] > MAX_EXPANDED_NODES:
                return sizes[key]
            continue
        on_path.add(key)
        stack.append((node, True))
        stack += [(c, False) for c in children if id(c) not in sizes and id(c) not in on_path]
    return sizes[id(root)]


@functools.lru_cache(maxsize=8)
def load_policy_text(text: str, source: str = "policy") -> Policy:
    """Parse and validate YAML text. Raises PolicyError with every problem at once.

    Memoised (the Policy is frozen): a warm Lambda reads the same text every run, and validating a
    fleet's policy costs seconds of CPU (2,000 components: about 3 s on one vCPU).

    Hostile documents are policy errors too, never a crash: one larger than MAX_POLICY_BYTES, a
    recursive anchor (``a: &a [*a]``, which YAML builds into a cycle) and nesting too deep to walk."""
    if len(text.encode("utf-8", "replace")) > MAX_POLICY_BYTES:
        raise PolicyError(
            [f"{source}: {len(text):,} characters is larger than a policy may be ({MAX_POLICY_BYTES:,} bytes)"]
        )
    try:
        node = yaml.compose(text, Loader=_PolicyYaml)
        if node is not None and _expanded_size(node) > MAX_EXPANDED_NODES:
            raise PolicyError(
                [f"{source}: its aliases expand to more than {MAX_EXPANDED_NODES:,} values: not a policy"]
            )
        data = yaml.load(text, Loader=_PolicyYaml)  # a SafeLoader subclass: no arbitrary objects
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


def policy_json_text(text: str, source: str = "policy") -> str:
    """The policy as a JSON document (what AppConfig's JSON Schema validator reads), after every
    check ``load_policy_text`` makes; it loads back to an equal Policy (JSON is YAML 1.2)."""
    load_policy_text(text, source)
    return json.dumps(yaml.load(text, Loader=_PolicyYaml), indent=2, ensure_ascii=False, default=_iso_day) + "\n"


def _iso_day(value: object) -> str:
    """YAML reads an unquoted 2026-12-24 (``predictive.holidays``) as a date; JSON writes it as text."""
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON: {value!r}")


def policy_json_schema() -> dict[str, Any]:
    schema = Policy.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "icpilot policy"
    return schema
