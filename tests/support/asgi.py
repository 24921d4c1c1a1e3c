"""Drive an ASGI app in-process (channels.testing needs daphne, which this project does not run)."""

from __future__ import annotations

from asgiref.testing import ApplicationCommunicator


async def http_request(app, method: str, path: str, headers: list[tuple[bytes, bytes]] | None = None) -> dict:
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "scheme": "http",
        "headers": headers or [(b"host", b"localhost")],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8081),
    }
    communicator = ApplicationCommunicator(app, scope)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(5)
    body = b""
    while True:
        message = await communicator.receive_output(5)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait(5)
    return {"status": start["status"], "headers": start["headers"], "body": body}
