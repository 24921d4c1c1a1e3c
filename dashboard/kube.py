"""The one module that talks to the Kubernetes API, through the ``kubernetes`` client.

In a pod it uses the mounted ServiceAccount; elsewhere (the sandbox, a laptop) the kubeconfig.
It returns plain JSON dicts, not the client's models: the watcher only needs a few fields, and
the models' validation rejects fields the client does not know yet. The client's errors become
``KubeError``, and a 410 Gone (an HTTP 410, or an ERROR event with code 410) becomes ``Gone``,
so the watcher can relist.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass

import kubernetes
import urllib3
from kubernetes.client.rest import ApiException


class KubeError(Exception):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Gone(KubeError):
    """The resourceVersion is too old: list again."""


class Forbidden(KubeError):
    """RBAC refused the request (403): the ServiceAccount's Role does not grant that verb."""


def _error(exc: Exception) -> KubeError:
    if isinstance(exc, ApiException):
        kind = {410: Gone, 403: Forbidden}.get(exc.status, KubeError)
        return kind(f"{exc.status} {exc.reason}: {_status_message(exc.body)}", status=exc.status)
    return KubeError(f"{type(exc).__name__}: {exc}")


def _status_message(body: bytes | str | None) -> str:
    """The ``message`` of the Status object the API server answered with, or the raw text."""
    try:
        status = json.loads(body or b"{}")
    except ValueError:
        return str(body or "")[:300]
    return str(status.get("message", "")) if isinstance(status, dict) else ""


@dataclass
class Cluster:
    api: kubernetes.client.ApiClient
    namespace: str

    @property
    def core(self) -> kubernetes.client.CoreV1Api:
        return kubernetes.client.CoreV1Api(self.api)

    @property
    def discovery(self) -> kubernetes.client.DiscoveryV1Api:
        return kubernetes.client.DiscoveryV1Api(self.api)

    @property
    def apps(self) -> kubernetes.client.AppsV1Api:
        return kubernetes.client.AppsV1Api(self.api)


def connect(namespace: str | None = None) -> Cluster:
    """In-cluster when the ServiceAccount token is mounted, else the kubeconfig ($KUBECONFIG)."""
    try:
        if os.environ.get("KUBERNETES_SERVICE_HOST"):
            kubernetes.config.load_incluster_config()
            api = kubernetes.client.ApiClient()
            mounted = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
            namespace = namespace or open(mounted).read().strip()  # noqa: SIM115 - one small read
        else:
            # Read $KUBECONFIG now: the client reads it once, when it is imported.
            api = kubernetes.config.new_client_from_config(config_file=os.environ.get("KUBECONFIG"))
            namespace = namespace or "default"
    except Exception as exc:  # the loaders raise ConfigException, OSError, TypeError...
        raise KubeError(f"no Kubernetes configuration: {exc}") from exc
    return Cluster(api, namespace)


def _json(response: urllib3.BaseHTTPResponse) -> dict:
    try:
        return json.loads(response.data)
    finally:
        response.release_conn()


# The collections the watchers read, by kind. Core ones are requested through the ApiClient
# itself: importing the generated CoreV1Api (about 400 methods, each wrapped in pydantic's
# validate_call) costs a dashboard pod 21 MiB of its 128Mi, measured, for two list/watch calls.
_CORE_PATHS = {
    "endpoints": "/api/v1/namespaces/{namespace}/endpoints",
    "services": "/api/v1/namespaces/{namespace}/services",  # the Service, for its settings
}
_QUERY_NAMES = {
    "label_selector": "labelSelector",
    "field_selector": "fieldSelector",
    "watch": "watch",
    "resource_version": "resourceVersion",
    "allow_watch_bookmarks": "allowWatchBookmarks",
    "timeout_seconds": "timeoutSeconds",
}


def _resource(cluster: Cluster, kind: str):
    """``list(namespace, **query, _preload_content=False, _request_timeout=...)`` for ``kind``,
    answering the urllib3 response, or raising ApiException for a status outside 2xx."""
    if kind == "endpointslices":
        return cluster.discovery.list_namespaced_endpoint_slice
    if kind not in _CORE_PATHS:
        raise ValueError(kind)

    def list_core(namespace: str, *, _preload_content: bool, _request_timeout, **query):
        request = cluster.api.param_serialize(
            method="GET",
            resource_path=_CORE_PATHS[kind],
            path_params={"namespace": namespace},
            query_params=[(_QUERY_NAMES[name], value) for name, value in query.items()],
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        response = cluster.api.call_api(*request, _request_timeout=_request_timeout)
        if not 200 <= response.status <= 299:
            response.read()
            raise ApiException.from_response(http_resp=response, body=None, data=None)
        return response.response

    return list_core


def selector_for(kind: str, service: str) -> dict[str, str]:
    """Slices by their label; the Endpoints and the Service objects by name, with a fieldSelector
    that RBAC's ``resourceNames`` can match for list and watch (kubernetes#80295, 1.18+)."""
    if kind == "endpointslices":
        return {"label_selector": f"kubernetes.io/service-name={service}"}
    return {"field_selector": f"metadata.name={service}"}


def list_objects(cluster: Cluster, kind: str, service: str, *, timeout: float) -> tuple[list[dict], str]:
    """(items, resourceVersion) of the Service's EndpointSlices, its Endpoints, or (``services``)
    the Service itself, as a list of at most one."""
    try:
        response = _resource(cluster, kind)(
            cluster.namespace, **selector_for(kind, service), _preload_content=False, _request_timeout=timeout
        )
        listed = _json(response)
    except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise _error(exc) from exc
    return listed.get("items") or [], listed["metadata"]["resourceVersion"]


class WatchStream:
    """One watch request: iterate its events; ``interrupt()`` from another thread ends it."""

    def __init__(
        self,
        cluster: Cluster,
        kind: str,
        service: str,
        *,
        resource_version: str,
        timeout_seconds: int,
        silence_seconds: float,
        connect_seconds: float = 5.0,
    ) -> None:
        self._response = None
        self._closed = False
        try:
            self._response = _resource(cluster, kind)(
                cluster.namespace,
                **selector_for(kind, service),
                watch=True,
                resource_version=resource_version,
                allow_watch_bookmarks=True,
                timeout_seconds=timeout_seconds,
                _preload_content=False,
                # A read that waits longer than this is a silent stream: no event, no bookmark.
                _request_timeout=(connect_seconds, silence_seconds),
            )
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _error(exc) from exc

    def __iter__(self) -> Iterator[dict]:
        buffer = b""
        try:
            for chunk in self._response.stream(65536, decode_content=False):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        event = json.loads(line)
                        if event.get("type") == "ERROR":
                            status = event.get("object") or {}
                            kind = Gone if status.get("code") == 410 else KubeError
                            raise kind(status.get("message", "watch error"), status=status.get("code"))
                        yield event
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise Silent(f"no event or bookmark for {exc}") from exc
        except (urllib3.exceptions.HTTPError, OSError, ValueError, AttributeError) as exc:
            if self._closed:  # close() from another thread ends the read, in whatever way it fails
                return
            raise _error(exc) from exc

    def interrupt(self) -> None:
        """End a read blocked in another thread, at once.

        ``close()`` cannot: it waits for the lock that the blocked read holds, so a stopping
        watcher sat until the silence timeout (90 s) before it saw the close. urllib3's
        ``HTTPResponse.shutdown()`` shuts the socket's read side instead, which wakes the read.
        """
        self._closed = True
        if self._response is not None:
            with contextlib.suppress(ValueError, RuntimeError, OSError):  # already released or closed
                self._response.shutdown()

    def close(self) -> None:
        """Release the connection; call it from the thread that reads (see ``interrupt``)."""
        self._closed = True
        if self._response is not None:
            self._response.close()


class Silent(KubeError):
    """The stream sent nothing, not even a bookmark, for longer than it should."""


def scale(cluster: Cluster, deployment: str, replicas: int) -> None:
    try:
        cluster.apps.patch_namespaced_deployment_scale(
            deployment, cluster.namespace, {"spec": {"replicas": replicas}}
        )
    except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise _error(exc) from exc


def delete_pod(cluster: Cluster, name: str) -> None:
    try:
        cluster.core.delete_namespaced_pod(name, cluster.namespace)
    except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise _error(exc) from exc
