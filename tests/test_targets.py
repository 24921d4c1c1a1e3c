"""``DASHBOARD_SERVICES`` as ``combat_app.targets`` reads it: which Services, under which names,
called where. The rules are the API server's for names (DNS-1035 Service names, DNS-1123
namespaces) and cluster DNS's for the names a pod may use."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from combat_app.targets import MAX_TARGETS, BadTarget, Target, base_urls, parse_target, parse_targets


def test_a_bare_name_is_in_the_dashboards_namespace_and_a_dotted_one_in_its_own():
    assert parse_targets(["web", "web.team-b", "api.default"], "default") == (
        Target("web", "default"),
        Target("web", "team-b"),
        Target("api", "default"),
    )


def test_at_home_a_target_is_called_by_its_short_name_elsewhere_by_its_full_name():
    home, other = Target("web", "default"), Target("web", "team-b")
    urls = base_urls((home, other), home=home, home_url="http://10.0.0.7:8081", own_namespace="default")
    assert urls == {
        "web.default": "http://10.0.0.7:8081",
        "web.team-b": "http://web.team-b.svc.cluster.local:8081",
    }
    assert Target("api", "default").host("default") == "api"
    assert other.dns_names("default") == ("web.team-b", "web.team-b.svc", "web.team-b.svc.cluster.local")
    assert "web" not in other.dns_names("default"), "a short name would resolve in the caller's own namespace"


@pytest.mark.parametrize(
    "entry",
    ["Web", "1web", "web-", "we_b", "web.Team", "web.team.x", "web:80", "", "a" * 64, "web." + "n" * 64],
)
def test_what_the_api_server_would_not_take_as_a_name_is_refused(entry):
    with pytest.raises(BadTarget) as refused:
        parse_target(entry, "default")
    assert str(refused.value).startswith(f"{entry!r}: "), "the message quotes what was written"


def test_a_list_is_refused_when_empty_too_long_or_naming_a_service_twice():
    with pytest.raises(BadTarget, match="at least one"):
        parse_targets([], "default")
    with pytest.raises(BadTarget, match=f"at most {MAX_TARGETS}"):
        parse_targets([f"s{i}" for i in range(MAX_TARGETS + 1)], "default")
    with pytest.raises(BadTarget, match=r"web\.default is named twice"):
        parse_targets(["web", "web.default"], "default")


@settings(deadline=None)  # a busy machine may pause the process; the property is not about time
@given(st.text(max_size=140))
def test_whatever_is_written_a_target_is_a_cluster_dns_name_or_refused(entry):
    try:
        target = parse_target(entry, "default")
    except BadTarget:
        return
    host = target.host("other")
    assert host == f"{target.name}.{target.namespace}.svc.cluster.local"
    assert all(c.isascii() and (c.isalnum() or c in "-.") for c in host), (
        "no scheme, port, path or credentials"
    )
