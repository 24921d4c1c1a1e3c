"""Where a request goes: the Kubernetes API's URL layout, parsed once into a ``Route``.

    /api/v1[/watch][/namespaces/NS]/PLURAL[/NAME[/SUBRESOURCE]]
    /apis/GROUP/VERSION[/watch][/namespaces/NS]/PLURAL[/NAME[/SUBRESOURCE]]

plus the discovery paths (``/version``, ``/api``, ``/apis``, ``/apis/GROUP``, a group version's
resource list) and ``/api/v1/namespaces/NS`` itself. Anything else is the API server's 404.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox import resources
from sandbox.resources import Resource
from sandbox.wire import ApiError

NOT_FOUND = "the server could not find the requested resource"


@dataclass(frozen=True)
class Route:
    """``kind`` is one of: ``fixed`` (``path`` names it), ``group`` (``group``), ``resources``
    (``group``/``version``), ``namespace`` (``namespace``), ``objects`` (everything else)."""

    kind: str
    path: str = ""
    group: str = ""
    version: str = ""
    resource: Resource | None = None
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None
    watch: bool = False


def not_found() -> ApiError:
    error = ApiError(404, "NotFound", NOT_FOUND)
    error.body["details"] = {}  # as the API server's: empty, not absent
    return error


def parse(path: str) -> Route:
    path = path.rstrip("/") or "/"
    if path in ("/version", "/api", "/apis"):
        return Route("fixed", path=path)
    parts = path.strip("/").split("/")
    if parts[0] == "api" and len(parts) >= 2:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[0] == "apis" and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    elif parts[0] == "apis" and len(parts) == 2:
        return Route("group", group=parts[1])
    else:
        raise not_found()
    if not rest:
        return Route("resources", group=group, version=version)
    watch = rest[0] == "watch"
    if watch:
        rest = rest[1:]
    namespace = None
    if len(rest) >= 2 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
        if not rest:  # the Namespace object itself (cluster-scoped, in the core group only)
            if group:
                raise not_found()
            resource = resources.find(group, version, "namespaces")
            if resource is None:
                raise not_found()
            return Route(
                "objects", group=group, version=version, resource=resource, name=namespace, watch=watch
            )
    if not rest or len(rest) > 3:
        raise not_found()
    resource = resources.find(group, version, rest[0])
    if resource is None:
        raise not_found()
    return Route(
        "objects",
        group=group,
        version=version,
        resource=resource,
        namespace=namespace,
        name=rest[1] if len(rest) >= 2 else None,
        subresource=rest[2] if len(rest) == 3 else None,
        watch=watch,
    )
