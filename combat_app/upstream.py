"""Calls to the Service: the one module that speaks HTTP through ``requests``.

A call never raises and never outlasts its timeout: whatever happens becomes an ``Answer``
whose ``outcome`` names the failure the way a person debugging a Service would (refused,
reset, timeout, dns), with the library's text kept in ``error``. Redirects are not followed:
a call goes to the configured Service and nowhere else.
"""

from __future__ import annotations

import errno
import functools
import http.client
import socket
import time
from dataclasses import dataclass

import requests
import urllib3

OUTCOMES = ("ok", "refused", "reset", "timeout", "dns", "error")  # plus "http-<code>"


@dataclass(frozen=True)
class Answer:
    outcome: str
    status: int | None
    reason: str
    pod: str
    pod_ip: str
    node: str
    latency_ms: float
    error: str
    body: str
    local_port: int | None = None  # the client side of the TCP connection the call used
    reused: bool = False  # True when that connection had carried an earlier call
    channel: int | None = None  # gRPC only (see greeting.GrpcAnswer); HTTP calls have none

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    @property
    def status_line(self) -> str:
        """What the seed's ``/service`` printed: Go's ``resp.Status``, e.g. ``200 OK``."""
        return f"{self.status} {self.reason}" if self.status is not None else self.error

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _causes(exc: BaseException):
    """The exception and everything it wraps: requests -> urllib3 -> the socket error."""
    seen: set[int] = set()
    stack: list[object] = [exc]
    while stack:
        cause = stack.pop()
        if not isinstance(cause, BaseException) or id(cause) in seen:
            continue
        seen.add(id(cause))
        yield cause
        stack += [cause.__cause__, cause.__context__, getattr(cause, "reason", None), *cause.args]


def classify(exc: BaseException) -> str:
    """Name a failed call's cause from the exception ``requests`` raised and what it wraps."""
    if isinstance(exc, requests.Timeout):
        return "timeout"
    causes = list(_causes(exc))

    def found(*kinds: type[BaseException]) -> bool:
        return any(isinstance(cause, kinds) for cause in causes)

    if found(urllib3.exceptions.NameResolutionError, socket.gaierror):
        return "dns"
    if found(ConnectionRefusedError) or any(getattr(c, "errno", None) == errno.ECONNREFUSED for c in causes):
        return "refused"
    if found(ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
        return "reset"
    # Checked last: urllib3's NewConnectionError is also a (connect) TimeoutError.
    if found(TimeoutError, urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.ConnectTimeoutError):
        return "timeout"
    return "error"


def get(url: str, *, timeout: float, session: requests.Session | None = None) -> Answer:
    """GET ``url`` once; ``timeout`` bounds connecting and reading together.

    Without ``session`` the call opens its own connection and closes it afterwards, as the
    seed's ``curl`` did: that is what lets a Service spread calls over its pods. With one, the
    session's pooled connection is reused; the answer says which connection carried the call.
    """
    started = time.perf_counter()
    budget = _budget(timeout)
    one_off = _session() if session is None else None
    try:
        response = (session or one_off).get(url, timeout=budget, allow_redirects=False, stream=True)
        local_port, reused = _connection_of(response)
        body = response.content[:1024]
    except requests.RequestException as exc:
        return Answer(
            outcome=classify(exc),
            status=None,
            reason="",
            pod="",
            pod_ip="",
            node="",
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            error=str(exc),
            body="",
        )
    finally:
        if one_off is not None:
            one_off.close()
    latency_ms = round((time.perf_counter() - started) * 1000, 3)
    headers = response.headers
    return Answer(
        outcome="ok" if response.status_code == 200 else f"http-{response.status_code}",
        status=response.status_code,
        reason=response.reason or "",
        pod=headers.get("X-Pod-Name", ""),
        pod_ip=headers.get("X-Pod-IP", ""),
        node=headers.get("X-Node-Name", ""),
        latency_ms=latency_ms,
        error="",
        body=body.decode("utf-8", "replace"),
        local_port=local_port,
        reused=reused,
    )


@functools.lru_cache(maxsize=8)
def _budget(timeout: float) -> urllib3.Timeout:
    """One Timeout per value (urllib3 clones it for each request)."""
    return urllib3.Timeout(total=timeout, connect=timeout, read=timeout)


def _connection_of(response: requests.Response) -> tuple[int | None, bool]:
    """The local port of the connection that carried ``response``, and whether it was reused."""
    connection = getattr(response.raw, "connection", None)
    if connection is None:
        return None, False
    port = getattr(connection, "_combat_port", None)
    if port is None or getattr(connection, "_combat_sock", None) is not connection.sock:
        # A new connection (or the pool reconnected this one): read its port once.
        try:
            port = connection.sock.getsockname()[1]
        except (AttributeError, OSError):
            return None, False
        connection._combat_port, connection._combat_sock = port, connection.sock
        return port, False
    return port, True


def _session() -> requests.Session:
    """A session that goes straight to the Service: no HTTP_PROXY or .netrc from the environment
    may send calls elsewhere (and not reading them per call is also much cheaper)."""
    direct = requests.Session()
    direct.trust_env = False
    return direct


def session(pool_size: int = 1) -> requests.Session:
    """A session that keeps up to ``pool_size`` connections to the Service open."""
    kept = _session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
    kept.mount("http://", adapter)
    return kept
