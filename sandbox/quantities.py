"""Resource quantities (``500m``, ``64Mi``, ``1e3``), read as the API server reads them.

``parse(value)`` is the quantity's value as a ``Decimal`` (``None`` when it is not a quantity);
``problem(value)`` is the API server's decoding error for a value that is not one, or ``None``.
The grammar and messages are ``k8s.io/apimachinery/pkg/api/resource``'s (``ParseQuantity``).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

PATTERN = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
_SPLIT = re.compile(PATTERN)
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_EXPONENT = re.compile(r"[eE][-+]?[0-9]+")


def problem(value: object) -> str | None:
    """The API server's message for a value that cannot be a quantity, else ``None``."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return f"quantities must match the regular expression '{PATTERN}'"
    if not isinstance(value, str):
        return None
    found = _SPLIT.match(value)
    if not found:
        return f"quantities must match the regular expression '{PATTERN}'"
    number, suffix = found.groups()
    if number.count(".") > 1 or number.strip("+-") in ("", "."):
        return f"quantities must match the regular expression '{PATTERN}'"
    if suffix not in _BINARY and suffix not in _DECIMAL and not _EXPONENT.fullmatch(suffix):
        return "unable to parse quantity's suffix"
    return None


def parse(value: object) -> Decimal | None:
    """``"500m"`` -> 0.5, ``"1Gi"`` -> 1073741824, ``2`` -> 2; ``None`` for a non-quantity."""
    if problem(value) is not None:
        return None
    if not isinstance(value, str):
        return Decimal(str(value))
    number, suffix = _SPLIT.match(value).groups()
    try:
        base = Decimal(number)
    except InvalidOperation:
        return None
    if suffix in _BINARY:
        return base * (2 ** _BINARY[suffix])
    if suffix in _DECIMAL:
        return base.scaleb(_DECIMAL[suffix])
    return base.scaleb(int(suffix[1:]))
