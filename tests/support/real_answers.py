"""Send the cases of ``tests.support.answer_cases`` to an API server and record its answers.

``ask(api, namespace, obj, ...)`` sends one object, with ``dryRun=All`` unless told otherwise,
through the ``kubernetes`` client's ``ApiClient`` (its auth and TLS), to the real server or the
sandbox alike, and returns ``(status code, JSON body, Warning header or None)`` with the request
namespace written back as ``NAMESPACE`` and the server-set ``uid``, ``resourceVersion``,
``creationTimestamp`` and ``managedFields`` removed.

``capture(kubeconfig)`` asks a real kube-apiserver every case; its result is
``tests/fixtures/real_server_answers.json``, the expected values of the offline defaulting and
validation tables:

    python -m tests.support.real_answers KUBECONFIG > tests/fixtures/real_server_answers.json
"""

from __future__ import annotations

import copy
import json
import sys
import uuid
from typing import Any

import kubernetes

from sandbox import resources
from tests.support import answer_cases as cases
from tests.support.answer_cases import NAMESPACE

MASKED = ("uid", "resourceVersion", "creationTimestamp", "managedFields")
BY_KIND = {r.kind: r for r in resources.ALL}


def client(kubeconfig: str) -> kubernetes.client.ApiClient:
    return kubernetes.config.new_client_from_config(config_file=str(kubeconfig))


def _moved(value: Any, old: str, new: str) -> Any:
    return json.loads(json.dumps(value).replace(f'"{old}"', f'"{new}"'))


def masked(value: Any, namespace: str) -> Any:
    value = _moved(value, namespace, NAMESPACE)
    if isinstance(value, dict) and isinstance(value.get("metadata"), dict):
        for key in MASKED:
            value["metadata"].pop(key, None)
    return value


def collection(kind: str, namespace: str) -> str:
    resource = BY_KIND[kind]
    scope = f"/namespaces/{namespace}" if resource.namespaced else ""
    return f"{resource.group_version_path}{scope}/{resource.plural}"


def ask(
    api: kubernetes.client.ApiClient,
    namespace: str,
    obj: dict | bytes,
    *,
    method: str = "POST",
    kind: str = "",
    directive: str | None = None,
    dry_run: bool = True,
) -> tuple[int, Any, str | None]:
    """One request; ``kind`` names the endpoint when ``obj`` is raw bytes or of another kind."""
    if isinstance(obj, bytes):
        body = obj.replace(NAMESPACE.encode(), namespace.encode())
        kind = kind or "Deployment"
    else:
        body = json.dumps(_moved(obj, NAMESPACE, namespace)).encode()
        kind = kind or (obj["kind"] if obj.get("kind") in BY_KIND else "Deployment")
    path = collection(kind, namespace)
    if method == "PUT":
        path += "/" + obj["metadata"]["name"]
    query = ([("dryRun", "All")] if dry_run else []) + ([("fieldValidation", directive)] if directive else [])
    response = request(api, method, path, query, body)
    answer = json.loads(response.data) if response.data else None
    return response.status, masked(answer, namespace), response.headers.get("Warning")


def request(
    api: kubernetes.client.ApiClient, method: str, path: str, query: list = (), body: bytes | None = None
):
    """One raw request (a urllib3 response, read), whatever its status."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    _, url, headers, _, _ = api.param_serialize(
        method, path, query_params=list(query), header_params=headers, auth_settings=["BearerToken"]
    )
    return api.rest_client.pool_manager.request(method, url, body=body, headers=headers, timeout=30)


def _namespace(api: kubernetes.client.ApiClient) -> str:
    name = f"answers-{uuid.uuid4().hex[:8]}"
    status, body, _ = ask(
        api, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, dry_run=False
    )
    assert status == 201, body
    return name


def stored_then_replaced(api, namespace: str, stored: dict, edits: list) -> tuple[dict, dict, tuple]:
    """Store ``stored`` for real, read it back, and ask for its replacement with ``edits``."""
    status, old, _ = ask(api, namespace, stored, dry_run=False)
    assert status == 201, old
    current = json.loads(
        request(api, "GET", collection(stored["kind"], namespace) + "/" + stored["metadata"]["name"]).data
    )
    new = cases.edited(masked(copy.deepcopy(current), namespace), *edits)
    new["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    answer = ask(api, namespace, new, method="PUT")
    new["metadata"].pop("resourceVersion")
    return old, new, answer


def capture(kubeconfig: str) -> dict:
    api = client(kubeconfig)
    version = kubernetes.client.VersionApi(api).get_code().git_version
    namespace = _namespace(api)
    found: dict[str, Any] = {
        "server": f"kube-apiserver {version}",
        "defaulting": {},
        "invalid": {},
        "decoding": {},
    }
    try:
        for group, table in (("defaulting", cases.defaulting_cases()), ("invalid", cases.invalid_cases())):
            for name, obj in table.items():
                status, body, _ = ask(api, namespace, obj)
                found[group][name] = {"given": obj, "status": status, "answer": body}
        for name, (body, directive) in cases.decoding_cases().items():
            status, answer, warning = ask(api, namespace, body, directive=directive)
            given = body.decode() if isinstance(body, bytes) else body
            found["decoding"][name] = {
                "given": given,
                "directive": directive,
                "status": status,
                "answer": answer,
            }
            found["decoding"][name]["warning"] = warning
        found["updates"] = {}
        for name, (stored, edits) in cases.update_cases().items():
            old, new, (status, answer, _) = stored_then_replaced(api, namespace, stored, edits)
            found["updates"][name] = {"old": old, "new": new, "status": status, "answer": answer}
    finally:
        request(api, "DELETE", f"/api/v1/namespaces/{namespace}")
    return found


if __name__ == "__main__":
    json.dump(capture(sys.argv[1]), sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
