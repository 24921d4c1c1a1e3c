"""The differential fidelity suite (issue 11, items 4 and 5): the same scenarios, driven by the same
real clients (kubectl 1.32 and the ``kubernetes`` client), against a real kube-apiserver and the
sandbox's API server; what a user sees is compared after masking what must differ.

Each step expects ``SAME`` or a ``known`` difference written down in docs/sandbox.md (and then
nothing else may differ, and the difference must still be there): every step can fail. The
report of every step goes to ``test-artifacts/fidelity-report.md``; the scenarios are in
``tests/fidelity/``.
"""

from __future__ import annotations

import re
import time

import pytest
import requests

from tests.fidelity import cells, changes, discovery, errors, lists, reads, selectors, watches, writes
from tests.support.fidelity import Servers, Step, count_steps, known
from tests.support.fidelity.runner import Expect, judge
from tests.support.processes import ROOT
from tests.support.programs import require
from tests.support.sandbox import start_sandbox

pytestmark = pytest.mark.slow

SCENARIOS = [
    scenario
    for module in (reads, cells, selectors, lists, errors, discovery, watches, writes, changes)
    for scenario in module.SCENARIOS
]
DOCS = (ROOT / "docs" / "sandbox.md", ROOT / "docs" / "fidelity.md")
REPORT = ROOT / "test-artifacts" / "fidelity-report.md"


def _wait_for_the_tutorial(api_url: str, timeout: float = 90) -> None:
    """The tutorial's Deployment ready, so that the copy taken of it is of a settled cluster."""
    path = f"{api_url}/apis/apps/v1/namespaces/default/deployments/k8s-combat-service"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deployment = requests.get(path, timeout=5).json()
        wanted = deployment.get("spec", {}).get("replicas")
        if wanted and deployment.get("status", {}).get("readyReplicas") == wanted:
            return
        time.sleep(0.25)
    raise AssertionError(f"the sandbox's tutorial Deployment was not ready in {timeout} s")


@pytest.fixture(scope="module")
def servers(control_plane, tmp_path_factory):
    require("kubectl", "the fidelity suite drives both servers with the real kubectl")
    sandbox = start_sandbox(tmp_path_factory.mktemp("fidelity-sandbox"))
    try:
        _wait_for_the_tutorial(sandbox.api_url)
        pair = Servers(
            control_plane, sandbox.kubeconfig, sandbox.api_url, tmp_path_factory.mktemp("fidelity")
        )
        yield pair
        REPORT.parent.mkdir(exist_ok=True)
        REPORT.write_text(pair.report.markdown())
    finally:
        sandbox.stop()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario(servers, scenario):
    outcomes = servers.run(scenario)
    failing = [o for o in outcomes if o.problem]
    assert not failing, "\n".join(
        f"{o.step}: {o.problem}\n"
        + "\n".join(
            f"  {path or '(whole)'}: real {a!r:.300} | sandbox {b!r:.300}" for path, a, b in o.diffs[:8]
        )
        for o in failing
    )


def test_the_suite_runs_at_least_60_steps():
    assert count_steps(SCENARIOS) >= 60


def test_every_step_can_fail():
    """Only ``SAME`` and ``known`` exist: a step that differs where it should not fails."""
    assert {step.expect.kind for s in SCENARIOS for step in s.steps} <= {"same", "known"}
    with pytest.raises(ValueError):
        Expect("pending", "work in progress")
    step = Step("a step", lambda t: None)
    assert judge("scenario", step, {"a": 1}, {"a": 2}).problem == "differs"
    known_step = Step("a known one", lambda t: None, known("no-rbac", "a"))
    assert judge("scenario", known_step, {"a": 1}, {"a": 1}).problem, "a gone difference fails too"
    assert judge("scenario", known_step, {"a": 1, "b": 1}, {"a": 2, "b": 2}).problem, "so does a new one"


def _documented() -> set[str]:
    """The ids of docs' "Fidelity against a real API server" list of known differences."""
    ids: set[str] = set()
    for path in DOCS:
        if path.exists():
            text = path.read_text()
            section = (
                text[text.find("# Fidelity against a real API server") :]
                if "Fidelity against" in text
                else ""
            )
            ids |= set(re.findall(r"^- \*\*`([a-z0-9-]+)`\*\*", section, re.M))
    return ids


def test_every_known_difference_is_written_down_with_its_reason():
    expected = {step.expect.ref for s in SCENARIOS for step in s.steps if step.expect.kind == "known"}
    documented = _documented()
    assert expected <= documented, f"not in docs/sandbox.md fidelity list: {sorted(expected - documented)}"
    assert documented <= expected, f"listed but no step expects them: {sorted(documented - expected)}"
