"""``/dial``: agnhost netexec's way of asking "who answers?" several times in a row.

The Kubernetes e2e tests use ``/dial?request=hostname&host=H&port=P&tries=N`` to see which
pods a Service reaches. Here ``host`` and ``port`` may only name the configured Service: an
endpoint that dials wherever it is told would turn every pod into an open proxy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from combat_app import upstream

REQUESTS = {"hostname": "/hostname", "ping": "/ping"}
MAX_TRIES = 100


class BadDial(ValueError):
    """A /dial parameter that is missing its mark; the message says which and why."""


@dataclass(frozen=True)
class DialPlan:
    url: str
    tries: int


def plan_from_query(query: Mapping[str, str], *, service_url: str) -> DialPlan:
    service = urlsplit(service_url)
    service_host, service_port = service.hostname, service.port
    request = query.get("request", "hostname")
    if request not in REQUESTS:
        raise BadDial(f"request: must be one of {', '.join(REQUESTS)}, got {request!r}")
    protocol = query.get("protocol", "http")
    if protocol != "http":
        raise BadDial(f"protocol: only http is supported, got {protocol!r}")
    host = query.get("host", service_host)
    if host != service_host:
        raise BadDial(f"host: only the configured Service {service_host!r} may be dialled, got {host!r}")
    port_text = query.get("port", str(service_port))
    if port_text != str(service_port):
        raise BadDial(f"port: only the Service's port {service_port} may be dialled, got {port_text!r}")
    tries_text = query.get("tries", "1")
    # ASCII digits, not too many: str.isdigit() takes "²" and int() refuses 5000 digits (500s).
    digits = tries_text.isascii() and tries_text.isdigit() and len(tries_text) <= 6
    if not digits or not 1 <= int(tries_text) <= MAX_TRIES:
        raise BadDial(f"tries: must be a whole number from 1 to {MAX_TRIES}, got {tries_text!r}")
    return DialPlan(url=f"{service_url}{REQUESTS[request]}", tries=int(tries_text))


def dial(plan: DialPlan, *, timeout: float) -> dict[str, list[str]]:
    """Each try opens a new connection, so the Service picks a pod for every one of them."""
    responses: list[str] = []
    errors: list[str] = []
    for _ in range(plan.tries):
        answer = upstream.get(plan.url, timeout=timeout)
        if answer.ok:
            responses.append(answer.body)
        else:
            errors.append(f"{answer.outcome}: {answer.status_line}")
    return {"responses": responses, "errors": errors}
