"""One call's record: what the engine stores, streams and computes statistics from."""

from __future__ import annotations

from dataclasses import dataclass

from combat_app.greeting import GrpcAnswer
from combat_app.upstream import Answer


@dataclass(frozen=True)
class CallRecord:
    run: int
    seq: int
    mode: str
    started_at: float
    latency_ms: float
    outcome: str
    pod: str
    pod_ip: str
    node: str
    local_port: int | None
    reused: bool
    endpoint_state: str
    error: str
    channel: int | None = None  # the gRPC channel that carried it (gRPC modes only)

    @classmethod
    def from_answer(
        cls,
        answer: Answer | GrpcAnswer,
        *,
        run: int,
        seq: int,
        mode: str,
        started_at: float,
        endpoint_state: str,
    ) -> CallRecord:
        return cls(
            run=run,
            seq=seq,
            mode=mode,
            started_at=started_at,
            latency_ms=answer.latency_ms,
            outcome=answer.outcome,
            pod=answer.pod,
            pod_ip=answer.pod_ip,
            node=answer.node,
            local_port=answer.local_port,
            reused=answer.reused,
            endpoint_state=endpoint_state,
            error=answer.error[:500],
            channel=answer.channel,
        )

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}  # shallow: all plain values
