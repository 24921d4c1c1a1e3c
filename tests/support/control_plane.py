"""A real Kubernetes control plane for tests: kube-apiserver + etcd on loopback.

It runs ``../shared/kube/control-plane`` (see that folder's README): the genuine upstream
``kube-apiserver`` with RBAC, PodSecurity admission and ServiceAccount tokens, but no controllers,
scheduler or kubelet, so a test writes the EndpointSlices and pod statuses those would write.
The binary is found through ``$COMBAT_KUBE_APISERVER`` (a path to an unpacked ``kube-apiserver``)
or the ``kube-apiserver.xz`` beside the script; ``etcd`` comes from Debian's ``etcd-server``.
Where either is missing the tests that need it skip with the reason, which
``COMBAT_REQUIRE_ALL=1`` (CI) turns into a failure.

One control plane serves a whole test session (start to ready takes about 5 s); tests keep out
of each other's way by working in namespaces of their own (``namespace()``).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.processes import ROOT, free_port
from tests.support.programs import require

SCRIPT_ENV = "COMBAT_KUBE_CONTROL_PLANE"
BINARY_ENV = "COMBAT_KUBE_APISERVER"
_names = itertools.count(1)


def _script() -> Path:
    return Path(os.environ.get(SCRIPT_ENV) or ROOT.parent / "shared" / "kube" / "control-plane")


def _missing(message: str) -> None:
    if os.environ.get("COMBAT_REQUIRE_ALL") == "1":
        pytest.fail(f"{message}; COMBAT_REQUIRE_ALL=1 forbids skipping")
    pytest.skip(message)


def _free_port_pair() -> int:
    """A port P with P + 1 free too: etcd listens for clients on P and for peers on P + 1."""
    return free_port(span=2)


@dataclass
class ControlPlane:
    """A running control plane: its folder, its admin kubeconfig and its API server's URL."""

    directory: Path
    kubeconfig: Path
    api_url: str
    script: Path
    env: dict[str, str] = field(default_factory=dict)
    _ports: tuple[str, str] = ("", "")

    def pid(self, name: str = "kube-apiserver") -> int:
        return int((self.directory / f"{name}.pid").read_text())

    def kubectl(
        self, *args: str, kubeconfig: Path | None = None, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess:
        """Run the real ``kubectl`` against this control plane (admin unless ``kubeconfig``)."""
        result = subprocess.run(
            [shutil.which("kubectl") or "kubectl", *args],
            env={**os.environ, "KUBECONFIG": str(kubeconfig or self.kubeconfig)},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def apply(self, manifest: dict | str, *, namespace: str) -> None:
        text = manifest if isinstance(manifest, str) else json.dumps(manifest)
        self.kubectl("-n", namespace, "apply", "-f", "-", stdin=text)

    def namespace(self, prefix: str = "test", **labels: str) -> str:
        """A fresh namespace for one test, with ``labels`` (e.g. Pod Security's enforce level)."""
        name = f"{prefix}-{next(_names)}"
        self.kubectl("create", "namespace", name)
        if labels:
            self.kubectl("label", "namespace", name, *(f"{k}={v}" for k, v in labels.items()))
        return name

    def token_kubeconfig(self, namespace: str, service_account: str) -> Path:
        """A kubeconfig for ``namespace/service_account``, with a token from the TokenRequest API."""
        result = self._script("token", namespace, service_account, timeout=60)
        if result.returncode != 0:
            raise AssertionError(f"no token for {namespace}/{service_account}:\n{result.stderr}")
        path = self.directory / f"kubeconfig-{namespace}-{service_account}"
        path.write_text(result.stdout)
        path.chmod(0o600)
        return path

    def restart(self) -> None:
        """Stop and start the API server and etcd, keeping etcd's data: every watch is cut, and the
        new server's watch cache starts at the current revision, so a client resuming from an
        older resourceVersion gets a real ``410 Gone``."""
        self.stop()
        result = self._script("start", *self._ports, timeout=240)
        if result.returncode != 0:
            raise RuntimeError(f"the control plane did not restart:\n{result.stdout}\n{result.stderr}")

    def stop(self) -> None:
        """Stop etcd and the API server by their PIDs (the script reads them from its folder)."""
        self._script("stop", timeout=60)

    def _script(self, command: str, *args: str, timeout: float) -> subprocess.CompletedProcess:
        """``control-plane COMMAND DIR ARGS...`` for this control plane's folder."""
        return subprocess.run(
            [str(self.script), command, str(self.directory), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def start_control_plane(directory: Path, *, controllers: bool = False) -> ControlPlane:
    """Start a control plane in ``directory`` on free loopback ports; skip when it cannot run here.
    ``controllers``: also the real kube-controller-manager (the script's ``WITH_CONTROLLERS=1``)."""
    script = _script()
    if not script.exists():
        _missing(f"no real kube-apiserver: {script} does not exist (set {SCRIPT_ENV} to the script)")
    require("etcd", "the real API server stores its objects in etcd: apt-get install etcd-server")
    for program in ("openssl", "curl", "xz"):
        require(program, "the control-plane script makes keys and waits for /readyz with it")
    env = dict(os.environ)
    if os.environ.get(BINARY_ENV):
        env["KUBE_APISERVER"] = os.environ[BINARY_ENV]
    if controllers:
        env["WITH_CONTROLLERS"] = "1"
    ports = (str(free_port()), str(_free_port_pair()))
    result = subprocess.run(
        [str(script), "start", str(directory), *ports],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    plane = ControlPlane(
        directory, directory / "kubeconfig", f"https://127.0.0.1:{ports[0]}", script, env, ports
    )
    if result.returncode != 0:
        plane.stop()
        raise RuntimeError(f"the control plane did not start:\n{result.stdout}\n{result.stderr}")
    return plane
