"""Run a command as if inside a sandbox pod: with the environment and working directory its
process has (read from /proc), as ``kubectl exec POD -- CMD`` does in a cluster."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.processes import ROOT


def environment(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)


def pod_environments(sandbox) -> dict[str, dict[str, str]]:
    """POD_NAME -> the environment of that pod's process, for every running pod of ``sandbox``."""
    found = {}
    for pid in sandbox.children():
        try:
            env = environment(pid)
        except OSError:  # gone in between
            continue
        if "POD_NAME" in env:
            found[env["POD_NAME"]] = env
    return found


def pod_environment(sandbox, deployment: str) -> dict[str, str]:
    """The environment of one running pod of ``deployment``."""
    for name, env in sorted(pod_environments(sandbox).items()):
        if name.rsplit("-", 2)[0] == deployment:
            return env
    raise AssertionError(f"no running pod of {deployment}")


def run_python(env: dict[str, str], code: str, timeout: float = 60) -> str:
    """``python -c CODE`` in the pod's environment; its output, or an assertion with its errors."""
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
