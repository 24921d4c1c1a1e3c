"""The differential runner: every step runs against the real API server and the sandbox's, and
what the user saw (masked) is compared.

A step declares what it expects:

- ``SAME``: the two answers are equal.
- ``known(ID, *where)``: a difference written down in docs/sandbox.md's list of what the sandbox
  does not do (entry ``ID``). The answers must differ, and only at the paths ``where`` names
  (patterns over diff paths such as ``stdout.items[0].spec``, where ``*`` is anything), so that a new
  difference in the same step still fails; and when the difference has gone, the step fails too,
  to be turned into ``SAME`` and the entry removed.

Nothing else: every step can fail.
"""

from __future__ import annotations

import json
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.support.fidelity.targets import Target


@dataclass(frozen=True)
class Expect:
    kind: str  # same, known
    ref: str = ""
    where: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("same", "known"):
            raise ValueError(f"a step expects SAME or known(...), not {self.kind!r}")

    def __str__(self) -> str:
        return "same" if self.kind == "same" else f"known difference `{self.ref}`"


SAME = Expect("same")


def known(ref: str, *where: str) -> Expect:
    if not where:
        raise ValueError("a known difference says where it is")
    return Expect("known", ref, where)


@dataclass
class Step:
    name: str
    action: Callable[[Target], Any]
    expect: Expect = SAME


@dataclass
class Scenario:
    """``setup`` runs on both targets first (writing the same objects into both); ``mirror``
    copies the sandbox's own tutorial objects into the real namespace first."""

    name: str
    steps: list[Step]
    setup: Callable[[Target], None] | None = None
    mirror: bool = False
    cleanup: Callable[[Target], None] | None = None
    strip: tuple[str, ...] = ()  # keys left out of every comparison (the scenario says why)


def strip(value: Any, keys: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {k: strip(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [strip(item, keys) for item in value]
    return value


# --- comparing ---------------------------------------------------------------------------------


def diff(real: Any, sandbox: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Where two JSON values differ: (path, real, sandbox); a missing key or item is ``<absent>``."""
    if isinstance(real, dict) and isinstance(sandbox, dict):
        found = []
        for key in [*real, *(k for k in sandbox if k not in real)]:
            child = f"{path}.{key}" if path else str(key)
            found += diff(real.get(key, ABSENT), sandbox.get(key, ABSENT), child)
        return found
    if isinstance(real, list) and isinstance(sandbox, list):
        found = []
        for index in range(max(len(real), len(sandbox))):
            left = real[index] if index < len(real) else ABSENT
            right = sandbox[index] if index < len(sandbox) else ABSENT
            found += diff(left, right, f"{path}[{index}]")
        return found
    return [] if real == sandbox else [(path, real, sandbox)]


ABSENT = "<absent>"


@dataclass
class Outcome:
    scenario: str
    step: str
    expect: Expect
    diffs: list[tuple[str, Any, Any]]
    problem: str = ""  # why this step fails the suite ("" when it does not)

    @property
    def same(self) -> bool:
        return not self.diffs


def _matches(path: str, pattern: str) -> bool:
    """``*`` stands for anything; everything else, brackets too, is literal."""
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), path) is not None


def judge(scenario: str, step: Step, real: Any, sandbox: Any) -> Outcome:
    found = diff(real, sandbox)
    outcome = Outcome(scenario, step.name, step.expect, found)
    expect = step.expect
    if expect.kind == "same":
        if found:
            outcome.problem = "differs"
    elif expect.kind == "known":
        if not found:
            outcome.problem = f"known difference {expect.ref!r} no longer shows: expect SAME, drop the entry"
        else:
            stray = [d for d in found if not any(_matches(d[0], w) for w in expect.where)]
            if stray:
                outcome.diffs = stray
                outcome.problem = (
                    f"differs beyond known difference {expect.ref!r} ({', '.join(expect.where)})"
                )
    else:  # pragma: no cover - Expect refuses any other kind
        outcome.problem = f"expects {expect.kind!r}: only SAME or known(...) can be judged"
    return outcome


def attempt(action: Callable[[Target], Any], target: Target) -> Any:
    """A step's observation; an exception the client raised is an observation too (masked)."""
    try:
        return action(target)
    except Exception as exc:  # the step's own client code failed on this server's answer
        last = traceback.extract_tb(exc.__traceback__)[-1]
        return {"exception": target.masker.text(f"{type(exc).__name__}: {exc} (at {last.name})")}


# --- reporting ---------------------------------------------------------------------------------


def _short(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[:limit] + "..."


def render_diffs(diffs: list[tuple[str, Any, Any]], limit: int = 12) -> str:
    lines = [f"  - `{p or '(whole)'}`: real {_short(a)} | sandbox {_short(b)}" for p, a, b in diffs[:limit]]
    if len(diffs) > limit:
        lines.append(f"  - ... and {len(diffs) - limit} more")
    return "\n".join(lines)


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def markdown(self) -> str:
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            key = f"{outcome.expect.kind}, " + ("same" if outcome.same else "differs")
            counts[key] = counts.get(key, 0) + 1
        failures = [o for o in self.outcomes if o.problem]
        lines = [
            "# Fidelity report: the sandbox's API server against a real one",
            "",
            f"{len(self.outcomes)} steps: "
            + "; ".join(f"expected {k}: {n}" for k, n in sorted(counts.items()))
            + f"; {len(failures)} failing.",
            "",
        ]
        scenario = None
        for outcome in self.outcomes:
            if outcome.scenario != scenario:
                scenario = outcome.scenario
                lines += ["", f"## {scenario}", ""]
            mark = "FAIL " if outcome.problem else ""
            state = "same" if outcome.same else f"{len(outcome.diffs)} difference(s)"
            lines.append(f"- {mark}{outcome.step} — expected {outcome.expect}; {state}")
            if outcome.problem:
                lines.append(f"  - problem: {outcome.problem}")
            if (outcome.diffs and outcome.expect.kind != "known") or outcome.problem:
                lines.append(render_diffs(outcome.diffs))
        return "\n".join(lines) + "\n"
