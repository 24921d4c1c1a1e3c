"""gRPC's resolver in a sandbox pod: channel targets pointed at the cluster DNS.

gRPC resolves names with c-ares inside its C core, which Python cannot reach. It cannot be told
of a DNS server by the environment, only by the target's authority (``dns://HOST:PORT/name``),
and it applies only the first domain of ``LOCALDOMAIN``. So a channel to ``NAME:PORT`` (or
``dns:///NAME:PORT``) is opened as ``dns://<nameserver>/<fqdn>.:PORT``, the fully qualified name
the search list finds (``grpc_target``), with ``NAME:PORT`` kept as the channel's ``:authority``;
gRPC then resolves that name over DNS with its own resolver, and resolves it again when it
reconnects, as in a cluster. ``patch_grpc`` wraps ``grpc.insecure_channel`` and
``secure_channel`` (and ``grpc.aio``'s) to do so; ``sandbox.resolver`` applies it when ``grpc``
is first imported, and only then.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from types import ModuleType

from sandbox.resolv_conf import DnsUnavailable, PodResolver

# Schemes gRPC resolves itself; any other "x:" prefix is a host name (gRPC adds "dns:///").
GRPC_SCHEMES = ("ipv4", "ipv6", "unix", "unix-abstract", "vsock", "xds", "google-c2p", "passthrough")


def grpc_target(target: str, resolver: PodResolver) -> tuple[str, str | None]:
    """(the target to open, the ``:authority`` to keep) for a gRPC target.

    ``NAME:PORT`` becomes ``dns://<nameserver>/<fqdn>.:PORT``: c-ares asks the cluster DNS for
    the name the search list finds (this resolver expands it, since c-ares applies only the first
    domain of ``LOCALDOMAIN``), and the channel keeps ``NAME:PORT`` as its authority, as in a
    cluster. A name not found yet (a Service created later) is written as the pod's namespace
    would find it; names outside the cluster, addresses and other schemes are left alone.
    """
    if not isinstance(target, str):
        return target, None
    scheme, colon, rest = target.partition(":")
    if colon and scheme.lower() == "dns":
        if rest.startswith("//") and not rest.startswith("///"):
            return target, None  # an authority of its own: the caller chose the DNS server
        path = rest[3:] if rest.startswith("///") else rest
    elif colon and (scheme.lower() in GRPC_SCHEMES or rest.startswith("//")):
        return target, None
    else:
        path = target
    if path.startswith("["):
        return target, None  # an IPv6 address
    host, colon, port = path.rpartition(":") if ":" in path else (path, "", "")
    if not resolver.is_cluster_name(host):
        return target, None
    try:
        found = resolver.lookup(host)
    except DnsUnavailable:
        found = None
    if found is not None:
        name = found[0]
    elif resolver.in_domain(host):
        name = host.rstrip(".")
    elif "." not in host and resolver.search:
        name = f"{host}.{resolver.search[0]}"
    else:
        return target, None
    return f"dns://{resolver.server[0]}:{resolver.server[1]}/{name}.{colon}{port}", path


def patch_grpc(resolver: PodResolver) -> Callable[[ModuleType], None]:
    def patch(grpc: ModuleType) -> None:
        modules = [grpc, getattr(grpc, "aio", None)]
        for module in filter(None, modules):
            for name in ("insecure_channel", "secure_channel"):
                original = getattr(module, name, None)
                if original is None or getattr(original, "_sandbox_dns", False):
                    continue
                setattr(module, name, _channel_opener(original, resolver))

    return patch


def _channel_opener(original: Callable, resolver: PodResolver) -> Callable:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def channel(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        target, authority = grpc_target(bound.arguments["target"], resolver)
        bound.arguments["target"] = target
        options = list(bound.arguments.get("options") or [])
        if authority is not None and "grpc.default_authority" not in {key for key, _ in options}:
            bound.arguments["options"] = [*options, ("grpc.default_authority", authority)]
        return original(*bound.args, **bound.kwargs)

    channel._sandbox_dns = True  # type: ignore[attr-defined]
    return channel
