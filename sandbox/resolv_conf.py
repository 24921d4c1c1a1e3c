"""A pod's ``/etc/resolv.conf``, as its stub resolver applies it: the search list, ``ndots`` and
one nameserver, the cluster DNS.

``PodResolver`` reads the settings a sandbox pod is given as environment variables
(``sandbox.names.resolver_environment``), expands a name into the candidates glibc would try,
and asks the cluster DNS for those in the cluster domain, over UDP, with a small cache that keeps
answers and NXDOMAINs for their TTL. Its two users, ``sandbox.socket_hooks`` (Python's resolver)
and ``sandbox.grpc_targets`` (gRPC's), ask it only about names that could be the cluster's; see
``sandbox.resolver`` for how a pod puts them in place.
"""

from __future__ import annotations

import ipaddress
import os
import random
import socket
import threading
import time

TIMEOUT_SECONDS = 1.0
ATTEMPTS = 2
NEGATIVE_TTL = 5  # seconds, as the zone's SOA says

# Before ``sandbox.socket_hooks`` replaces it: an ExternalName's target is the machine's to resolve.
_original_gethostbyname_ex = socket.gethostbyname_ex


class DnsUnavailable(OSError):
    """The cluster DNS could not be asked (no answer): EAI_AGAIN, as glibc reports it."""


class PodResolver:
    """resolv.conf's algorithm (search list, ndots) against one DNS server, for the cluster domain."""

    def __init__(
        self,
        nameserver: str,
        search: list[str],
        *,
        ndots: int = 1,
        domain: str = "cluster.local",
        hosts: dict[str, str] | None = None,
    ):
        self.hosts = hosts or {}  # the pod's /etc/hosts: its own hostname -> its IP
        host, _, port = nameserver.rpartition(":")
        self.server = (host, int(port))
        self.search = [d.strip(".") for d in search if d.strip(".")]
        self.ndots = ndots
        self.domain = domain.strip(".").lower()
        self._cache: dict[str, tuple[float, list[str] | None]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls, environ=os.environ) -> PodResolver | None:
        nameserver = environ.get("SANDBOX_NAMESERVER", "")
        if not nameserver:
            return None
        ndots = 1
        for option in environ.get("RES_OPTIONS", "").split():
            if option.startswith("ndots:") and option[6:].isdigit():
                ndots = min(int(option[6:]), 15)  # glibc's cap
        return cls(
            nameserver,
            environ.get("LOCALDOMAIN", "").split(),
            ndots=ndots,
            domain=environ.get("SANDBOX_CLUSTER_DOMAIN", "cluster.local"),
            hosts=_hosts(environ.get("SANDBOX_HOSTS", "")),
        )

    # --- names ---------------------------------------------------------------------------------

    def candidates(self, name: str) -> list[str]:
        """The names a stub resolver tries, in order: as is first when it has ``ndots`` dots or
        more, else the search list first; a trailing dot means no search at all."""
        if name.endswith("."):
            return [name[:-1]]
        searched = [f"{name}.{domain}" for domain in self.search]
        return [name, *searched] if name.count(".") >= self.ndots else [*searched, name]

    def in_domain(self, name: str) -> bool:
        name = name.rstrip(".").lower()
        return name == self.domain or name.endswith(f".{self.domain}")

    def is_cluster_name(self, name: str) -> bool:
        """Whether some candidate of ``name`` is in the cluster domain (else: not our business)."""
        return _is_name(name) and any(self.in_domain(c) for c in self.candidates(name))

    def lookup(self, name: str) -> tuple[str, list[str]] | None:
        """(the name that answered, its IPv4 addresses), or None when no candidate exists in the
        cluster domain. Raises ``DnsUnavailable`` when the DNS server does not answer."""
        for candidate in self.candidates(name):
            if self.in_domain(candidate):
                addresses = self._addresses(candidate)
                if addresses:
                    return candidate, addresses
        return None

    def _addresses(self, name: str) -> list[str] | None:
        key = name.lower()
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached[0] > now:
                return cached[1]
        addresses, ttl = self._query(name)
        with self._lock:
            if len(self._cache) > 1000:
                self._cache.clear()
            self._cache[key] = (now + ttl, addresses)
        return addresses

    def _query(self, name: str) -> tuple[list[str] | None, float]:
        from dnslib import QTYPE, RCODE, DNSRecord  # only once a cluster name is looked up

        question = DNSRecord.question(name, "A")
        question.header.id = random.randrange(1, 65536)
        for _ in range(ATTEMPTS):
            reply = self._exchange(question, DNSRecord)
            if reply is None:
                continue
            if reply.header.rcode == RCODE.NXDOMAIN:
                return None, NEGATIVE_TTL
            if reply.header.rcode != RCODE.NOERROR:
                raise DnsUnavailable(f"the cluster DNS answered {RCODE[reply.header.rcode]} for {name}")
            records = [r for r in reply.rr if r.rtype == QTYPE.A]
            ttl = min((r.ttl for r in reply.rr), default=NEGATIVE_TTL)
            aliases = [str(r.rdata).rstrip(".") for r in reply.rr if r.rtype == QTYPE.CNAME]
            if not records and aliases:  # an ExternalName Service: its name, from the machine's DNS
                try:
                    return _original_gethostbyname_ex(aliases[-1])[2], ttl
                except OSError:
                    return None, ttl
            return [str(r.rdata) for r in records] or None, ttl
        raise DnsUnavailable(
            f"the cluster DNS at {self.server[0]}:{self.server[1]} did not answer for {name}"
        )

    def _exchange(self, question, record_type):
        """One UDP exchange: the reply to ``question`` (same id), or None after the timeout."""
        deadline = time.monotonic() + TIMEOUT_SECONDS
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                udp.sendto(question.pack(), self.server)
                while (left := deadline - time.monotonic()) > 0:
                    udp.settimeout(left)
                    data, _ = udp.recvfrom(4096)
                    try:
                        reply = record_type.parse(data)
                    except Exception:  # dnslib's DNSError and more: not our answer
                        continue
                    if reply.header.qr and reply.header.id == question.header.id:
                        return reply
            except OSError:  # also TimeoutError
                return None
        return None


def _is_name(host) -> bool:
    """A host name to resolve, not an address or localhost."""
    if not isinstance(host, str) or not host or host.lower() in ("localhost", "localhost."):
        return False
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return True
    return False


def _hosts(text: str) -> dict[str, str]:
    """``"IP NAME [NAME...]"`` lines, as /etc/hosts holds them, to ``{name: IP}``."""
    entries = {}
    for line in text.splitlines():
        ip, *aliases = line.split()
        entries.update({alias: ip for alias in aliases})
    return entries
