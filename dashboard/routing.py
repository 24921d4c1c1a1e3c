"""Websocket routes of the dashboard (served only when COMBAT_DASHBOARD is on)."""

from django.urls import path

from dashboard.consumers import DashboardConsumer

websocket_urlpatterns = [path("ws/dashboard/", DashboardConsumer.as_asgi())]
