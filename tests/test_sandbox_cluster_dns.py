"""The cluster DNS without a cluster: the zone's answers from a bare Store (sandbox.cluster_zone,
through sandbox.names), the server over UDP and TCP, and a clear stop when its address is taken."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys

from dnslib import QTYPE, RCODE, DNSRecord

from sandbox import names, resources
from sandbox.store import Store
from tests.support.processes import ROOT, app_environment, free_port


def _zone_answer(store, name: str, kind: str = "A") -> DNSRecord:
    return names.Answers(store).reply(DNSRecord.question(name, kind))


def test_headless_and_external_name_services_answer_as_in_a_cluster():
    store = Store()
    headless = {
        "metadata": {"name": "db", "namespace": "default"},
        "spec": {"clusterIP": "None", "ports": []},
    }
    store.create(resources.SERVICES, headless)
    endpoints = [
        {"addresses": ["127.0.1.7"], "conditions": {"ready": True}},
        {"addresses": ["127.0.1.8"], "conditions": {"ready": False}},
        {"addresses": ["127.0.1.9"]},  # ready: nil means true
    ]
    store.create(
        resources.ENDPOINT_SLICES,
        {
            "metadata": {
                "name": "db-x",
                "namespace": "default",
                "labels": {"kubernetes.io/service-name": "db"},
            },
            "addressType": "IPv4",
            "endpoints": endpoints,
        },
    )
    external = {"metadata": {"name": "web", "namespace": "default"}, "spec": {"type": "ExternalName"}}
    external["spec"]["externalName"] = "example.org"
    store.create(resources.SERVICES, external)
    assert sorted(str(r.rdata) for r in _zone_answer(store, "db.default.svc.cluster.local").rr) == [
        "127.0.1.7",
        "127.0.1.9",
    ]
    cname = _zone_answer(store, "web.default.svc.cluster.local")
    assert [(QTYPE[r.rtype], str(r.rdata)) for r in cname.rr] == [("CNAME", "example.org.")]
    assert _zone_answer(store, "db.other.svc.cluster.local").header.rcode == RCODE.NXDOMAIN
    assert _zone_answer(store, "default.svc.cluster.local").header.rcode == RCODE.NOERROR


async def test_the_cluster_dns_answers_over_udp_and_tcp():
    store = Store()
    service = {"metadata": {"name": "web", "namespace": "default"}, "spec": {"clusterIP": "127.0.10.1"}}
    store.create(resources.SERVICES, service)
    dns = names.ClusterDns(store, "127.0.0.1", free_port())
    await dns.start()
    try:
        for tcp in (False, True):
            question = DNSRecord.question("web.default.svc.cluster.local")
            packet = await asyncio.to_thread(question.send, dns.host, dns.port, tcp=tcp, timeout=5)
            assert [str(r.rdata) for r in DNSRecord.parse(packet).rr] == ["127.0.10.1"], tcp
    finally:
        await dns.close()


def test_a_cluster_dns_address_in_use_stops_start_up_naming_it_and_the_option(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.97.10", names.DNS_PORT))
        result = subprocess.run(
            [
                sys.executable,
                "manage.py",
                "sandbox",
                "--state-dir",
                str(tmp_path),
                "--api-port",
                str(free_port()),
                "--dashboard-port",
                str(free_port()),
                "--cluster-ip",
                "127.0.97.1",
                "--pod-network",
                "127.0.96",
            ],
            cwd=ROOT,
            env=app_environment(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2, result.stderr
    assert f"127.0.97.10:{names.DNS_PORT}" in result.stderr and "--cluster-ip" in result.stderr
    assert "Traceback" not in result.stderr
