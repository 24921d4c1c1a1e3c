"""Cluster DNS: the names CoreDNS answers in a cluster, served from the sandbox's own objects.

A pod finds a Service by name because its ``/etc/resolv.conf`` (written by the kubelet for
``dnsPolicy: ClusterFirst``) sends lookups to the cluster's DNS Service with a search list::

    search default.svc.cluster.local svc.cluster.local cluster.local
    nameserver 10.96.0.10
    options ndots:5

so ``k8s-combat-service``, ``k8s-combat-service.default``, ``...default.svc`` and
``...default.svc.cluster.local`` all become the one name the DNS server knows. This server is
that DNS server, on a loopback address next to the ClusterIP (``127.0.10.10:10053`` beside
``127.0.10.1``; an unprivileged port, so no root is needed). It answers, from the store, as the
Kubernetes DNS specification says:

- ``A`` for ``<service>.<namespace>.svc.cluster.local``: the ClusterIP; for a headless Service
  (``clusterIP: None``) the addresses of its ready endpoints; ``CNAME`` for an ExternalName;
- ``SRV`` for ``_<port>._<protocol>.<service>.<namespace>.svc.cluster.local``, each named port;
- ``A`` for ``<a-b-c-d>.<namespace>.pod.cluster.local``: ``a.b.c.d``;
- no record (NOERROR) for another type of a name that exists (``AAAA`` of an IPv4 Service),
  ``NXDOMAIN`` for any other name in ``cluster.local``, both with the zone's SOA;
- for names outside the cluster domain, ``A`` and ``AAAA`` from the machine's resolver, as
  CoreDNS forwards them to the node's (``forward . /etc/resolv.conf``); other types: no record.

Records have CoreDNS's TTL, 5 seconds. The server does not expand search lists: that is the
client resolver's work, as in a cluster (see ``sandbox.resolver``, the pods' side). It answers
over UDP (truncated past 512 bytes, as UDP requires) and TCP, in the sandbox's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import struct
from collections.abc import Iterable
from pathlib import Path

from dnslib import AAAA, CNAME, QTYPE, RCODE, RR, SOA, SRV, A, DNSLabel, DNSRecord

from sandbox import resources
from sandbox.backends import of_service
from sandbox.store import Store

logger = logging.getLogger(__name__)

CLUSTER_DOMAIN = "cluster.local"
# First on every pod's PYTHONPATH: its sitecustomize loads sandbox.resolver (the pod's resolv.conf).
POD_SITE = Path(__file__).resolve().parent / "pod_site"
DNS_PORT = 10053
TTL = 5
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


class Answers:
    """The zone: reply to one DNS query from what the store holds now."""

    def __init__(self, store: Store, domain: str = CLUSTER_DOMAIN) -> None:
        self.store = store
        self.domain = domain
        self._origin = DNSLabel(domain)

    def in_zone(self, query: DNSRecord) -> bool:
        return query.q.qname.matchSuffix(self._origin)

    def reply(self, query: DNSRecord) -> DNSRecord:
        """The zone's answer to a query for a name in it (see ``ClusterDns`` for the others)."""
        reply = query.reply(ra=1)  # QR, the same id and question; names outside it are forwarded
        if query.header.opcode != 0 or len(query.questions) != 1:
            reply.header.rcode = RCODE.NOTIMP if query.header.opcode != 0 else RCODE.FORMERR
            return reply
        question = query.q
        name = question.qname
        reply.header.aa = 1
        records = self._records(name)
        if records is None:
            reply.header.rcode = RCODE.NXDOMAIN
        wanted = [r for r in records or [] if question.qtype in (r.rtype, QTYPE.ANY)]
        if not wanted and records:  # a CNAME answers every type, as it does in a real zone
            wanted = [r for r in records if r.rtype == QTYPE.CNAME]
        for record in wanted:
            reply.add_answer(record)
        if question.qtype == QTYPE.SRV:
            for record in wanted:
                target = record.rdata.target
                for extra in self._records(target) or []:
                    if extra.rtype == QTYPE.A:
                        reply.add_ar(extra)
        if not wanted:
            reply.add_auth(self._soa())
        return reply

    def _soa(self) -> RR:
        return RR(
            self._origin,
            QTYPE.SOA,
            ttl=TTL,
            rdata=SOA(f"ns.dns.{self.domain}", f"hostmaster.{self.domain}", (1, 7200, 1800, 86400, TTL)),
        )

    def _records(self, name: DNSLabel) -> list[RR] | None:
        """Every record of ``name``, or None when the name does not exist."""
        labels = [label.decode("ascii", "replace").lower() for label in name.stripSuffix(self._origin).label]
        if not labels:
            return [self._soa()]
        kind, inner = labels[-1], labels[:-1]
        if kind == "svc":
            return self._service_records(name, inner)
        if kind == "pod":
            if len(inner) == 2:
                return self._pod_records(name, inner[0])
            return [] if len(inner) < 2 else None  # pod.<zone> and <namespace>.pod.<zone> exist
        return None

    def _service_records(self, name: DNSLabel, labels: list[str]) -> list[RR] | None:
        if len(labels) < 2:
            return []  # svc.<zone> and <namespace>.svc.<zone> exist, with no records of their own
        if len(labels) == 2:
            service = self.store.get(resources.SERVICES, labels[1], labels[0])
            return None if service is None else self._addresses(name, service)
        if len(labels) == 4 and labels[0].startswith("_") and labels[1].startswith("_"):
            service = self.store.get(resources.SERVICES, labels[3], labels[2])
            if service is None:
                return None
            port_name, protocol = labels[0][1:], labels[1][1:].upper()
            target = f"{labels[2]}.{labels[3]}.svc.{self.domain}"
            ports = [
                port
                for port in service["spec"].get("ports") or []
                if port.get("name") == port_name and port.get("protocol", "TCP") == protocol
            ]
            if not ports:
                return None
            return [RR(name, QTYPE.SRV, ttl=TTL, rdata=SRV(0, 100, p["port"], target)) for p in ports]
        return None

    def _addresses(self, name: DNSLabel, service: dict) -> list[RR]:
        spec = service.get("spec") or {}
        if spec.get("type") == "ExternalName":
            return [RR(name, QTYPE.CNAME, ttl=TTL, rdata=CNAME(spec.get("externalName", "")))]
        cluster_ip = spec.get("clusterIP")
        if cluster_ip and cluster_ip != "None":
            return [
                RR(name, QTYPE.A, ttl=TTL, rdata=A(ip))
                for ip in _ipv4(spec.get("clusterIPs") or [cluster_ip])
            ]
        if cluster_ip == "None":  # headless: the ready endpoints themselves
            metadata = service["metadata"]
            endpoint_slices = self.store.list(
                resources.ENDPOINT_SLICES, of_service(metadata["name"], metadata.get("namespace", ""))
            )
            addresses = sorted(
                {
                    address
                    for endpoint_slice in endpoint_slices
                    if endpoint_slice.get("addressType") == "IPv4"
                    for endpoint in endpoint_slice.get("endpoints") or []
                    if (endpoint.get("conditions") or {}).get("ready") is not False
                    for address in endpoint.get("addresses") or []
                }
            )
            return [RR(name, QTYPE.A, ttl=TTL, rdata=A(ip)) for ip in addresses]
        return []

    def _pod_records(self, name: DNSLabel, dashed: str) -> list[RR] | None:
        """``1-2-3-4.<namespace>.pod.<zone>`` is 1.2.3.4 (CoreDNS's ``pods insecure``, kubeadm's
        default: the address is not checked against the pods)."""
        try:
            ip = ipaddress.IPv4Address(dashed.replace("-", "."))
        except ValueError:
            return None
        return [RR(name, QTYPE.A, ttl=TTL, rdata=A(str(ip)))]


def _ipv4(addresses: Iterable[str]) -> list[str]:
    found = []
    for address in addresses:
        with contextlib.suppress(ValueError):
            found.append(str(ipaddress.IPv4Address(address)))
    return found


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
