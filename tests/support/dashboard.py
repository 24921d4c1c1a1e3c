"""A browser's view of the dashboard: a websocket that records every message, and API helpers."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from urllib.parse import urlsplit

import requests
from websockets.sync.client import connect


class LiveSocket:
    def __init__(
        self, dashboard_url: str, *, origin: str | None = None, headers: dict | None = None, query: str = ""
    ) -> None:
        parts = urlsplit(dashboard_url)
        self.url = f"ws://{parts.netloc}/ws/dashboard/{query}"
        self._connection = connect(
            self.url,
            origin=origin or f"http://{parts.netloc}",
            additional_headers=headers or {},
            open_timeout=10,
            max_size=None,
        )
        self.socket = self._connection.__enter__()
        self.messages: list[dict] = []
        self.gaps = 0
        self._last_seq: dict[str, int] = {}
        self._endpoints: dict[str, dict] = {}  # by key: the hello's set with every change applied
        self._lock = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for frame in self.socket:
                message = json.loads(frame)
                message["_received_at"] = received_at = time.time()  # for latency measurements
                for call in message.get("calls", ()) if message["type"] == "calls.batch" else ():
                    call["_received_at"] = received_at
                with self._lock:
                    origin, seq = message.get("origin"), message.get("seq")
                    if message["type"] == "hello":
                        self._last_seq[origin] = seq
                    elif origin is not None and seq is not None:
                        last = self._last_seq.get(origin)
                        if last is not None and seq > last + 1:
                            self.gaps += 1  # a message was lost: a page would resync here
                        self._last_seq[origin] = max(seq, last or 0)
                    self._fold_endpoints(message)
                    self.messages.append(message)
                    self._lock.notify_all()
        except Exception:  # the socket closed: the test decides whether that was expected
            with self._lock:
                self._lock.notify_all()

    def _fold_endpoints(self, message: dict) -> None:
        """As the page does (docs/protocol.md): the set after a hello or endpoints.changed is
        stamped on it as ``_endpoints``, sorted by (name, key)."""
        if message["type"] == "hello":
            self._endpoints = {e["key"]: e for e in message["endpoints"]}
        elif message["type"] == "endpoints.changed":
            for gone in message["removed"]:
                self._endpoints.pop(gone["key"], None)
            self._endpoints.update((e["key"], e) for e in message["added"] + message["changed"])
        else:
            return
        message["_endpoints"] = sorted(self._endpoints.values(), key=lambda e: (e["name"], e["key"]))

    def send(self, message: dict) -> None:
        self.socket.send(json.dumps(message))

    def wait_for(self, predicate, seconds: float = 30) -> dict:
        deadline = time.monotonic() + seconds
        with self._lock:
            while True:
                for message in self.messages:
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"no such message within {seconds} s; got {[m['type'] for m in self.messages][-20:]}"
                    )
                self._lock.wait(remaining)

    def of_type(self, kind: str) -> list[dict]:
        with self._lock:
            return [m for m in self.messages if m["type"] == kind]

    def calls_of(self, run_id: int) -> list[dict]:
        return [c for m in self.of_type("calls.batch") for c in m["calls"] if c["run"] == run_id]

    def latest_endpoints(self) -> list[dict]:
        with self._lock:
            return sorted(self._endpoints.values(), key=lambda e: (e["name"], e["key"]))

    @property
    def close_code(self) -> int | None:
        """The code of the server's close frame, once the socket has closed (None before)."""
        return self.socket.close_code

    def wait_closed(self, seconds: float = 30) -> int | None:
        self._reader.join(seconds)
        return self.close_code

    def close(self) -> None:
        try:
            self._connection.__exit__(None, None, None)
        finally:
            self._reader.join(5)


def start_run(socket: LiveSocket, **plan) -> dict:
    """Start a run over the websocket and wait for its verdict."""
    before = {m["run"]["id"] for m in socket.of_type("run.started")}
    socket.send({"type": "run.start", **plan})
    started = socket.wait_for(lambda m: m["type"] == "run.started" and m["run"]["id"] not in before)
    run_id = started["run"]["id"]
    return socket.wait_for(lambda m: m["type"] == "run.finished" and m["run"]["id"] == run_id, 120)["run"]


def stored_calls(dashboard_url: str, run_id: int) -> list[dict]:
    return requests.get(f"{dashboard_url}/api/runs/{run_id}/calls.json", timeout=10).json()["calls"]


@contextlib.contextmanager
def dashboard_with_socket(state_dir, *sandbox_args: str, query: str = ""):
    """A sandbox with its dashboard, and one browser socket that has had its hello."""
    from tests.support.sandbox import start_sandbox

    sandbox = start_sandbox(state_dir, *sandbox_args, dashboard=True)
    try:
        socket = LiveSocket(sandbox.dashboard_url, query=query)
        try:
            socket.wait_for(lambda m: m["type"] == "hello")
            yield sandbox, socket
        finally:
            socket.close()
    finally:
        sandbox.stop()
