"""The websocket protocol's commands, checked: every field typed, every number in range.

Pure functions; ``docs/protocol.md`` is the description users read. A command that does not
pass raises ``BadCommand`` naming the field, and the consumer answers it with an ``error``
message while the connection stays open.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from combat_app import boundedjson
from dashboard.firing import MAX_CONCURRENCY, MAX_COUNT, MODES, ExperimentPlan, RunPlan

PROTOCOL_VERSION = 3  # 2: endpoints.changed carries what changed; 3: one socket per target Service
MAX_FRAME_BYTES = 4096
MAX_REPLICAS = 10
COMMANDS = (
    "run.start",
    "run.cancel",
    "experiment.start",
    "experiment.cancel",
    "deployment.scale",
    "pod.delete",
    "resync",
)


class BadCommand(ValueError):
    def __init__(
        self, code: str, message: str, *, field: str | None = None, command: str | None = None
    ) -> None:
        super().__init__(message)
        self.code, self.field, self.command = code, field, command

    def as_message(self) -> dict:
        body = {"type": "error", "code": self.code, "message": str(self)}
        if self.field:
            body["field"] = self.field
        if self.command:
            body["command"] = self.command
        return body


@dataclass(frozen=True)
class Command:
    type: str
    plan: RunPlan | None = None
    run: int | None = None
    replicas: int | None = None
    pod: str | None = None
    experiment: ExperimentPlan | None = None
    experiment_id: int | None = None


def _integer(body: dict, name: str, low: int, high: int, *, command: str, default: int | None = None) -> int:
    value = body.get(name, default)
    if value is None:
        raise BadCommand("missing-field", f"{name} is required", field=name, command=command)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadCommand("invalid-field", f"{name} must be a whole number", field=name, command=command)
    if not low <= value <= high:
        raise BadCommand("out-of-range", f"{name} must be from {low} to {high}", field=name, command=command)
    return value


def plan_from(body: dict, *, command: str = "run.start") -> RunPlan:
    """The run a ``run.start`` command or a ``POST /api/runs`` body asks for."""
    mode = body.get("mode", "new-connection")
    if mode not in MODES:
        raise BadCommand(
            "invalid-field", f"mode must be one of {', '.join(MODES)}", field="mode", command=command
        )
    count = _integer(body, "count", 1, MAX_COUNT, command=command, default=1)
    concurrency = _integer(body, "concurrency", 1, MAX_CONCURRENCY, command=command, default=1)
    rate = body.get("rate")
    if rate is not None:
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not math.isfinite(rate):
            raise BadCommand(
                "invalid-field", "rate must be a number of calls per second", field="rate", command=command
            )
        if not 0.1 <= rate <= 10_000:
            raise BadCommand(
                "out-of-range",
                "rate must be from 0.1 to 10000 calls per second",
                field="rate",
                command=command,
            )
    unknown = set(body) - {"type", "mode", "count", "concurrency", "rate"}
    if unknown:
        raise BadCommand(
            "unknown-field", f"unknown field {sorted(unknown)[0]}", field=sorted(unknown)[0], command=command
        )
    return RunPlan(
        mode=mode, count=count, concurrency=concurrency, rate=float(rate) if rate is not None else None
    )


def experiment_plan_from(body: dict, *, command: str = "experiment.start") -> ExperimentPlan:
    """The experiment an ``experiment.start`` command or a ``POST /api/experiments`` body asks
    for: ``count`` calls per mode (1 to MAX_COUNT, required: an experiment is five runs, none
    of them started by accident) and ``concurrency`` (1 to MAX_CONCURRENCY, default 4)."""
    unknown = set(body) - {"type", "count", "concurrency"}
    if unknown:
        name = sorted(unknown)[0]
        raise BadCommand("unknown-field", f"unknown field {name}", field=name, command=command)
    count = _integer(body, "count", 1, MAX_COUNT, command=command)
    concurrency = _integer(body, "concurrency", 1, MAX_CONCURRENCY, command=command, default=4)
    return ExperimentPlan(count=count, concurrency=concurrency)


def decode(data: str | bytes, *, max_bytes: int = MAX_FRAME_BYTES) -> object:
    """JSON text within the protocol's limits (``combat_app.boundedjson``), or ``BadCommand``.

    The code is ``frame-too-large`` (over ``max_bytes``), ``too-deep`` (nested deeper than
    ``boundedjson.MAX_DEPTH``), ``invalid-utf8``, ``not-a-number`` (``NaN``, ``Infinity``,
    ``1e999``) or ``invalid-json``.
    """
    try:
        return boundedjson.loads(data, max_bytes=max_bytes)
    except boundedjson.BadJson as exc:
        code = "frame-too-large" if exc.code == "too-large" else exc.code
        raise BadCommand(code, str(exc)) from None


def parse_command(text: str | bytes | None) -> Command:
    """One websocket frame as a ``Command``: only a text frame holding a JSON object.

    A binary frame (``bytes``) or no text is ``invalid-frame``; the JSON errors are those of
    ``decode``; the rest name the field (see docs/protocol.md).
    """
    if not isinstance(text, str):
        raise BadCommand("invalid-frame", "send JSON text frames: binary frames are refused")
    body = decode(text)
    if not isinstance(body, dict):
        raise BadCommand("invalid-json", "a command is a JSON object")
    kind = body.get("type")
    if not isinstance(kind, str) or kind not in COMMANDS:
        raise BadCommand("unknown-type", f"type must be one of {', '.join(COMMANDS)}", field="type")
    if kind == "run.start":
        return Command(kind, plan=plan_from(body))
    if kind == "run.cancel":
        return Command(kind, run=_integer(body, "run", 1, 2**63 - 1, command=kind))
    if kind == "experiment.start":
        return Command(kind, experiment=experiment_plan_from(body))
    if kind == "experiment.cancel":
        return Command(kind, experiment_id=_integer(body, "experiment", 1, 2**63 - 1, command=kind))
    if kind == "deployment.scale":
        return Command(kind, replicas=_integer(body, "replicas", 0, MAX_REPLICAS, command=kind))
    if kind == "pod.delete":
        name = body.get("name")
        if not isinstance(name, str) or not 0 < len(name) <= 253:
            raise BadCommand("invalid-field", "name must be a pod name", field="name", command=kind)
        return Command(kind, pod=name)
    return Command(kind)
