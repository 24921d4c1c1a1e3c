"""The page behind DASHBOARD_TOKEN: it asks for the token, keeps it in a cookie, refuses a wrong one."""

from __future__ import annotations

import pytest
from django.test import override_settings

from dashboard import access


@pytest.fixture
def page_urls(settings):
    settings.COMBAT_DASHBOARD = True
    settings.ROOT_URLCONF = "dashboard.urls"
    settings.DASHBOARD_TOKEN = "open-sesame"


def test_without_the_token_the_page_asks_for_it(client, page_urls):
    response = client.get("/")
    assert response.status_code == 401
    assert b'name="token"' in response.content


def test_the_right_token_is_kept_in_an_httponly_cookie_and_leaves_the_address(client, page_urls):
    response = client.get("/?token=open-sesame")
    assert response.status_code == 302 and response["Location"] == "/"
    cookie = response.cookies[access.COOKIE]
    assert cookie.value == "open-sesame" and cookie["httponly"] and cookie["samesite"] == "Strict"
    assert client.get("/").status_code == 200


def test_a_wrong_token_is_refused(client, page_urls):
    response = client.get("/?token=guess")
    assert response.status_code == 401
    assert b"not the right one" in response.content


@override_settings(LANGUAGE_CODE="en")
def test_the_page_needs_no_token_when_none_is_set(client, settings):
    settings.ROOT_URLCONF = "dashboard.urls"
    settings.DASHBOARD_TOKEN = ""
    response = client.get("/")
    assert response.status_code == 200
    assert b'id="flow"' in response.content
