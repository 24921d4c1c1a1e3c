"""What a user gets for a wrong path, method or parameter: a clear answer, never a crash."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/nope", "/service/", "/ping/extra", "/static/missing.js"])
def test_unknown_paths_are_404(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("path", ["/", "/service", "/hostname", "/dial"])
def test_wrong_methods_are_405(client, path):
    response = client.post(path)
    assert response.status_code == 405
    assert "GET" in response["Allow"]


def test_the_root_names_the_pod_and_its_endpoints(client):
    response = client.get("/")
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    text = response.content.decode()
    assert "k8s-combat-test-pod" in text
    for endpoint in ("/ping", "/service", "/hostname", "/dial", "/healthz", "/readyz"):
        assert endpoint in text


def test_hostname_answers_the_pod_name(client):
    assert client.get("/hostname").content == b"k8s-combat-test-pod"


def test_service_refuses_an_unknown_format(client):
    response = client.get("/service?format=xml")
    assert response.status_code == 400
    assert response.content.startswith(b"format: must be text or json")


def test_a_foreign_host_header_is_refused(client):
    assert client.get("/hostname", HTTP_HOST="attacker.example").status_code == 400
    assert client.get("/hostname", HTTP_HOST="k8s-combat-service.other").status_code == 400


@pytest.mark.parametrize(
    "host",
    [
        "k8s-combat-service",
        "k8s-combat-service.default",
        "k8s-combat-service.default.svc",
        "k8s-combat-service.default.svc.cluster.local",
    ],
)
def test_the_service_is_answered_by_each_of_its_dns_names(client, host):
    assert client.get("/hostname", HTTP_HOST=f"{host}:8081").status_code == 200


@pytest.mark.parametrize("tries", ["²", "٣", "9" * 5000, "1e999", "NaN", "-1", ""])
def test_dial_refuses_tries_that_are_not_a_small_whole_number_with_400(client, tries):
    response = client.get("/dial", {"tries": tries})
    assert response.status_code == 400
    assert response.content.startswith(b"tries: must be a whole number")
