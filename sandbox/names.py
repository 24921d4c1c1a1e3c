"""Cluster DNS: the server pods' lookups go to, as CoreDNS in a cluster, and where it is.

A pod finds a Service by name because its ``/etc/resolv.conf`` (written by the kubelet for
``dnsPolicy: ClusterFirst``) sends lookups to the cluster's DNS Service with a search list::

    search default.svc.cluster.local svc.cluster.local cluster.local
    nameserver 10.96.0.10
    options ndots:5

so ``k8s-combat-service``, ``k8s-combat-service.default``, ``...default.svc`` and
``...default.svc.cluster.local`` all become the one name the DNS server knows. This server is
that DNS server, on a loopback address next to the ClusterIP (``127.0.10.10:10053`` beside
``127.0.10.1``; an unprivileged port, so no root is needed):

- names in ``cluster.local`` get the zone's answers, from the store (``sandbox.cluster_zone``:
  Services, their ports, pods' dashed addresses; NXDOMAIN for the rest);
- for names outside the cluster domain, ``A`` and ``AAAA`` from the machine's resolver, as
  CoreDNS forwards them to the node's (``forward . /etc/resolv.conf``); other types: no record.

The server does not expand search lists: that is the client resolver's work, as in a cluster
(see ``sandbox.resolver``, the pods' side, and ``resolver_environment``, what pods are told). It
answers over UDP (truncated past 512 bytes, as UDP requires) and TCP, in the sandbox's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import struct
from pathlib import Path

from dnslib import AAAA, QTYPE, RCODE, RR, A, DNSRecord

from sandbox.cluster_zone import CLUSTER_DOMAIN, TTL, Answers
from sandbox.store import Store

logger = logging.getLogger(__name__)

# First on every pod's PYTHONPATH: its sitecustomize loads sandbox.resolver (the pod's resolv.conf).
POD_SITE = Path(__file__).resolve().parent / "pod_site"
DNS_PORT = 10053
NDOTS = 5


def search_list(namespace: str, domain: str = CLUSTER_DOMAIN) -> list[str]:
    """The kubelet's search path for a pod in ``namespace`` (dnsPolicy ClusterFirst)."""
    return [f"{namespace}.svc.{domain}", f"svc.{domain}", domain]


def dns_address(cluster_ip: str) -> str:
    """Where the cluster DNS listens: ``.10`` of the ClusterIP's /24, as kube-dns is 10.96.0.10
    beside the API server's 10.96.0.1 (``.11`` when the ClusterIP is itself ``.10``)."""
    network = ipaddress.ip_network(f"{cluster_ip}/24", strict=False)
    address = str(network.network_address + 10)
    return str(network.network_address + 11) if address == cluster_ip else address


def resolver_environment(nameserver: str, namespace: str, domain: str = CLUSTER_DOMAIN) -> dict[str, str]:
    """A pod's resolv.conf, as environment variables, for the resolvers a sandbox pod uses.

    ``LOCALDOMAIN`` (the search list) and ``RES_OPTIONS`` are the standard overrides of
    resolv.conf(5) (glibc's, and c-ares's, the resolver inside gRPC). The nameserver has no
    standard variable: ``SANDBOX_NAMESERVER`` names it for ``sandbox.resolver``, which the pod's
    Python loads (see ``sandbox/pod_site/sitecustomize.py``) and which applies all of these to
    Python's resolver and to gRPC's. ``GRPC_DNS_RESOLVER=ares`` keeps gRPC on c-ares, the
    resolver that can be pointed at a DNS server (its "native" one is the machine's getaddrinfo).
    """
    return {
        "LOCALDOMAIN": " ".join(search_list(namespace, domain)),
        "RES_OPTIONS": f"ndots:{NDOTS}",
        "SANDBOX_NAMESERVER": nameserver,
        "SANDBOX_CLUSTER_DOMAIN": domain,
        "GRPC_DNS_RESOLVER": "ares",
    }


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, dns: ClusterDns) -> None:
        self.dns = dns
        self.transport: asyncio.DatagramTransport | None = None
        self._tasks: set[asyncio.Task] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr) -> None:
        answer = self.dns.answer_now(data, limit=512)
        if answer is not None:
            self._send(answer, addr)
            return
        task = asyncio.ensure_future(self.dns.answer(data, limit=512))  # a forwarded name
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._forwarded(done, addr))

    def _forwarded(self, task: asyncio.Task, addr) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is None and task.result() is not None:
            self._send(task.result(), addr)

    def _send(self, answer: bytes, addr) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(answer, addr)


class ClusterDns:
    """The DNS server, over UDP and TCP, on ``host:port``."""

    def __init__(
        self, store: Store, host: str, port: int = DNS_PORT, *, domain: str = CLUSTER_DOMAIN
    ) -> None:
        self.host, self.port = host, port
        self.answers = Answers(store, domain)
        self.queries = 0
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def answer_now(self, data: bytes, *, limit: int | None = None) -> bytes | None:
        """The reply to a query for a cluster name (or to a malformed one), or None when the query
        must be forwarded (``answer``) or is no query at all."""
        query = _parse(data)
        if query is None or not query.questions or not self.answers.in_zone(query):
            return None
        self.queries += 1
        try:
            return _packed(self.answers.reply(query), query, limit)
        except Exception:
            logger.exception("cluster DNS failed to answer %s", query.q.qname)
            return _packed(_failure(query, RCODE.SERVFAIL), query, limit)

    async def answer(self, data: bytes, *, limit: int | None = None) -> bytes | None:
        """The reply to any query: the zone's, or the machine resolver's for other names."""
        now = self.answer_now(data, limit=limit)
        query = _parse(data)
        if now is not None or query is None or not query.questions:
            return now
        self.queries += 1
        return _packed(await _forward(query), query, limit)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._udp, _ = await loop.create_datagram_endpoint(
            lambda: _Udp(self), local_addr=(self.host, self.port)
        )
        try:
            self._tcp = await asyncio.start_server(self._serve_tcp, self.host, self.port, reuse_address=True)
        except OSError:
            self._udp.close()
            self._udp = None
            raise

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                async with asyncio.timeout(10):
                    size = struct.unpack("!H", await reader.readexactly(2))[0]
                    data = await reader.readexactly(size)
                answer = await self.answer(data)
                if answer is None:
                    return
                writer.write(struct.pack("!H", len(answer)) + answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, OSError):
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._tcp.wait_closed(), 1)
            self._tcp = None


def _parse(data: bytes) -> DNSRecord | None:
    try:
        query = DNSRecord.parse(data)
    except Exception:  # dnslib raises DNSError, and more on some malformed input
        return None
    return None if query.header.qr else query  # a response is not a query


def _failure(query: DNSRecord, rcode: int) -> DNSRecord:
    reply = query.reply(ra=0)
    reply.header.rcode = rcode
    return reply


def _packed(reply: DNSRecord, query: DNSRecord, limit: int | None) -> bytes:
    """Past ``limit`` (512 bytes over UDP) an empty reply with TC set: the client asks over TCP."""
    packed = reply.pack()
    if limit is not None and len(packed) > limit:
        truncated = query.reply(ra=reply.header.ra)
        truncated.header.tc = 1
        packed = truncated.pack()
    return packed


async def _forward(query: DNSRecord) -> DNSRecord:
    """A name outside the cluster: what the machine's resolver says (CoreDNS's ``forward``)."""
    reply = query.reply(ra=1, aa=0)
    question = query.q
    families = {QTYPE.A: socket.AF_INET, QTYPE.AAAA: socket.AF_INET6}
    family = families.get(question.qtype)
    if family is None:
        return reply  # no record of that type here
    name = str(question.qname).rstrip(".")
    try:
        found = await asyncio.get_running_loop().getaddrinfo(
            name, None, family=family, type=socket.SOCK_STREAM
        )
    except socket.gaierror as exc:
        if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
            reply.header.rcode = RCODE.NXDOMAIN
        elif exc.errno != getattr(socket, "EAI_ADDRFAMILY", None):
            reply.header.rcode = RCODE.SERVFAIL
        return reply
    record = A if family == socket.AF_INET else AAAA
    for address in sorted({item[4][0] for item in found}):
        reply.add_answer(RR(question.qname, question.qtype, ttl=TTL, rdata=record(address)))
    return reply
