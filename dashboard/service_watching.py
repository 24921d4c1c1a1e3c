"""The Service watcher: the dashboard's own Service object, read for its settings.

The same loop as the endpoint watcher (``watching.EndpointWatcher``: list, watch from the list's
resourceVersion, relist on 410 Gone, resume a silent or ended stream, back off on errors), over
one object: ``list``/``watch`` of ``services`` with ``fieldSelector=metadata.name=<service>``,
which the Role grants on that name alone (``resourceNames``). Each event replaces the settings
(``service_settings.settings_of``); ``on_change(settings)`` is called, from the watcher's thread,
when they differ from the last ones handed on.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import replace

from dashboard import kube
from dashboard.service_settings import settings_of
from dashboard.watching import EndpointWatcher, WatchSettings

logger = logging.getLogger(__name__)


class ServiceWatcher(EndpointWatcher):
    """Keeps ``settings`` equal to the server's Service, calling ``on_change(settings)`` on each
    change (``settings_of(None)`` while the Service is absent)."""

    def __init__(
        self,
        connect: Callable[[], kube.Cluster],
        settings: WatchSettings,
        on_change: Callable[[dict], None],
        *,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(connect, replace(settings, kind="services"), on_change, rng=rng)  # type: ignore[arg-type]
        self.settings_now = settings_of(None)
        self._settings_lock = threading.Lock()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="service-watcher", daemon=True)
        self._thread.start()

    def _relist(self, cluster: kube.Cluster) -> str:
        self._pace()
        items, version = kube.list_objects(
            cluster, "services", self.settings.service, timeout=self.settings.request_seconds
        )
        self.stats.lists += 1
        self._replace(next((i for i in items if i["metadata"]["name"] == self.settings.service), None))
        return version

    def _apply(self, event: dict) -> str | None:
        kind, obj = event.get("type"), event.get("object") or {}
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if kind not in ("ADDED", "MODIFIED", "DELETED"):
            return version  # BOOKMARK, or a type this code does not know
        if obj["metadata"]["name"] == self.settings.service:
            self._replace(None if kind == "DELETED" else obj)
        return version

    def _replace(self, service: dict | None) -> None:
        settings = settings_of(service)
        with self._settings_lock:
            if settings == self.settings_now:
                return
            self.settings_now = settings
        self.on_change(settings)  # type: ignore[arg-type]
