from django.urls import path

from combat_app import views

urlpatterns = [
    path("", views.index, name="index"),
    path("service", views.service, name="service"),
    path("hostname", views.hostname, name="hostname"),
    path("dial", views.dial, name="dial"),
]
