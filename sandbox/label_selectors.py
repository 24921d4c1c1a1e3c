"""Label selectors, parsed as apimachinery's ``labels.Parse`` parses them, errors word for word.

The same lexer (identifiers end at whitespace and at ``= ! ( ) , < >``; ``in`` and ``notin`` are
keywords but values where a value is due), the same parser (``found 'x', expected: ...``), the
same checks of keys and values (``name_formats``), and the same matching: ``!=`` and ``notin``
also match an object without the label; ``gt``/``lt`` compare integers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from sandbox.name_formats import is_label_value, is_qualified_name

Matcher = Callable[[Mapping[str, str]], bool]

_SPECIAL = "=!(),<>"
_WHITESPACE = " \t\r\n"
_TOKENS = {
    ")": "ClosedPar",
    ",": "Comma",
    "!": "DoesNotExist",
    "==": "DoubleEquals",
    "=": "Equals",
    ">": "GreaterThan",
    "in": "In",
    "<": "LessThan",
    "!=": "NotEquals",
    "notin": "NotIn",
    "(": "OpenPar",
}
_OPERATORS = {
    "In": "in",
    "Equals": "=",
    "DoubleEquals": "==",
    "GreaterThan": "gt",
    "LessThan": "lt",
    "NotIn": "notin",
    "NotEquals": "!=",
}
_BINARY = "in, notin, =, ==, !=, gt, lt"


class LabelSelectorError(ValueError):
    pass


def _lex(text: str) -> list[tuple[str, str]]:
    """Every (token, literal) up to ``EndOfString``."""
    items, position = [], 0
    while True:
        while position < len(text) and text[position] in _WHITESPACE:
            position += 1
        if position >= len(text):
            items.append(("EndOfString", ""))
            return items
        if text[position] in _SPECIAL:
            buffer, last = "", None
            while position < len(text) and text[position] in _SPECIAL:
                buffer += text[position]
                if buffer in _TOKENS:
                    last = (_TOKENS[buffer], buffer)
                elif last is not None:
                    break
                position += 1
            if last is None:
                items.append(("Error", f"error expected: keyword found '{buffer}'"))
            else:
                items.append(last)
            continue
        start = position
        while position < len(text) and text[position] not in _SPECIAL + _WHITESPACE:
            position += 1
        literal = text[start:position]
        items.append((_TOKENS.get(literal, "Identifier"), literal))


def _quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


class _Parser:
    def __init__(self, text: str) -> None:
        self.items = _lex(text)
        self.position = 0

    def lookahead(self, values: bool = True) -> tuple[str, str]:
        token, literal = self.items[self.position]
        if values and token in ("In", "NotIn"):
            token = "Identifier"
        return token, literal

    def consume(self, values: bool = True) -> tuple[str, str]:
        found = self.lookahead(values)
        self.position += 1
        return found

    def parse(self) -> list[tuple[str, str, list[str]]]:
        requirements = []
        while True:
            token, literal = self.lookahead()
            if token in ("Identifier", "DoesNotExist"):
                try:
                    requirements.append(self.requirement())
                except LabelSelectorError as exc:
                    raise LabelSelectorError(f"unable to parse requirement: {exc}") from None
                token, literal = self.consume()
                if token == "EndOfString":
                    return requirements
                if token == "Comma":
                    after, after_literal = self.lookahead()
                    if after not in ("Identifier", "DoesNotExist"):
                        raise LabelSelectorError(f"found '{after_literal}', expected: identifier after ','")
                else:
                    raise LabelSelectorError(f"found '{literal}', expected: ',' or 'end of string'")
            elif token == "EndOfString":
                return requirements
            else:
                raise LabelSelectorError(f"found '{literal}', expected: !, identifier, or 'end of string'")

    def requirement(self) -> tuple[str, str, list[str]]:
        operator = ""
        token, key = self.consume()
        if token == "DoesNotExist":
            operator = "!"
            token, key = self.consume()
        if token != "Identifier":
            raise LabelSelectorError(f"found '{key}', expected: identifier")
        if problems := is_qualified_name(key):
            raise LabelSelectorError(f"<nil>: Invalid value: {_quote(key)}: {'; '.join(problems)}")
        if self.lookahead()[0] in ("EndOfString", "Comma"):
            return key, operator or "exists", []
        if operator:
            return key, operator, []
        token, literal = self.consume(values=False)
        if token not in _OPERATORS:
            raise LabelSelectorError(f"found '{literal}', expected: {_BINARY}")
        operator = _OPERATORS[token]
        values = self.set_values() if operator in ("in", "notin") else self.exact_value()
        return key, operator, _checked(key, operator, sorted(values))

    def set_values(self) -> set[str]:
        token, literal = self.consume()
        if token != "OpenPar":
            raise LabelSelectorError(f"found '{literal}' expected: '('")
        token, literal = self.lookahead()
        if token == "ClosedPar":
            self.consume()
            return {""}
        if token not in ("Identifier", "Comma"):
            raise LabelSelectorError(f"found '{literal}', expected: ',', ')' or identifier")
        values = self.identifiers()
        if self.consume()[0] != "ClosedPar":
            raise LabelSelectorError(f"found '{literal}', expected: ')'")
        return values

    def identifiers(self) -> set[str]:
        values: set[str] = set()
        while True:
            token, literal = self.consume()
            if token == "Identifier":
                values.add(literal)
                after, after_literal = self.lookahead()
                if after == "Comma":
                    continue
                if after == "ClosedPar":
                    return values
                raise LabelSelectorError(f"found '{after_literal}', expected: ',' or ')'")
            if token == "Comma":
                if not values:
                    values.add("")
                after, _ = self.lookahead()
                if after == "ClosedPar":
                    values.add("")
                    return values
                if after == "Comma":
                    self.consume()
                    values.add("")
                continue
            raise LabelSelectorError(f"found '{literal}', expected: ',', or identifier")

    def exact_value(self) -> set[str]:
        if self.lookahead()[0] in ("EndOfString", "Comma"):
            return {""}
        token, literal = self.consume()
        if token == "Identifier":
            return {literal}
        raise LabelSelectorError(f"found '{literal}', expected: identifier")


def _checked(key: str, operator: str, values: list[str]) -> list[str]:
    """NewRequirement's checks of the values (the key was checked as it was read)."""
    errors = []
    if operator in ("gt", "lt"):
        for index, value in enumerate(values):
            try:
                int(value, 10)
                if not -(2**63) <= int(value) < 2**63 or value.strip() != value or "_" in value:
                    raise ValueError(value)
            except ValueError:
                errors.append(
                    f"values[{index}]: Invalid value: {_quote(value)}: "
                    "for 'Gt', 'Lt' operators, the value must be an integer"
                )
    for index, value in enumerate(values):
        if problems := is_label_value(value):
            errors.append(f"values[{index}][{key}]: Invalid value: {_quote(value)}: {'; '.join(problems)}")
    errors = list(dict.fromkeys(errors))
    if errors:
        raise LabelSelectorError(errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")
    return values


def _matches(key: str, operator: str, values: list[str], labels: Mapping[str, str]) -> bool:
    if operator == "exists":
        return key in labels
    if operator == "!":
        return key not in labels
    if operator in ("=", "==", "in"):
        return key in labels and labels[key] in values
    if operator in ("!=", "notin"):
        return key not in labels or labels[key] not in values
    try:
        have, want = int(labels[key]), int(values[0])
    except (KeyError, ValueError):
        return False
    return have > want if operator == "gt" else have < want


def parse(text: str | None) -> Matcher:
    """A matcher over an object's labels, or ``LabelSelectorError`` with the API server's words."""
    requirements = _Parser(text or "").parse()
    return lambda labels: all(_matches(key, op, values, labels) for key, op, values in requirements)
