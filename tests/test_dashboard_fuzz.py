"""Hypothesis-generated frames and API bodies: every one is answered, none is a server error."""

from __future__ import annotations

import json
import time

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.messages import COMMANDS, BadCommand, Command, parse_command, plan_from
from tests.support.dashboard import dashboard_with_socket

TOKEN = "fuzz-token"
# Values of every JSON type, and the edges of the ranges the protocol allows.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.integers(-3, 12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
fields = st.sampled_from(["type", "mode", "count", "concurrency", "rate", "run", "replicas", "name", "url"])
small = st.integers(-3, 12)  # a valid run from the fuzzer is at most 12 calls
commands = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(COMMANDS), st.text(max_size=12))},
    optional={
        "mode": st.one_of(st.sampled_from(["new-connection", "keep-alive", "pool"]), values),
        "count": st.one_of(small, values.filter(lambda v: not isinstance(v, int) or v > 10_000 or v < 1)),
        "concurrency": st.one_of(small, values),
        "rate": st.one_of(st.floats(0.05, 20_000), values),
        "run": values,
        "replicas": st.one_of(st.just(99), values.filter(lambda v: not isinstance(v, int))),
        "name": st.text(max_size=300),
    },
)
extra = st.dictionaries(fields | st.text(max_size=8), values, max_size=2)
frames = st.one_of(
    st.builds(lambda c, e: json.dumps({**e, **c}), commands, extra),
    st.builds(json.dumps, values),
    st.text(max_size=200),
    st.binary(max_size=200),
    st.builds(lambda n: json.dumps({"type": "run.start", "pad": "x" * n}), st.integers(4000, 5000)),
)


@settings(max_examples=3000, deadline=None)
@given(frames)
def test_every_frame_parses_to_a_command_or_a_typed_error(frame):
    try:
        assert isinstance(parse_command(frame), Command)
    except BadCommand as error:
        assert error.as_message()["code"]


@settings(max_examples=3000, deadline=None)
@given(st.one_of(commands, st.dictionaries(fields, values)))
def test_every_run_body_becomes_a_plan_or_a_typed_error(body):
    body = {k: v for k, v in body.items() if k != "type"}
    try:
        plan = plan_from(body)
        assert plan.count in range(1, 10_001) and plan.concurrency in range(1, 65)
    except BadCommand as error:
        assert error.code in {"invalid-field", "out-of-range", "unknown-field", "missing-field"}


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    with dashboard_with_socket(
        tmp_path_factory.mktemp("dashboard-fuzz"),
        "--no-chaos",
        "--dashboard-env",
        "DASHBOARD_COMMANDS_PER_SECOND=1000",
        "--dashboard-env",
        f"DASHBOARD_TOKEN={TOKEN}",
        query=f"?token={TOKEN}",
    ) as opened:
        yield opened


@pytest.mark.slow
@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=frames)
def test_the_live_websocket_answers_2000_generated_frames_without_a_server_error(dashboard, frame):
    _, socket = dashboard
    socket.socket.send(frame)


@pytest.mark.slow
def test_after_the_frames_the_socket_still_answers_and_the_server_logged_no_error(dashboard):
    sandbox, socket = dashboard
    time.sleep(1.5)  # let the per-connection rate limit refill after the burst of frames
    hellos = len(socket.of_type("hello"))
    socket.send({"type": "resync"})
    socket.wait_for(lambda _: len(socket.of_type("hello")) > hellos, 60)
    assert socket.of_type("error"), "the bad frames were answered with typed errors"
    logs = "".join(
        p.read_text()
        for p in (sandbox.state_dir / "logs").glob("k8s-combat-*.log")
        if not p.name.startswith("k8s-combat-service")
    )
    assert "Traceback" not in logs


@pytest.mark.slow
@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.builds(json.dumps, st.one_of(commands, values)), st.text(max_size=100), st.binary(max_size=100)
    )
)
def test_the_api_answers_2000_generated_bodies_without_a_server_error(dashboard, body):
    sandbox, _ = dashboard
    response = requests.post(
        f"{sandbox.dashboard_url}/api/runs",
        data=body,
        timeout=10,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    assert response.status_code in (201, 400, 413), response.text
    assert "error" in response.json() or response.status_code == 201
