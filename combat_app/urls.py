from django.conf import settings
from django.urls import include, path

from combat_app import views

urlpatterns = [
    path("service", views.service, name="service"),
    path("hostname", views.hostname, name="hostname"),
    path("dial", views.dial, name="dial"),
    path("grpc_client", views.grpc_client, name="grpc-client"),
]

if settings.COMBAT_DASHBOARD:
    urlpatterns.append(path("", include("dashboard.urls")))  # "/" is the dashboard's page
else:
    urlpatterns.append(path("", views.index, name="index"))
