"""Pod IPs on loopback: 127.0.1.N on Linux, where all of 127.0.0.0/8 reaches this machine.

Each pod then listens on its own address with the manifest's port (8081), so endpoints read
``IP:8081`` as in the tutorial. Where extra loopback addresses cannot be bound (macOS), pods
share 127.0.0.1 and get distinct ports instead.
"""

from __future__ import annotations

import socket

POD_PORT = 8081


def can_bind(host: str) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, 0))
        except OSError:
            return False
    return True


class AddressPool:
    def __init__(self, network: str = "127.0.1", *, fallback_port_base: int = 18100) -> None:
        self.network = network
        self.own_addresses = can_bind(f"{network}.2")
        self.fallback_port_base = fallback_port_base
        self._taken: set[tuple[str, int]] = set()

    def _candidates(self):
        if self.own_addresses:
            for host in range(2, 255):
                yield f"{self.network}.{host}", POD_PORT
        else:
            for slot in range(250):
                yield "127.0.0.1", self.fallback_port_base + slot * 10

    def take(self) -> tuple[str, int]:
        for candidate in self._candidates():
            if candidate not in self._taken and _port_free(*candidate):
                self._taken.add(candidate)
                return candidate
        raise RuntimeError("no free pod address left on loopback")

    def give_back(self, host: str, port: int) -> None:
        self._taken.discard((host, port))


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True
