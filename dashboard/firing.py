"""Firing a run's calls at the Service, from worker threads.

The connection mode is the whole experiment:
- ``new-connection``: every call opens its own TCP connection (agnhost's /dial, the seed's curl),
  so the Service picks a pod for each one;
- ``keep-alive``: one persistent connection carries every call, so one pod answers them all
  (concurrency is 1: one connection can only carry one call at a time);
- ``pool``: K persistent connections for K workers (K = the concurrency), so at most K pods;
- ``grpc``: every call over one gRPC channel (one HTTP/2 connection, multiplexed), so one pod;
- ``grpc-per-call``: a new channel for each call, which spreads like ``new-connection``.

Calls block on the network, so they run in threads, never on the event loop; every call
becomes a ``CallRecord`` handed to ``on_call``. A global semaphore caps the calls in flight
across all runs.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from combat_app import greeting, upstream
from dashboard.records import CallRecord

MODES = ("new-connection", "keep-alive", "pool", "grpc", "grpc-per-call")
MAX_COUNT = 10_000
MAX_CONCURRENCY = 64


@dataclass(frozen=True)
class RunPlan:
    mode: str
    count: int
    concurrency: int
    rate: float | None = None  # calls per second for the whole run; None: as fast as it goes

    @property
    def workers(self) -> int:
        return 1 if self.mode == "keep-alive" else min(self.concurrency, self.count)


@dataclass(frozen=True)
class ExperimentPlan:
    """ "Compare the modes": ``count`` calls in each of ``MODES``, one run after another."""

    count: int
    concurrency: int

    def plans(self) -> list[RunPlan]:
        """One run per mode, in ``MODES`` order, each with the same count and concurrency."""
        return [RunPlan(mode=mode, count=self.count, concurrency=self.concurrency) for mode in MODES]


class Firing:
    def __init__(
        self,
        plan: RunPlan,
        *,
        run_id: int,
        url: str,
        timeout: float,
        on_call: Callable[[CallRecord], None],
        endpoint_state: Callable[[str, str], str],
        slots: threading.Semaphore,
        grpc_target: str = "",
    ) -> None:
        self.plan = plan
        self.run_id = run_id
        self.url = url
        self.timeout = timeout
        self.on_call = on_call
        self.endpoint_state = endpoint_state
        self.slots = slots
        self.cancelled = threading.Event()
        self._sequence = itertools.count()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._started = 0.0
        self._keep_alive = upstream.session(1) if plan.mode == "keep-alive" else None
        self.grpc_target = grpc_target
        self._channel = greeting.Greeter(grpc_target) if plan.mode == "grpc" else None

    def start(self) -> None:
        self._started = time.monotonic()
        for index in range(self.plan.workers):
            thread = threading.Thread(target=self._work, name=f"run-{self.run_id}-{index}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def join(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(deadline - time.monotonic(), 0))
        if not any(t.is_alive() for t in self._threads):
            for kept in (self._keep_alive, self._channel):
                if kept is not None:
                    kept.close()
        return not any(thread.is_alive() for thread in self._threads)

    def cancel(self) -> None:
        self.cancelled.set()

    def _next(self) -> int | None:
        with self._lock:
            seq = next(self._sequence)
        return seq if seq < self.plan.count and not self.cancelled.is_set() else None

    def _wait_turn(self, seq: int) -> bool:
        """With a rate limit, wait for call ``seq``'s slot; False when the run is cancelled meanwhile."""
        if self.plan.rate:
            wait = self._started + seq / self.plan.rate - time.monotonic()
            if wait > 0 and self.cancelled.wait(wait):
                return False
        return True

    def _work(self) -> None:
        session = self._keep_alive or (upstream.session(1) if self.plan.mode == "pool" else None)
        try:
            while (seq := self._next()) is not None:
                if not self._wait_turn(seq):
                    return
                with self.slots:
                    started_at = time.time()
                    answer = self._call(session)
                state = self.endpoint_state(answer.pod_ip, answer.pod) if answer.pod else ""
                self.on_call(
                    CallRecord.from_answer(
                        answer,
                        run=self.run_id,
                        seq=seq,
                        mode=self.plan.mode,
                        started_at=started_at,
                        endpoint_state=state,
                    )
                )
        finally:
            if session is not None and session is not self._keep_alive:
                session.close()

    def _call(self, session) -> upstream.Answer | greeting.GrpcAnswer:
        """One call, carried the way the mode says; it never raises and never outlasts the timeout."""
        if self._channel is not None:
            return self._channel.say_hello("k8s-combat", timeout=self.timeout)
        if self.plan.mode == "grpc-per-call":
            channel = greeting.Greeter(self.grpc_target)
            try:
                return channel.say_hello("k8s-combat", timeout=self.timeout)
            finally:
                channel.close()
        return upstream.get(self.url, timeout=self.timeout, session=session)
