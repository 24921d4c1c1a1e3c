"""Inside sandbox pods the Service has its cluster names and variables, as in a cluster.

Every pod reaches ``k8s-combat-service`` by the four names a pod's resolv.conf makes work, over
HTTP (``requests``) and gRPC (c-ares inside grpcio), through the sandbox's cluster DNS; the
manifests' env runs unchanged; pods get the kubelet's Service variables; and nothing on the
machine (``/etc/hosts``, its resolver) is touched. The pieces, without a cluster, are tested in
test_sandbox_cluster_dns (the DNS server and its zone) and test_sandbox_pod_environment (the
Service variables and a pod's resolver).
"""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path

import pytest
import requests
from dnslib import QTYPE, RCODE, DNSRecord

from sandbox import names
from tests.support.pods import pod_environment, run_python
from tests.support.sandbox import start_sandbox

SERVICE = "k8s-combat-service"
FOUR_NAMES = [SERVICE, f"{SERVICE}.default", f"{SERVICE}.default.svc", f"{SERVICE}.default.svc.cluster.local"]
MACHINE_FILES = [Path("/etc/hosts"), Path("/etc/resolv.conf"), Path("/etc/nsswitch.conf")]


def fingerprint() -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else "" for p in MACHINE_FILES}


@pytest.fixture(scope="module")
def machine_before():
    return fingerprint()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory, machine_before):
    cluster = start_sandbox(tmp_path_factory.mktemp("names"), dashboard=True)
    yield cluster
    cluster.stop()


# --- from inside the pods ----------------------------------------------------------------------

CALL_BY_EACH_NAME = """
import json, requests
from combat_app import greeting
answers = {}
for name in %r:
    response = requests.get(f"http://{name}:8081/ping", timeout=10)
    greeter = greeting.Greeter(f"{name}:50051")
    reply = greeter.say_hello("v1", timeout=10)
    greeter.close()
    pod = response.headers["X-Pod-Name"]
    answers[name] = [response.status_code, response.text, pod, reply.outcome, reply.pod]
print(json.dumps(answers))
"""


@pytest.mark.slow
@pytest.mark.parametrize("deployment", ["k8s-combat", SERVICE])
def test_a_pod_reaches_the_service_by_each_of_its_four_names_over_http_and_grpc(sandbox, deployment):
    env = pod_environment(sandbox, deployment)
    answers = json.loads(run_python(env, CALL_BY_EACH_NAME % (FOUR_NAMES,)))
    assert set(answers) == set(FOUR_NAMES)
    for name, (status, body, http_pod, grpc_outcome, grpc_pod) in answers.items():
        assert (status, body, grpc_outcome) == (200, "pong", "ok"), name
        assert http_pod.startswith(f"{SERVICE}-") and grpc_pod.startswith(f"{SERVICE}-"), name


@pytest.mark.slow
@pytest.mark.parametrize("suffix", ["", ".default", ".default.svc", ".default.svc.cluster.local"])
def test_the_seeds_grpc_client_url_answers_from_a_provider_pod_by_each_service_name(sandbox, suffix):
    url = f"{sandbox.dashboard_url}/grpc_client?name={SERVICE}{suffix}&version=1"
    response = requests.get(url, timeout=30)
    assert response.status_code == 200, response.text
    assert response.text.startswith(f"hostname:{SERVICE}-") and response.text.endswith(", in:1")


@pytest.mark.slow
def test_the_consumer_calls_the_service_by_the_name_its_manifest_gives(sandbox):
    consumer = pod_environment(sandbox, "k8s-combat")
    assert consumer["COMBAT_SERVICE_URL"] == f"http://{SERVICE}:8081", "the manifest's env, unchanged"
    assert "COMBAT_SERVICE_URL" not in pod_environment(sandbox, SERVICE), "the providers' manifest sets none"
    answer = requests.get(f"{sandbox.dashboard_url}/service?format=json", timeout=30).json()
    assert answer["outcome"] == "ok" and answer["pod"].startswith(f"{SERVICE}-")
    assert requests.get(f"{sandbox.dashboard_url}/service", timeout=30).text == "200 OK"


@pytest.mark.slow
def test_pods_get_the_service_variables_a_kubelet_injects(sandbox):
    ip = sandbox.cluster_ip
    expected = {
        "K8S_COMBAT_SERVICE_SERVICE_HOST": ip,
        "K8S_COMBAT_SERVICE_SERVICE_PORT": "8081",
        "K8S_COMBAT_SERVICE_SERVICE_PORT_APP": "8081",
        "K8S_COMBAT_SERVICE_SERVICE_PORT_GRPC": "50051",
        "K8S_COMBAT_SERVICE_PORT": f"tcp://{ip}:8081",
        "K8S_COMBAT_SERVICE_PORT_8081_TCP": f"tcp://{ip}:8081",
        "K8S_COMBAT_SERVICE_PORT_8081_TCP_PROTO": "tcp",
        "K8S_COMBAT_SERVICE_PORT_8081_TCP_PORT": "8081",
        "K8S_COMBAT_SERVICE_PORT_8081_TCP_ADDR": ip,
        "K8S_COMBAT_SERVICE_PORT_50051_TCP": f"tcp://{ip}:50051",
        "K8S_COMBAT_SERVICE_PORT_50051_TCP_PROTO": "tcp",
        "K8S_COMBAT_SERVICE_PORT_50051_TCP_PORT": "50051",
        "K8S_COMBAT_SERVICE_PORT_50051_TCP_ADDR": ip,
    }
    for deployment in ("k8s-combat", SERVICE):
        env = pod_environment(sandbox, deployment)
        assert {k: v for k, v in env.items() if k.startswith("K8S_COMBAT_SERVICE_")} == expected
        # The sandbox has no `kubernetes` Service, so no KUBERNETES_SERVICE_HOST: the dashboard
        # reads it as "in a cluster" and would look for a ServiceAccount token there is none of.
        assert not [k for k in env if k.startswith("KUBERNETES_")]
        # ...and its resolv.conf, as the kubelet writes it for dnsPolicy ClusterFirst.
        assert env["LOCALDOMAIN"] == "default.svc.cluster.local svc.cluster.local cluster.local"
        assert env["RES_OPTIONS"] == "ndots:5"
    assert "KUBECONFIG" in pod_environment(sandbox, "k8s-combat")  # the dashboard still finds its API


UNKNOWN_NAMES = """
import json, socket, time
from combat_app import greeting
found = {}
for name in ["nosuch.default.svc.cluster.local", "nosuch", "localhost"]:
    started = time.monotonic()
    try:
        found[name] = socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)[0][4][0]
    except socket.gaierror as exc:
        found[name] = "NXDOMAIN" if exc.errno == socket.EAI_NONAME else f"error {exc.errno}"
    found[name + " seconds"] = time.monotonic() - started
reply = greeting.Greeter("nosuch:50051").say_hello("v1", timeout=5)
found["grpc nosuch"] = reply.outcome
print(json.dumps(found))
"""


@pytest.mark.slow
def test_a_name_the_cluster_does_not_have_fails_as_nxdomain_and_localhost_is_still_the_machines(sandbox):
    found = json.loads(run_python(pod_environment(sandbox, SERVICE), UNKNOWN_NAMES))
    # A name in the cluster domain is the cluster DNS's to answer: NXDOMAIN, at once.
    assert found["nosuch.default.svc.cluster.local"] == "NXDOMAIN"
    # At once: well under glibc's 5 s wait for a server that does not answer.
    assert found["nosuch.default.svc.cluster.local seconds"] < 4
    # A short name no Service has goes on, after the search list, to the machine's resolver (as
    # CoreDNS forwards it upstream), which does not know it either, or cannot be reached.
    assert found["nosuch"] == "NXDOMAIN" or found["nosuch"].startswith("error")
    assert found["localhost"] == "127.0.0.1"
    assert found["grpc nosuch"] == "grpc-UNAVAILABLE"


# --- the cluster DNS itself -----------------------------------------------------------------------


def ask(sandbox, name: str, kind: str = "A") -> DNSRecord:
    server = names.dns_address(sandbox.cluster_ip)
    return DNSRecord.parse(DNSRecord.question(name, kind).send(server, names.DNS_PORT, timeout=5))


@pytest.mark.slow
def test_the_cluster_dns_answers_as_coredns_does(sandbox):
    fqdn = f"{SERVICE}.default.svc.cluster.local"
    a = ask(sandbox, fqdn)
    assert (a.header.rcode, a.header.aa, [str(r.rdata) for r in a.rr]) == (
        RCODE.NOERROR,
        1,
        [sandbox.cluster_ip],
    )
    assert a.rr[0].ttl == 5
    aaaa = ask(sandbox, fqdn, "AAAA")  # the name exists, with no IPv6 address: no record, no error
    assert (aaaa.header.rcode, aaaa.rr, [r.rtype for r in aaaa.auth]) == (RCODE.NOERROR, [], [QTYPE.SOA])
    srv = ask(sandbox, f"_grpc._tcp.{fqdn}", "SRV")
    assert [str(r.rdata) for r in srv.rr] == [f"0 100 50051 {fqdn}."]
    assert [str(r.rdata) for r in srv.ar] == [sandbox.cluster_ip]
    assert ask(sandbox, "nosuch.default.svc.cluster.local").header.rcode == RCODE.NXDOMAIN
    assert [str(r.rdata) for r in ask(sandbox, "127-0-1-2.default.pod.cluster.local").rr] == ["127.0.1.2"]
    # Other types of a Service's name: no record. (Short names are the clients' search list at
    # work, not the server's, as with CoreDNS: see the pods' tests above.)
    assert ask(sandbox, fqdn, "TXT").rr == []


@pytest.mark.slow
def test_nothing_on_the_machine_changed(sandbox, machine_before):
    requests.get(f"{sandbox.dashboard_url}/grpc_client?name={SERVICE}&version=1", timeout=30)
    assert fingerprint() == machine_before, "/etc/hosts, /etc/resolv.conf and nsswitch.conf are as they were"
    # Outside the pods (this test's own process), the cluster's names mean nothing.
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(SERVICE, 8081)}
    except socket.gaierror:
        addresses = set()
    assert sandbox.cluster_ip not in addresses
