"""``/openapi/v2`` and ``/openapi/v3``: the documents kubectl reads for apply, diff and explain.

Built from ``sandbox.schemas`` (the served kinds' definitions) with the paths and operations the
served verbs have, in the layout of the real API server (``k8s.io/apiserver``'s endpoints
installer, kube-openapi's builders): per resource the collection (list, create,
deletecollection), the item (read, replace, patch, delete), the all-namespaces list and the
watch paths, plus the subresources the sandbox serves. Every operation carries
``x-kubernetes-action`` and ``x-kubernetes-group-version-kind``; PATCH lists the four patch
media types and the ``fieldValidation`` parameter. kubectl 1.27+ reads exactly that to decide it
can leave validation to the server (``fieldValidation=Strict``) and use strategic merge patch.

- ``GET /openapi/v3``: ``{"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=H"}}}``
  where ``H`` is the SHA-512 of the document, in upper-case hex, as the real server computes it.
- ``GET /openapi/v3/api/v1?hash=H``: the document, ``Cache-Control: public, immutable``; with
  another hash a 301 to the current one; without a hash ``no-cache``; ``If-None-Match`` with the
  ``ETag`` gives 304. Only JSON: any other ``Accept`` (the v3 protobuf) is a bare 406.
- ``GET /openapi/v2``: one Swagger 2.0 document with every served group, as JSON when the client
  accepts JSON. kubectl 1.32 asks for the gnostic protobuf form only
  (``application/com.github.proto-openapi.spec.v2@v1.0+protobuf``), which the sandbox does not
  encode: that is a bare 406, as from a real server asked for a type it cannot produce; kubectl
  then keeps to the v3 documents, which is all that apply, diff and explain need from 1.27 on.
- Anything else under ``/openapi`` is a bare 404, as on the real server.

Documents are built on first request, in a thread, and kept as bytes (about 1 MB for v3's four
documents; v2, built only if asked, about 0.6 MB); the definitions used to build them are dropped.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from email.utils import formatdate

from sandbox import schemas
from sandbox.openapi_paths import paths
from sandbox.wire import Request, Send

V3_PREFIX = "#/components/schemas/"
V2_PREFIX = "#/definitions/"
PROTOBUF_V2 = b"application/com.github.proto-openapi.spec.v2"
INFO = {"title": "Kubernetes", "version": schemas.VERSION}
SECURITY_SCHEME = {"type": "apiKey", "description": "Bearer Token authentication"}
SECURITY_SCHEME |= {"name": "authorization", "in": "header"}


class Documents:
    """The serialised documents, built once: ``v3[path] = (bytes, hash)``, ``index``, ``v2``."""

    def __init__(self) -> None:
        self.v3: dict[str, tuple[bytes, str]] = {}
        self.index = b""
        self.v2 = b""
        self.v2_hash = ""
        self.built_at = ""
        self._lock = asyncio.Lock()

    async def ready_v3(self, subresources: frozenset[tuple[str, str]]) -> None:
        async with self._lock:
            if not self.index:
                await asyncio.to_thread(self._build_v3, subresources)

    async def ready_v2(self, subresources: frozenset[tuple[str, str]]) -> None:
        async with self._lock:
            if not self.v2:
                await asyncio.to_thread(self._build_v2, subresources)

    def _build_v3(self, subresources: frozenset[tuple[str, str]]) -> None:
        for path, definitions in schemas.openapi(V3_PREFIX, wrap_refs=True).items():
            document = {
                "openapi": "3.0.0",
                "info": INFO,
                "paths": paths(path, v3=True, subresources=subresources),
                "components": {"schemas": definitions, "securitySchemes": {"BearerToken": SECURITY_SCHEME}},
            }
            body = _dumps(document)
            self.v3[path] = (body, _hash(body))
        listed = sorted(self.v3.items())
        index = {"paths": {path: {"serverRelativeURL": _url(path, digest)} for path, (_, digest) in listed}}
        self.built_at = formatdate(usegmt=True)
        self.index = _dumps(index)

    def _build_v2(self, subresources: frozenset[tuple[str, str]]) -> None:
        every_path: dict = {}
        every_definition: dict = {}
        for path, definitions in schemas.openapi(V2_PREFIX, wrap_refs=False).items():
            every_path.update(paths(path, v3=False, subresources=subresources))
            every_definition.update(definitions)
        document = {
            "swagger": "2.0",
            "info": INFO,
            "paths": every_path,
            "definitions": dict(sorted(every_definition.items())),
            "securityDefinitions": {"BearerToken": SECURITY_SCHEME},
            "security": [{"BearerToken": []}],
        }
        self.v2 = _dumps(document)
        self.v2_hash = _hash(self.v2)
        self.built_at = self.built_at or formatdate(usegmt=True)


DOCUMENTS = Documents()


def _dumps(document: dict) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _hash(body: bytes) -> str:
    return hashlib.sha512(body).hexdigest().upper()


def _url(path: str, digest: str) -> str:
    return f"/openapi/v3/{path}?hash={digest}"


def accepts_json(request: Request) -> bool:
    """Whether ``Accept`` allows JSON (absent, ``*/*``, ``application/*``, ``application/json``)."""
    accept = request.headers.get(b"accept", b"").decode("latin-1")
    if not accept.strip():
        return True
    ranges = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return bool(ranges & {"*/*", "application/*", "application/json"})


async def _answer(
    send: Send, status: int, body: bytes = b"", headers: list[tuple[bytes, bytes]] = ()
) -> None:
    start = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": body})


async def _document(request: Request, send: Send, body: bytes, digest: str, wanted: str | None) -> None:
    etag = f'"{digest}"'.encode()
    common = [(b"etag", etag), (b"vary", b"Accept")]
    if wanted is not None and wanted != digest:
        location = f"{request.path}?hash={digest}".encode()
        return await _answer(
            send, 301, b"", [(b"location", location), *common, (b"cache-control", b"no-cache, private")]
        )
    if not accepts_json(request):
        return await _answer(send, 406, b"", [(b"vary", b"Accept"), (b"cache-control", b"no-cache, private")])
    if wanted is None:
        caching = [(b"cache-control", b"no-cache, private"), (b"last-modified", DOCUMENTS.built_at.encode())]
    else:
        expires = formatdate(time.time() + 365 * 24 * 3600, usegmt=True)
        caching = [(b"cache-control", b"public, immutable"), (b"expires", expires.encode())]
    if request.headers.get(b"if-none-match") == etag:
        return await _answer(send, 304, b"", [*common, *caching])
    await _answer(send, 200, body, [(b"content-type", b"application/json"), *common, *caching])


async def serve(request: Request, send: Send, subresources: frozenset[tuple[str, str]] = frozenset()) -> None:
    """Answer a GET under ``/openapi`` (``subresources``: the (plural, subresource) pairs served)."""
    path = request.path.rstrip("/")
    if path == "/openapi/v2":
        if not accepts_json(request):
            return await _answer(
                send, 406, b"", [(b"vary", b"Accept"), (b"cache-control", b"no-cache, private")]
            )
        await DOCUMENTS.ready_v2(subresources)
        return await _document(request, send, DOCUMENTS.v2, DOCUMENTS.v2_hash, None)
    if not path.startswith("/openapi/v3"):
        return await _answer(send, 404)
    await DOCUMENTS.ready_v3(subresources)
    if path == "/openapi/v3":
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"cache-control", b"no-cache, private")]
        return await _answer(send, 200, DOCUMENTS.index, headers)
    found = DOCUMENTS.v3.get(path.removeprefix("/openapi/v3/"))
    if found is None:
        return await _answer(send, 404, b"", [(b"cache-control", b"no-cache, private")])
    await _document(request, send, *found, request.query.get("hash"))
