"""An HTTP server that takes its time to answer: a pod busy with a request in flight."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class SlowUpstream:
    def __init__(self, delay_seconds: float) -> None:
        delay = delay_seconds
        self.received = received = threading.Event()  # set when a request has arrived

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                received.set()
                time.sleep(delay)
                self.send_response(200)
                self.send_header("Content-Length", "4")
                self.send_header("X-Pod-Name", "slow-pod")
                self.end_headers()
                self.wfile.write(b"pong")

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> SlowUpstream:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
