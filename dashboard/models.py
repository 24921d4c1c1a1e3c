"""What the dashboard remembers: runs, their calls, and the endpoint timeline."""

from __future__ import annotations

from django.db import models

# A configured target's key (combat_app.targets.Target.key); empty in rows stored before there
# were several targets, which were all the home Service's.
TARGET_HELP = "the target Service, name.namespace (empty: the home Service)"


class Experiment(models.Model):
    """One press of "Compare the modes": the same calls in every connection mode, one run per
    mode (``Run.experiment``), in ``dashboard.firing.MODES`` order, against the same pods."""

    class Status(models.TextChoices):
        RUNNING = "running"
        FINISHED = "finished"
        CANCELLED = "cancelled"
        FAILED = "failed"
        INTERRUPTED = "interrupted"  # its dashboard process is gone (dashboard.heartbeats)

    count = models.PositiveIntegerField(help_text="calls per mode")
    concurrency = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    origin = models.CharField(max_length=64, help_text="the dashboard process that ran it")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    expected_pods = models.JSONField(default=list, help_text="ready endpoints when it started")
    reason = models.CharField(max_length=200, blank=True, help_text="why it was cancelled or failed")
    target = models.CharField(max_length=127, blank=True, help_text=TARGET_HELP)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"experiment {self.id}: {self.count} calls per mode, {self.status}"


class Run(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        FINISHED = "finished"
        CANCELLED = "cancelled"
        FAILED = "failed"
        INTERRUPTED = "interrupted"  # its dashboard process is gone (dashboard.heartbeats)

    mode = models.CharField(max_length=20)
    count = models.PositiveIntegerField()
    concurrency = models.PositiveIntegerField()
    rate = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    origin = models.CharField(max_length=64, help_text="the dashboard process that ran it")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    expected_pods = models.JSONField(default=list, help_text="ready endpoints when the run started")
    statistics = models.JSONField(default=dict)
    reason = models.CharField(max_length=200, blank=True, help_text="why it was cancelled or failed")
    experiment = models.ForeignKey(
        Experiment, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    target = models.CharField(max_length=127, blank=True, help_text=TARGET_HELP)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"run {self.id}: {self.count} {self.mode} calls, {self.status}"


class Call(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="calls")
    seq = models.PositiveIntegerField()
    mode = models.CharField(max_length=20)
    started_at = models.FloatField(help_text="Unix time, seconds")
    latency_ms = models.FloatField()
    outcome = models.CharField(max_length=24)
    pod = models.CharField(max_length=253, blank=True)
    pod_ip = models.CharField(max_length=45, blank=True)
    node = models.CharField(max_length=253, blank=True)
    local_port = models.PositiveIntegerField(null=True, blank=True)
    reused = models.BooleanField(default=False)
    endpoint_state = models.CharField(
        max_length=16, blank=True, help_text="the pod's endpoint when it answered"
    )
    channel = models.PositiveIntegerField(null=True, blank=True, help_text="the gRPC channel (gRPC modes)")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["run_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="one_call_per_seq")]

    def __str__(self) -> str:
        return f"run {self.run_id} call {self.seq}: {self.outcome} from {self.pod or '-'}"


class EndpointEvent(models.Model):
    at = models.FloatField(help_text="Unix time, seconds")
    kind = models.CharField(max_length=12)  # added, removed, changed
    ip = models.CharField(max_length=45)
    pod = models.CharField(max_length=253, blank=True)
    node = models.CharField(max_length=253, blank=True)
    state = models.CharField(max_length=16)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.pod or self.ip} {self.kind} ({self.state})"


class Heartbeat(models.Model):
    """A dashboard process is alive: it writes ``beat_at`` every few seconds
    (``dashboard.heartbeats``); the runs of one whose beat is stale are ``interrupted``."""

    origin = models.CharField(max_length=64, primary_key=True, help_text="the process, <pod>/<pid>")
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.origin} at {self.beat_at:%H:%M:%S}"
