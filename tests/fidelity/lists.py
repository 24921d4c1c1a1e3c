"""Lists: paging (``limit``/``continue``), ``resourceVersion`` and ``resourceVersionMatch``."""

from __future__ import annotations

from tests.fidelity.reads import PATHS
from tests.fidelity.steps import SERVICE, call, kubectl, project
from tests.support.fidelity import MIRRORED, Scenario, Step, Target, known

PODS = PATHS["pods"]


def listing(seen: dict) -> dict:
    """A list's status, metadata and item names: paging is about which items come and the
    tokens, not the items' shape (which reads.py and writes.py compare)."""
    body = seen.get("body")
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        names = [item["metadata"]["name"] for item in body["items"]]
        seen = {**seen, "body": {**body, "items": names}}
    return seen


def listed(**query: str):
    return project(call("GET", PODS, query=query), listing)


def _pages(t: Target) -> list:
    """Every page of ``limit=1``, following ``continue`` until the last."""
    pages, token = [], None
    for _ in range(5):
        query = {"limit": "1", **({"continue": token} if token else {})}
        response = t.request("GET", PODS, query=query)
        body = response.json()
        pages.append(listing({"status": response.status, "body": t.masker.json(body)}))
        token = body.get("metadata", {}).get("continue") if isinstance(body, dict) else None
        if not token:
            break
    return pages


def _with_current_version(match: str | None) -> object:
    """A list at the resourceVersion the server just reported (each server's own)."""

    def run(t: Target) -> dict:
        # The newest pod's version: one the real server's watch cache has seen (a list's own
        # version is etcd's latest revision, which the pods' cache may not reach for a while).
        items = t.request("GET", PODS).json()["items"]
        version = str(max(int(item["metadata"]["resourceVersion"]) for item in items))
        query = {"resourceVersion": version, **({"resourceVersionMatch": match} if match else {})}
        return listing(t.call("GET", PODS, query=query))

    return run


def _continue_with_version(t: Target) -> dict:
    token = t.request("GET", PODS, query={"limit": "1"}).json()["metadata"].get("continue")
    return listing(t.call("GET", PODS, query={"limit": "1", "continue": token, "resourceVersion": "0"}))


PAGING = Scenario(
    "lists: paging and resource versions",
    mirror=True,
    strip=MIRRORED,
    steps=[
        Step("limit=1, then continue to the end", _pages),
        Step("limit larger than the list", listed(limit="50")),
        Step("limit=0 (no limit)", listed(limit="0")),
        Step("kubectl --chunk-size=1", kubectl("get", "pods", "--chunk-size=1", out="table")),
        Step("continue token that is not one", listed(limit="1", **{"continue": "bogus"})),
        Step("continue with resourceVersion", _continue_with_version),
        Step("resourceVersion=0 (any version, from the cache)", listed(resourceVersion="0")),
        Step(
            "resourceVersion=0 with limit=1 (the cache ignores limit)",
            listed(resourceVersion="0", limit="1"),
        ),
        Step("resourceVersion=current, NotOlderThan", _with_current_version("NotOlderThan")),
        Step("resourceVersion=current, Exact", _with_current_version("Exact")),
        Step("resourceVersion=current, no match", _with_current_version(None)),
        Step(
            "resourceVersionMatch without resourceVersion",
            listed(resourceVersionMatch="NotOlderThan"),
        ),
        Step(
            "resourceVersionMatch=Exact with resourceVersion=0",
            listed(resourceVersionMatch="Exact", resourceVersion="0"),
        ),
        Step(
            "resourceVersionMatch not a match kind",
            listed(resourceVersionMatch="Newest", resourceVersion="1"),
        ),
        Step("limit that is not a number", listed(limit="ten")),
        Step(
            "resourceVersion that is not a number",
            listed(resourceVersion="abc"),
            known("bad-resource-version", "status", "body.code", "body.reason"),
        ),
        Step(
            "get one object at resourceVersion=0",
            call("GET", f"{PATHS['services']}/{SERVICE}", query={"resourceVersion": "0"}),
        ),
    ],
)

SCENARIOS = [PAGING]
