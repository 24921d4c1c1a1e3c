"""Pod IPs on loopback: 127.0.1.N on Linux, where all of 127.0.0.0/8 reaches this machine.

Each pod then listens on its own address with the manifest's port (8081), so endpoints read
``IP:8081`` as in the tutorial. The first 253 pods get ``NETWORK.2`` to ``NETWORK.254``
(``--pod-network``, 127.0.1 by default), as always; more pods (lightweight pods come by the
thousand, ``sandbox.hosted_pods``) continue in the /24s ``A.B.64`` to ``A.B.255`` of the same
/16 (127.0.64.2, ...), skipping the pod network's own /24 and those of the addresses the
sandbox binds for itself (``avoid``: the Service ClusterIPs' /24, 127.0.10.x, with the cluster
DNS), so 5000 pods have addresses and a test's sandbox stays inside its own 127.N.0.0/16.

Taking an address is O(log n): the lowest address given back is reused first (a heap), else
the next never used one, and only that one candidate is checked by a bind. Where extra loopback
addresses cannot be bound (macOS), pods share 127.0.0.1 and get distinct ports instead (250 of
them: a pod's gRPC port is its HTTP port + 41970, and must stay below 65536).
"""

from __future__ import annotations

import heapq
import socket
from collections.abc import Iterable

POD_PORT = 8081
HOSTS_PER_BLOCK = 253  # .2 to .254 of a /24
FIRST_EXTRA_BLOCK = 64
FALLBACK_SLOTS = 250


def can_bind(host: str) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, 0))
        except OSError:
            return False
    return True


def extra_blocks(network: str, avoid: Iterable[str] = ()) -> list[str]:
    """The /24s (as ``A.B.C`` prefixes) where pods past the first 253 get addresses, in order.

    ``network`` is ``A.B.C``; ``avoid`` lists addresses whose /24 must stay free."""
    first, second, own = network.split(".")
    taken = {int(own)}
    for address in avoid:
        octets = address.split(".")
        if octets[:2] == [first, second]:
            taken.add(int(octets[2]))
    return [f"{first}.{second}.{c}" for c in range(FIRST_EXTRA_BLOCK, 256) if c not in taken]


class AddressPool:
    def __init__(
        self, network: str = "127.0.1", *, fallback_port_base: int = 18100, avoid: Iterable[str] = ()
    ) -> None:
        self.network = network
        self.own_addresses = can_bind(f"{network}.2")
        self.fallback_port_base = fallback_port_base
        self._blocks = [network, *extra_blocks(network, avoid)] if self.own_addresses else []
        self.size = len(self._blocks) * HOSTS_PER_BLOCK if self.own_addresses else FALLBACK_SLOTS
        self._next = 0  # the lowest index never handed out
        self._free: list[int] = []  # indices given back (a heap)
        self._busy: list[int] = []  # indices something else held when tried; tried again when short
        self._index: dict[tuple[str, int], int] = {}

    def _candidate(self, index: int) -> tuple[str, int]:
        if self.own_addresses:
            block, host = divmod(index, HOSTS_PER_BLOCK)
            return f"{self._blocks[block]}.{host + 2}", POD_PORT
        return "127.0.0.1", self.fallback_port_base + index * 10

    def _next_index(self) -> int | None:
        if self._free:
            return heapq.heappop(self._free)
        if self._next < self.size:
            self._next += 1
            return self._next - 1
        if self._busy:  # the pool is short: what was held by something else may be free now
            self._free, self._busy = self._busy, []
            heapq.heapify(self._free)
            return heapq.heappop(self._free)
        return None

    def take(self) -> tuple[str, int]:
        """An address and port nobody listens on; RuntimeError when none is left."""
        tried = []
        while (index := self._next_index()) is not None and index not in tried:
            candidate = self._candidate(index)
            if _port_free(*candidate):
                self._busy.extend(tried)
                self._index[candidate] = index
                return candidate
            tried.append(index)
        self._busy.extend(tried)  # (a repeated index is in ``tried`` already)
        raise RuntimeError("no free pod address left on loopback")

    def give_back(self, host: str, port: int) -> None:
        index = self._index.pop((host, port), None)
        if index is not None:
            heapq.heappush(self._free, index)


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True
