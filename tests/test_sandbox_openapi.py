"""``/openapi/v2`` and ``/openapi/v3`` of the sandbox: what kubectl reads for apply, diff, explain.

The offline tests read the documents through ``sandbox.openapi.serve``; the live ones drive the
real kubectl against a running sandbox and, for ``explain``, against the ``control_plane``
fixture's real kube-apiserver with the same kubectl 1.32 binary.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from sandbox import openapi, resources, schemas
from sandbox.wire import Request
from tests.support import openapi_extras
from tests.support.programs import require
from tests.support.sandbox import start_sandbox

KUBECTL_132 = Path("/usr/lib/google-cloud-sdk/bin/kubectl.1.32")
SERVED = {"api/v1", "apis/apps/v1", "apis/discovery.k8s.io/v1", "apis/rbac.authorization.k8s.io/v1"}
PROTOBUF_V2 = b"application/com.github.proto-openapi.spec.v2@v1.0+protobuf"


async def get(path: str, query: dict | None = None, **headers: bytes) -> tuple[int, dict, bytes]:
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    request = Request(
        "GET", path, query or {}, {k.replace("_", "-").encode(): v for k, v in headers.items()}, b""
    )
    await openapi.serve(request, send, frozenset({("deployments", "scale")}))
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


async def document(path: str) -> dict:
    status, _, body = await get(f"/openapi/v3/{path}")
    assert status == 200
    return json.loads(body)


async def test_the_v3_index_lists_every_served_group_version_with_its_documents_hash():
    status, _, body = await get("/openapi/v3")
    index = json.loads(body)["paths"]
    assert status == 200 and set(index) == SERVED
    for path, entry in index.items():
        _, _, content = await get(f"/openapi/v3/{path}")
        digest = hashlib.sha512(content).hexdigest().upper()
        assert entry["serverRelativeURL"] == f"/openapi/v3/{path}?hash={digest}"


async def test_every_served_kind_can_be_patched_with_field_validation_and_every_patch_type():
    """What kubectl 1.27+ looks for before it leaves validation to the server
    (``supportsQueryParamV3``) and uses strategic merge patch (``gvkSupportsPatchOpenAPIV3``)."""
    for served in resources.ALL:
        gvk = {"group": served.group, "version": served.version, "kind": served.kind}
        paths = (await document(schemas.path_of(served.group, served.version)))["paths"]
        patches = [
            item["patch"]
            for item in paths.values()
            if item.get("patch", {}).get("x-kubernetes-group-version-kind") == gvk
        ]
        assert patches, served.kind
        assert "fieldValidation" in {p["name"] for p in patches[0]["parameters"] if p["in"] == "query"}
        assert set(patches[0]["requestBody"]["content"]) == {
            "application/apply-patch+yaml",
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/strategic-merge-patch+json",
        }


async def test_every_served_kind_has_its_schema_and_nothing_unserved_comes_along():
    for path in SERVED:
        found = (await document(path))["components"]["schemas"]
        kinds = {
            g["kind"] for schema in found.values() for g in schema.get("x-kubernetes-group-version-kind", ())
        }
        group_version = path.removeprefix("apis/").removeprefix("api/")
        wanted = {r.kind for r in resources.ALL if r.api_version == group_version}
        assert wanted <= kinds, path
        assert not any("StatefulSet" in name or "CronJob" in name for name in found), path


async def test_the_deployment_strategy_schema_says_what_the_real_servers_says():
    found = (await document("apis/apps/v1"))["components"]["schemas"]
    strategy_type = found["io.k8s.api.apps.v1.DeploymentStrategy"]["properties"]["type"]
    assert strategy_type["enum"] == ["Recreate", "RollingUpdate"]
    assert "Possible enum values:" in strategy_type["description"]
    rolling = found["io.k8s.api.apps.v1.DeploymentStrategy"]["properties"]["rollingUpdate"]
    assert rolling["allOf"] == [{"$ref": "#/components/schemas/io.k8s.api.apps.v1.RollingUpdateDeployment"}]
    assert found["io.k8s.api.apps.v1.Deployment"]["properties"]["apiVersion"] == {
        "description": found["io.k8s.api.apps.v1.Deployment"]["properties"]["apiVersion"]["description"],
        "type": "string",
    }


async def test_a_document_is_cached_by_its_hash_and_moves_when_the_hash_is_old():
    status, headers, _ = await get("/openapi/v3/apis/apps/v1", {"hash": "OLD"})
    assert status == 301 and headers["location"].startswith("/openapi/v3/apis/apps/v1?hash=")
    digest = headers["location"].rsplit("=", 1)[1]
    status, headers, _ = await get("/openapi/v3/apis/apps/v1", {"hash": digest})
    assert (status, headers["cache-control"], headers["etag"]) == (200, "public, immutable", f'"{digest}"')
    status, headers, _ = await get("/openapi/v3/apis/apps/v1")
    assert (status, headers["cache-control"]) == (200, "no-cache, private")
    status, _, body = await get("/openapi/v3/apis/apps/v1", if_none_match=f'"{digest}"'.encode())
    assert (status, body) == (304, b"")


async def test_openapi_v2_is_json_for_json_clients_and_a_bare_406_for_protobuf_only_ones():
    status, headers, body = await get("/openapi/v2", accept=b"application/json")
    document = json.loads(body)
    assert (status, headers["content-type"], document["swagger"]) == (200, "application/json", "2.0")
    assert "io.k8s.api.apps.v1.Deployment" in document["definitions"]
    assert "/apis/apps/v1/namespaces/{namespace}/deployments/{name}" in document["paths"]
    assert await get("/openapi/v2", accept=PROTOBUF_V2) == (
        406,
        {"vary": "Accept", "cache-control": "no-cache, private", "content-length": "0"},
        b"",
    )


async def test_other_openapi_paths_are_a_bare_404():
    for path in ("/openapi/v3/apis/batch/v1", "/openapi/v4", "/openapi/v3/api"):
        status, _, body = await get(path)
        assert (status, body) == (404, b"")


# --- live: the real kubectl ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    cluster = start_sandbox(tmp_path_factory.mktemp("sandbox-openapi"), "--empty")
    yield cluster
    cluster.stop()


def kubectl(kubeconfig: Path, *args: str, program: str | None = None, stdin: str | None = None):
    program = program or require("kubectl", "the OpenAPI documents are for the real kubectl")
    cache = Path(kubeconfig).parent / "kubectl-cache"
    return subprocess.run(
        [program, "--cache-dir", str(cache), *args],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
def test_kubectl_explain_prints_for_the_sandbox_what_it_prints_for_a_real_server(sandbox, control_plane):
    if not KUBECTL_132.exists():
        pytest.skip(f"{KUBECTL_132} is missing: the two servers would get different kubectl versions")
    for field in (
        "deployment.spec.strategy",
        "service.spec.ports",
        "endpointslice.endpoints",
        "pod.spec.containers.ports",
    ):
        ours = kubectl(sandbox.kubeconfig, "explain", field, program=str(KUBECTL_132))
        real = kubectl(control_plane.kubeconfig, "explain", field, program=str(KUBECTL_132))
        assert ours.returncode == 0, ours.stderr
        assert ours.stdout == real.stdout, field


@pytest.mark.slow
def test_kubectl_finds_the_served_groups_in_the_v3_index(sandbox):
    result = kubectl(sandbox.kubeconfig, "get", "--raw", "/openapi/v3")
    assert set(json.loads(result.stdout)["paths"]) == SERVED


@pytest.mark.slow
def test_kubectl_validates_manifests_on_the_sandbox_without_asking_for_openapi_v2(sandbox):
    manifests = Path(__file__).parents[1] / "manifests" / "base"
    for name in ("deployment.yaml", "deployment-service.yaml", "rbac.yaml"):
        result = kubectl(
            sandbox.kubeconfig,
            "create",
            "--dry-run=client",
            "--validate=true",
            "-f",
            str(manifests / name),
            "-v=6",
        )
        assert result.returncode == 0, result.stderr
        assert "/openapi/v3" in result.stderr and "/openapi/v2" not in result.stderr


@pytest.mark.slow
def test_kubectl_apply_and_diff_work_without_turning_validation_off(sandbox):
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "openapi-test"},
        "data": {"a": "1"},
    }
    applied = kubectl(sandbox.kubeconfig, "apply", "-f", "-", stdin=json.dumps(config_map))
    assert applied.returncode == 0 and "created" in applied.stdout, applied.stderr
    changed = {**config_map, "data": {"a": "2"}}
    diff = kubectl(sandbox.kubeconfig, "diff", "-f", "-", stdin=json.dumps(changed))
    assert diff.returncode == 1 and '-  a: "1"' in diff.stdout and '+  a: "2"' in diff.stdout, diff.stderr
    assert kubectl(sandbox.kubeconfig, "apply", "-f", "-", stdin=json.dumps(changed)).returncode == 0
    assert kubectl(sandbox.kubeconfig, "diff", "-f", "-", stdin=json.dumps(changed)).returncode == 0


@pytest.mark.slow
def test_the_enums_the_shipped_schemas_lack_are_still_the_real_servers(control_plane):
    captured = openapi_extras.extras(str(control_plane.kubeconfig), "")
    committed = json.loads(schemas.EXTRAS.read_text())
    for part in ("definitions", "properties", "v3_defaults"):
        assert captured[part] == committed[part], f"openapi_extras.json's {part} are not the real server's"
