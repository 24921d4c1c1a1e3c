"""What a sandbox pod is given to find Services, as pure functions: the Service variables a
kubelet injects (sandbox.service_env), and its resolv.conf's search list and ``ndots`` applied to
Python's and gRPC's lookups (sandbox.resolver)."""

from __future__ import annotations

from sandbox import resolver, service_env


def test_the_service_variables_follow_the_kubelets_rules():
    def service(name, namespace="default", cluster_ip="10.96.0.7", ports=None):
        return {
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"clusterIP": cluster_ip, "ports": ports or [{"port": 443, "name": "https"}]},
        }

    services = [
        service("kubernetes", cluster_ip="10.96.0.1"),
        service(
            "db",
            namespace="shop",
            ports=[{"port": 5432}, {"port": 9187, "name": "metrics", "protocol": "TCP"}],
        ),
        service("headless", namespace="shop", cluster_ip="None"),
        service("elsewhere", namespace="other"),
        service(
            "dns6",
            namespace="shop",
            cluster_ip="fd00::a",
            ports=[{"port": 53, "name": "dns", "protocol": "UDP"}],
        ),
    ]
    env = service_env.for_pod(services, namespace="shop")
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1" and env["KUBERNETES_SERVICE_PORT_HTTPS"] == "443"
    assert env["DB_SERVICE_PORT"] == "5432" and env["DB_SERVICE_PORT_METRICS"] == "9187"
    assert env["DB_PORT"] == "tcp://10.96.0.7:5432" and env["DB_PORT_9187_TCP_ADDR"] == "10.96.0.7"
    assert env["DNS6_PORT_53_UDP"] == "udp://[fd00::a]:53" and env["DNS6_PORT_53_UDP_PROTO"] == "udp"
    assert not [k for k in env if k.startswith(("HEADLESS_", "ELSEWHERE_"))]
    only_master = service_env.for_pod(services, namespace="shop", enable_service_links=False)
    assert {k.split("_")[0] for k in only_master} == {"KUBERNETES"}


def test_a_pods_resolver_searches_as_resolv_conf_says_and_points_grpc_at_the_cluster_dns(monkeypatch):
    pod = resolver.PodResolver.from_environment(
        {
            "SANDBOX_NAMESERVER": "127.0.10.10:10053",
            "LOCALDOMAIN": "default.svc.cluster.local svc.cluster.local cluster.local",
            "RES_OPTIONS": "ndots:5",
        }
    )
    assert pod.candidates("web") == [
        "web.default.svc.cluster.local",
        "web.svc.cluster.local",
        "web.cluster.local",
        "web",
    ]
    assert pod.candidates("web.shop.svc.cluster.local.") == ["web.shop.svc.cluster.local"]
    known = {"web.default.svc.cluster.local": ["127.0.10.1"]}
    monkeypatch.setattr(pod, "_query", lambda name: (known.get(name), 5))
    assert pod.lookup("web") == ("web.default.svc.cluster.local", ["127.0.10.1"])
    assert resolver.grpc_target("web:50051", pod) == (
        "dns://127.0.10.10:10053/web.default.svc.cluster.local.:50051",
        "web:50051",
    )
    assert resolver.grpc_target("dns:///web.default:50051", pod)[1] == "web.default:50051"
    for unchanged in (
        "127.0.0.1:50051",
        "localhost:50051",
        "ipv4:10.0.0.1:50051",
        "unix:/tmp/s",
        "[::1]:50051",
    ):
        assert resolver.grpc_target(unchanged, pod) == (unchanged, None)
    assert resolver.PodResolver.from_environment({}) is None  # outside a sandbox pod: nothing at all
