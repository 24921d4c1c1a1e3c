"""Watch streams: newline-delimited JSON events, sent as they happen, over one long response.

A stream starts from the requested resourceVersion (410 Gone as an ERROR event when that is
older than the history), sends BOOKMARKs when the client allows them (and once more just
before it times out, as the real server does), and ends after ``timeoutSeconds`` (a random
30-60 minutes when not given) or when the client goes away.

The fault switches make streams misbehave the way real API servers and the proxies in front
of them do, so that clients' watch loops can be tested: drop every stream, go silent, or
answer the next watch requests with an HTTP error.

Whatever a fault does, a stream keeps the watch contract: its events come in resourceVersion
order, none is lost on a stream that goes on, and a BOOKMARK at resourceVersion R means every
event up to R has been sent on that stream. So a silenced stream holds its events back (they
wait, in order, and go out when it heals, before any bookmark), and a bookmark is sent only when
the stream has caught up: nothing is waiting in its queue, so the store's resourceVersion is a
promise kept. The initial-events-end bookmark carries the resourceVersion of the snapshot the
initial events came from.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sandbox import bookmarks, generic_tables, objects
from sandbox.resources import Resource
from sandbox.store import Gone, Store
from sandbox.wire import JSON, TABLE_TYPE, ApiError, Request, Send


@dataclass
class Faults:
    watch_errors: list[int] = field(default_factory=list)  # HTTP codes for the next watch requests
    silenced: bool = False
    generation: int = 0  # bumped to end every open stream


def _line(event_type: str, obj: dict) -> bytes:
    return json.dumps({"type": event_type, "object": obj}, separators=(",", ":")).encode() + b"\n"


async def _until_disconnect(receive: Callable) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


@dataclass
class _Options:
    since: int | None
    timeout_seconds: int
    bookmarks: bool
    initial_events: bool
    as_table: bool
    include: str

    @classmethod
    def parse(cls, request: Request) -> _Options:
        query = request.query
        initial_events = query.get("sendInitialEvents") == "true"
        version = request.integer("resourceVersion", unsigned=True) if query.get("resourceVersion") else None
        since = None if not version or initial_events else version
        timeout = request.integer("timeoutSeconds")
        timeout = random.randint(1800, 3600) if timeout is None else timeout
        return cls(
            since,
            max(timeout, 0),
            query.get("allowWatchBookmarks") == "true",
            initial_events,
            request.wants_table,
            query.get("includeObject", "Metadata"),
        )


class WatchStreams:
    def __init__(self, store: Store, *, bookmark_seconds: float) -> None:
        self.store = store
        self.bookmark_seconds = bookmark_seconds
        self.faults = Faults()
        self.open = 0

    async def serve(
        self,
        request: Request,
        receive: Callable,
        send: Send,
        resource: Resource,
        accepts: Callable[[dict], bool],
        headers: list[tuple[bytes, bytes]],
    ) -> None:
        if self.faults.watch_errors:
            code = self.faults.watch_errors.pop(0)
            reason = {410: "Expired", 500: "InternalError", 503: "ServiceUnavailable"}.get(code, "Unknown")
            raise ApiError(code, reason, f"injected fault: watch answered {code}")
        options = _Options.parse(request)
        content_type = TABLE_TYPE if options.as_table else JSON
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", content_type),
                    (b"cache-control", b"no-cache, private"),
                    *headers,
                ],
            }
        )
        try:
            watcher = self.store.watch(resource, options.since, accepts)
            snapshot = self.store.resource_version  # what the initial events show
        except Gone as gone:
            expired = objects.status(410, "Expired", str(gone))
            await send({"type": "http.response.body", "body": _line("ERROR", expired), "more_body": False})
            return
        disconnected = asyncio.ensure_future(_until_disconnect(receive))
        self.open += 1
        try:
            await self._stream(send, resource, watcher, options, disconnected, snapshot)
        finally:
            self.open -= 1
            self.store.unwatch(watcher)
            client_gone = disconnected.done()
            disconnected.cancel()
        if not client_gone:  # the server ends the stream (timeout, or a dropped-watches fault)
            with contextlib.suppress(OSError):
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _stream(
        self,
        send: Send,
        resource: Resource,
        watcher,
        options: _Options,
        disconnected: asyncio.Future,
        snapshot: int,
    ) -> None:
        initial_left = watcher.queue.qsize() if options.initial_events else -1
        first = True
        generation = self.faults.generation
        deadline = time.monotonic() + options.timeout_seconds
        next_bookmark = time.monotonic() + self.bookmark_seconds
        while not disconnected.done() and generation == self.faults.generation:
            now = time.monotonic()
            if now >= deadline:
                if options.bookmarks and not self.faults.silenced and watcher.queue.empty():
                    await self._bookmark(send, resource)
                return
            if self.faults.silenced:
                # Silent, not lossy: the events wait in the queue, in order, until the stream heals.
                await asyncio.wait({disconnected}, timeout=min(0.25, deadline - now))
                continue
            if initial_left == 0:
                initial_left = -1
                await self._bookmark(send, resource, snapshot, initial_end=True)
            # Wake at least every 0.25 s, to notice a disconnect, a fault or the silence switch.
            wait = min(deadline, next_bookmark if options.bookmarks else deadline, now + 0.25) - now
            try:
                event = await asyncio.wait_for(watcher.queue.get(), timeout=max(wait, 0.001))
            except TimeoutError:
                # Only once caught up (nothing queued, checked now: events may have come in while
                # the wait was being cancelled) has every event up to the store's resourceVersion
                # that this watch selects been sent, which is what a bookmark promises.
                due = options.bookmarks and time.monotonic() >= next_bookmark and not self.faults.silenced
                if due and watcher.queue.empty():
                    await self._bookmark(send, resource)
                    next_bookmark = time.monotonic() + self.bookmark_seconds
                continue
            if initial_left > 0:
                initial_left -= 1
            body = event.object
            if options.as_table:  # only the first event carries the column definitions
                body = generic_tables.table(
                    resource,
                    [body],
                    resource_version=str(event.resource_version),
                    include=options.include,
                    with_columns=first,
                )
                first = False
            await send({"type": "http.response.body", "body": _line(event.type, body), "more_body": True})

    async def _bookmark(
        self, send: Send, resource: Resource, version: int | None = None, *, initial_end: bool = False
    ) -> None:
        """A BOOKMARK at ``version`` (the store's now, when the stream has caught up)."""
        version = self.store.resource_version if version is None else version
        ended = {"k8s.io/initial-events-end": "true"} if initial_end else None
        bookmark = bookmarks.bookmark_object(resource, version, ended)  # the real server's shape
        await send({"type": "http.response.body", "body": _line("BOOKMARK", bookmark), "more_body": True})
