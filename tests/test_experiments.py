"""Experiments ("Compare the modes") as pure logic: the plan, the command, the row and its CSV."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from dashboard.experiments import CSV_FIELDS, csv_rows, experiment_row
from dashboard.firing import MAX_CONCURRENCY, MAX_COUNT, MODES, ExperimentPlan
from dashboard.messages import BadCommand, experiment_plan_from, parse_command
from dashboard.models import Experiment


def test_an_experiment_is_one_run_per_mode_with_the_same_count_and_concurrency():
    plans = ExperimentPlan(count=200, concurrency=4).plans()
    assert [plan.mode for plan in plans] == list(MODES)
    assert {(plan.count, plan.concurrency) for plan in plans} == {(200, 4)}
    workers = {plan.mode: plan.workers for plan in plans}
    assert workers["keep-alive"] == 1, "one kept connection carries one call at a time"
    assert workers["pool"] == 4


def test_experiment_start_parses_with_defaults_and_ranges():
    command = parse_command(json.dumps({"type": "experiment.start", "count": 300, "concurrency": 8}))
    assert command.experiment == ExperimentPlan(count=300, concurrency=8)
    assert experiment_plan_from({"count": 10}) == ExperimentPlan(count=10, concurrency=4)
    assert parse_command('{"type": "experiment.cancel", "experiment": 7}').experiment_id == 7


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "missing-field", "count"),
        ({"count": 0}, "out-of-range", "count"),
        ({"count": MAX_COUNT + 1}, "out-of-range", "count"),
        ({"count": 5, "concurrency": MAX_CONCURRENCY + 1}, "out-of-range", "concurrency"),
        ({"count": "200"}, "invalid-field", "count"),
        ({"count": True}, "invalid-field", "count"),
        ({"count": 5, "mode": "pool"}, "unknown-field", "mode"),
    ],
)
def test_a_bad_experiment_is_refused_naming_its_field(body, code, field):
    with pytest.raises(BadCommand) as refused:
        parse_command(json.dumps({"type": "experiment.start", **body}))
    assert (refused.value.code, refused.value.field) == (code, field)


def test_experiment_cancel_needs_an_id():
    with pytest.raises(BadCommand) as refused:
        parse_command('{"type": "experiment.cancel"}')
    assert (refused.value.code, refused.value.field) == ("missing-field", "experiment")


def statistics(pods: dict[str, int], expected: list[str], connections: int) -> dict:
    ok = sum(pods.values())
    return {
        "calls": ok,
        "ok": ok,
        "pods": {pod: {"count": n, "share": round(n / ok, 4)} for pod, n in pods.items()},
        "expected_pods": expected,
        "pods_reached": len(pods),
        "connections": connections,
        "max_pods_per_connection": 1,
        "longest_streak": 3,
        "chi_square": 1.5,
        "p_value": 0.47,
        "busiest_ratio": 1.2,
        "latency_ms": {"p50": 1.0, "p95": 2.0, "p99": 3.0},
    }


def test_the_row_orders_runs_by_mode_and_the_csv_has_one_row_per_mode_with_every_share():
    expected = ["a", "b", "c"]
    experiment = Experiment(
        id=3, count=4, concurrency=2, status="finished", origin="pod/1", expected_pods=expected
    )
    experiment.started_at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    runs = [
        {
            "id": 11,
            "mode": "keep-alive",
            "status": "finished",
            "statistics": statistics({"b": 4}, expected, 1),
        },
        {
            "id": 10,
            "mode": "new-connection",
            "status": "finished",
            "statistics": statistics({"a": 1, "b": 2, "c": 1}, expected, 4),
        },
        {"id": 12, "mode": "pool", "status": "running", "statistics": {}},
    ]
    row = experiment_row(experiment, runs)
    assert [run["mode"] for run in row["runs"]] == ["new-connection", "keep-alive", "pool"]
    assert row["modes"] == list(MODES) and row["finished_at"] is None
    table = [dict(zip(CSV_FIELDS, values, strict=True)) for values in csv_rows(row)]
    assert [line["mode"] for line in table] == ["new-connection", "keep-alive", "pool"]
    assert table[0]["shares"] == "a=0.25 b=0.5 c=0.25"
    assert table[1]["shares"] == "a=0.0 b=1.0 c=0.0", "a pod that got no call still has its share"
    assert (table[1]["pods_reached"], table[1]["connections"], table[1]["expected_pods"]) == (1, 1, 3)
    assert table[2]["status"] == "running" and table[2]["calls"] == ""


@pytest.fixture
def page_behind_a_token(settings):
    settings.COMBAT_DASHBOARD = True
    settings.ROOT_URLCONF = "dashboard.urls"
    settings.DASHBOARD_TOKEN = "open-sesame"


def test_an_experiments_address_survives_the_token_form_and_its_redirect(client, page_behind_a_token):
    asked = client.get("/?experiment=12")
    assert asked.status_code == 401
    assert b'name="experiment" value="12"' in asked.content
    response = client.get("/?token=open-sesame&experiment=12")
    assert response.status_code == 302 and response["Location"] == "/?experiment=12"
    assert client.get("/?experiment=12").status_code == 200
    odd = client.get("/?token=open-sesame&experiment=%3Cscript%3E")
    assert odd["Location"] == "/", "only an id is carried over"
