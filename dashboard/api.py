"""The HTTP API for scripts (see docs/protocol.md): state, runs, their calls, metrics.

Errors are JSON ``{"error": {"code", "message", "field"?}}`` with a 4xx status, whatever was
wrong: the method (405), the query (400), a body where none is taken (400), the body's size
(413), its JSON (400, the codes of ``dashboard.messages.decode``) or its fields (400). ``POST
/api/runs`` and ``POST /api/experiments`` need the CSRF token (a browser) or ``Authorization:
Bearer DASHBOARD_TOKEN``.
"""

from __future__ import annotations

import asyncio
import csv
import io
from functools import wraps

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie

from dashboard import access, engine, experiments
from dashboard.messages import MAX_FRAME_BYTES, BadCommand, decode, experiment_plan_from, plan_from
from dashboard.models import Call, Experiment, Run

MAX_RUN_ID = 2**63 - 1  # SQLite's largest integer: a longer id names no run
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


class Refused(Exception):
    """Raised by a view or its guards; ``guarded`` answers it with ``error(...)``."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.field = status, code, field


def body_of(request: HttpRequest, limit: int = MAX_FRAME_BYTES) -> bytes:
    """The request's body, refused with 413 ``body-too-large`` past ``limit`` bytes."""
    try:
        body = request.body  # Django refuses past DATA_UPLOAD_MAX_MEMORY_SIZE before reading it
    except RequestDataTooBig:
        body = None
    if body is None or len(body) > limit:
        raise Refused(413, "body-too-large", f"a request body may hold at most {limit} bytes")
    return body


def allow(*methods: str):
    """Only these methods; any other is a JSON 405 with ``Allow`` (Django's is an empty page).

    The views are CSRF-exempt here because only ``POST /api/runs`` and ``POST /api/experiments``
    change anything, and they check the CSRF token themselves unless the bearer token is there.
    """

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        async def wrapper(request: HttpRequest, *args, **kwargs):
            if request.method not in methods:
                response = error(405, "method-not-allowed", f"{request.method} is not allowed here")
                response["Allow"] = ", ".join(methods)
                return response
            return await view(request, *args, **kwargs)

        return wrapper

    return decorate


def guarded(view):
    """Before the view: the query parsed, the token (when DASHBOARD_TOKEN is set), no body on a GET.

    Whatever the view or these raise as ``Refused`` or as Django's ``SuspiciousOperation``
    (too many query fields, a body over DATA_UPLOAD_MAX_MEMORY_SIZE) becomes a JSON 4xx.
    """

    @wraps(view)
    async def wrapper(request: HttpRequest, *args, **kwargs):
        try:
            request.GET  # noqa: B018 -- parsed here, so a bad query is refused here
            if not access.request_allowed(request):
                return error(401, "token-required", "this dashboard requires its token (DASHBOARD_TOKEN)")
            if request.method == "GET" and body_of(request):
                raise Refused(400, "unexpected-body", "a GET request takes no body")
            return await view(request, *args, **kwargs)
        except Refused as refused:
            return error(refused.status, refused.code, str(refused), refused.field)
        except RequestDataTooBig:
            return error(413, "body-too-large", "the request body is too large")
        except SuspiciousOperation as exc:
            return error(400, "invalid-request", str(exc) or "the request is malformed")

    return wrapper


def _engine() -> engine.Engine:
    return engine.current()


def _target(request: HttpRequest) -> str | None:
    """``?target=name.namespace`` (or ``name``): a configured target's key, or None when absent;
    any other name is refused (400 ``unknown-target``): calls go to the configured Services only."""
    asked = request.GET.get("target")
    if asked is None:
        return None
    try:
        return _engine().target(asked).target.key
    except engine.Refused as exc:
        raise Refused(400, exc.code, str(exc), "target") from None


def _of_target(rows, key: str | None):
    """Stored rows of the target ``key`` (all when None); rows from before targets had keys
    (``target=""``) were the home Service's."""
    if key is None:
        return rows
    home = key == settings.DASHBOARD_HOME.key
    return rows.filter(Q(target=key) | Q(target="")) if home else rows.filter(target=key)


@allow("GET")
@ensure_csrf_cookie  # a script that GETs the state first can then POST with X-CSRFToken
@guarded
async def state(request: HttpRequest) -> JsonResponse:
    snapshot = _engine().snapshot(_target(request))
    snapshot.pop("type")
    return JsonResponse(snapshot)


def _runs(limit: int, key: str | None) -> list[dict]:
    return [engine.run_row(run) for run in _of_target(Run.objects.all(), key)[:limit]]


@allow("GET", "POST")  # CSRF checked below unless the bearer token is there: scripts have no cookie
@guarded
async def runs(request: HttpRequest) -> JsonResponse:
    """GET: the newest 100 runs (``?target=``: that target's only); POST ``{mode, count,
    concurrency, rate}``: a run against the target (``?target=``, else the first configured)."""
    key = _target(request)
    if request.method == "GET":
        return JsonResponse({"runs": await asyncio.to_thread(_runs, 100, key)})
    try:
        plan = plan_from(_posted(request), command="POST /api/runs")
    except BadCommand as exc:
        return error(400, exc.code, str(exc), exc.field)
    return JsonResponse(await _engine().start_run(plan, key), status=201)


def _posted(request: HttpRequest) -> dict:
    """A POST's JSON object body, once its sender may change things: the bearer token, or else
    the CSRF token (403 ``csrf``). Raises ``BadCommand`` for the body's JSON."""
    if not (access.required() and access.matches(access.bearer(request.headers.get("Authorization")))):
        rejection = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
        if rejection is not None:
            raise Refused(403, "csrf", "POST needs the CSRF token (X-CSRFToken) or the bearer token")
    raw = body_of(request)  # 413 past MAX_FRAME_BYTES, so decode's size check never fires here
    body = decode(raw) if raw else {}
    if not isinstance(body, dict):
        raise BadCommand("invalid-json", "the body must be a JSON object")
    return body


def _experiments(limit: int, key: str | None) -> list[dict]:
    found = _of_target(Experiment.objects.all(), key)[:limit]
    return [experiments.stored_experiment(experiment.id) for experiment in found]


@allow("GET", "POST")  # as /api/runs: CSRF checked unless the bearer token is there
@guarded
async def experiment_list(request: HttpRequest) -> JsonResponse:
    """GET: the newest 20 experiments with their runs; POST ``{count, concurrency}``: compare
    the modes (201, the experiment as ``experiment.started`` shows it). ``?target=`` as for runs."""
    key = _target(request)
    if request.method == "GET":
        return JsonResponse({"experiments": await asyncio.to_thread(_experiments, 20, key)})
    try:
        plan = experiment_plan_from(_posted(request), command="POST /api/experiments")
    except BadCommand as exc:
        return error(400, exc.code, str(exc), exc.field)
    try:
        return JsonResponse(await _engine().start_experiment(plan, key), status=201)
    except engine.Refused as exc:  # the pod is stopping: another replica can take it
        return error(503, exc.code, str(exc))


async def _stored_experiment(experiment_id: int | None) -> dict:
    if experiment_id is None or experiment_id > MAX_RUN_ID:
        raise Refused(404, "not-found", "no experiment with that id")
    found = await asyncio.to_thread(experiments.stored_experiment, experiment_id)
    if found is None:
        raise Refused(404, "not-found", f"no experiment {experiment_id}")
    return found


@allow("GET")
@guarded
async def experiment(request: HttpRequest, experiment_id: int | None) -> JsonResponse:
    return JsonResponse(await _stored_experiment(experiment_id))


@allow("GET")
@guarded
async def experiment_export(request: HttpRequest, experiment_id: int | None, extension: str) -> HttpResponse:
    """The experiment as a JSON file, or as CSV: one row per mode (``experiments.CSV_FIELDS``)."""
    found = await _stored_experiment(experiment_id)
    name = f"experiment-{found['id']}.{extension}"
    if extension == "json":
        response = JsonResponse(found)
    else:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(experiments.CSV_FIELDS)
        writer.writerows(experiments.csv_rows(found))
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _run(run_id: int) -> dict | None:
    found = Run.objects.filter(id=run_id).first()
    return engine.run_row(found) if found else None


def _known(run_id: int | None) -> int:
    """A run id from the path: ``None`` (more digits than any id has) is 404 like any unknown id."""
    if run_id is None or run_id > MAX_RUN_ID:
        raise Refused(404, "not-found", "no run with that id")
    return run_id


@allow("GET")
@guarded
async def run(request: HttpRequest, run_id: int | None) -> JsonResponse:
    run_id = _known(run_id)
    found = await asyncio.to_thread(_run, run_id)
    if found is None:
        return error(404, "not-found", f"no run {run_id}")
    return JsonResponse(found)


def _calls(run_id: int) -> list[tuple] | None:
    if not Run.objects.filter(id=run_id).exists():
        return None
    return list(Call.objects.filter(run_id=run_id).order_by("seq").values_list(*CALL_FIELDS))


@allow("GET")
@guarded
async def calls(request: HttpRequest, run_id: int | None, extension: str) -> HttpResponse:
    run_id = _known(run_id)
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


@csrf_exempt
async def not_found(request: HttpRequest, rest: str) -> JsonResponse:
    """Any other path under /api/, with any method: a JSON 404 rather than Django's page."""
    return error(404, "not-found", "no such API path (see docs/protocol.md)")


@allow("GET")
@guarded
async def metrics(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_engine().metrics_text(), content_type="text/plain; version=0.0.4; charset=utf-8")
