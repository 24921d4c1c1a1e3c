"""The sandbox's validation (``sandbox.validation``) against a real kube-apiserver's answers.

The expected Status objects in ``tests/fixtures/real_server_answers.json`` are what a real
kube-apiserver v1.29 answered to the objects of ``tests.support.answer_cases`` (``dryRun=All``;
captured with ``python -m tests.support.real_answers``): code, reason, message and every cause.
The live tests send the same objects to a running sandbox and to the ``control_plane`` fixture.
"""

from __future__ import annotations

import copy
import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from sandbox import defaulting, resources, validating_network, validation
from sandbox.wire import ApiError
from tests.support import answer_cases, real_answers
from tests.support.answer_cases import NAMESPACE
from tests.support.sandbox import start_sandbox

ANSWERS = json.loads((Path(__file__).parent / "fixtures" / "real_server_answers.json").read_text())
BY_KIND = {r.kind: r for r in resources.ALL}
KUBECTL_132 = Path("/usr/lib/google-cloud-sdk/bin/kubectl.1.32")
# The same client for both servers (the kubectl on PATH picks one by the server's version).
KUBECTL = str(KUBECTL_132) if KUBECTL_132.exists() else (shutil.which("kubectl") or "kubectl")


def answer(
    obj: dict | bytes, directive: str | None = "Strict", old: dict | None = None
) -> tuple[int, dict, str | None]:
    """What the sandbox answers: its decoder checks, defaulting and validation, as the write path
    runs them; (code, body, Warning header) like ``real_answers.ask``."""
    raw = obj if isinstance(obj, bytes) else None
    obj = json.loads(obj) if isinstance(obj, bytes) else copy.deepcopy(obj)
    resource = BY_KIND.get(obj.get("kind"), resources.DEPLOYMENTS)
    if resource.namespaced and isinstance(obj.get("metadata"), dict):
        obj["metadata"]["namespace"] = NAMESPACE
    try:
        operation = "create" if old is None else "update"
        warnings = validation.check_fields(resource, obj, directive, raw=raw, operation=operation)
        defaulting.apply_defaults(resource, obj)
        validation.check(resource, obj, old)
    except ApiError as error:
        return error.code, error.body, None
    headers = validation.warning_headers(warnings)
    return (201 if old is None else 200), obj, ", ".join(value.decode() for _, value in headers) or None


@pytest.mark.parametrize("name", sorted(ANSWERS["invalid"]))
def test_an_invalid_object_gets_the_real_servers_status(name):
    case = ANSWERS["invalid"][name]
    code, body, _ = answer(case["given"], None)
    assert (code, body) == (case["status"], case["answer"])


@pytest.mark.parametrize("name", sorted(ANSWERS["decoding"]))
def test_unknown_duplicate_and_mistyped_fields_are_answered_as_the_real_decoder_does(name):
    case = ANSWERS["decoding"][name]
    given = case["given"].encode() if isinstance(case["given"], str) else case["given"]
    code, body, warning = answer(given, case["directive"])
    assert (code, warning) == (case["status"], case["warning"])
    if code >= 400:
        assert body == case["answer"]


@pytest.mark.parametrize("name", sorted(ANSWERS["updates"]))
def test_a_replacement_is_checked_against_the_stored_object_as_the_real_server_checks_it(name):
    case = ANSWERS["updates"][name]
    code, body, _ = answer(case["new"], "Strict", old=case["old"])
    assert code == case["status"]
    if code >= 400:
        assert body == case["answer"]


def test_unknown_fields_are_dropped_whatever_the_directive():
    for directive in ("Warn", "Ignore", None):
        obj = answer_cases.edited(answer_cases.deployment(), ("spec.foo", 1), ("status.bar", 2))
        warnings = validation.check_fields(resources.DEPLOYMENTS, obj, directive)
        assert "foo" not in obj["spec"] and "bar" not in obj["status"]
        assert warnings == (
            [] if directive == "Ignore" else ['unknown field "spec.foo"', 'unknown field "status.bar"']
        )


def test_a_patch_that_makes_an_unknown_field_is_a_422_on_the_patch():
    # The real server (JSON merge patch, Strict): 422, ' "" is invalid: patch: Invalid value: "{...}":
    # strict decoding error: unknown field "spec.foo"'.
    obj = answer_cases.edited(answer_cases.deployment(), ("spec.foo", 1))
    with pytest.raises(ApiError) as raised:
        validation.check_fields(resources.DEPLOYMENTS, obj, "Strict", operation="patch")
    assert raised.value.code == 422
    assert raised.value.body["message"].startswith(' "" is invalid: patch: Invalid value: "{')
    assert raised.value.body["message"].endswith('strict decoding error: unknown field "spec.foo"')
    assert raised.value.body["details"]["causes"][0]["field"] == "patch"


def test_warnings_are_sent_as_the_real_servers_warning_headers():
    headers = validation.warning_headers(['unknown field "spec.foo"'])
    assert headers == [(b"warning", b'299 - "unknown field \\"spec.foo\\""')]


def test_the_sandbox_takes_loopback_endpoint_addresses_its_pods_live_on(monkeypatch):
    slice_ = answer_cases.edited(answer_cases.endpoint_slice(), ("endpoints.0.addresses", ["127.0.1.5"]))
    assert answer(slice_)[0] == 201
    # The real server's answer, taken from it (kube-apiserver v1.29):
    real = 'Invalid value: "127.0.1.5": may not be in the loopback range (127.0.0.0/8, ::1/128)'
    monkeypatch.setattr(validating_network, "LOOPBACK_IS_POD_NETWORK", False)
    code, body, _ = answer(slice_)
    assert (code, body["details"]["causes"][0]["message"]) == (422, real)


def test_a_valid_object_passes_unchanged_by_validation():
    for case in ANSWERS["defaulting"].values():
        code, body, _ = answer(case["given"])
        assert code == 201, body


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    cluster = start_sandbox(tmp_path_factory.mktemp("sandbox-validation"), "--empty")
    yield cluster
    cluster.stop()


def comparable(body: dict) -> tuple:
    causes = (body.get("details") or {}).get("causes") or []
    return body.get("code"), body.get("reason"), sorted(json.dumps(c, sort_keys=True) for c in causes)


@pytest.mark.slow
def test_the_same_invalid_objects_get_the_same_answers_from_the_sandbox_and_a_real_server(
    sandbox, control_plane
):
    real_api = real_answers.client(control_plane.kubeconfig)
    sandbox_api = real_answers.client(sandbox.kubeconfig)
    namespace = control_plane.namespace("validation")
    sandbox_api_namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    real_answers.ask(sandbox_api, "", sandbox_api_namespace, dry_run=False)
    differences = []
    for name, obj in answer_cases.invalid_cases().items():
        real_code, real_body, _ = real_answers.ask(real_api, namespace, obj)
        ours_code, ours_body, _ = real_answers.ask(sandbox_api, namespace, obj)
        if (real_code, comparable(real_body)) != (ours_code, comparable(ours_body)):
            differences.append((name, real_body, ours_body))
    assert not differences, json.dumps(differences, indent=1)[:4000]


@pytest.mark.slow
def test_kubectl_apply_refuses_an_unknown_field_as_a_real_server_does(sandbox, control_plane):
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "strict"},
        "data": {},
        "foo": 1,
    }
    namespace = control_plane.namespace("strict")
    sandbox_api = real_answers.client(sandbox.kubeconfig)
    real_answers.ask(sandbox_api, "", answer_cases.core("Namespace", namespace), dry_run=False)
    answers = []
    for kubeconfig in (sandbox.kubeconfig, control_plane.kubeconfig):
        result = subprocess.run(
            [KUBECTL, "-n", namespace, "apply", "-f", "-"],
            env={**os.environ, "KUBECONFIG": str(kubeconfig)},
            input=json.dumps(config_map),
            capture_output=True,
            text=True,
            timeout=60,
        )
        answers.append((result.returncode, result.stderr))
    assert answers[0] == answers[1]
    assert 'strict decoding error: unknown field "foo"' in answers[1][1]


def test_a_pod_update_may_change_images_and_add_tolerations_but_nothing_else():
    old = answer_cases.core("Pod", "p", spec={"containers": [{"name": "c", "image": "x"}]})
    old["metadata"]["namespace"] = NAMESPACE
    allowed = answer_cases.edited(
        old, ("spec.containers.0.image", "y"), ("spec.tolerations", [{"key": "k", "operator": "Exists"}])
    )
    assert answer(allowed, old=old)[0] == 200
    code, body, _ = answer(
        answer_cases.edited(old, ("spec.containers.0.env", [{"name": "A", "value": "b"}])), old=old
    )
    # The real server's cause (kube-apiserver v1.29), up to the cmp diff of the two specs it appends:
    real = (
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
        "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
        "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
        "previously negative)"
    )
    assert (code, body["details"]["causes"]) == (
        422,
        [{"reason": "FieldValueForbidden", "message": real, "field": "spec"}],
    )


def test_a_value_of_any_json_type_anywhere_is_a_status_never_a_crash():
    """As the write path may call ``check`` without ``check_fields``: each mutated object is either
    accepted or answered with the decoder's 400 or a 422, in both orders of the calls."""
    odd = [None, 1, -5, 1.5, True, "x", "", [], {}, [1], {"a": 1}, ["x"], [{}], [None], 2**40, "abc%"]
    rng = random.Random(7)
    for case in list(ANSWERS["defaulting"].values()) + list(ANSWERS["invalid"].values()):
        for _ in range(20):
            obj = copy.deepcopy(case["given"])
            places = [path for path in _places(obj) if path and path[0] != "kind"]
            *parents, last = rng.choice(places)
            node = obj
            for key in parents:
                node = node[key]
            node[last] = copy.deepcopy(rng.choice(odd))
            for directive in ("Strict", "skip"):
                code, _, _ = answer(obj, directive) if directive != "skip" else _without_fields(obj)
                assert code in (201, 400, 422), obj


def _places(node: object, path: tuple = ()) -> list[tuple]:
    found = [path]
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        found += _places(value, (*path, key))
    return found


def _without_fields(obj: dict) -> tuple[int, dict, None]:
    obj = copy.deepcopy(obj)
    resource = BY_KIND[obj["kind"]]
    try:
        defaulting.apply_defaults(resource, obj)
        validation.check(resource, obj)
    except ApiError as error:
        return error.code, error.body, None
    return 201, obj, None
