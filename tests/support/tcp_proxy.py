"""Two app processes behind one address, for the app's own tests: the sandbox's Service proxy
(round robin, so every test run takes the same turns), run on a loop in a thread."""

from __future__ import annotations

import asyncio
import threading

from sandbox.proxy import ServiceProxy
from tests.support.processes import free_port


class RoundRobinProxy:
    def __init__(self, backends: list[tuple[str, int]]) -> None:
        self.port = free_port()
        self._proxy = ServiceProxy("127.0.0.1", self.port, mode="round-robin")
        self._backends = backends
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def _call(self, coroutine) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(5)

    def __enter__(self) -> RoundRobinProxy:
        self._thread.start()
        self._call(self._proxy.set_backends(self._backends))
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._call(self._proxy.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
