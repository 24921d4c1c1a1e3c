"""Capture ``sandbox/openapi_extras.json`` from a real kube-apiserver's ``/openapi/v3``.

The schemas kubernetes-validate ships lack the ``enum`` lists (and the "Possible enum values"
paragraphs of their descriptions) and the descriptions of IntOrString and Quantity, which
``kubectl explain`` prints, and the ``default`` values the v3 documents carry (``{}`` for a
struct field, ``""`` or ``0`` for a required scalar, ``TCP`` for a port's protocol...). This
takes them from the real server, for the definitions the sandbox serves only, so that the
sandbox's documents say what the real server's say:

    python -m tests.support.openapi_extras KUBECONFIG > sandbox/openapi_extras.json

``tests/test_sandbox_openapi.py`` checks the committed file against the real server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from sandbox import schemas

PREFIX = "#/components/schemas/"


def real_document(kubeconfig: str, path: str) -> dict:
    result = subprocess.run(
        [shutil.which("kubectl") or "kubectl", "get", "--raw", f"/openapi/v3/{path}"],
        env={**os.environ, "KUBECONFIG": kubeconfig},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)["components"]["schemas"]


def v3_defaults(node: object, at: tuple[str, ...] = ()) -> dict[str, object]:
    """Every ``default`` in a v3 schema, by the path of its node (``properties/metadata``,
    ``properties/ports/items``...): kube-openapi writes them into v3 documents only."""
    if not isinstance(node, dict):
        return {}
    found = {"/".join(at): node["default"]} if "default" in node else {}
    for key in ("items", "additionalProperties"):
        found |= v3_defaults(node.get(key), (*at, key))
    for name, field in (node.get("properties") or {}).items():
        found |= v3_defaults(field, (*at, "properties", name))
    return found


def extras(kubeconfig: str, server: str) -> dict:
    """What the real server's documents add to the shipped definitions, for the served ones."""
    found: dict = {"source": server, "definitions": {}, "properties": {}, "v3_defaults": {}}
    for path, ours in schemas.openapi(PREFIX, wrap_refs=True, extras=False).items():
        real = real_document(kubeconfig, path)
        for name, schema in ours.items():
            theirs = real.get(name, {})
            if v3_defaults(theirs):
                found["v3_defaults"][name] = v3_defaults(theirs)
            if theirs.get("description") != schema.get("description") and "description" in theirs:
                found["definitions"][name] = {"description": theirs["description"]}
            for prop, field in schema.get("properties", {}).items():
                real_field = theirs.get("properties", {}).get(prop, {})
                patch = {k: real_field[k] for k in ("description", "enum") if k in real_field}
                if patch and any(field.get(k) != v for k, v in patch.items()):
                    found["properties"].setdefault(name, {})[prop] = patch
    return found


def main(kubeconfig: str) -> None:
    version = subprocess.run(
        [shutil.which("kubectl") or "kubectl", "get", "--raw", "/version"],
        env={**os.environ, "KUBECONFIG": kubeconfig},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    server = f"kube-apiserver {json.loads(version.stdout)['gitVersion']} /openapi/v3"
    json.dump(extras(kubeconfig, server), sys.stdout, indent=1, sort_keys=True, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
