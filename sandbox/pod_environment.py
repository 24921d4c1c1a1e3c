"""What a sandbox pod's process is given: the environment a kubelet, its container runtime and
the cluster would give the pod's container.

Sandbox pods are processes on this machine, so what a cluster provides through files, mounts and
the network arrives here as environment variables: the manifest's own ``env`` (values and
``fieldRef``s), the kubelet's Service variables (``sandbox.service_env``), the pod's hostname and
``/etc/hosts`` line, its resolv.conf (``sandbox.names.resolver_environment``, applied by
``sandbox.resolver``), the Secret's key file, the emptyDir's database, and for the dashboard's
pod the way to the API server. The environment of whoever started the sandbox is passed on, less
the variables the app or a Kubernetes client would read (``_NOT_INHERITED``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox import names, resources, service_env
from sandbox.objects import PodState
from sandbox.store import Store

if TYPE_CHECKING:
    from sandbox.running import Options

CONSUMER = "k8s-combat"
PROVIDER_SERVICE = "k8s-combat-service"
# A pod gets what its manifest says, not the environment of whoever started the sandbox.
# Nor the Service variables of a cluster the machine may itself run in: the kubelet's are added.
_NOT_INHERITED = (
    "COMBAT_",
    "DJANGO_",
    "POD_",
    "NODE_",
    "SHUTDOWN_",
    "DATABASE_",
    "DASHBOARD_",
    "KUBECONFIG",
    "KUBERNETES_",
)


def secret_key(state_dir: Path) -> Path:
    path = state_dir / "secret-key"
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path


def for_container(
    pod: PodState,
    container: dict,
    *,
    store: Store,
    nameserver: str,
    state_dir: Path,
    kubeconfig: Path,
    options: Options,
) -> dict[str, str]:
    """The environment of ``container``'s process in ``pod``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_NOT_INHERITED)}
    # What a kubelet adds for the Services that exist now; the container's own env wins.
    env.update(
        service_env.for_pod(
            store.list(resources.SERVICES),
            namespace=pod.namespace,
            enable_service_links=pod.template["spec"].get("enableServiceLinks", True),
        )
    )
    # What the container runtime and the kubelet set up for every pod: its hostname (the pod's
    # name) and the /etc/hosts line that resolves it to the pod's IP (see sandbox.resolver).
    env.update(HOSTNAME=pod.name, SANDBOX_HOSTS=f"{pod.ip} {pod.name}")
    fields = {
        "metadata.name": pod.name,
        "status.podIP": pod.ip,
        "spec.nodeName": pod.node,
        "metadata.namespace": pod.namespace,
    }
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
        elif "fieldRef" in item.get("valueFrom", {}):
            env[item["name"]] = fields[item["valueFrom"]["fieldRef"]["fieldPath"]]
    # What the cluster provides in other ways: the Secret's mount, the emptyDir, cluster DNS
    # (the pod's resolv.conf, see sandbox.names and sandbox.resolver: the manifests' Service
    # URLs work by name, unchanged), and (for the pod whose ServiceAccount token is mounted)
    # the way to the API server.
    env.update(
        DJANGO_SETTINGS_MODULE="combat_app.settings",
        DJANGO_SECRET_KEY_FILE=str(secret_key(state_dir)),
        DATABASE_PATH=str(state_dir / "db.sqlite3"),
        COMBAT_GRPC_PORT=str(pod.host_port(50051)),
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(names.POD_SITE), env.get("PYTHONPATH")])),
        **names.resolver_environment(nameserver, pod.namespace),
    )
    if pod.template["spec"].get("automountServiceAccountToken"):
        env["KUBECONFIG"] = str(kubeconfig)
        # No token is mounted, so in-cluster config cannot work: KUBERNETES_SERVICE_HOST would
        # send the kubernetes client (dashboard/kube.py) there instead of to the kubeconfig.
        for name in [n for n in env if n.startswith(("KUBERNETES_SERVICE_", "KUBERNETES_PORT"))]:
            del env[name]
        if options.chaos:
            env["DASHBOARD_CHAOS"] = "true"
    if options.drain_seconds is not None:
        env["SHUTDOWN_DRAIN_SECONDS"] = str(options.drain_seconds)
    if pod.deployment == PROVIDER_SERVICE:
        env.update(options.provider_env)
    if pod.deployment == CONSUMER:
        env.update(options.dashboard_env)
    return env
