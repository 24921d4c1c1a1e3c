"""Python's resolver in a sandbox pod: ``socket``'s lookups through the pod's resolv.conf.

``requests``, asyncio and the ``kubernetes`` client all end in ``socket.getaddrinfo``, so
``hooks`` gives replacements for it and for ``gethostbyname(_ex)`` that ``sandbox.resolver``
installs. The pod's own hostname comes first (its ``/etc/hosts``); a name that could be the
cluster's is expanded with the search list and ``ndots`` the way glibc does, each candidate in
the cluster domain is asked of the cluster DNS, and the first that exists answers; a name that
no candidate matches goes to the machine's resolver unchanged, as CoreDNS forwards it upstream.
A name in the cluster domain that does not exist fails at once (as NXDOMAIN does), never reaching
the machine's DNS; a cluster DNS that does not answer is ``EAI_AGAIN``, as glibc reports it.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

from sandbox.resolv_conf import DnsUnavailable, PodResolver

_original_getaddrinfo = socket.getaddrinfo
_original_gethostbyname = socket.gethostbyname
_original_gethostbyname_ex = socket.gethostbyname_ex


def hooks(resolver: PodResolver) -> dict[str, Callable]:
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
