"""Container logs as the kubelet keeps and serves them: ``kubectl logs [-f] [--tail] [--since]
[--timestamps] [-p]``.

Each start of a pod's container gets its own file, ``<log dir>/<pod>/<container>/<restart>.log``
(the kubelet's ``/var/log/pods/.../<container>/<restartCount>.log``), in the CRI logging format,
one record a line: ``<RFC3339Nano time> <stdout|stderr> <F|P> <text>`` (``P`` for a piece of a
line longer than 16 KiB, ``F`` for the end of one). A thread per container start reads the
process's stdout and stderr from pipes, stamps each line with the time it was read, and writes
the records; it also appends the raw output to ``<log dir>/<pod>.log``, where the sandbox has
always kept it (and which the crash-loop message quotes).

``GET .../pods/NAME/log`` answers from those files as the kubelet does: the running container's
log, or with ``previous=true`` the last one that exited (400 when there is none); ``follow``
streams new lines until that container exits or the client goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import selectors
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox import resources
from sandbox.objects import PodState
from sandbox.reading import get_or_404
from sandbox.wire import ApiError, Request, Send

if TYPE_CHECKING:
    from sandbox.apiserver import ApiServer

PIECE_BYTES = 16 * 1024  # the CRI runtimes' longest record; a longer line is split into P records
FOLLOW_POLL_SECONDS = 0.1
_writing: set[Path] = set()  # instance files whose container still runs (their thread is reading)
_recorders: dict[Path, threading.Thread] = {}  # the raw log's latest recording thread


def container_name(pod: PodState) -> str:
    return pod.template["spec"]["containers"][0]["name"]


def instance_dir(raw_log: Path, container: str) -> Path:
    return raw_log.parent / raw_log.stem / container


def rfc3339_nano(ns: int) -> bytes:
    """The kubelet's RFC3339NanoFixed in UTC: always nine digits of fraction."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{fraction:09d}Z".encode()


def parse_time(text: str) -> float:
    """An RFC 3339 time (``sinceTime``, a record's stamp) as seconds since the epoch."""
    head, _, rest = text.rstrip("Z").partition(".")
    digits = "".join(c for c in rest if c.isdigit())[:6]
    moment = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return moment.timestamp() + (int(digits) / 10 ** len(digits) if digits else 0.0)


class ContainerOutput:
    """The two pipes a container start writes to, and the thread that records them.

    Pass ``stdout``/``stderr`` to the process, then leave the ``with`` block: that closes the
    sandbox's copies of the write ends, so the thread sees end-of-file when the process exits.
    """

    def __init__(self, pod: PodState, raw_log: Path) -> None:
        directory = instance_dir(raw_log, container_name(pod))
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{pod.restarts}.log"
        self.raw_log = raw_log
        out_read, self.stdout = os.pipe()
        err_read, self.stderr = os.pipe()
        _writing.add(self.path)
        thread = threading.Thread(
            target=self._record, args=({out_read: b"stdout", err_read: b"stderr"},), daemon=True
        )
        thread.name = f"logs {pod.name}"
        thread.start()
        _recorders[raw_log] = thread

    def __enter__(self) -> ContainerOutput:
        return self

    def __exit__(self, *exc_info: object) -> None:
        os.close(self.stdout)
        os.close(self.stderr)

    def _record(self, streams: dict[int, bytes]) -> None:
        pending = dict.fromkeys(streams, b"")
        try:
            with (
                selectors.DefaultSelector() as selector,
                open(self.path, "ab") as records,
                open(self.raw_log, "ab") as raw,
            ):
                for fd in streams:
                    selector.register(fd, selectors.EVENT_READ)
                while selector.get_map():
                    for key, _ in selector.select():
                        chunk = os.read(key.fd, 65536)
                        stamp = rfc3339_nano(time.time_ns())
                        if not chunk:
                            selector.unregister(key.fd)
                        raw.write(chunk)
                        lines = (pending[key.fd] + chunk).split(b"\n")
                        pending[key.fd] = lines.pop() if chunk else b""
                        if not chunk and lines[-1] == b"":
                            lines.pop()  # nothing was left over at end-of-file
                        for line in lines:
                            records.write(_records(stamp, streams[key.fd], line, b"F"))
                        while len(pending[key.fd]) > PIECE_BYTES:
                            piece, pending[key.fd] = (
                                pending[key.fd][:PIECE_BYTES],
                                pending[key.fd][PIECE_BYTES:],
                            )
                            records.write(_records(stamp, streams[key.fd], piece, b"P"))
                    records.flush()
                    raw.flush()
        finally:
            for fd in streams:
                os.close(fd)
            _writing.discard(self.path)
            if _recorders.get(self.raw_log) is threading.current_thread():
                del _recorders[self.raw_log]


def mark_writing(path: Path, running: bool) -> None:
    """For a container whose records another process writes (a lightweight pod's, written by its
    host, ``sandbox.pod_host``): ``follow`` streams ``path`` while ``running``."""
    if running:
        _writing.add(path)
    else:
        _writing.discard(path)


def wait_recorded(raw_log: Path, limit_seconds: float = 1.0) -> None:
    """Block until what the last container start wrote is on disk (it has exited), or the limit."""
    thread = _recorders.get(raw_log)
    if thread is not None:
        thread.join(limit_seconds)


def _records(stamp: bytes, stream: bytes, line: bytes, tag: bytes) -> bytes:
    pieces = [line[i : i + PIECE_BYTES] for i in range(0, len(line), PIECE_BYTES)] or [b""]
    tags = [b"P"] * (len(pieces) - 1) + [tag]
    return b"".join(
        b"%s %s %s %s\n" % (stamp, stream, t, piece) for piece, t in zip(pieces, tags, strict=True)
    )


def render(record: bytes, *, timestamps: bool) -> tuple[float, bytes] | None:
    """A CRI record as ``kubectl logs`` prints it, with the record's time; None if malformed."""
    parts = record.split(b" ", 3)
    if len(parts) < 3:
        return None
    stamp, text = parts[0], parts[3] if len(parts) == 4 else b""
    try:
        when = parse_time(stamp.decode())
    except ValueError:
        return None
    line = text + (b"\n" if parts[2] == b"F" else b"")
    return when, (stamp + b" " + line if timestamps else line)


def choose_instance(directory: Path, pod: PodState, container: str, previous: bool) -> Path:
    """The file the kubelet would read: the running (or last) container, or the one before."""
    starts = sorted((int(p.stem), p) for p in directory.glob("*.log") if p.stem.isdigit())
    files = [path for _, path in starts]
    if previous:
        terminated = files[:-1] if pod.running else files
        if not terminated:
            raise ApiError(
                400,
                "BadRequest",
                f'previous terminated container "{container}" in pod "{pod.name}" not found',
            )
        return terminated[-1]
    if not files:
        reason = pod.waiting_reason or "ContainerCreating"
        raise ApiError(
            400, "BadRequest", f'container "{container}" in pod "{pod.name}" is waiting to start: {reason}'
        )
    return files[-1]


class _Options:
    def __init__(self, request: Request) -> None:
        truthy = ("true", "1")
        self.follow = request.query.get("follow") in truthy
        self.previous = request.query.get("previous") in truthy
        self.timestamps = request.query.get("timestamps") in truthy
        self.tail = request.integer("tailLines")
        self.limit = request.integer("limitBytes")
        since_seconds = request.integer("sinceSeconds")
        self.since = None if since_seconds is None else time.time() - since_seconds
        if request.query.get("sinceTime"):
            try:
                self.since = parse_time(request.query["sinceTime"])
            except ValueError:
                raise ApiError(400, "BadRequest", "sinceTime: must be an RFC 3339 time") from None
        for name, value, least in (
            ("tailLines", self.tail, 0),
            ("limitBytes", self.limit, 1),
            ("sinceSeconds", since_seconds, 1),
        ):
            if value is not None and value < least:
                relation = "greater than or equal to 0" if least == 0 else "greater than 0"
                raise ApiError(422, "Invalid", f"{name}: Invalid value: {value}: must be {relation}")


async def serve(server: ApiServer, request: Request, send: Send, namespace: str, name: str) -> None:
    """``GET /api/v1/namespaces/NS/pods/NAME/log``: the pod's container output, as text."""
    stored = get_or_404(server.store, resources.PODS, namespace, name)
    runner = server.controls.runner(name, namespace)
    if runner is None:  # in the store, but no container was ever started for it
        container = stored["spec"]["containers"][0]["name"]
        message = f'container "{container}" in pod "{name}" is waiting to start: ContainerCreating'
        raise ApiError(400, "BadRequest", message)
    pod, options = runner.pod, _Options(request)
    container = container_name(pod)
    wanted = request.query.get("container") or container
    if wanted != container:
        raise ApiError(400, "BadRequest", f"container {wanted} is not valid for pod {name}")
    path = choose_instance(instance_dir(runner.log_path, container), pod, container, options.previous)
    headers = [(b"content-type", b"text/plain"), (b"cache-control", b"no-cache, private")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    with open(path, "rb") as file:  # noqa: ASYNC230 - a local file, read in small steps
        records, partial = _complete_records(file.read())
        lines = [shown for record in records if (shown := _shown(record, options)) is not None]
        if options.tail is not None:
            lines = lines[-options.tail :] if options.tail else []
        budget = await _send_lines(send, lines, options.limit)
        if options.follow and budget != 0:
            await _follow(request, send, file, partial, path, options, budget)
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def _complete_records(data: bytes) -> tuple[list[bytes], bytes]:
    """The whole records in ``data``, and what follows the last one (a record being written)."""
    records = data.split(b"\n")
    partial = records.pop()
    return records, partial


def _shown(record: bytes, options: _Options) -> bytes | None:
    rendered = render(record, timestamps=options.timestamps)
    if rendered is None or (options.since is not None and rendered[0] < options.since):
        return None
    return rendered[1]


async def _send_lines(send: Send, lines: list[bytes], budget: int | None) -> int | None:
    body = b"".join(lines)
    if budget is not None:
        body, budget = body[:budget], max(0, budget - len(body))
    if body:
        await send({"type": "http.response.body", "body": body, "more_body": True})
    return budget


async def _follow(
    request: Request, send: Send, file, partial: bytes, path: Path, options: _Options, budget: int | None
) -> None:
    """New records as they are written, until the container exits or the client leaves."""
    gone = asyncio.ensure_future(request.receive()) if request.receive else asyncio.Future()
    try:
        while not gone.done() and budget != 0:
            running = path in _writing  # read before the file, so no last line is missed
            records, partial = _complete_records(partial + file.read())
            lines = [shown for record in records if (shown := _shown(record, options)) is not None]
            budget = await _send_lines(send, lines, budget)
            if not running:
                return
            await asyncio.wait([gone], timeout=FOLLOW_POLL_SECONDS)
    finally:
        gone.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await gone
