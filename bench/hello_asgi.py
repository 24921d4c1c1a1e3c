"""The baseline: the barest ASGI app that answers, under the same uvicorn as the real one."""

_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"text/plain"), (b"content-length", b"4")],
}
_BODY = {"type": "http.response.body", "body": b"pong"}


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send(_START)
    await send(_BODY)
