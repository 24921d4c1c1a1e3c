"""Fault switches for tests, under ``/sandbox/faults/`` (never part of the Kubernetes API).

``drop-watches`` ends every watch stream; ``silence-watches?on=true|false`` holds their events
back; ``compact`` forgets the history (older resourceVersions are 410 Gone); ``fail-readiness?
pod=NAME&on=...`` makes a pod's readiness probe fail; ``restart?seconds=S`` looks like an API
server restart (streams end, 503 for S seconds, no history); ``watch-status?code=C&count=N``
answers the next N watch requests with HTTP status C.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from sandbox.objects import NAMESPACE
from sandbox.wire import ApiError, Request

if TYPE_CHECKING:
    from sandbox.apiserver import ApiServer


def switch(server: ApiServer, action: str, request: Request) -> dict:
    watches = server.watches
    if action == "drop-watches":
        watches.faults.generation += 1
    elif action == "silence-watches":
        watches.faults.silenced = request.query.get("on", "true") == "true"
    elif action == "compact":
        server.store.compact()
    elif action == "fail-readiness":
        runner = server.controls.runner(
            request.query.get("pod", ""), request.query.get("namespace", NAMESPACE)
        )
        if runner is None:
            raise ApiError(404, "NotFound", f"no pod {request.query.get('pod')!r}")
        runner.fail_readiness(request.query.get("on", "true") == "true")
    elif action == "restart":
        try:
            seconds = float(request.query.get("seconds", "1"))
        except ValueError:
            seconds = -1.0
        if not 0 <= seconds <= 3600:  # also NaN and inf, which float() takes
            raise ApiError(400, "BadRequest", "seconds must be a number from 0 to 3600")
        server.down_until = time.monotonic() + seconds
        watches.faults.generation += 1
        server.store.compact()
    elif action == "watch-status":
        code, count = request.integer("code"), request.integer("count")
        code, count = 410 if code is None else code, 1 if count is None else count
        if not (400 <= code <= 599 and 1 <= count <= 100):
            raise ApiError(400, "BadRequest", "code must be from 400 to 599, count from 1 to 100")
        watches.faults.watch_errors.extend([code] * count)
    else:
        raise ApiError(404, "NotFound", f"no such fault: {action}")
    return {"fault": action, "openWatches": watches.open, "resourceVersion": server.store.resource_version}
