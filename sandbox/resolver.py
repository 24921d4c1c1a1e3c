"""A sandbox pod's side of cluster DNS: what its ``/etc/resolv.conf`` would do in a cluster.

A real pod's resolv.conf points every lookup at the cluster's DNS with a search list. Sandbox
pods are processes on this machine: they share its ``/etc/resolv.conf``, which the sandbox must
not change (and cannot, without root). So each pod gets the same settings as environment
variables (``sandbox.names.resolver_environment``), and its Python loads this module at start-up
(``sandbox/pod_site/sitecustomize.py``, on the pod's ``PYTHONPATH``) to apply them to the two
resolvers a k8s-combat pod uses:

- **Python's** ``socket.getaddrinfo`` (``requests``, asyncio, the ``kubernetes`` client),
  replaced at once (``sandbox.socket_hooks``);
- **gRPC's**, c-ares inside its C core, which Python cannot reach: its channels are opened with
  targets that name the cluster DNS (``sandbox.grpc_targets``), patched in when ``grpc`` is first
  imported, and only then (this module never imports ``grpc`` itself).

Both expand names with the search list and ``ndots`` as ``sandbox.resolv_conf.PodResolver`` does.
IP addresses, ``localhost`` and targets with another scheme (``ipv4:``, ``unix:``...) are left as
they are. Nothing here runs outside a sandbox pod: without ``SANDBOX_NAMESERVER`` in the
environment, ``install_from_environment`` does nothing.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import socket
import sys
from collections.abc import Callable
from types import ModuleType

from sandbox import socket_hooks
from sandbox.grpc_targets import grpc_target, patch_grpc
from sandbox.resolv_conf import DnsUnavailable, PodResolver

__all__ = ["DnsUnavailable", "PodResolver", "grpc_target", "install", "install_from_environment"]


class _Patching(importlib.abc.Loader):
    """Runs a module's own loader, then ``patch(module)``; everything else is the loader's."""

    def __init__(self, loader, patch: Callable[[ModuleType], None]) -> None:
        self._loader, self._patch = loader, patch

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        self._patch(module)

    def __getattr__(self, name: str):
        return getattr(self._loader, name)


class _AfterImport(importlib.abc.MetaPathFinder):
    """Patches a module right after it is first imported, so its importers see the patch."""

    def __init__(self, name: str, patch: Callable[[ModuleType], None]) -> None:
        self.name, self.patch = name, patch

    def find_spec(self, fullname, path, target=None):
        if fullname != self.name:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _Patching(spec.loader, self.patch)
        if self in sys.meta_path:  # once is enough
            sys.meta_path.remove(self)
        return spec


def install(resolver: PodResolver) -> None:
    for name, hook in socket_hooks.hooks(resolver).items():
        setattr(socket, name, hook)
    patch = patch_grpc(resolver)
    if "grpc" in sys.modules:
        patch(sys.modules["grpc"])
    else:
        sys.meta_path.insert(0, _AfterImport("grpc", patch))


def install_from_environment() -> PodResolver | None:
    resolver = PodResolver.from_environment()
    if resolver is not None:
        install(resolver)
    return resolver
