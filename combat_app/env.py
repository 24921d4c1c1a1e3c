"""Strict readers for settings that come from the environment.

Every setting of k8s-combat is an environment variable (the pods are configured by their
manifests, like podinfo's flags). A value that does not parse stops start-up with a message
naming the variable, as healthchecks does: ``DEBUG=yes please`` must not silently mean False.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from combat_app import targets

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _bad(name: str, value: str, expected: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{name}={value!r} is not valid: expected {expected}")


def env_str(name: str, default: str) -> str:
    return _raw(name) or default


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise _bad(name, value, "true or false (also 1/0, yes/no, on/off)")


def env_int(name: str, default: int, *, minimum: int, maximum: int) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise _bad(name, value, f"a whole number from {minimum} to {maximum}") from None
    if not minimum <= number <= maximum:
        raise _bad(name, value, f"a whole number from {minimum} to {maximum}")
    return number


def env_float(name: str, default: float, *, minimum: float, maximum: float) -> float:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise _bad(name, value, f"a number from {minimum:g} to {maximum:g}") from None
    if not minimum <= number <= maximum:  # also rejects nan
        raise _bad(name, value, f"a number from {minimum:g} to {maximum:g}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = _raw(name)
    if value is None:
        return default
    if value not in choices:
        raise _bad(name, value, "one of " + ", ".join(choices))
    return value


def env_service_url(name: str, default: str) -> str:
    """An ``http://host:port`` base URL with nothing after it: the one place calls may go."""
    value = _raw(name) or default
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise _bad(name, value, "http://host:port") from None
    if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
        raise _bad(name, value, "http://host:port with no path")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise _bad(name, value, "http://host:port with no path, query or credentials")
    return f"http://{parts.netloc}" if port else f"http://{parts.hostname}:80"


def env_targets(name: str, default: str, *, own_namespace: str) -> tuple[targets.Target, ...]:
    """``name`` or ``name.namespace`` entries, comma-separated (``combat_app.targets``)."""
    value = _raw(name) or default
    try:
        return targets.parse_targets([e.strip() for e in value.split(",") if e.strip()], own_namespace)
    except targets.BadTarget as exc:
        raise ImproperlyConfigured(f"{name}={value!r} is not valid: {exc}") from None


def env_header_value(name: str, default: str) -> str:
    """A value that will be sent in an HTTP header, so it must be printable ASCII."""
    value = _raw(name) or default
    if not value.isascii() or not value.isprintable():
        raise _bad(name, value, "printable ASCII (it is sent in a response header)")
    return value


def env_secret(name: str, *, generate: bool) -> str:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE`` (a mounted Secret).

    With neither set, a random value is made only when ``generate`` is true (local runs);
    otherwise start-up stops, so that no deployment runs on a key nobody chose.
    """
    value = _raw(name)
    path = _raw(f"{name}_FILE")
    if value and path:
        raise ImproperlyConfigured(f"set {name} or {name}_FILE, not both")
    if path:
        try:
            value = Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {exc.strerror}") from exc
        if not value:
            raise ImproperlyConfigured(f"{name}_FILE={path!r} is empty")
    if value:
        return value
    if generate:
        return secrets.token_urlsafe(50)
    raise ImproperlyConfigured(
        f"{name} (or {name}_FILE) must be set; a random one is made only when DJANGO_DEBUG=true"
    )


def env_redis_url(name: str) -> str:
    value = _raw(name) or ""
    parts = urlsplit(value)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise _bad(name, value, "redis://host:6379/0")
    return value
