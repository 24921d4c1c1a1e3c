"""A sandbox pod's own IP as the source of its connections, as a pod's network namespace gives.

Pods share the machine's loopback, so without this a pod's calls to a ClusterIP come from
127.0.0.1 and kube-proxy's stand-in (``sandbox.proxy``) could not tell which pod calls, which
``internalTrafficPolicy: Local``, ``trafficDistribution: PreferClose`` and ``sessionAffinity:
ClientIP`` depend on. ``install_from_environment`` binds every IPv4 socket that connects to a
loopback address (127.0.0.0/8) to the pod's IP (the first field of ``SANDBOX_HOSTS``, the
pod's /etc/hosts line) first, with ``IP_BIND_ADDRESS_NO_PORT`` so the port is still chosen at
connect time per destination (Linux 4.2+). Other destinations, sockets already bound, and pods
on the shared 127.0.0.1 are left alone. Python's sockets only (``requests``, asyncio); gRPC's C
core dials on its own.
"""

from __future__ import annotations

import ipaddress
import os
import socket

IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)  # linux/in.h
_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


def pod_ip(environ: dict[str, str]) -> str | None:
    """The pod's IP from ``SANDBOX_HOSTS`` ("IP NAME"), or None outside a pod, on 127.0.0.1,
    or for anything that is not a loopback IPv4 address."""
    first = (environ.get("SANDBOX_HOSTS") or "").split(" ", 1)[0]
    try:
        address = ipaddress.ip_address(first)
    except ValueError:
        return None
    if address.version != 4 or address not in _LOOPBACK or first == "127.0.0.1":
        return None
    return first


def _to_loopback(address: object) -> bool:
    if not isinstance(address, tuple) or not address or not isinstance(address[0], str):
        return False
    try:
        return ipaddress.ip_address(address[0]) in _LOOPBACK
    except ValueError:
        return False


def install(source: str) -> None:
    """Bind connecting loopback IPv4 sockets to ``source`` (see the module's docstring)."""
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def bind_first(sock: socket.socket, address: object) -> None:
        if sock.family != socket.AF_INET or not _to_loopback(address):
            return
        try:
            if sock.getsockname()[1] != 0:  # bound already: the caller chose
                return
            sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
            sock.bind((source, 0))
        except OSError:
            pass  # connect as before, from whatever address the kernel picks

    def connecting(sock, address):
        bind_first(sock, address)
        return connect(sock, address)

    def connecting_ex(sock, address):
        bind_first(sock, address)
        return connect_ex(sock, address)

    socket.socket.connect = connecting
    socket.socket.connect_ex = connecting_ex


def install_from_environment() -> str | None:
    """Install for the pod in ``os.environ``; the source IP, or None when not in a pod."""
    source = pod_ip(dict(os.environ))
    if source is not None:
        install(source)
    return source
