"""Malformed input to the live websocket, HTTP API and sandbox API server: a 4xx or an `error`
message every time, never a server error or a dropped socket, and a normal request right after works.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.dashboard import dashboard_with_socket
from tests.support.malformed import DONE_WHEN, as_bytes, malformed

pytestmark = pytest.mark.slow
TOKEN = "malformed-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
API_ROUTES = [
    ("POST", "/api/runs"),
    ("GET", "/api/runs"),
    ("GET", "/api/state"),
    ("GET", "/api/runs/1"),
    ("GET", "/api/runs/1/calls.json"),
    ("GET", "/api/runs/1/calls.csv"),
    ("GET", "/metrics"),
]
SCALE = "/apis/apps/v1/namespaces/default/deployments/k8s-combat-service/scale"
SANDBOX_WRITES = [  # DELETE names no pod: its body is read first, and nothing is deleted
    ("PATCH", SCALE, "application/merge-patch+json"),
    ("PATCH", SCALE, "application/strategic-merge-patch+json"),
    ("PATCH", SCALE, "application/json-patch+json"),
    ("PUT", SCALE, "application/json"),
    ("DELETE", "/api/v1/namespaces/default/pods/no-such-pod", "application/json"),
]
PODS = "/api/v1/namespaces/default/pods"
live = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    with dashboard_with_socket(
        tmp_path_factory.mktemp("malformed"),
        "--no-chaos",
        "--dashboard-env",
        "DASHBOARD_COMMANDS_PER_SECOND=1000",
        "--dashboard-env",
        f"DASHBOARD_TOKEN={TOKEN}",
        query=f"?token={TOKEN}",
    ) as opened:
        yield opened


def frame_then_resync(socket, frame: str | bytes) -> dict:
    """Send one frame, then ``resync``: the frame's error, once the fresh hello is in."""
    errors, hellos = len(socket.of_type("error")), len(socket.of_type("hello"))
    socket.socket.send(frame)
    socket.send({"type": "resync"})
    socket.wait_for(lambda _: len(socket.of_type("hello")) > hellos, 30)
    assert socket.socket.close_code is None, "the socket stayed open"
    answered = socket.of_type("error")[errors:]
    assert len(answered) == 1, answered
    return answered[0]


def api_answer(url: str, method: str, body: bytes, **headers: str) -> requests.Response:
    response = requests.request(method, url, data=body, headers={**BEARER, **headers}, timeout=30)
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("application/json"), response.text[:300]
    return response


def api_works(dashboard_url: str) -> None:
    assert requests.get(f"{dashboard_url}/api/state", headers=BEARER, timeout=30).json()["protocol"] == 3


def status_of(response: requests.Response, code: int) -> dict:
    assert response.status_code == code, response.text[:300]
    status = response.json()
    assert (status["kind"], status["status"], status["code"]) == ("Status", "Failure", code)
    return status


def sandbox_works(api_url: str) -> None:
    assert requests.get(f"{api_url}{PODS}", timeout=30).json()["kind"] == "PodList"


# --- the examples, to each entry point ---------------------------------------------------


@pytest.mark.parametrize("name", [*DONE_WHEN, "a binary frame"])
def test_each_example_on_the_websocket_gets_an_error_and_the_socket_answers_the_next_command(dashboard, name):
    _, socket = dashboard
    frame = DONE_WHEN.get(name, b'{"type":"resync"}')
    error = frame_then_resync(socket, frame)
    assert error["code"] in {"too-deep", "frame-too-large", "invalid-frame", "not-a-number"}, error
    if isinstance(frame, bytes):
        assert "send JSON text frames" in error["message"]


@pytest.mark.parametrize("name", DONE_WHEN)
def test_each_example_to_each_api_route_gets_a_json_4xx_and_the_next_request_works(dashboard, name):
    sandbox, _ = dashboard
    for method, path in API_ROUTES:
        answer = api_answer(f"{sandbox.dashboard_url}{path}", method, as_bytes(DONE_WHEN[name]))
        assert answer.status_code in (400, 413) and answer.json()["error"]["code"], (path, answer.text)
        api_works(sandbox.dashboard_url)


@pytest.mark.parametrize("name", DONE_WHEN)
def test_each_example_to_the_sandbox_api_server_gets_a_400_status_and_the_next_request_works(dashboard, name):
    sandbox, _ = dashboard
    for method, path, content_type in SANDBOX_WRITES:
        response = requests.request(
            method,
            f"{sandbox.api_url}{path}",
            data=as_bytes(DONE_WHEN[name]),
            headers={"Content-Type": content_type},
            timeout=30,
        )
        assert status_of(response, 400)["reason"] == "BadRequest"
        sandbox_works(sandbox.api_url)


@pytest.mark.parametrize(
    "query",
    [
        "labelSelector=" + "(" * 2000,
        "labelSelector=app%3D%ff%fe",
        "fieldSelector=metadata.name%3D%ed%a0%80",
        "timeoutSeconds=1e999",
        "timeoutSeconds=NaN",
        "limit=99999999999999999999",
        "limit=%201",
        "resourceVersion=-1",
        "resourceVersion=" + "9" * 5000,
        "&".join(f"f{i}=1" for i in range(500)),
    ],
)
def test_a_malformed_query_to_the_sandbox_api_server_gets_a_400_status(dashboard, query):
    sandbox, _ = dashboard
    status_of(requests.get(f"{sandbox.api_url}{PODS}?{query}", timeout=30), 400)
    sandbox_works(sandbox.api_url)


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", f"/api/runs/{2**63}", 404, "not-found"),
        ("GET", f"/api/runs/{'9' * 5000}/calls.csv", 404, "not-found"),
        ("GET", "/api/runs/-1", 404, "not-found"),
        ("GET", "/api/no/such/route", 404, "not-found"),
        ("DELETE", "/api/runs", 405, "method-not-allowed"),
        ("POST", "/api/state", 405, "method-not-allowed"),
        ("GET", "/api/state?" + "&".join(f"f{i}=1" for i in range(1500)), 400, "invalid-request"),
    ],
)
def test_a_bad_path_method_or_query_to_the_api_gets_a_json_error(dashboard, method, path, status, code):
    sandbox, _ = dashboard
    answer = api_answer(f"{sandbox.dashboard_url}{path}", method, b"")
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)
    api_works(sandbox.dashboard_url)


# --- generated: deeply nested, very wide, not UTF-8, not numbers ---------------------------------


@live
@given(frame=st.one_of(malformed(), malformed().map(lambda data: data.decode("utf-8", "replace"))))
def test_generated_frames_each_get_one_error_and_the_socket_answers_the_next_command(dashboard, frame):
    _, socket = dashboard
    assert frame_then_resync(socket, frame)["code"]


@live
@given(body=malformed(), route=st.sampled_from(API_ROUTES))
def test_generated_bodies_to_the_api_each_get_a_json_4xx_and_the_next_request_works(dashboard, body, route):
    sandbox, _ = dashboard
    if not body:
        body = b"\x00"  # an empty POST body is a run with the defaults: not malformed
    answer = api_answer(f"{sandbox.dashboard_url}{route[1]}", route[0], body)
    assert answer.json()["error"]["code"]
    api_works(sandbox.dashboard_url)


@live
@given(body=malformed(max_width=100_000), write=st.sampled_from(SANDBOX_WRITES))
def test_generated_bodies_to_the_sandbox_get_a_status_and_never_a_server_error(dashboard, body, write):
    sandbox, _ = dashboard
    method, path, content_type = write
    response = requests.request(
        method, f"{sandbox.api_url}{path}", data=body, headers={"Content-Type": content_type}, timeout=30
    )
    assert response.status_code < 500, response.text[:300]
    if response.status_code >= 400:
        assert response.json()["kind"] == "Status"
    sandbox_works(sandbox.api_url)


@live
@given(
    name=st.sampled_from(["labelSelector", "fieldSelector", "timeoutSeconds", "limit", "resourceVersion"]),
    value=st.one_of(malformed(max_depth=500, max_width=200), st.binary(max_size=40)),
)
def test_generated_query_values_to_the_sandbox_get_a_list_or_a_400_status(dashboard, name, value):
    sandbox, _ = dashboard
    query = urlencode({name: value})  # bytes percent-encoded as they are: %ff stays %ff
    response = requests.get(f"{sandbox.api_url}{PODS}?{query}", timeout=30)
    assert response.status_code in (200, 400), response.text[:300]
    assert response.json()["kind"] in ("PodList", "Status")
    sandbox_works(sandbox.api_url)


def test_after_all_of_it_the_sandbox_and_the_dashboard_logged_no_server_error(dashboard):
    sandbox, socket = dashboard
    assert socket.socket.close_code is None
    logs = sandbox.log() + "".join(
        path.read_text(errors="replace")
        for path in (sandbox.state_dir / "logs").glob("k8s-combat-*.log")
        if not path.name.startswith("k8s-combat-service")
    )
    assert "Traceback" not in logs and "InternalError" not in logs
