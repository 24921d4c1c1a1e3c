"""Resource quantities (``500m``, ``64Mi``, ``1e3``), read as the API server reads them.

``parse(value)`` is the quantity's value as a ``Decimal`` (``None`` when it is not a quantity);
``problem(value)`` is the API server's decoding error for a value that is not one, or ``None``;
``canonical(value)`` is the text the API server stores for it (``"0.1"`` -> ``"100m"``). The
grammar, messages and canonical form are ``k8s.io/apimachinery/pkg/api/resource``'s
(``ParseQuantity``, ``Quantity.String``/``CanonicalizeBytes``).
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal, InvalidOperation

PATTERN = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
_SPLIT = re.compile(PATTERN)
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_EXPONENT = re.compile(r"[eE][-+]?[0-9]+")
_BINARY_SUFFIXES = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")
_DECIMAL_SUFFIXES = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}


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


def canonical(value: object, *, scale: int = -9) -> object:
    """The quantity as the API server stores it, or ``value`` unchanged when it is not one.

    The format follows the suffix given: binary (``Mi``...) stays binary when the value is a whole
    number of at least 1024 in size, else it is written in decimal; decimal SI (``m``, ``k``, none)
    and exponent (``e3``) forms get an integer mantissa and an exponent that is a multiple of 3,
    as large as keeps the mantissa whole (``1.5`` -> ``1500m``, ``2000`` -> ``2k``, ``1500`` stays).
    Values are rounded up to ``10**scale`` units: nano by default (``resource.Quantity``'s
    smallest), milli for a ResourceList (``SetDefaults_ResourceList`` rounds those up to ``-3``).
    """
    amount = parse(value)
    if amount is None:
        return value
    suffix = _SPLIT.match(value).group(2) if isinstance(value, str) else ""
    amount = amount.scaleb(-scale).to_integral_value(ROUND_CEILING).scaleb(scale)
    if amount == 0:
        return "0"
    sign, amount = ("-" if amount < 0 else ""), abs(amount)
    binary = suffix in _BINARY and amount >= 1024 and amount == amount.to_integral_value()
    if binary:
        mantissa, power = int(amount), 0
        while mantissa % 1024 == 0 and power < len(_BINARY_SUFFIXES) - 1:
            mantissa, power = mantissa // 1024, power + 1
        return f"{sign}{mantissa}{_BINARY_SUFFIXES[power]}"
    mantissa, exponent = int(amount.scaleb(9)), -9
    while mantissa % 1000 == 0 and exponent < 18:
        mantissa, exponent = mantissa // 1000, exponent + 3
    if _EXPONENT.fullmatch(suffix):
        return f"{sign}{mantissa}{f'e{exponent}' if exponent else ''}"
    return f"{sign}{mantissa}{_DECIMAL_SUFFIXES[exponent]}"
