"""The Service's ClusterIP: an L4 TCP proxy that behaves like kube-proxy.

A backend is chosen once per **new connection**, never per request: uniformly at random among
the ready endpoints (iptables mode), or in turn (IPVS round robin), or pinned per client
address when ``sessionAffinity: ClientIP`` is set. Before that choice the endpoints are
filtered by the caller's place, as kube-proxy's ``CategorizeEndpoints`` does
(``sandbox.topology.categorize``): the caller is known by the connection's source address (a
pod's IP: its node and zone, through ``locate``; anything else counts as on the first node).
Under ``internalTrafficPolicy: Local`` a caller whose node has no ready endpoint is cut off at
once (kube-proxy DROPs the SYN, "has no local endpoints"; this userspace proxy has already
accepted, so the caller sees a reset). Settings (``mode``, ``affinity_seconds``, ``policy``)
are read on each new connection, so a change takes effect on the next one; established
connections keep their backend until one side closes them, even after that endpoint starts
terminating. With no ready endpoint the address stops listening, so a new connection is
refused at once, as kube-proxy's REJECT rule does.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from sandbox import topology

logger = logging.getLogger(__name__)

Backend = tuple[str, int]
MODES = ("random", "round-robin")


class AddressInUse(OSError):
    pass


@dataclass
class ProxyStats:
    connections: int = 0
    refused_backends: int = 0


class ServiceProxy:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        mode: str = "random",
        affinity_seconds: float | None = None,
        name: str = "",
        seed: str | None = None,
    ) -> None:
        """``seed``: the random choice's seed (``--proxy-seed``), mixed with ``name`` so that each
        proxy draws its own sequence; ``None`` seeds from the OS, as kube-proxy's choice is."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        self.host, self.port, self.mode, self.name = host, port, mode, name or f"{host}:{port}"
        self.affinity_seconds = affinity_seconds
        self.stats = ProxyStats()
        self._backends: list[Backend] = []
        self._backend_set: frozenset[Backend] = frozenset()
        self._turn = itertools.count()
        self._affinity: dict[str, tuple[Backend, float]] = {}
        self._server: asyncio.Server | None = None
        # A per-connection pick needs no cryptographic strength; a seed makes a run repeatable.
        self._random = random.Random(None if seed is None else f"{seed}/{self.name}")
        self._open: set[asyncio.Transport] = set()
        self.policy = topology.Policy()
        # A caller's address -> (its node, its zone); the default puts every caller nowhere.
        self.locate: Callable[[str], tuple[str, str]] = lambda host: ("", "")
        self._endpoints: list[topology.Endpoint] = []
        self._allowed: dict[tuple[str, str], tuple[list[Backend], frozenset[Backend]]] = {}

    # --- the endpoints ----------------------------------------------------------------------

    @property
    def backends(self) -> list[Backend]:
        return list(self._backends)

    async def set_backends(self, backends: list[Backend]) -> None:
        """Program the endpoints (kube-proxy's sync on an EndpointSlice change); every pick after
        this chooses among them, in O(1) however many there are."""
        backends = sorted(backends)
        if backends == self._backends and bool(backends) == (self._server is not None):
            return  # a sync that changed nothing for this Service
        self._backends = backends
        self._backend_set = frozenset(backends)
        if self._backends and self._server is None:
            self._server = await self._listen()
        elif not self._backends and self._server is not None:
            self._server.close()  # established connections are separate transports: they carry on
            self._server = None

    async def set_endpoints(self, endpoints: list[topology.Endpoint], policy: topology.Policy) -> None:
        """As ``set_backends``, with each endpoint's node and zone hints and the Service's
        topology ``policy``, for ``topology.categorize`` on each new connection."""
        self._endpoints = endpoints
        self.policy = policy
        self._allowed.clear()
        await self.set_backends([endpoint.backend for endpoint in endpoints])

    def drop_backends(self, gone: set[Backend]) -> None:
        """Take a terminating pod out of rotation at once, before the next sync (kube-proxy
        stops sending new connections to it as soon as its endpoint is not ready)."""
        self._backends = [backend for backend in self._backends if backend not in gone]
        self._backend_set = frozenset(self._backends)
        self._endpoints = [e for e in self._endpoints if e.backend not in gone]
        self._allowed.clear()
        if not self._backends and self._server is not None:
            self._server.close()
            self._server = None

    def _candidates(self, client_host: str) -> tuple[list[Backend], frozenset[Backend]]:
        """The backends the caller at ``client_host`` may reach under the policy; computed once
        per caller's (node, zone) until the endpoints or the policy change."""
        if self.policy == topology.Policy():
            return self._backends, self._backend_set
        place = self.locate(client_host)
        if place not in self._allowed:
            chosen = topology.categorize(self._endpoints, policy=self.policy, node=place[0], zone=place[1])
            backends = [e.backend for e in chosen if e.backend in self._backend_set]
            self._allowed[place] = (backends, frozenset(backends))
        return self._allowed[place]

    def pick(self, client_host: str) -> Backend | None:
        """The backend of one new connection from ``client_host``, or None when there is none
        for it; O(1) in the number of backends once the caller's place is known (a random
        index, a turn counter, a dict of pinned clients)."""
        if not self._backends:
            return None
        backends, allowed = self._candidates(client_host)
        if not backends:
            return None
        if not self.affinity_seconds:
            self._affinity.clear()  # affinity turned off: kube-proxy's recent lists go with it
        else:
            pinned = self._affinity.get(client_host)
            if pinned and pinned[0] in allowed and pinned[1] > time.monotonic():
                backend = pinned[0]
                self._affinity[client_host] = (backend, time.monotonic() + self.affinity_seconds)
                return backend
        if self.mode == "round-robin":
            backend = backends[next(self._turn) % len(backends)]
        else:
            backend = self._random.choice(backends)
        if self.affinity_seconds:
            self._affinity[client_host] = (backend, time.monotonic() + self.affinity_seconds)
        return backend

    # --- serving ----------------------------------------------------------------------------

    async def check_address(self) -> None:
        """Fail early, naming the address, if it cannot be bound."""
        try:
            server = await self._listen()
        except OSError as exc:
            raise AddressInUse(
                f"{self.name}: cannot listen on {self.host}:{self.port}: {exc.strerror}"
            ) from exc
        server.close()
        await server.wait_closed()

    async def _listen(self) -> asyncio.Server:
        loop = asyncio.get_running_loop()
        return await loop.create_server(
            lambda: _ClientSide(self), self.host, self.port, reuse_address=True, backlog=1024
        )

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for transport in list(self._open):
            transport.abort()


class _Pipe(asyncio.Protocol):
    """One side of a proxied connection; it writes what it reads to its peer, with back-pressure."""

    def __init__(self, proxy: ServiceProxy) -> None:
        self.proxy = proxy
        self.transport: asyncio.Transport | None = None
        self.peer: _Pipe | None = None
        self.pending: list[bytes] = []
        self.eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.proxy._open.add(self.transport)

    def data_received(self, data: bytes) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.write(data)
        else:
            self.pending.append(data)

    def eof_received(self) -> bool:
        self.eof = True
        peer = self.peer
        if peer is None or peer.transport is None:
            return True  # the backend is still connecting; _connect forwards the EOF
        if peer.eof:  # both directions are finished: the connection is over
            self.transport.close()
            peer.transport.close()
            return False
        if peer.transport.can_write_eof():
            peer.transport.write_eof()
        return True  # keep the other direction open (half-close), as TCP allows

    def connection_lost(self, exc: Exception | None) -> None:
        self.proxy._open.discard(self.transport)
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()


class _ClientSide(_Pipe):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        client_host = (transport.get_extra_info("peername") or ("",))[0]
        backend = self.proxy.pick(client_host)
        if backend is None:
            logger.warning("%s: no ready endpoint for a new connection from %s", self.proxy.name, client_host)
            transport.abort()
            return
        self.proxy.stats.connections += 1
        self.transport.pause_reading()
        asyncio.get_running_loop().create_task(self._connect(backend))

    async def _connect(self, backend: Backend) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, upstream = await loop.create_connection(lambda: _Pipe(self.proxy), *backend)
        except OSError as exc:
            # What a client sees when its DNAT'd SYN reaches a pod that is not listening.
            self.proxy.stats.refused_backends += 1
            if self.proxy.stats.refused_backends % 100 == 1:
                logger.warning("%s: backend %s:%s refused a connection: %s", self.proxy.name, *backend, exc)
            self.transport.abort()
            return
        if self.transport.is_closing():
            upstream.transport.close()
            return
        self.peer, upstream.peer = upstream, self
        # Either side may have spoken before the two were joined: the client's request, or a
        # server that talks first (an HTTP/2 server sends its SETTINGS as soon as it accepts).
        for side, other in ((self, upstream), (upstream, self)):
            for chunk in side.pending:
                other.transport.write(chunk)
            side.pending.clear()
            if side.eof and other.transport.can_write_eof():
                other.transport.write_eof()
        self.transport.resume_reading()
