"""DASHBOARD_TOKEN: when set, the page, the websocket and the API all require it.

A browser brings it once as ``?token=...``; the page then keeps it in an HttpOnly, SameSite=Strict
cookie, which the same-origin websocket sends too. Scripts send ``Authorization: Bearer ...``.
"""

from __future__ import annotations

import hmac
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from django.conf import settings

COOKIE = "k8s_combat_token"


def required() -> bool:
    return bool(settings.DASHBOARD_TOKEN)


def matches(candidate: str | None) -> bool:
    if not required():
        return True
    return bool(candidate) and hmac.compare_digest(candidate.encode(), settings.DASHBOARD_TOKEN.encode())


def bearer(authorization: str | None) -> str | None:
    if authorization and authorization.startswith("Bearer "):
        return authorization.removeprefix("Bearer ").strip()
    return None


def request_allowed(request) -> bool:
    return (
        matches(bearer(request.headers.get("Authorization")))
        or matches(request.COOKIES.get(COOKIE))
        or matches(request.GET.get("token"))
    )


def scope_allowed(scope: dict) -> bool:
    """For the websocket handshake: the cookie, or ``?token=``."""
    if not required():
        return True
    headers = dict(scope.get("headers") or [])
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get(b"cookie", b"").decode("latin-1"))
    except Exception:  # a malformed Cookie header is no token
        cookie = SimpleCookie()
    from_cookie = cookie[COOKIE].value if COOKIE in cookie else None
    from_query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [None])[0]
    return matches(from_cookie) or matches(from_query)
