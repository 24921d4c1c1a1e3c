"""The ASGI application every pod serves: a lean front for the hot paths, then Channels.

Django is set up first (``get_asgi_application()``), as Channels requires, before anything
that imports models or consumers.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "combat_app.settings")

from django.conf import settings
from django.core.asgi import get_asgi_application

django_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from combat_app import identity  # noqa: E402
from combat_app.front import Front  # noqa: E402


def _websocket_routes() -> list:
    if not settings.COMBAT_DASHBOARD:
        return []
    from dashboard.routing import websocket_urlpatterns

    return websocket_urlpatterns


application = Front(
    ProtocolTypeRouter(
        {
            "http": django_app,
            "websocket": AllowedHostsOriginValidator(URLRouter(_websocket_routes())),
        }
    ),
    identity=identity.current(),
)
