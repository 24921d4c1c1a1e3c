"""Pods as processes: what the kubelet does for one pod, in miniature.

It starts the container (``python -m combat_app.serving`` on the pod's address), probes
``/readyz`` to decide readiness, restarts a container that exits with a crash-loop backoff
(counting restarts and reporting the log tail), and on deletion sends SIGTERM, then SIGKILL
once the grace period is over.

Children run in their own session, so a Ctrl-C in the terminal reaches only the sandbox, which
stops them in order; and they get SIGKILL from the kernel if the sandbox itself dies
(PR_SET_PDEATHSIG), so no pod outlives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sandbox import logs
from sandbox.objects import PodState
from sandbox.store import now_rfc3339

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
PR_SET_PDEATHSIG = 1
BACKOFF_START_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0
OWN_IMAGE = "k8s-combat"  # the image `make image` builds: the app the sandbox runs


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def log_tail(path: Path, lines: int = 15) -> str:
    logs.wait_recorded(path)  # the container has exited: let its last output reach the file
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


async def probe_failure(host: str, port: int, path: str = "/readyz", limit_seconds: float = 1.0) -> str:
    """An httpGet probe: "" on success (a 2xx or 3xx status, as the kubelet counts it), else the
    kubelet's probe output (pkg/probe/http): ``HTTP probe failed with statuscode: 503``, or Go's
    error for a failed GET, e.g. ``Get "http://IP:PORT/readyz": dial tcp IP:PORT: connect:
    connection refused``."""
    url = f"http://{host}:{port}{path}"
    try:
        async with asyncio.timeout(limit_seconds):
            reader, writer = await asyncio.open_connection(host, port)
            try:
                writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
                status_line = await reader.readline()
            finally:
                writer.close()
    except ConnectionRefusedError:
        return f'Get "{url}": dial tcp {host}:{port}: connect: connection refused'
    except TimeoutError:
        return f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
    except OSError as exc:
        return f'Get "{url}": dial tcp {host}:{port}: {exc.strerror or exc}'
    parts = status_line.split()
    if len(parts) >= 2 and parts[1][:1] in (b"2", b"3"):
        return ""
    if len(parts) >= 2 and parts[1].isdigit():
        return f"HTTP probe failed with statuscode: {int(parts[1])}"
    return f'Get "{url}": EOF'


async def probe(host: str, port: int, path: str = "/readyz", limit_seconds: float = 1.0) -> bool:
    """An httpGet probe: success is a 2xx or 3xx status, as the kubelet counts it."""
    return not await probe_failure(host, port, path, limit_seconds)


def _no_note(kind: str, reason: str, message: str) -> None:
    pass


class PodRunner:
    """Runs one pod's container until the pod is deleted; ``changed`` is called on every change."""

    runtime = "process"  # sandbox.pod_runtimes
    # The probe's timeoutSeconds is 1 by default, but a probe's time here also counts the
    # sandbox's own event loop, busy for a second or more per pass with a thousand pods: a 1 s
    # limit would fail pods that answered at once (and each failure starts another pass).
    probe_limit_seconds = 5.0

    def __init__(
        self,
        pod: PodState,
        *,
        env: dict[str, str],
        log_path: Path,
        changed: Callable[[PodState], None],
        note: Callable[[str, str, str], None] = _no_note,
    ) -> None:
        """``note(type, reason, message)`` records an Event about the container, as the kubelet
        does: Pulled, Created, Started at each start, BackOff before a restart, Unhealthy for a
        failed readiness probe (at most once per ``periodSeconds``)."""
        self.pod = pod
        self.note = note
        self.env = env
        self.log_path = log_path
        self.changed = changed
        self.process: asyncio.subprocess.Process | None = None
        self.failing_readiness = False  # a fault switch: the probe fails as if the app said 503
        self._probe_now = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"pod {self.pod.name}")

    async def _spawn(self) -> asyncio.subprocess.Process:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with logs.ContainerOutput(self.pod, self.log_path) as output:  # one log file per container start
            return await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "combat_app.serving",
                "--host",
                self.pod.ip,
                "--port",
                str(self.pod.port),
                cwd=ROOT,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output.stdout,
                stderr=output.stderr,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    async def _run(self) -> None:
        backoff = BACKOFF_START_SECONDS
        while not self._stopping.is_set():
            self._note_start()
            self.process = await self._spawn()
            if self._stopping.is_set():  # deleted while the container was starting: stop it now
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
            self.note("Normal", "Started", f"Started container {self._container['name']}")
            started = time.monotonic()
            self.pod.running = True
            self.pod.waiting_reason = None
            self.pod.started = now_rfc3339()
            self.changed(self.pod)
            prober = asyncio.create_task(self._probe_until_exit())
            code = await self.process.wait()
            prober.cancel()
            self.pod.running = False
            self.pod.ready = False
            self.pod.last_exit_code = code
            self.changed(self.pod)
            if self._stopping.is_set():
                return
            if time.monotonic() - started > 60:
                backoff = BACKOFF_START_SECONDS
            self.pod.restarts += 1
            self.pod.waiting_reason = "CrashLoopBackOff"
            self.changed(self.pod)
            logger.warning(
                "pod %s exited with %s; restarting in %.0fs (restart %d). Log tail:\n%s",
                self.pod.name,
                code,
                backoff,
                self.pod.restarts,
                log_tail(self.log_path),
            )
            self.note(
                "Warning",
                "BackOff",
                f"Back-off restarting failed container {self._container['name']} in pod "
                f"{self.pod.name}_{self.pod.namespace}({self.pod.uid})",
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)

    @property
    def _container(self) -> dict:
        return self.pod.template["spec"]["containers"][0]

    def _note_start(self) -> None:
        """kuberuntime's events for a container start (the image is never pulled: the sandbox runs
        the k8s-combat app whatever the image, and says so when the image is another one)."""
        container = self._container
        image = container.get("image", "")
        self.note("Normal", "Pulled", f'Container image "{image}" already present on machine')
        if image.split("@")[0].split(":")[0] != OWN_IMAGE and not self.pod.restarts:
            self.note(
                "Normal",
                "SandboxImage",
                f'Image "{image}" is not pulled: the sandbox runs every container as the '
                "k8s-combat app (python -m combat_app.serving), whatever image it names",
            )
        self.note("Normal", "Created", f"Created container {container['name']}")

    async def _container_started(self) -> None:
        """Wait, if the runtime can tell, until the container may answer a probe."""

    def _probe_pause(self, ready: bool, period: float) -> float:
        """Seconds to the next probe: fast until the first success, so a new pod joins the
        Service promptly; then calmer (faster than ``periodSeconds``, a fault shows soon)."""
        return 0.5 if ready else 0.05

    async def _probe_until_exit(self) -> None:
        spec = self._container.get("readinessProbe")
        period = float((spec or {}).get("periodSeconds", 10))
        started, been_ready, noted = time.monotonic(), False, float("-inf")
        await self._container_started()
        while True:
            failure = await probe_failure(self.pod.ip, self.pod.port, limit_seconds=self.probe_limit_seconds)
            if not failure and self.failing_readiness:
                failure = "HTTP probe failed with statuscode: 503"
            ready = not failure
            been_ready = been_ready or ready
            if ready != self.pod.ready:
                self.pod.ready = ready
                self.changed(self.pod)
            # The kubelet reports each failed probe of a declared readinessProbe; the sandbox probes
            # faster than periodSeconds, so at most one a period, and not while the app starts.
            now = time.monotonic()
            reportable = been_ready or now - started > _startup_allowance(self._container)
            if failure and spec and reportable and now - noted >= period:
                noted = now
                self.note("Warning", "Unhealthy", f"Readiness probe failed: {failure}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._probe_now.wait(), self._probe_pause(ready, period))
            self._probe_now.clear()

    def fail_readiness(self, failing: bool) -> None:
        """Make the readiness probe fail (or pass again) now, as a sick app would."""
        self.failing_readiness = failing
        if self.pod.running:
            self.pod.ready = self.pod.ready and not failing
            self.changed(self.pod)
        self._probe_now.set()  # a recovering pod is probed at once, not at the next period

    async def terminate(self, grace_seconds: float) -> None:
        """SIGTERM now; SIGKILL when the grace period is over; return once the process is gone."""
        self._stopping.set()
        process = self.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), grace_seconds)
            except TimeoutError:
                logger.warning("pod %s did not stop within %gs: SIGKILL", self.pod.name, grace_seconds)
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if self._task is not None:
            await self._task

    def kill_now(self) -> None:
        """Last resort at exit: no process may outlive the sandbox."""
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGKILL)


def _startup_allowance(container: dict) -> float:
    """How long a starting container may fail its readiness probe unreported: its startupProbe's
    periodSeconds x failureThreshold, else the readinessProbe's initialDelaySeconds + a period."""
    startup = container.get("startupProbe")
    if startup:
        return float(startup.get("periodSeconds", 10)) * float(startup.get("failureThreshold", 3))
    readiness = container.get("readinessProbe") or {}
    return float(readiness.get("initialDelaySeconds", 0)) + float(readiness.get("periodSeconds", 10))
