"""Errors as ``Status`` objects: 400, 403, 404, 405, 409, 410, 422, as kubectl and the client see
them, on the tutorial's objects (the Deployment's ``scale`` subresource, its pods)."""

from __future__ import annotations

from tests.fidelity.reads import PATHS
from tests.fidelity.steps import SERVICE, call, kubectl
from tests.support.fidelity import MIRRORED, Scenario, Step, Target, known

SCALE = f"{PATHS['deployments']}/{SERVICE}/scale"


def _first_pod(t: Target) -> str:
    pods = t.request("GET", PATHS["pods"]).json()["items"]
    return sorted(pod["metadata"]["name"] for pod in pods)[0]


def _stale_scale(t: Target) -> dict:
    """A scale PUT whose resourceVersion is not the current one: 409 Conflict."""
    scale = t.request("GET", SCALE).json()
    scale["metadata"]["resourceVersion"] = str(int(scale["metadata"]["resourceVersion"]) - 1)
    return t.call("PUT", SCALE, body=scale)


def _delete_with_wrong_uid(t: Target, kind: str = "pods") -> dict:
    options = {"preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}}
    name = _first_pod(t) if kind == "pods" else SERVICE
    return t.call("DELETE", f"{PATHS[kind]}/{name}", body=options)


def _dry_run_delete(t: Target) -> dict:
    """``kubectl delete --dry-run=server`` sends ``dryRun: [All]`` in the body: nothing goes."""
    pod = _first_pod(t)
    return {"delete": t.kubectl("delete", "pod", pod, "--dry-run=server"), "after": _first_pod(t) == pod}


def _delete_with_grace(grace: str, *, body: bool = False):
    """A delete of a pod that does not exist, ``gracePeriodSeconds`` in the query (and an empty
    DeleteOptions body: a real server then reads the options from the body only)."""

    def run(t: Target) -> dict:
        options = {"kind": "DeleteOptions", "apiVersion": "v1"} if body else None
        return t.call("DELETE", f"{PATHS['pods']}/nope", query={"gracePeriodSeconds": grace}, body=options)

    return run


def _as_service_account(t: Target) -> dict:
    """A ServiceAccount without any Role: a real server's RBAC refuses it (403)."""
    return t.as_account("fidelity-nobody").call("GET", PATHS["pods"])


def _as_service_account_kubectl(t: Target) -> dict:
    return t.as_account("fidelity-nobody").kubectl("get", "pods")


STATUSES = Scenario(
    "errors as Status objects",
    mirror=True,
    strip=MIRRORED,
    steps=[
        Step("404: get a pod that does not exist", call("GET", f"{PATHS['pods']}/nope")),
        Step("404: kubectl get it", kubectl("get", "pod", "nope")),
        Step("404: a Deployment, kubectl describe", kubectl("describe", "deploy", "nope")),
        Step("404: a namespace that does not exist", call("GET", "/api/v1/namespaces/nowhere-at-all")),
        Step("404: a kind the server does not serve", call("GET", "/api/v1/namespaces/{ns}/widgets")),
        Step(
            "404: a group the server does not serve",
            call("GET", "/apis/widgets.example.com/v1"),
            known("not-found-page", "body"),
        ),
        Step("404: a path outside the API", call("GET", "/nothing/here"), known("not-found-page", "body")),
        Step("405: POST to one object", call("POST", f"{PATHS['services']}/{SERVICE}", body={})),
        Step("405: PUT to a collection", call("PUT", PATHS["services"], body={})),
        Step(
            "405: DELETE on a collection's watch path", call("DELETE", "/api/v1/watch/namespaces/{ns}/pods")
        ),
        Step("409: scale with a stale resourceVersion", _stale_scale),
        Step("409: delete a pod with a uid precondition that fails", _delete_with_wrong_uid),
        Step(
            "409: delete a Deployment with a uid precondition that fails",
            lambda t: _delete_with_wrong_uid(t, "deployments"),
        ),
        Step("kubectl delete pod --dry-run=server", _dry_run_delete),
        Step(
            "422: DeleteOptions with a dryRun that is not All",
            call("DELETE", f"{PATHS['pods']}/nope", body={"dryRun": ["Some"]}),
        ),
        Step(
            "422: DeleteOptions with an unknown propagationPolicy",
            call("DELETE", f"{PATHS['pods']}/nope", body={"propagationPolicy": "Later"}),
        ),
        Step(
            "422: scale to -1",
            call(
                "PATCH", SCALE, body={"spec": {"replicas": -1}}, content_type="application/merge-patch+json"
            ),
        ),
        Step("422: kubectl scale --replicas=-1", kubectl("scale", "deploy", SERVICE, "--replicas=-1")),
        Step("400: gracePeriodSeconds not a number", _delete_with_grace("soon")),
        Step("gracePeriodSeconds=-1", _delete_with_grace("-1")),
        Step(
            "gracePeriodSeconds not a number, options in the body",
            _delete_with_grace("soon", body=True),
        ),
        Step(
            "400: scale with a body that is not JSON",
            call("PUT", SCALE, body="{not json"),
            known("decoding-errors", "body.message"),
        ),
        Step(
            "400: a patch type the server does not take",
            call("PATCH", SCALE, body={}, content_type="text/plain"),
        ),
        Step(
            "403: a ServiceAccount without a Role lists pods",
            _as_service_account,
            known("no-rbac", "status", "body.*"),
        ),
        Step(
            "403: kubectl as that ServiceAccount",
            _as_service_account_kubectl,
            known("no-rbac", "rc", "stdout*", "stderr"),
        ),
    ],
)

SCENARIOS = [STATUSES]
