"""`python manage.py sandbox`: the local cluster that `make run` starts."""

from __future__ import annotations

import asyncio
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sandbox.pod_runtimes import LIGHTWEIGHT_ABOVE
from sandbox.proxy import MODES
from sandbox.running import Options, run


def _positive_seconds(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 300:
        raise ValueError(text)
    return value


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


class Command(BaseCommand):
    help = (
        "Run a local stand-in for the tutorial's cluster: API server, pods as processes, an L4 Service proxy."
    )
    requires_system_checks: list = []

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--state-dir", default=".sandbox", help="kubeconfig, logs and database (.sandbox)"
        )
        parser.add_argument("--api-port", type=int, default=8001, help="API server port on 127.0.0.1 (8001)")
        parser.add_argument(
            "--dashboard-port",
            type=int,
            default=8081,
            help="where the dashboard is forwarded on 127.0.0.1 (8081)",
        )
        parser.add_argument("--cluster-ip", default="127.0.10.1", help="the Service's ClusterIP (127.0.10.1)")
        parser.add_argument(
            "--pod-network", default="127.0.1", help="pods get IPs NETWORK.2, .3, ... (127.0.1)"
        )
        parser.add_argument(
            "--balancing",
            choices=MODES,
            default="random",
            help="random per connection, as kube-proxy's iptables mode; round-robin, as IPVS",
        )
        parser.add_argument(
            "--proxy-seed",
            default=None,
            metavar="TEXT",
            help="seed the Service proxies' random choice, so that a run's picks repeat (for tests; "
            "kube-proxy seeds from the OS, as the sandbox does without it)",
        )
        parser.add_argument("--session-affinity", action="store_true", help="sessionAffinity: ClientIP")
        parser.add_argument("--providers", type=int, default=None, help="replicas of k8s-combat-service (2)")
        parser.add_argument(
            "--drain-seconds",
            type=_positive_seconds,
            default=None,
            help="override the pods' SHUTDOWN_DRAIN_SECONDS (the manifests say 3)",
        )
        parser.add_argument(
            "--grace-seconds",
            type=_positive_seconds,
            default=None,
            help="override terminationGracePeriodSeconds (the manifests say 20)",
        )
        parser.add_argument(
            "--dashboard-env",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="add or override an env var of the k8s-combat (dashboard) pod (repeatable)",
        )
        parser.add_argument(
            "--provider-env",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="add or override an env var of the k8s-combat-service pods (repeatable)",
        )
        parser.add_argument(
            "--no-dashboard", action="store_true", help="do not run the k8s-combat consumer pod"
        )
        parser.add_argument(
            "--no-chaos", action="store_true", help="hide the dashboard's scale/delete buttons"
        )
        parser.add_argument(
            "--empty",
            action="store_true",
            help="start with no workloads, as the tutorial's cluster: kubectl apply them",
        )
        parser.add_argument(
            "--bookmark-seconds",
            type=_positive_seconds,
            default=10.0,
            help="how often watches that allow bookmarks get one (10)",
        )
        parser.add_argument(
            "--max-endpoints-per-slice",
            type=_at_least_one,
            default=100,
            help="endpoints per EndpointSlice at most, as kube-controller-manager's flag (100)",
        )

        parser.add_argument(
            "--lightweight-above",
            type=int,
            default=LIGHTWEIGHT_ABOVE,
            help="pods of a Deployment scaled above N replicas are lightweight: many pods in one "
            "process (10, the most process pods a Deployment may have, so that every count up to "
            "5000 is served); the annotation sandbox.k8s-combat.dev/pod-runtime chooses per Deployment",
        )
        parser.add_argument(
            "--nodes",
            type=_at_least_one,
            default=1,
            help="nodes the pods spread over (1: sandbox-node; N: sandbox-node-1..N)",
        )
        parser.add_argument(
            "--zones",
            type=_at_least_one,
            default=1,
            help="zones dealt round-robin over the nodes (zone-a, zone-b, ...; 1, at most 26)",
        )

    def handle(self, *args, **options) -> None:
        if options["providers"] is not None and not 0 <= options["providers"] <= 10:
            raise CommandError("--providers must be from 0 to 10")
        if options["zones"] > 26:
            raise CommandError("--zones must be from 1 to 26")
        provider_env = _assignments(options["provider_env"], "--provider-env")
        dashboard_env = _assignments(options["dashboard_env"], "--dashboard-env")
        sandbox_options = Options(
            state_dir=Path(options["state_dir"]).resolve(),
            api_port=options["api_port"],
            dashboard_port=options["dashboard_port"],
            cluster_ip=options["cluster_ip"],
            pod_network=options["pod_network"],
            balancing=options["balancing"],
            proxy_seed=options["proxy_seed"],
            session_affinity=options["session_affinity"],
            drain_seconds=options["drain_seconds"],
            grace_seconds=options["grace_seconds"],
            providers=options["providers"],
            dashboard=not options["no_dashboard"],
            chaos=not options["no_chaos"],
            bookmark_seconds=options["bookmark_seconds"],
            empty=options["empty"],
            lightweight_above=options["lightweight_above"],
            max_endpoints_per_slice=options["max_endpoints_per_slice"],
            nodes=options["nodes"],
            zones=options["zones"],
            provider_env=provider_env,
            dashboard_env=dashboard_env,
        )
        code = _run(sandbox_options)
        if code:
            raise SystemExit(code)


def _assignments(items: list[str], option: str) -> dict[str, str]:
    env = {}
    for item in items:
        name, equals, value = item.partition("=")
        if not equals or not name:
            raise CommandError(f"{option} takes NAME=VALUE, got {item!r}")
        env[name] = value
    return env


def _run(options: Options) -> int:
    try:
        import uvloop

        return uvloop.run(run(options))
    except ImportError:
        return asyncio.run(run(options))
