from django.apps import AppConfig


class CombatAppConfig(AppConfig):
    name = "combat_app"
    verbose_name = "k8s-combat app"
