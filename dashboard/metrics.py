"""Prometheus metrics of the dashboard, kept in memory and written in the text format."""

from __future__ import annotations

from dataclasses import dataclass, field

from dashboard.records import CallRecord

LATENCY_BUCKETS_MS = (1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@dataclass
class Metrics:
    calls: dict[tuple[str, str], int] = field(default_factory=dict)  # (pod, outcome) -> count
    buckets: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS_MS))
    latency_count: int = 0
    latency_sum_ms: float = 0.0
    ready_endpoints: int = 0
    watch_restarts: int = 0

    def count(self, record: CallRecord) -> None:
        key = (record.pod, record.outcome)
        self.calls[key] = self.calls.get(key, 0) + 1
        self.latency_count += 1
        self.latency_sum_ms += record.latency_ms
        for index, bound in enumerate(LATENCY_BUCKETS_MS):
            if record.latency_ms <= bound:
                self.buckets[index] += 1

    def render(self) -> str:
        lines = [
            "# HELP k8s_combat_calls_total Calls fired at the Service, by the pod that answered and outcome.",
            "# TYPE k8s_combat_calls_total counter",
        ]
        for (pod, outcome), value in sorted(self.calls.items()):
            lines.append(f'k8s_combat_calls_total{{pod="{_label(pod)}",outcome="{_label(outcome)}"}} {value}')
        lines += [
            "# HELP k8s_combat_call_latency_seconds Latency of calls fired at the Service.",
            "# TYPE k8s_combat_call_latency_seconds histogram",
        ]
        for bound, value in zip(LATENCY_BUCKETS_MS, self.buckets, strict=True):
            lines.append(f'k8s_combat_call_latency_seconds_bucket{{le="{bound / 1000:g}"}} {value}')
        lines += [
            f'k8s_combat_call_latency_seconds_bucket{{le="+Inf"}} {self.latency_count}',
            f"k8s_combat_call_latency_seconds_sum {self.latency_sum_ms / 1000:.6f}",
            f"k8s_combat_call_latency_seconds_count {self.latency_count}",
            "# HELP k8s_combat_ready_endpoints Ready endpoints of the Service: pods, not addresses.",
            "# TYPE k8s_combat_ready_endpoints gauge",
            f"k8s_combat_ready_endpoints {self.ready_endpoints}",
            "# HELP k8s_combat_watch_restarts_total Times the endpoint watch was started again.",
            "# TYPE k8s_combat_watch_restarts_total counter",
            f"k8s_combat_watch_restarts_total {self.watch_restarts}",
        ]
        return "\n".join(lines) + "\n"
