"""Watches: initial events, resuming from a version, selectors, bookmarks, ``timeoutSeconds``,
410 Gone for an expired version, Table events.

The changes watched are EndpointSlices written into both servers (``write_slice``).
"""

from __future__ import annotations

import threading
import time

from tests.fidelity.steps import SLICES, delete_slice, endpoint_slice, write_slice
from tests.support.fidelity import Scenario, Step, Target, known
from tests.support.fidelity.targets import TABLE

SELECT = {"labelSelector": "kubernetes.io/service-name=fidelity-watch"}


def _setup(t: Target) -> None:
    write_slice(t, endpoint_slice("fidelity-watch-a", "10.9.0.1"))


def _cleanup(t: Target) -> None:
    for name in ("fidelity-watch-a", "fidelity-watch-b"):
        delete_slice(t, name)


def _types(events: list) -> list:
    return [event.get("type", event.get("status")) for event in events]


def initial(t: Target) -> list:
    return t.watch(SLICES, {**SELECT, "resourceVersion": "0", "timeoutSeconds": "1"})


def _current_version(t: Target) -> str:
    return t.request("GET", SLICES, query=SELECT).json()["metadata"]["resourceVersion"]


def _changes(t: Target) -> None:
    write_slice(t, endpoint_slice("fidelity-watch-b", "10.9.0.2"))
    write_slice(t, endpoint_slice("fidelity-watch-b", "10.9.0.2", ready=False))
    delete_slice(t, "fidelity-watch-b")


def resumed(**query: str):
    """Changes made after a list, then a watch from the list's version: all of them, in order."""

    def run(t: Target) -> list:
        version = _current_version(t)
        _changes(t)
        return t.watch(SLICES, {**query, "resourceVersion": version, "timeoutSeconds": "1"})

    return run


def live(bookmarks: bool):
    """A watch open while a slice changes: its events, bookmarks kept once where they come (a
    real server sends one about 2 s before the timeout once its cache has moved on; when, is
    not a contract), and whether the last bookmark is at or after the last change."""

    def run(t: Target) -> dict:
        query = {**SELECT, "resourceVersion": "0", "timeoutSeconds": "5"}
        if bookmarks:
            query["allowWatchBookmarks"] = "true"
        events: list = []
        reader = threading.Thread(target=lambda: events.extend(t.stream(SLICES, query, seconds=5)))
        reader.start()
        time.sleep(0.5)  # the changes well before the real server's bookmark time (timeout - 2 s)
        write_slice(t, endpoint_slice("fidelity-watch-a", "10.9.0.1", ready=False))
        write_slice(t, endpoint_slice("fidelity-watch-a", "10.9.0.1"))
        reader.join(10)
        shown, last_change = [], 0
        for event in events:
            version = int(event["object"]["metadata"]["resourceVersion"])
            if event["type"] != "BOOKMARK":
                last_change = max(last_change, version)
            elif shown and shown[-1]["type"] == "BOOKMARK":
                continue
            shown.append({**t.masker.json(event), "after last change": version >= last_change})
        return {"events": shown}

    return run


def timed(t: Target) -> dict:
    started = time.monotonic()
    events = t.watch(SLICES, {**SELECT, "timeoutSeconds": "2"})
    return {"events": _types(events), "ended after 2 s (±1 s)": 1 <= time.monotonic() - started <= 3}


def expired(t: Target) -> list:
    """A version older than the server's history (``expire_history``: what makes it so differs
    between the two, what a client then sees must not)."""
    t.expire_history()
    return t.watch(SLICES, {**SELECT, "resourceVersion": "1", "timeoutSeconds": "2"})


WATCHES = Scenario(
    "watch",
    mirror=True,
    setup=_setup,
    cleanup=_cleanup,
    strip=("managedFields",),  # how each server's slices were written: writes.py compares them
    steps=[
        Step("from resourceVersion=0: the current objects as ADDED", initial),
        Step(
            "from resourceVersion unset: the same",
            lambda t: t.watch(SLICES, {**SELECT, "timeoutSeconds": "1"}),
        ),
        Step("resumed from a list's version", resumed(**SELECT)),
        Step("resumed, with a field selector", resumed(fieldSelector="metadata.name=fidelity-watch-b")),
        Step("resumed, with a label selector that matches none", resumed(labelSelector="app=none")),
        Step("allowWatchBookmarks, a change during the watch", live(bookmarks=True)),
        Step("no bookmarks when not allowed", live(bookmarks=False)),
        Step("timeoutSeconds ends the stream", timed),
        Step(
            "Table events (kubectl get -w)",
            lambda t: t.watch(
                SLICES, {**SELECT, "resourceVersion": "0", "timeoutSeconds": "1"}, accept=TABLE
            ),
        ),
        Step("timeoutSeconds that is not a number", lambda t: t.watch(SLICES, {"timeoutSeconds": "soon"})),
        Step(
            "sendInitialEvents=true",
            lambda t: t.watch(
                SLICES,
                {
                    **SELECT,
                    "sendInitialEvents": "true",
                    "resourceVersionMatch": "NotOlderThan",
                    "timeoutSeconds": "1",
                    "allowWatchBookmarks": "true",
                },
            ),
            # WatchList: off in v1.29 (422), served by the sandbox as by a v1.32 server.
            known("version-gap", "[0].status", "[0].body", "[0].type", "[0].object", "[1]", "[2]"),
        ),
        Step("410 Gone for an expired version", expired),
    ],
)

SCENARIOS = [WATCHES]
