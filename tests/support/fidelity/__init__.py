"""The differential fidelity suite's machinery: the same scenarios, run by the same clients
against a real kube-apiserver and the sandbox's API server, compared after masking.

``runner`` (steps, expectations, diffs, the report), ``targets`` (one server as kubectl and the
kubernetes client see it), ``masking`` (what must differ), ``mirror`` (the sandbox's tutorial
objects copied into the real server). ``Servers`` ties them to the two running servers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.fidelity.mirror import mirror
from tests.support.fidelity.runner import (
    SAME,
    Outcome,
    Report,
    Scenario,
    Step,
    attempt,
    judge,
    known,
    strip,
)
from tests.support.fidelity.targets import Target

__all__ = ["MIRRORED", "SAME", "Scenario", "Servers", "Step", "Target", "known"]
# Left out when comparing the tutorial's objects copied from the sandbox (``mirror``): who wrote
# them and how often (the copy is written once, by this suite's client; the sandbox's objects by
# its controllers, as often as they changed). The writes scenarios compare both as written.
MIRRORED = ("managedFields", "generation")
SANDBOX_NAMESPACE = "default"  # the tutorial's, and the only one a sandbox may have


@dataclass
class Servers:
    """The two servers: the real one (``tests.support.control_plane.ControlPlane``: namespaces,
    ServiceAccount tokens, a restart), the sandbox's kubeconfig and URL."""

    control_plane: Any
    sandbox_kubeconfig: Path
    sandbox_url: str
    work: Path
    report: Report = field(default_factory=Report)

    def targets(self, scenario: Scenario) -> tuple[Target, Target]:
        real_ns = self.control_plane.namespace("fidelity")
        real = Target(
            "real",
            self.control_plane.kubeconfig,
            real_ns,
            self.work / "cache-real",
            token_kubeconfig=self.control_plane.token_kubeconfig,
            expire=self.control_plane.restart,
        )
        sandbox_ns = SANDBOX_NAMESPACE
        probe = Target("sandbox", self.sandbox_kubeconfig, SANDBOX_NAMESPACE, self.work / "cache-sandbox")
        if not scenario.mirror:
            # One namespace per scenario where the sandbox can make one; else its default.
            made = probe.request("POST", "/api/v1/namespaces", body={"metadata": {"name": real_ns}})
            if made.status == 201:
                sandbox_ns = real_ns
        sandbox = Target(
            "sandbox", self.sandbox_kubeconfig, sandbox_ns, self.work / "cache-sandbox", self.sandbox_url
        )
        return real, sandbox

    def run(self, scenario: Scenario) -> list[Outcome]:
        real, sandbox = self.targets(scenario)
        if scenario.mirror:
            mirror(sandbox, real)
        if scenario.setup is not None:
            for target in (real, sandbox):
                scenario.setup(target)
        outcomes = []
        try:
            for step in scenario.steps:
                seen = {t.label: strip(attempt(step.action, t), scenario.strip) for t in (real, sandbox)}
                outcomes.append(judge(scenario.name, step, seen["real"], seen["sandbox"]))
        finally:
            if scenario.cleanup is not None:
                for target in (real, sandbox):
                    attempt(scenario.cleanup, target)
            if sandbox.namespace != SANDBOX_NAMESPACE:
                sandbox.request("DELETE", f"/api/v1/namespaces/{sandbox.namespace}")
        self.report.outcomes += outcomes
        return outcomes


def count_steps(scenarios: list[Scenario]) -> int:
    return sum(len(scenario.steps) for scenario in scenarios)
