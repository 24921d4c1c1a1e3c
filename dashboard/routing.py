"""Websocket routes of the dashboard (served only when COMBAT_DASHBOARD is on)."""

websocket_urlpatterns: list = []
