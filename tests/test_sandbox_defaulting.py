"""The sandbox's defaulting (``sandbox.defaulting``) against a real kube-apiserver's.

The expected objects in ``tests/fixtures/real_server_answers.json`` are what a real
kube-apiserver v1.29 returned for ``dryRun=All`` creates of the objects in
``tests.support.answer_cases`` (captured with ``python -m tests.support.real_answers``); the live
test asks the ``control_plane`` fixture again, so the fixture cannot go stale unnoticed.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from sandbox import defaulting, resources
from sandbox.defaulting_pods import image_pull_policy
from tests.support import answer_cases, real_answers
from tests.support.answer_cases import NAMESPACE

ANSWERS = json.loads((Path(__file__).parent / "fixtures" / "real_server_answers.json").read_text())
BY_KIND = {r.kind: r for r in resources.ALL}
# Set by the write path, not by defaulting: bookkeeping and the Service IP/port allocator.
WRITE_PATH = {
    "metadata": ("generation",),
    "spec": ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"),
}


def defaulted(given: dict) -> dict:
    obj = copy.deepcopy(given)
    if BY_KIND[obj["kind"]].namespaced:
        obj["metadata"]["namespace"] = NAMESPACE
    defaulting.apply_defaults(BY_KIND[obj["kind"]], obj)
    return obj


def without_write_path_fields(obj: dict) -> dict:
    obj = copy.deepcopy(obj)
    for part, keys in WRITE_PATH.items():
        for key in keys:
            (obj.get(part) or {}).pop(key, None)
    for port in (obj.get("spec") or {}).get("ports") or []:
        port.pop("nodePort", None)
    return obj


@pytest.mark.parametrize("name", sorted(ANSWERS["defaulting"]))
def test_defaulting_fills_in_what_the_real_server_filled_in(name):
    case = ANSWERS["defaulting"][name]
    assert case["status"] == 201
    assert without_write_path_fields(defaulted(case["given"])) == without_write_path_fields(case["answer"])


def test_defaulting_twice_changes_nothing_more():
    for case in ANSWERS["defaulting"].values():
        once = defaulted(case["given"])
        twice = copy.deepcopy(once)
        defaulting.apply_defaults(BY_KIND[once["kind"]], twice)
        assert twice == once


def test_a_deployment_gets_a_rolling_update_of_a_quarter_and_ten_revisions():
    spec = defaulted(answer_cases.deployment())["spec"]
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert (spec["replicas"], spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (1, 10, 600)
    assert spec["template"]["spec"]["restartPolicy"] == "Always"
    assert "enableServiceLinks" not in spec["template"]["spec"], "only Pods get SetDefaults_Pod"


def test_a_recreate_deployment_gets_no_rolling_update_parameters():
    spec = defaulted(answer_cases.edited(answer_cases.deployment(), ("spec.strategy", {"type": "Recreate"})))[
        "spec"
    ]
    assert spec["strategy"] == {"type": "Recreate"}


def test_a_services_ports_get_tcp_and_their_own_number_as_target():
    spec = defaulted(answer_cases.service())["spec"]
    assert spec["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    assert (spec["type"], spec["sessionAffinity"], spec["internalTrafficPolicy"]) == (
        "ClusterIP",
        "None",
        "Cluster",
    )
    assert "clusterIP" not in spec, "the write path allocates cluster IPs"


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.27", "IfNotPresent"),
        ("registry:5000/team/app", "Always"),
        ("registry:5000/team/app:v2", "IfNotPresent"),
        ("nginx@sha256:" + "a" * 64, "IfNotPresent"),
        ("nginx:latest@sha256:" + "a" * 64, "Always"),
        ("", "IfNotPresent"),  # ParseImageName fails: IfNotPresent, and validation reports the image
        (" nginx", "IfNotPresent"),
    ],
)
def test_the_pull_policy_follows_the_images_tag(image, policy):
    assert image_pull_policy(image) == policy


def test_a_pod_gets_the_admission_plugins_tolerations_once():
    tolerations = [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}]
    pod = answer_cases.core(
        "Pod", "p", spec={"containers": [{"name": "c", "image": "x"}], "tolerations": tolerations}
    )
    got = defaulted(pod)["spec"]["tolerations"]
    assert [t["key"] for t in got] == ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]
    assert "tolerationSeconds" not in got[0]


def test_values_of_the_wrong_type_are_left_for_validation():
    for broken in (
        {"spec": "x"},
        {"spec": {"template": 3}},
        {"spec": {"ports": "80"}},
        {"spec": {"containers": [1]}},
    ):
        for kind in ("Deployment", "Service", "Pod"):
            obj = {"kind": kind, "metadata": {"name": "x"}, **copy.deepcopy(broken)}
            defaulting.apply_defaults(BY_KIND[kind], obj)  # no exception


@pytest.mark.slow
def test_defaulting_matches_a_live_real_api_server(control_plane):
    api = real_answers.client(control_plane.kubeconfig)
    namespace = control_plane.namespace("defaulting")
    for name, obj in answer_cases.defaulting_cases().items():
        status, answer, _ = real_answers.ask(api, namespace, obj)
        assert status == 201, (name, answer)
        assert without_write_path_fields(defaulted(obj)) == without_write_path_fields(answer), name


# A pod's requests as the real kube-apiserver (v1.29) stored them: `kubectl create --dry-run=server`.
STORED_BY_THE_REAL_SERVER = {
    "0.1": "100m",
    "1.5": "1500m",
    "2000": "2k",
    "1500": "1500",
    "1000m": "1",
    "1.5e3": "1500",
    "129e6": "129e6",
    "0.5Gi": "512Mi",
    "2048Ki": "2Mi",
    "1536Mi": "1536Mi",
    "0.0000000001": "1m",
    "1024": "1024",
    "2": "2",
    "1000000k": "1G",
}


@pytest.mark.parametrize(("written", "stored"), STORED_BY_THE_REAL_SERVER.items())
def test_resource_quantities_are_stored_in_canonical_form_as_the_real_server_stores_them(written, stored):
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "x", "resources": {"requests": {"cpu": written}}}]},
    }
    defaulting.apply_defaults(resources.PODS, pod)
    assert pod["spec"]["containers"][0]["resources"]["requests"]["cpu"] == stored
