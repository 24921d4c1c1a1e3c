"""Hand-written EndpointSlices, for tests: ``/sandbox/endpointslices`` (not the Kubernetes API).

Some slices no controller of the sandbox writes: the IPv6 twin of a dual-stack Service's IPv4
slice, an ``FQDN`` slice, the slices of a Service without a selector (no ``targetRef``). On a
cluster a user creates them with ``kubectl apply``; the sandbox's API server serves EndpointSlices
read-only, so this route, in front of it, writes them into the same store, where watches,
lists, tables and the Service's proxy see them as any other slice.

- ``POST /sandbox/endpointslices`` with an EndpointSlice (JSON): creates it (201) or replaces
  the hand-written slice of that name (200). Checked as the API server's validation would, for
  the fields readers rely on: ``addressType`` one of IPv4, IPv6, FQDN; every endpoint with 1 to
  100 addresses; every port an object with a number from 1 to 65535 or null; ``endpoints`` and
  ``ports`` lists or null.
- ``DELETE /sandbox/endpointslices?name=NAME``: removes a hand-written slice.

The slices the EndpointSlice controller keeps (``managed-by`` it) are refused: it would write
over them at its next sync.
"""

from __future__ import annotations

from collections.abc import Callable

from sandbox import objects, resources
from sandbox.store import Store
from sandbox.wire import MAX_BODY_BYTES, ApiError, Request, Send, not_allowed, parse_query, send_json

PATH = "/sandbox/endpointslices"
MANAGED_BY = ("endpointslice.kubernetes.io/managed-by", "endpointslice-controller.k8s.io")


def _invalid(message: str) -> ApiError:
    return ApiError(422, "Invalid", f"EndpointSlice is invalid: {message}")


def checked(body: dict) -> dict:
    """The slice to store, or ApiError 400/422 saying which field is wrong."""
    if body.get("kind", "EndpointSlice") != "EndpointSlice":
        raise ApiError(400, "BadRequest", "the body must be an EndpointSlice")
    metadata = body.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str) or not metadata["name"]:
        raise _invalid("metadata.name: Required value")
    if metadata.setdefault("namespace", objects.NAMESPACE) != objects.NAMESPACE:
        raise _invalid(f"metadata.namespace: only {objects.NAMESPACE!r} exists in the sandbox")
    if not isinstance(metadata.get("labels", {}), dict):
        raise _invalid("metadata.labels: must be an object")
    if body.get("addressType") not in ("IPv4", "IPv6", "FQDN"):
        raise _invalid('addressType: Unsupported value: supported values: "FQDN", "IPv4", "IPv6"')
    for name in ("endpoints", "ports"):
        if not isinstance(body.get(name) or [], list):
            raise _invalid(f"{name}: must be a list")
    for index, endpoint in enumerate(body.get("endpoints") or []):
        addresses = endpoint.get("addresses") if isinstance(endpoint, dict) else None
        if not isinstance(addresses, list) or not 1 <= len(addresses) <= 100:
            raise _invalid(f"endpoints[{index}].addresses: must have 1 to 100 addresses")
        if not all(isinstance(address, str) and address for address in addresses):
            raise _invalid(f"endpoints[{index}].addresses: must be non-empty strings")
    for index, port in enumerate(body.get("ports") or []):
        number = port.get("port") if isinstance(port, dict) else "?"
        if number is not None and (
            isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 65535
        ):
            raise _invalid(f"ports[{index}].port: must be from 1 to 65535, or null")
        if not isinstance(port.get("name", ""), str):
            raise _invalid(f"ports[{index}].name: must be a string")
    return {**body, "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice"}


class HandWrittenSlices:
    """ASGI: this one route, and everything else to ``app`` (the sandbox's API server).
    ``changed`` runs after every write (the controller's sync, so the proxies see it)."""

    def __init__(self, app: Callable, store: Store, changed: Callable[[], None]) -> None:
        self.app, self.store, self.changed = app, store, changed

    async def __call__(self, scope: dict, receive: Callable, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != PATH:
            return await self.app(scope, receive, send)
        try:
            request = await self._read(scope, receive)
            code, body = self._handle(request)
        except ApiError as exc:
            code, body = exc.code, exc.body
        await send_json(send, code, body)

    @staticmethod
    async def _read(scope: dict, receive: Callable) -> Request:
        """As the API server reads a request (sandbox.wire's limits), so bad input is a 4xx."""
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > MAX_BODY_BYTES:
                raise ApiError(
                    413, "RequestEntityTooLarge", f"Request entity too large: limit is {MAX_BODY_BYTES}"
                )
        query = parse_query(scope.get("query_string", b""))
        headers = {key.lower(): value for key, value in scope.get("headers") or []}
        return Request(scope["method"], scope["path"], query, headers, b"".join(chunks))

    def _handle(self, request: Request) -> tuple[int, dict]:
        if request.method == "POST":
            wanted = checked(request.json_body())
            name = wanted["metadata"]["name"]
            current = self._hand_written(name)
            if current is None:
                stored = self.store.create(resources.ENDPOINT_SLICES, wanted)
            else:
                wanted["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
                stored = self.store.update(resources.ENDPOINT_SLICES, wanted)
            self.changed()
            return (201 if current is None else 200), stored
        if request.method == "DELETE":
            name = request.query.get("name", "")
            if self._hand_written(name) is None:
                raise ApiError(404, "NotFound", f'endpointslices.discovery.k8s.io "{name}" not found')
            deleted = self.store.delete(resources.ENDPOINT_SLICES, objects.NAMESPACE, name)
            self.changed()
            return 200, deleted
        raise not_allowed(request.method)

    def _hand_written(self, name: str) -> dict | None:
        current = self.store.get(resources.ENDPOINT_SLICES, objects.NAMESPACE, name)
        labels = (current or {}).get("metadata", {}).get("labels") or {}
        if labels.get(MANAGED_BY[0]) == MANAGED_BY[1]:
            raise ApiError(409, "Conflict", f"{name} is kept by the EndpointSlice controller", name=name)
        return current
