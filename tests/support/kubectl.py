"""The real kubectl, run against a sandbox's kubeconfig, in the two ways the tests use it.

- ``kubectl_for(sandbox)``: a function that runs one command to its end and returns its output
  as text, failing the test if kubectl fails (``listed`` reads ``get -o json``'s items);
- ``Kubectl``: bytes in and out, the exit status, and commands that keep running (``logs -f``,
  ``exec -it``, ``port-forward``), each stopped by its PID with ``stop``; ``pods`` reads a
  Deployment's pods with it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess

from tests.support.processes import die_with_parent
from tests.support.programs import require


def kubectl_for(sandbox):
    program = require("kubectl", "the controllers are driven with the real kubectl")
    env = {**os.environ, "KUBECONFIG": str(sandbox.kubeconfig)}

    def run(*args: str, timeout: float = 60, stdin: str | None = None) -> str:
        result = subprocess.run(
            [program, *args], env=env, input=stdin, capture_output=True, text=True, timeout=timeout
        )
        assert result.returncode == 0, f"kubectl {' '.join(args)} failed:\n{result.stderr}"
        return result.stdout

    return run


def listed(kubectl, *args: str) -> list[dict]:
    return json.loads(kubectl("get", *args, "-o", "json"))["items"]


class Kubectl:
    def __init__(self, program: str, kubeconfig) -> None:
        self.program = program
        self.env = {**os.environ, "KUBECONFIG": str(kubeconfig)}

    def run(self, *args: str, input: bytes | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.program, *args], env=self.env, input=input, capture_output=True, timeout=timeout
        )

    def __call__(self, *args: str, **kwargs) -> str:
        result = self.run(*args, **kwargs)
        assert result.returncode == 0, f"kubectl {' '.join(args)} failed:\n{result.stderr.decode()}"
        return result.stdout.decode()

    def start(self, *args: str, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(
            [self.program, *args], env=self.env, preexec_fn=die_with_parent, start_new_session=True, **kwargs
        )


def stop(process: subprocess.Popen) -> None:
    """Every kubectl a test starts is stopped by its PID."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


def pods(kubectl: Kubectl, app: str) -> dict[str, str]:
    """``{name: pod IP}`` of the Deployment's pods."""
    items = json.loads(kubectl("get", "pods", "-l", f"app={app}", "-o", "json"))["items"]
    return {item["metadata"]["name"]: item["status"]["podIP"] for item in items}
