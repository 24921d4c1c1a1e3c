"""One API server as the fidelity suite drives it: the real ``kubectl`` and the real ``kubernetes``
client, pointed at it, with every answer masked (``masking``) before it is compared.

Both targets run the same client binary (kubectl 1.32 where the machine has it: the ``kubectl``
on PATH picks a client by the server's version, which differs between the two servers).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes
import yaml
from kubernetes.client.exceptions import ApiException

from tests.support.fidelity.masking import Masker

KUBECTL_132 = Path("/usr/lib/google-cloud-sdk/bin/kubectl.1.32")
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def kubectl_program() -> str:
    """The same kubectl for both servers (the dispatcher on PATH would not be)."""
    if KUBECTL_132.exists():
        return str(KUBECTL_132)
    return shutil.which("kubectl") or "kubectl"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return self.body.decode(errors="replace")


@dataclass
class Target:
    """``label`` is ``real`` or ``sandbox``; ``namespace`` the one this scenario works in."""

    label: str
    kubeconfig: Path
    namespace: str
    cache_dir: Path
    faults_url: str = ""  # the sandbox's test-only fault switches
    token_kubeconfig: Callable[[str, str], Path] | None = None  # (namespace, account): a kubeconfig
    expire: Callable[[], None] | None = None  # make every older resourceVersion too old
    vars: dict[str, Any] = field(default_factory=dict)  # what a scenario's steps hand on

    def __post_init__(self) -> None:
        self.masker = Masker(self.namespace)
        self.api = kubernetes.config.new_client_from_config(config_file=str(self.kubeconfig))

    @property
    def is_sandbox(self) -> bool:
        return self.label == "sandbox"

    # --- kubectl ---------------------------------------------------------------------------

    def run_kubectl(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        argv = [kubectl_program(), "--cache-dir", str(self.cache_dir), "-n", self.namespace, *args]
        return subprocess.run(
            argv,
            env={**os.environ, "KUBECONFIG": str(self.kubeconfig)},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def kubectl(self, *args: str, stdin: str | None = None, out: str = "text") -> dict:
        """What the user sees: the exit code, stdout read as ``out`` (json, yaml, table, text),
        stderr as text; all masked."""
        result = self.run_kubectl(*args, stdin=stdin)
        return {
            "rc": result.returncode,
            "stdout": self.read_output(result.stdout, out),
            "stderr": self.masker.text(result.stderr),
        }

    def read_output(self, text: str, out: str) -> Any:
        if out == "json" and text.strip():
            return self.masker.json(json.loads(text))
        if out == "yaml" and text.strip():
            return self.masker.json(list(yaml.safe_load_all(text)))
        if out == "table":
            return [self._table(block) for block in re.split(r"\n\s*\n", text.strip("\n")) if block]
        return self.masker.text(text).splitlines()  # lines: a difference shows where it is

    def _table(self, block: str) -> dict:
        """A kubectl table as its cells: columns start where their headings do (tabwriter
        pads every cell of a column to the same width, and masked values have other widths)."""
        lines = block.splitlines()
        starts = [m.start() for m in re.finditer(r"\S+(?: \S+)*", lines[0])]
        names = [lines[0][a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        rows = []
        for line in lines[1:]:
            cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
            # AGE: how long ago each server created the object, a wall-clock difference.
            rows.append(
                [
                    "<age>" if name in ("AGE", "LAST SEEN") else self.masker.string(cell, in_text=True)
                    for name, cell in zip(names, cells, strict=True)
                ]
            )
        return {"columns": names, "rows": rows}

    # --- the kubernetes client -------------------------------------------------------------

    def path(self, path: str) -> str:
        return path.replace("{ns}", self.namespace)

    def _open(self, method: str, path: str, query, headers: dict, body: Any, timeout: float):
        """The raw response of one request made by the kubernetes client's ApiClient (its
        auth, TLS, serialization and content-type handling), not yet read."""
        params = list(query.items()) if isinstance(query, dict) else list(query or [])
        _, url, headers, body, _ = self.api.param_serialize(
            method,
            self.path(path),
            query_params=params,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        return self.api.call_api(method, url, header_params=headers, body=body, _request_timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict | list | None = None,
        body: Any = None,
        content_type: str = "application/json",
        accept: str = "application/json",
        timeout: float = 30,
    ) -> Response:
        headers = {"Accept": accept, "Content-Type": content_type}
        raw = self._open(method, path, query, headers, body, timeout)
        data = raw.read()
        return Response(raw.status, {k.lower(): v for k, v in raw.headers.items()}, data)

    def call(self, method: str, path: str, **options: Any) -> dict:
        """A request's status code, its JSON body and any ``Warning`` headers, masked."""
        response = self.request(method, path, **options)
        seen = {"status": response.status, "body": self.masker.json(response.json())}
        if "warning" in response.headers:
            seen["warning"] = self.masker.text(response.headers["warning"])
        return seen

    def typed(self, api: str, method: str, *args: Any, **kwargs: Any) -> dict:
        """A typed call (``CoreV1Api.list_namespaced_pod``...): what the client's models make of
        the answer, or the ApiException / client error it raises."""
        client = getattr(kubernetes.client, api)(self.api)
        try:
            result = getattr(client, method)(*args, **kwargs)
        except ApiException as exc:
            return {"status": exc.status, "body": self.masker.json(Response(0, {}, exc.body or b"").json())}
        except (ValueError, TypeError) as exc:  # the client's own model validation
            return {"client error": self.masker.text(f"{type(exc).__name__}: {exc}")}
        return {"result": self.masker.json(self.api.sanitize_for_serialization(result))}

    def watch(
        self,
        path: str,
        query: dict,
        *,
        seconds: float = 30,
        lines: int | None = None,
        accept: str = "application/json",
    ) -> list:
        """A watch's events (status code and body when it is refused), read until the server
        ends it, ``seconds`` pass, or ``lines`` events have come."""
        response = self.request(
            "GET", path, query={**query, "watch": "true"}, timeout=seconds + 5, accept=accept
        )
        if response.status != 200:
            return [{"status": response.status, "body": self.masker.json(response.json())}]
        return [self.masker.json(json.loads(line)) for line in response.body.splitlines() if line.strip()][
            :lines
        ]

    def stream(self, path: str, query: dict, *, seconds: float):
        """An open watch, for steps that change something while it runs: yields raw events."""
        raw = self._open(
            "GET", path, {**query, "watch": "true"}, {"Accept": "application/json"}, None, seconds + 5
        )
        try:
            for line in raw.response:
                if line.strip():
                    yield json.loads(line)
        finally:
            raw.response.release_conn()

    def as_account(self, name: str) -> Target:
        """This target as ServiceAccount ``name`` of its namespace (made here), with a token from
        the TokenRequest API; the sandbox has no authentication, so there it is the same."""
        if self.token_kubeconfig is None:
            return self
        self.request("POST", "/api/v1/namespaces/{ns}/serviceaccounts", body={"metadata": {"name": name}})
        path = self.token_kubeconfig(self.namespace, name)
        return Target(
            self.label, path, self.namespace, self.cache_dir.with_name(f"{self.cache_dir.name}-{name}")
        )

    def expire_history(self) -> None:
        """Make every resourceVersion seen so far too old for a watch: a real server's restart
        (its new watch cache starts at the current revision), the sandbox's compaction switch."""
        if self.expire is not None:
            self.expire()
        else:
            self.fault("compact")

    # --- the sandbox's fault switches (not the Kubernetes API) -----------------------------

    def fault(self, action: str, **params: str) -> None:
        if self.is_sandbox:
            import requests

            requests.post(
                f"{self.faults_url}/sandbox/faults/{action}", params=params, timeout=5
            ).raise_for_status()
