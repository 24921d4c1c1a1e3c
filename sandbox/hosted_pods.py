"""Lightweight pods, the sandbox's end: a host process per ReplicaSet (``sandbox.pod_host``) and
a container per pod in it that the kubelet (``sandbox.kubelet.PodRunner``) runs as it runs a
process.

``HostedContainer`` has what the kubelet uses of an ``asyncio.subprocess.Process``: ``pid``,
``returncode``, ``wait()``, ``send_signal(SIGTERM)`` (the pod's drain), ``kill()``. The host's
reports (JSON lines, see ``sandbox.pod_host``) set them; if the host process dies, each of its
pods' containers exits with the host's code, and the kubelet restarts it as after a crash (in a
new host process). A host process lives while it has pods: when its last pod has exited, its
stdin is closed and it exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from pathlib import Path

from sandbox import logs, pod_runtimes
from sandbox.kubelet import ROOT, PodRunner, _die_with_parent
from sandbox.objects import PodState

logger = logging.getLogger(__name__)
READY_PROBE_SECONDS = 10.0  # probes of a ready lightweight pod: at most one each this often


class _Session:
    """One host process and the containers it serves."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.containers: dict[str, HostedContainer] = {}  # by pod IP
        self.reader = asyncio.ensure_future(self._read_reports())

    def send(self, command: dict) -> None:
        stdin = self.process.stdin
        if stdin is not None and not stdin.is_closing():
            stdin.write((json.dumps(command) + "\n").encode())

    async def _read_reports(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            report = json.loads(line)
            container = self.containers.get(report["ip"])
            if container is None:
                continue
            if report["state"] == "listening":
                container.listening.set()
            elif report["state"] == "exited":
                container.exited(report["code"])
        code = await self.process.wait()
        for container in list(self.containers.values()):
            container.exited(code)

    def forget(self, ip: str) -> None:
        self.containers.pop(ip, None)
        if not self.containers and self.process.stdin is not None:
            self.process.stdin.close()  # the host kills what is left (nothing) and exits


class PodHost:
    """Where the lightweight pods of one ReplicaSet run: a host process, started on demand."""

    def __init__(self, name: str, *, log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self._session: _Session | None = None
        self._starting: asyncio.Future[_Session] | None = None

    async def _current(self, env: dict[str, str]) -> _Session:
        """The running host, or a new one. Pods that start together wait for one start (a shared
        task, not a lock: each pod through a lock would cost a turn of a busy event loop)."""
        session = self._session
        if session is not None and session.process.returncode is None and session.containers:
            return session
        if self._starting is None:
            if session is not None:
                session.forget("")  # an idle host goes; a new one serves from now on
            self._starting = asyncio.ensure_future(self._start(env))
        starting = self._starting
        try:
            return await asyncio.shield(starting)
        finally:
            if self._starting is starting and starting.done():
                self._starting = None

    async def _start(self, env: dict[str, str]) -> _Session:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:  # noqa: ASYNC230 - a local file, opened once
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "sandbox.pod_host",
                cwd=ROOT,
                env=env,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        self._session = _Session(process)
        return self._session

    async def add(self, pod: PodState, *, env: dict[str, str], log: Path, raw_log: Path) -> HostedContainer:
        """Start serving ``pod`` in the host (a new host process if none runs)."""
        session = await self._current(env)
        container = HostedContainer(session, pod.ip, log)
        session.containers[pod.ip] = container
        session.send(
            {
                "op": "add",
                "pod": pod.name,
                "ip": pod.ip,
                "node": pod.node,
                "port": pod.port,
                "grpc_port": int(env.get("COMBAT_GRPC_PORT") or 0),
                "log": str(log),
                "raw_log": str(raw_log),
            }
        )
        return container

    def kill(self) -> None:
        """Last resort at exit: SIGKILL the host process."""
        if self._session is not None and self._session.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._session.process.pid, signal.SIGKILL)


class HostedContainer:
    """One lightweight pod's container, shaped as the kubelet's process."""

    def __init__(self, session: _Session, ip: str, log: Path) -> None:
        self.session = session
        self.ip = ip
        self.pid = session.process.pid
        self.returncode: int | None = None
        self.listening = asyncio.Event()
        self._log = log
        self._exited = asyncio.Event()
        logs.mark_writing(log, True)

    def exited(self, code: int) -> None:
        if self.returncode is None:
            self.returncode = code
            logs.mark_writing(self._log, False)
            self.session.forget(self.ip)
            self._exited.set()

    async def wait(self) -> int:
        await self._exited.wait()
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if sig == signal.SIGKILL:
            return self.kill()
        if self.returncode is None:
            self.session.send({"op": "drain", "ip": self.ip})

    def kill(self) -> None:
        if self.returncode is None:
            self.session.send({"op": "kill", "ip": self.ip})


class LightweightPodRunner(PodRunner):
    """A pod whose container is served by its ReplicaSet's host process (``PodHost``)."""

    runtime = pod_runtimes.LIGHTWEIGHT

    def __init__(self, pod: PodState, *, host: PodHost, **kwargs) -> None:
        super().__init__(pod, **kwargs)
        self.host = host

    async def _spawn(self) -> HostedContainer:  # type: ignore[override]
        directory = logs.instance_dir(self.log_path, logs.container_name(self.pod))
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.pod.restarts}.log"
        path.touch()
        return await self.host.add(self.pod, env=self.env, log=path, raw_log=self.log_path)

    async def _container_started(self) -> None:
        """Probe once the host says the pod listens (or it has exited), not by polling before."""
        container = self.process
        if isinstance(container, HostedContainer):
            waiting = [
                asyncio.ensure_future(container.listening.wait()),
                asyncio.ensure_future(container.wait()),
            ]
            try:
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in waiting:
                    task.cancel()

    def _probe_pause(self, ready: bool, period: float) -> float:
        """Calm once ready (a lightweight pod's readiness changes only by the fault switch, which
        probes at once, or by its deletion): at most one probe per ``READY_PROBE_SECONDS``."""
        return max(period, READY_PROBE_SECONDS) if ready else 0.2

    def kill_now(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.host.kill()
