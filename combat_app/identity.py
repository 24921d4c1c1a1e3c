"""Who this pod is: the name, IP and node that every answer carries.

The values come from the downward API (``POD_NAME``, ``POD_IP``, ``NODE_NAME`` in the
manifests). Without them the hostname stands in, as it does for the seed's Go app, whose only
identity was its hostname: in a pod that is the pod's name (``$HOSTNAME``, as the container
runtime sets it), and it resolves to the pod's IP (the kubelet's /etc/hosts entry).
"""

from __future__ import annotations

import contextvars
import functools
import os
import socket
from dataclasses import dataclass

from combat_app.env import env_header_value


@dataclass(frozen=True)
class PodIdentity:
    name: str
    ip: str
    node: str

    def headers(self) -> list[tuple[bytes, bytes]]:
        """The response headers that name the pod; the dashboard reads them off every /ping."""
        return [
            (b"x-pod-name", self.name.encode()),
            (b"x-pod-ip", self.ip.encode()),
            (b"x-node-name", self.node.encode()),
        ]


def _host_ip(hostname: str) -> str:
    try:
        return socket.gethostbyname(hostname)
    except OSError:
        return "127.0.0.1"


def from_environment() -> PodIdentity:
    hostname = os.environ.get("HOSTNAME") or socket.gethostname()
    return PodIdentity(
        name=env_header_value("POD_NAME", hostname),
        ip=env_header_value("POD_IP", "") or _host_ip(hostname),
        node=env_header_value("NODE_NAME", hostname),
    )


@functools.cache
def _process_identity() -> PodIdentity:
    return from_environment()


# Set for the request being served when one process serves several pods (the sandbox's
# lightweight pods, ``sandbox.pod_host``): ``combat_app.front`` sets it from the address the
# connection reached, and it is copied into the tasks and threads the request runs in.
serving: contextvars.ContextVar[PodIdentity | None] = contextvars.ContextVar("serving", default=None)


def current() -> PodIdentity:
    """The identity of the pod answering: the request's (``serving``) when set, else the
    process's, read once from the environment (the downward API does not change under a pod)."""
    return serving.get() or _process_identity()
