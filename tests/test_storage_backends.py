"""What the dashboard stores, on SQLite and on a real PostgreSQL (issue 14): runs with their
calls and exports, experiments, pruning, and a run whose process is SIGKILLed, marked
``interrupted`` by another replica with its stored calls kept. And what start-up and readiness
say when the database is wrong or gone: the variable named, the password never shown."""

from __future__ import annotations

import csv
import io
import signal
import subprocess
import sys
import uuid

import pytest
import requests
from playwright.sync_api import expect

from tests.support.browser import WAIT_MS, chromium_browser, open_live  # noqa: F401 (a fixture)
from tests.support.dashboard import LiveSocket
from tests.support.postgres import PASSWORD, postgres, start_postgres  # noqa: F401 (a fixture)
from tests.support.processes import ROOT, app_environment, free_port, start_app
from tests.support.sandbox import start_sandbox
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

HEARTBEAT = {"DASHBOARD_HEARTBEAT_SECONDS": "0.5", "DASHBOARD_HEARTBEAT_EXPIRY_SECONDS": "3"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    sandbox = start_sandbox(tmp_path_factory.mktemp("storage-backends"))
    yield sandbox
    sandbox.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> dict[str, str]:
    """The environment that points a dashboard at a fresh, empty database of each kind."""
    if request.param == "sqlite":
        return {"DATABASE_PATH": str(tmp_path / "dashboard.sqlite3")}
    server = request.getfixturevalue("postgres")
    return {"DATABASE_URL": server.create_database(f"t{uuid.uuid4().hex[:12]}")}


def _dashboard(cluster, database: dict, name: str = "a", port: int | None = None, **env: str):
    return start_app(
        port=port,
        POD_NAME=f"k8s-combat-replica-{name}",
        COMBAT_DASHBOARD="true",
        KUBECONFIG=str(cluster.kubeconfig),
        COMBAT_SERVICE_URL=cluster.service_url,
        **database,
        **env,
    )


class Api:
    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()
        self.session.get(f"{url}/api/state", timeout=10)

    def post(self, path: str, body: dict) -> dict:
        answer = self.session.post(
            f"{self.url}{path}",
            json=body,
            headers={"X-CSRFToken": self.session.cookies["csrftoken"]},
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        return answer.json()

    def get(self, path: str):
        answer = self.session.get(f"{self.url}{path}", timeout=10)
        assert answer.status_code == 200, answer.text
        return answer

    def finished(self, run_id: int, seconds: float = 60) -> dict:
        return wait_for(
            lambda: (r := self.get(f"/api/runs/{run_id}").json())["status"] != "running" and r, seconds
        )


def test_runs_calls_exports_and_experiments_are_stored(cluster, database):
    dashboard = _dashboard(cluster, database, DASHBOARD_MAX_RUNS="7")
    try:
        api = Api(dashboard.url)
        run = api.finished(
            api.post("/api/runs", {"mode": "new-connection", "count": 50, "concurrency": 4})["id"]
        )
        assert run["status"] == "finished" and run["statistics"]["ok"] == 50
        calls = api.get(f"/api/runs/{run['id']}/calls.json").json()["calls"]
        assert [c["seq"] for c in calls] == list(range(50)) and all(c["pod"] for c in calls)
        rows = list(csv.reader(io.StringIO(api.get(f"/api/runs/{run['id']}/calls.csv").text)))
        assert len(rows) == 51 and rows[0][0] == "seq"

        experiment = api.post("/api/experiments", {"count": 10, "concurrency": 2})
        stored = wait_for(
            lambda: (
                (e := api.get(f"/api/experiments/{experiment['id']}").json())["status"] != "running" and e
            ),
            90,
        )
        assert stored["status"] == "finished"
        assert [r["mode"] for r in stored["runs"]] == stored["modes"]
        # 1 + 5 runs so far; one more makes 7; the next pushes the oldest out, with its calls.
        for _ in range(2):
            api.finished(api.post("/api/runs", {"count": 2})["id"])
        listed = api.get("/api/runs").json()["runs"]
        assert len(listed) == 7 and run["id"] not in [r["id"] for r in listed]
        assert requests.get(f"{dashboard.url}/api/runs/{run['id']}/calls.json", timeout=10).status_code == 404
    finally:
        dashboard.stop()


def test_a_killed_replicas_run_is_marked_interrupted_by_the_other_with_its_calls_kept(
    cluster, database, browser
):
    first = _dashboard(cluster, database, "a", **HEARTBEAT)
    second = _dashboard(cluster, database, "b", **HEARTBEAT)
    socket = LiveSocket(second.url)
    try:
        api = Api(first.url)
        run_id = api.post("/api/runs", {"count": 2000, "concurrency": 1, "rate": 100})["id"]
        wait_for(lambda: len(api.get(f"/api/runs/{run_id}/calls.json").json()["calls"]) >= 20, 30)
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(10)

        seen = socket.wait_for(lambda m: m["type"] == "run.finished" and m["run"]["id"] == run_id, 30)["run"]
        assert seen["status"] == "interrupted"
        assert "no heartbeat for 3 s" in seen["reason"] and "k8s-combat-replica-a/" in seen["reason"]
        stored = Api(second.url).get(f"/api/runs/{run_id}").json()
        calls = Api(second.url).get(f"/api/runs/{run_id}/calls.json").json()["calls"]
        assert stored["status"] == "interrupted"
        assert 20 <= len(calls) < 2000 and stored["statistics"]["calls"] == len(calls), (
            "the calls so far are kept"
        )
        assert sorted(c["seq"] for c in calls) == list(range(len(calls)))

        context, page = open_live(browser, f"{second.url}/")
        try:  # the page lists it as interrupted, with how far it got, never as running
            row = page.locator(f"#runs tr[data-run='{run_id}']")
            expect(row).to_contain_text(f"Interrupted after {len(calls)} of 2000 calls", timeout=WAIT_MS)
            expect(row).to_contain_text("no heartbeat for 3 s")
        finally:
            context.close()
    finally:
        socket.close()
        second.stop()
        if first.process.poll() is None:
            first.stop()


def _start_up(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "combat_app.serving", "--port", str(free_port())],
        cwd=ROOT,
        env=app_environment(COMBAT_DASHBOARD="true", **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_unreachable_or_refusing_database_stops_start_up_naming_it_without_the_password(postgres):  # noqa: F811
    closed = free_port()
    for url, says in (
        (postgres.url("k8s_combat", port=closed), f"k8s@127.0.0.1:{closed}/k8s_combat"),
        (postgres.url("postgres", password="wrong-" + PASSWORD), "password authentication failed"),
        (postgres.url("no_such_database"), 'database "no_such_database" does not exist'),
    ):
        result = _start_up(DATABASE_URL=url)
        assert result.returncode == 2, result.stderr
        assert "k8s-combat: start-up failed: DATABASE_URL: cannot use the database" in result.stderr
        assert says in result.stderr
        assert PASSWORD not in result.stderr + result.stdout
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "url",
    [
        f"postgres://k8s:{PASSWORD}@db:notaport/x",
        f"postgres://k8s:{PASSWORD}@/x",
        f"mysql://k8s:{PASSWORD}@db/x",
    ],
)
def test_a_malformed_database_url_stops_start_up_naming_the_variable_without_the_password(url):
    result = _start_up(DATABASE_URL=url)
    assert result.returncode == 2
    assert (
        "configuration error: DATABASE_URL=" in result.stderr
        and "postgres://user:password@host:5432/name" in result.stderr
    )
    assert PASSWORD not in result.stderr and ":***@" in result.stderr


def test_readiness_fails_while_the_database_is_unreachable_and_returns_with_it(cluster):
    server = start_postgres()  # its own server: this test stops it
    dashboard = None
    try:
        dashboard = _dashboard(cluster, {"DATABASE_URL": server.create_database("ready")}, **HEARTBEAT)
        ready = lambda: requests.get(f"{dashboard.url}/readyz", timeout=5)  # noqa: E731
        assert ready().status_code == 200
        server.pause()
        said = wait_for(lambda: (r := ready()).status_code == 503 and r.text, 20)  # a 503 Response is falsy
        assert "the dashboard's database is unreachable" in said and PASSWORD not in said
        assert requests.get(f"{dashboard.url}/healthz", timeout=5).status_code == 200, "alive, only not ready"
        server.resume()
        wait_for(lambda: ready().status_code == 200, 20)
    finally:
        if dashboard is not None:
            dashboard.stop()
        server.stop()


def test_two_replicas_starting_together_on_a_fresh_postgresql_both_migrate_and_serve(cluster, postgres):  # noqa: F811
    """Both run the migrations at start-up; an advisory lock makes the second wait for the first
    and then find nothing to do, instead of failing on a table the first just created."""
    from concurrent.futures import ThreadPoolExecutor

    database = {"DATABASE_URL": postgres.create_database(f"t{uuid.uuid4().hex[:12]}")}
    ports = {"a": free_port(), "b": free_port()}
    # The pool's threads outlive the servers: a child dies with the thread that started it
    # (die_with_parent's PR_SET_PDEATHSIG is per thread).
    pool = ThreadPoolExecutor(2)
    started = []
    try:
        started = list(pool.map(lambda name: _dashboard(cluster, database, name, port=ports[name]), ports))
        for dashboard in started:
            assert Api(dashboard.url).get("/api/runs").json() == {"runs": []}
    finally:
        for dashboard in started:
            dashboard.stop()
        pool.shutdown()
