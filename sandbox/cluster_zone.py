"""The ``cluster.local`` zone: the records CoreDNS's ``kubernetes`` plugin answers in a cluster,
read from the sandbox's own objects.

``Answers`` replies to one query for a name in the zone from what the store holds now, as the
Kubernetes DNS specification says:

- ``A`` for ``<service>.<namespace>.svc.cluster.local``: the ClusterIP; for a headless Service
  (``clusterIP: None``) the addresses of its ready endpoints; ``CNAME`` for an ExternalName;
- ``SRV`` for ``_<port>._<protocol>.<service>.<namespace>.svc.cluster.local``, each named port;
- ``A`` for ``<a-b-c-d>.<namespace>.pod.cluster.local``: ``a.b.c.d``;
- no record (NOERROR) for another type of a name that exists (``AAAA`` of an IPv4 Service),
  ``NXDOMAIN`` for any other name in ``cluster.local``, both with the zone's SOA.

Records have CoreDNS's TTL, 5 seconds. No I/O here: ``sandbox.names`` is the server that sends
these answers, and forwards the names outside the zone.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterable

from dnslib import CNAME, QTYPE, RCODE, RR, SOA, SRV, A, DNSLabel, DNSRecord

from sandbox import resources
from sandbox.backends import of_service
from sandbox.store import Store

CLUSTER_DOMAIN = "cluster.local"
TTL = 5


class Answers:
    """The zone: reply to one DNS query from what the store holds now."""

    def __init__(self, store: Store, domain: str = CLUSTER_DOMAIN) -> None:
        self.store = store
        self.domain = domain
        self._origin = DNSLabel(domain)

    def in_zone(self, query: DNSRecord) -> bool:
        return query.q.qname.matchSuffix(self._origin)

    def reply(self, query: DNSRecord) -> DNSRecord:
        """The zone's answer to a query for a name in it (``sandbox.names`` forwards the others)."""
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
