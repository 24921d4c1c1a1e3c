"""A sandbox pod's side of cluster DNS: what its ``/etc/resolv.conf`` would do in a cluster.

A real pod's resolv.conf points every lookup at the cluster's DNS with a search list. Sandbox
pods are processes on this machine: they share its ``/etc/resolv.conf``, which the sandbox must
not change (and cannot, without root). So each pod gets the same settings as environment
variables (``sandbox.names.resolver_environment``), and its Python loads this module at start-up
(``sandbox/pod_site/sitecustomize.py``, on the pod's ``PYTHONPATH``) to apply them to the two
resolvers a k8s-combat pod uses:

- **Python's** ``socket.getaddrinfo`` (``requests``, asyncio, the ``kubernetes`` client):
  names are expanded with the search list and ``ndots`` the way glibc does, each candidate in the
  cluster domain is asked of the cluster DNS (``SANDBOX_NAMESERVER``), and the first that exists
  answers; a name that no candidate matches goes to the machine's resolver unchanged, as CoreDNS
  forwards it upstream. A name in the cluster domain that does not exist fails at once (as
  NXDOMAIN does), never reaching the machine's DNS.
- **gRPC's**, c-ares inside its C core, which Python cannot reach. It cannot be told of a DNS
  server by the environment, only by the target's authority (``dns://HOST:PORT/name``), and it
  applies only the first domain of ``LOCALDOMAIN``. So a channel to ``NAME:PORT`` (or
  ``dns:///NAME:PORT``) is opened as ``dns://<nameserver>/<fqdn>.:PORT``, the fully qualified
  name the search list finds (see ``grpc_target``), with ``NAME:PORT`` kept as the channel's
  ``:authority``; gRPC then resolves that name over DNS with its own resolver, and resolves it
  again when it reconnects, as in a cluster. ``grpc.insecure_channel`` and ``secure_channel``
  (and ``grpc.aio``'s) are wrapped when ``grpc`` is first imported, and only then.

IP addresses, ``localhost`` and targets with another scheme (``ipv4:``, ``unix:``...) are left as
they are. Nothing here runs outside a sandbox pod: without ``SANDBOX_NAMESERVER`` in the
environment, ``install_from_environment`` does nothing.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import inspect
import ipaddress
import os
import random
import socket
import sys
import threading
import time
from collections.abc import Callable
from types import ModuleType

TIMEOUT_SECONDS = 1.0
ATTEMPTS = 2
NEGATIVE_TTL = 5  # seconds, as the zone's SOA says
# Schemes gRPC resolves itself; any other "x:" prefix is a host name (gRPC adds "dns:///").
GRPC_SCHEMES = ("ipv4", "ipv6", "unix", "unix-abstract", "vsock", "xds", "google-c2p", "passthrough")

_original_getaddrinfo = socket.getaddrinfo
_original_gethostbyname = socket.gethostbyname
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


# --- Python's resolver -------------------------------------------------------------------------


def _hooks(resolver: PodResolver) -> dict[str, Callable]:
    def resolve(host) -> list[str] | None:
        if isinstance(host, bytes):
            host = host.decode("idna", "replace")
        if host in resolver.hosts:  # /etc/hosts comes before DNS (nsswitch's "files dns")
            return [resolver.hosts[host]]
        if not resolver.is_cluster_name(host):
            return None
        try:
            found = resolver.lookup(host)
        except DnsUnavailable as exc:
            raise socket.gaierror(socket.EAI_AGAIN, f"Temporary failure in name resolution ({exc})") from None
        if found is None:
            if resolver.in_domain(host):  # a cluster name that does not exist: NXDOMAIN, final
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return None
        return found[1]

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        addresses = None if flags & socket.AI_NUMERICHOST else resolve(host)
        if addresses is None:
            return _original_getaddrinfo(host, port, family, type, proto, flags)
        if family not in (socket.AF_UNSPEC, socket.AF_INET):
            no_family = getattr(socket, "EAI_ADDRFAMILY", socket.EAI_NONAME)
            raise socket.gaierror(no_family, "Address family for hostname not supported")
        results = []
        for address in addresses:
            results += _original_getaddrinfo(
                address, port, family, type, proto, flags | socket.AI_NUMERICHOST
            )
        return results

    def gethostbyname(host):
        addresses = resolve(host)
        return _original_gethostbyname(host) if addresses is None else addresses[0]

    def gethostbyname_ex(host):
        addresses = resolve(host)
        return _original_gethostbyname_ex(host) if addresses is None else (host, [], addresses)

    return {"getaddrinfo": getaddrinfo, "gethostbyname": gethostbyname, "gethostbyname_ex": gethostbyname_ex}


# --- gRPC's resolver ---------------------------------------------------------------------------


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


def _patch_grpc(resolver: PodResolver) -> Callable[[ModuleType], None]:
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
    for name, hook in _hooks(resolver).items():
        setattr(socket, name, hook)
    patch = _patch_grpc(resolver)
    if "grpc" in sys.modules:
        patch(sys.modules["grpc"])
    else:
        sys.meta_path.insert(0, _AfterImport("grpc", patch))


def install_from_environment() -> PodResolver | None:
    resolver = PodResolver.from_environment()
    if resolver is not None:
        install(resolver)
    return resolver
