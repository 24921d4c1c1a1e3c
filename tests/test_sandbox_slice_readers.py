"""The sandbox's own readers of EndpointSlices, pure: its Service proxy's backends and its kubectl
tables. Every shape the API allows: several slices,
dual-stack twins, nil conditions, ``endpoints: null``, nil port numbers, FQDN slices."""

from __future__ import annotations

from sandbox import resources, tables
from sandbox.backends import BackendCache, of_service, service_backends

PORTS = [{"name": "app", "port": 8081}, {"name": "grpc", "port": 50051}]
CREATED = {"creationTimestamp": "2026-01-01T00:00:00Z"}


def pod(address: str, name: str, **conditions) -> dict:
    return {"addresses": [address], "conditions": conditions, "targetRef": {"kind": "Pod", "name": name}}


def endpoint_slice(address_type: str, *endpoints: dict, ports=PORTS, name: str = "svc-x") -> dict:
    return {
        "metadata": {"name": name, "namespace": "default", **CREATED},
        "addressType": address_type,
        "endpoints": list(endpoints) if endpoints else None,
        "ports": ports,
    }


SHAPES = [
    endpoint_slice("IPv4", pod("127.0.1.2", "a"), pod("127.0.1.3", "b"), name="svc-v4"),
    endpoint_slice("IPv6", pod("fd00::2", "a"), pod("fd00::3", "b"), name="svc-v6"),
    endpoint_slice("IPv4", pod("127.0.1.2", "a", ready=True), name="svc-v4-moving"),
    endpoint_slice("FQDN", {"addresses": ["127.0.1.9"]}, name="svc-fqdn"),
    endpoint_slice("IPv4", {"addresses": ["127.0.1.8"]}, name="svc-selectorless"),
    endpoint_slice("IPv4", pod("127.0.1.4", "c", terminating=True), name="svc-leaving"),
    endpoint_slice("IPv4", name="svc-empty"),
]


def test_the_proxy_dials_each_ready_pod_once_on_its_family_and_never_an_fqdn_name():
    backends = service_backends(SHAPES, family="IPv4", port_name="app")
    assert backends == [("127.0.1.2", 8081), ("127.0.1.3", 8081), ("127.0.1.8", 8081)]
    assert service_backends(SHAPES, family="IPv6", port_name="grpc") == [
        ("fd00::2", 50051),
        ("fd00::3", 50051),
    ]
    assert service_backends(SHAPES, family="FQDN", port_name="app") == []


def test_the_proxy_takes_the_port_named_like_the_services_port_from_each_slice():
    moved = [
        endpoint_slice(
            "IPv4",
            pod("127.0.1.2", "a"),
            ports=[{"name": "grpc", "port": 50051}, {"name": "app", "port": 9000}],
        ),
        endpoint_slice("IPv4", pod("127.0.1.3", "b"), ports=[{"name": "app", "port": 8081}], name="svc-y"),
    ]
    assert service_backends(moved, family="IPv4", port_name="app") == [
        ("127.0.1.2", 9000),
        ("127.0.1.3", 8081),
    ]
    assert service_backends(moved, family="IPv4", port_name="grpc") == [("127.0.1.2", 50051)]


def test_the_proxy_shifts_a_pods_port_where_the_sandbox_moved_it_and_leaves_other_addresses_alone():
    def host_port(pod_name: str, port: int) -> int:
        return port + 100 if pod_name else port

    backends = service_backends(SHAPES, family="IPv4", port_name="app", host_port=host_port)
    assert backends == [("127.0.1.2", 8181), ("127.0.1.3", 8181), ("127.0.1.8", 8081)]
    # Where pods cannot have addresses of their own they share 127.0.0.1, each on its own port.
    shared = [endpoint_slice("IPv4", pod("127.0.0.1", "a"), pod("127.0.0.1", "b"))]
    ports = {"a": 18100, "b": 18110}
    assert service_backends(shared, family="IPv4", port_name="app", host_port=lambda p, _: ports[p]) == [
        ("127.0.0.1", 18100),
        ("127.0.0.1", 18110),
    ]


def test_the_cache_reads_a_services_slices_again_only_when_one_of_them_changed():
    def versioned(endpoint_slice: dict, version: str) -> dict:
        return {**endpoint_slice, "metadata": {**endpoint_slice["metadata"], "resourceVersion": version}}

    cache = BackendCache()
    first = [versioned(s, "1") for s in SHAPES]
    assert cache.backends(("default", "svc"), first, family="IPv4", port_name="app") == service_backends(
        SHAPES, family="IPv4", port_name="app"
    )
    # Same names and versions: the answer read before, even from slices that say otherwise.
    unchanged = [
        versioned(endpoint_slice("IPv4", pod("127.0.1.7", "z"), name=s["metadata"]["name"]), "1")
        for s in SHAPES
    ]
    assert cache.backends(("default", "svc"), unchanged, family="IPv4", port_name="app") == service_backends(
        SHAPES, family="IPv4", port_name="app"
    )
    changed = [*first[:-1], versioned(endpoint_slice("IPv4", pod("127.0.1.7", "z"), name="svc-empty"), "2")]
    assert ("127.0.1.7", 8081) in cache.backends(("default", "svc"), changed, family="IPv4", port_name="app")
    # Many slices of one Service (the controller cuts at 100 endpoints): every ready one counts.
    many = [
        versioned(
            endpoint_slice(
                "IPv4", *(pod(f"127.0.{n}.{i}", f"p{n}-{i}") for i in range(2, 102)), name=f"s{n}"
            ),
            "3",
        )
        for n in range(10)
    ]
    assert len(cache.backends(("default", "big"), many, family="IPv4", port_name="app")) == 1000


def test_a_services_slices_are_those_labelled_with_its_name_in_its_namespace():
    labelled = {"metadata": {"namespace": "default", "labels": {"kubernetes.io/service-name": "svc"}}}
    elsewhere = {"metadata": {"namespace": "other", "labels": {"kubernetes.io/service-name": "svc"}}}
    accepts = of_service("svc")
    assert (
        accepts(labelled) and not accepts(elsewhere) and not accepts({"metadata": {"namespace": "default"}})
    )


def rows(resource, objects: list[dict]) -> list[list]:
    return [row["cells"] for row in tables.table(resource, objects, resource_version="1")["rows"]]


def test_kubectl_get_endpointslices_prints_every_shape_as_the_api_servers_printer_does():
    nil_port = endpoint_slice(
        "IPv4", pod("127.0.1.2", "a"), ports=[{"name": "all", "port": None}, {"port": None}]
    )
    printed = rows(resources.ENDPOINT_SLICES, [*SHAPES, nil_port, {**endpoint_slice("IPv4"), "ports": None}])
    assert [cells[:4] for cells in printed] == [
        ["svc-v4", "IPv4", "8081,50051", "127.0.1.2,127.0.1.3"],
        ["svc-v6", "IPv6", "8081,50051", "fd00::2,fd00::3"],
        ["svc-v4-moving", "IPv4", "8081,50051", "127.0.1.2"],
        ["svc-fqdn", "FQDN", "8081,50051", "127.0.1.9"],
        ["svc-selectorless", "IPv4", "8081,50051", "127.0.1.8"],
        ["svc-leaving", "IPv4", "8081,50051", "127.0.1.4"],
        ["svc-empty", "IPv4", "8081,50051", "<unset>"],
        ["svc-x", "IPv4", "all,*", "127.0.1.2"],
        ["svc-x", "IPv4", "<unset>", "<unset>"],
    ]


def test_a_long_endpoint_list_is_cut_after_3_with_how_many_more():
    many = endpoint_slice("IPv4", *(pod(f"127.0.1.{n}", f"p{n}") for n in range(2, 7)))
    assert rows(resources.ENDPOINT_SLICES, [many])[0][3] == "127.0.1.2,127.0.1.3,127.0.1.4 + 2 more..."


def test_kubectl_get_endpoints_brackets_ipv6_and_lists_ready_addresses_only():
    def endpoints(*subsets: dict) -> dict:
        return {"metadata": {"name": "svc", **CREATED}, "subsets": list(subsets)}

    printed = rows(
        resources.ENDPOINTS,
        [
            endpoints({"addresses": [{"ip": "fd00::2"}], "ports": [{"port": 8081}]}),
            endpoints({"notReadyAddresses": [{"ip": "127.0.1.2"}], "ports": [{"port": 8081}]}),
            endpoints(),
            endpoints({"addresses": [{"ip": "127.0.1.2"}]}),
        ],
    )
    assert [cells[1] for cells in printed] == ["[fd00::2]:8081", "", "<none>", "127.0.1.2"]
