"""Run a pod's server: uvicorn, with the readiness drain on SIGTERM and a clean exit 0.

Plain ``uvicorn`` stops accepting connections the moment SIGTERM arrives and then re-raises
the signal, so the process dies by it. A pod must instead keep serving while it leaves the
Service's endpoints (``/readyz`` turns 503 at once), then stop accepting, finish in-flight
requests and exit 0. A second SIGINT (Ctrl-C twice) forces the exit, as uvicorn's does.

    python -m combat_app.serving [--host 0.0.0.0] [--port 8081]
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from types import FrameType

import uvicorn
from django.core.exceptions import ImproperlyConfigured

from combat_app import lifecycle
from combat_app.env import env_bool, env_float, env_int, env_str

logger = logging.getLogger(__name__)


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, *, drain_seconds: float) -> None:
        super().__init__(config)
        self.drain_seconds = drain_seconds
        self._timer: threading.Timer | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if lifecycle.is_draining():
            if sig == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True
            return
        lifecycle.begin_drain()
        logger.info("%s: not ready; draining for %gs", signal.Signals(sig).name, self.drain_seconds)
        if self.drain_seconds <= 0:
            self.should_exit = True
            return
        # uvicorn's main loop polls should_exit every 0.1 s, so a plain timer thread is enough.
        self._timer = threading.Timer(self.drain_seconds, self._stop_accepting)
        self._timer.daemon = True
        self._timer.start()

    def _stop_accepting(self) -> None:
        self.should_exit = True


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m combat_app.serving", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default=None, help="address to bind (COMBAT_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port to bind (COMBAT_PORT, default 8081)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "combat_app.settings")
    try:
        host = arguments.host or env_str("COMBAT_HOST", "127.0.0.1")
        port = arguments.port or env_int("COMBAT_PORT", 8081, minimum=1, maximum=65535)
        drain = env_float("SHUTDOWN_DRAIN_SECONDS", 3.0, minimum=0, maximum=300)
        graceful = env_float("SHUTDOWN_TIMEOUT_SECONDS", 10.0, minimum=0, maximum=300)
        access_log = env_bool("COMBAT_ACCESS_LOG", False)
        os.environ.setdefault("COMBAT_GRPC_HOST", host)  # gRPC listens where HTTP does
        from combat_app.asgi import application  # reads and checks every other setting
    except ImproperlyConfigured as exc:
        print(f"k8s-combat: configuration error: {exc}", file=sys.stderr)
        return 2
    from django.conf import settings

    config = uvicorn.Config(
        application,
        host=host,
        port=port,
        lifespan="on",
        access_log=access_log,
        log_config=None,  # Django's LOGGING already configured the handlers
        log_level=settings.LOG_LEVEL.lower(),
        timeout_graceful_shutdown=graceful,
        server_header=False,
        # A zlib context per websocket costs hundreds of KiB; calls.batch JSON is small and
        # the page is reached over port-forward, so compression buys nothing here.
        ws_per_message_deflate=False,
    )
    server = DrainingServer(config, drain_seconds=drain)
    try:
        server.run()
    except SystemExit as exc:  # uvicorn exits when it cannot bind or start up; it logged why
        if lifecycle.startup_failure:
            print(f"k8s-combat: start-up failed: {lifecycle.startup_failure}", file=sys.stderr)
            return 2
        if not server.started:
            hint = "change --port/--host or COMBAT_PORT/COMBAT_HOST"
            print(f"k8s-combat: could not serve on {host}:{port} ({hint})", file=sys.stderr)
        return exc.code if isinstance(exc.code, int) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
