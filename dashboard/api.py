"""The HTTP API for scripts (see docs/protocol.md): state, runs, their calls, metrics.

Errors are JSON ``{"error": {"code", "message", "field"?}}`` with a 4xx status. ``POST
/api/runs`` needs the CSRF token (a browser) or ``Authorization: Bearer DASHBOARD_TOKEN``.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from functools import wraps

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_http_methods

from dashboard import access, engine
from dashboard.messages import MAX_FRAME_BYTES, BadCommand, plan_from
from dashboard.models import Call, Run

CALL_FIELDS = (
    "seq",
    "mode",
    "started_at",
    "latency_ms",
    "outcome",
    "pod",
    "pod_ip",
    "node",
    "local_port",
    "reused",
    "endpoint_state",
    "error",
    "channel",
)


def error(status: int, code: str, message: str, field: str | None = None) -> JsonResponse:
    body = {"code": code, "message": message}
    if field:
        body["field"] = field
    return JsonResponse({"error": body}, status=status)


def guarded(view):
    """The token (when DASHBOARD_TOKEN is set) and a running engine, before anything else."""

    @wraps(view)
    async def wrapper(request: HttpRequest, *args, **kwargs):
        if not access.request_allowed(request):
            return error(401, "token-required", "this dashboard requires its token (DASHBOARD_TOKEN)")
        return await view(request, *args, **kwargs)

    return wrapper


def _engine() -> engine.Engine:
    return engine.current()


@require_GET
@ensure_csrf_cookie  # a script that GETs the state first can then POST with X-CSRFToken
@guarded
async def state(request: HttpRequest) -> JsonResponse:
    snapshot = _engine().snapshot()
    snapshot.pop("type")
    return JsonResponse(snapshot)


def _runs(limit: int) -> list[dict]:
    return [engine.run_row(run) for run in Run.objects.all()[:limit]]


@csrf_exempt  # checked below unless the bearer token is there: scripts have no CSRF cookie
@require_http_methods(["GET", "POST"])
@guarded
async def runs(request: HttpRequest) -> JsonResponse:
    if request.method == "GET":
        return JsonResponse({"runs": await asyncio.to_thread(_runs, 100)})
    if not (access.required() and access.matches(access.bearer(request.headers.get("Authorization")))):
        rejection = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
        if rejection is not None:
            return error(403, "csrf", "POST needs the CSRF token (X-CSRFToken) or the bearer token")
    if len(request.body) > MAX_FRAME_BYTES:
        return error(413, "body-too-large", f"a run request may hold at most {MAX_FRAME_BYTES} bytes")
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return error(400, "invalid-json", "the body is not valid JSON")
    if not isinstance(body, dict):
        return error(400, "invalid-json", "the body must be a JSON object")
    try:
        plan = plan_from(body, command="POST /api/runs")
    except BadCommand as exc:
        return error(400, exc.code, str(exc), exc.field)
    return JsonResponse(await _engine().start_run(plan), status=201)


def _run(run_id: int) -> dict | None:
    found = Run.objects.filter(id=run_id).first()
    return engine.run_row(found) if found else None


@require_GET
@guarded
async def run(request: HttpRequest, run_id: int) -> JsonResponse:
    found = await asyncio.to_thread(_run, run_id)
    if found is None:
        return error(404, "not-found", f"no run {run_id}")
    return JsonResponse(found)


def _calls(run_id: int) -> list[tuple] | None:
    if not Run.objects.filter(id=run_id).exists():
        return None
    return list(Call.objects.filter(run_id=run_id).order_by("seq").values_list(*CALL_FIELDS))


@require_GET
@guarded
async def calls(request: HttpRequest, run_id: int, extension: str) -> HttpResponse:
    rows = await asyncio.to_thread(_calls, run_id)
    if rows is None:
        return error(404, "not-found", f"no run {run_id}")
    if extension == "json":
        return JsonResponse(
            {"run": run_id, "calls": [dict(zip(CALL_FIELDS, row, strict=True)) for row in rows]}
        )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CALL_FIELDS)
    writer.writerows(rows)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="run-{run_id}-calls.csv"'
    return response


@require_GET
@guarded
async def metrics(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_engine().metrics.render(), content_type="text/plain; version=0.0.4; charset=utf-8")
