"""The seed's endpoints that go through Django: ``/``, ``/service``, ``/hostname``, ``/dial``.

``/ping`` and the health endpoints are answered in front of Django (``combat_app.front``).
Calls to the Service block on the network, so they run in a worker thread, never on the
event loop.
"""

from __future__ import annotations

import asyncio
import threading
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from combat_app import dialing, greeting, identity, upstream

ENDPOINTS = ("/ping", "/service", "/hostname", "/dial", "/grpc_client", "/healthz", "/readyz")


def _text(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    pod = identity.current()
    return _text(f"k8s-combat on pod {pod.name} ({pod.ip}, node {pod.node}): {' '.join(ENDPOINTS)}\n")


@require_GET
def hostname(request: HttpRequest) -> HttpResponse:
    return _text(identity.current().name)


@require_GET
async def service(request: HttpRequest) -> HttpResponse:
    """The seed's call through the Service: GET <Service>/ping on a new connection.

    The seed answered with the upstream status line and never closed the response body; here
    the response is read and closed, and the connection is not reused, so that two calls in a
    row can land on two pods exactly as the seed's article shows.
    """
    answer_format = request.GET.get("format", "text")
    if answer_format not in ("text", "json"):
        return _text(f"format: must be text or json, got {answer_format!r}\n", status=400)
    answer = await asyncio.to_thread(
        upstream.get,
        f"{settings.COMBAT_SERVICE_URL}/ping",
        timeout=settings.COMBAT_CALL_TIMEOUT_SECONDS,
    )
    status = 200 if answer.ok else 502
    if answer_format == "json":
        return JsonResponse(
            {
                "status": answer.status,
                "outcome": answer.outcome,
                "pod": answer.pod,
                "pod_ip": answer.pod_ip,
                "node": answer.node,
                "latency_ms": answer.latency_ms,
                "error": answer.error,
            },
            status=status,
        )
    if answer.ok:
        return _text(answer.status_line)
    return _text(f"{answer.outcome}: {answer.status_line}", status=status)


@require_GET
async def dial(request: HttpRequest) -> HttpResponse:
    """agnhost netexec's ``/dial``, limited to the configured Service."""
    try:
        plan = dialing.plan_from_query(
            request.GET,
            service_url=settings.COMBAT_SERVICE_URL,
        )
    except dialing.BadDial as exc:
        return _text(f"{exc}\n", status=400)
    result = await asyncio.to_thread(dialing.dial, plan, timeout=settings.COMBAT_CALL_TIMEOUT_SECONDS)
    return JsonResponse(result)


_greeters: dict[str, greeting.Greeter] = {}
_greeters_lock = threading.Lock()


def greeter_for(target: str) -> greeting.Greeter:
    """One channel per target for the life of the process, as the seed's client kept it."""
    with _greeters_lock:
        if target not in _greeters:
            _greeters[target] = greeting.Greeter(target)
        return _greeters[target]


@require_GET
async def grpc_client(request: HttpRequest) -> HttpResponse:
    """The seed's gRPC chapter: SayHello on the Service's gRPC port, over one long-lived channel.

    Unlike the original, ``name`` may only name the configured Service (by any of its DNS names,
    ``settings.COMBAT_SERVICE_NAMES``), every call has a deadline, and a failure is answered (502
    with the status) instead of crashing the pod.
    """
    service_host = urlsplit(settings.COMBAT_SERVICE_URL).hostname
    name = request.GET.get("name", service_host)
    if name not in settings.COMBAT_SERVICE_NAMES:
        return _text(
            f"name: only the configured Service {service_host!r} may be called, got {name!r}\n", status=400
        )
    version = request.GET.get("version", "k8s-combat")
    if len(version) > 100:
        return _text("version: at most 100 characters\n", status=400)
    client = greeter_for(f"{name}:{settings.COMBAT_SERVICE_GRPC_PORT}")
    answer = await asyncio.to_thread(client.say_hello, version, timeout=settings.COMBAT_CALL_TIMEOUT_SECONDS)
    if answer.outcome != "ok":
        return _text(f"{answer.outcome}: {answer.error}\n", status=502)
    return _text(answer.message)
