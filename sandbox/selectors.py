"""Label and field selectors, parsed as the API server parses them.

``app=k8s-combat-service``, ``tier!=db``, ``env in (a,b)``, ``env notin (c)``, ``app``, ``!app``
for labels; ``metadata.name=x`` and ``metadata.namespace!=y`` for fields. A selector that does
not parse is a 400 with the API server's wording, never a match-everything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

Matcher = Callable[[Mapping[str, str]], bool]

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_SET = re.compile(rf"^\s*({_NAME})\s+(in|notin)\s+\(([^()]*)\)\s*$")
_EQUALITY = re.compile(rf"^\s*({_NAME})\s*(==|=|!=)\s*({_VALUE})\s*$")
_EXISTS = re.compile(rf"^\s*(!?)\s*({_NAME})\s*$")


class SelectorError(ValueError):
    pass


def _split_requirements(text: str) -> list[str]:
    """Split on commas outside parentheses: ``a in (x,y),b=c`` is two requirements."""
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


def _requirement(text: str) -> Matcher:
    if match := _SET.match(text):
        key, operator, values_text = match.group(1), match.group(3), match.group(4)
        values = {value.strip() for value in values_text.split(",")}
        if not all(re.fullmatch(_VALUE, value) for value in values):
            raise SelectorError(f"invalid label value in {text.strip()!r}")
        if operator == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if match := _EQUALITY.match(text):
        key, operator, value = match.group(1), match.group(3), match.group(4)
        if operator == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if match := _EXISTS.match(text):
        negated, key = match.group(1), match.group(2)
        if negated:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise SelectorError(f"unable to parse requirement: {text.strip()!r}")


def parse_label_selector(text: str | None) -> Matcher:
    requirements = [_requirement(part) for part in _split_requirements(text or "")]
    return lambda labels: all(requirement(labels) for requirement in requirements)


FIELDS = ("metadata.name", "metadata.namespace")


def parse_field_selector(text: str | None) -> Matcher:
    """Field selectors over the fields every kind supports (the dashboard and kubectl use these)."""
    checks = []
    for part in _split_requirements(text or ""):
        match = re.fullmatch(r"\s*([a-zA-Z.]+)\s*(==|=|!=)\s*([^,]*?)\s*", part)
        if not match:
            raise SelectorError(f"invalid field selector: {part.strip()!r}")
        field, operator, value = match.groups()
        if field not in FIELDS:
            raise SelectorError(f'field label not supported: "{field}"')
        checks.append((field, operator != "!=", value))
    return lambda fields: all((fields.get(field) == value) is wanted for field, wanted, value in checks)
