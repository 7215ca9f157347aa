"""HTTP concerns around the BentoML service: size limit, GET /model, pages, refusals, quiet 4xx.

Every 4xx answer leaves in the service's one error shape (``error_bodies``).
"""

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from bentoml.exceptions import BentoMLException
from pydantic import ValidationError

from .error_bodies import error_document, problem, rewritten
from .pages import pages, send_page

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
OnRejected = Callable[[int, bytes, bytes], None]
"""Told of each /predict answered with a 4xx: the status, the request body, the response body."""


def _media_type(scope: Scope) -> str:
    """The request's media type in lower case, without parameters ("" when not given)."""
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return str(value.decode("latin-1").split(";", 1)[0].strip().lower())
    return ""


def _is_json(media_type: str) -> bool:
    """JSON, or no content type at all (as many simple clients send it)."""
    return media_type in ("", "application/json") or media_type.endswith("+json")


async def _send_json(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _errors_shaped(send: Send, scope: Scope) -> Send:
    """``send``, with the body of every 4xx answer rewritten in the service's error shape."""
    if scope["method"] == "HEAD":  # an answer without a body
        return send
    held: Message | None = None
    chunks: list[bytes] = []

    async def shaped(message: Message) -> None:
        nonlocal held
        if message["type"] == "http.response.start" and 400 <= message["status"] < 500:  # noqa: PLR2004
            held = message
            return
        if held is None or message["type"] != "http.response.body":
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        status = int(held["status"])
        body = rewritten(status, b"".join(chunks), scope["method"], scope["path"])
        kept = [(name, value) for name, value in held.get("headers", []) if name not in _REPLACED]
        length = str(len(body)).encode()
        headers = [*kept, (b"content-type", b"application/json"), (b"content-length", length)]
        await send({**held, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return shaped


_REPLACED = (b"content-type", b"content-length")
"""Headers of a 4xx answer that its rewritten body replaces."""


class RequestGuard:
    """Refuses bodies that are not JSON (415) or too large (413), answers pages and /model.

    Every 4xx answer gets the service's error shape. The pages are the service's own (``/``,
    ``/docs``: see ``pages``). ``on_rejected`` is told of every ``/predict`` answered with a
    4xx, with the answer as the framework gave it.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        model_info: Callable[[], dict[str, Any]],
        on_rejected: OnRejected,
        title: str,
    ) -> None:
        self.app = app
        self.pages = pages(title)
        self.max_bytes = max_bytes
        self.model_info = model_info
        self.on_rejected = on_rejected

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "GET" and scope["path"] == "/model":
            await _send_json(send, 200, json.dumps(self.model_info()).encode())
            return
        if scope["method"] == "GET" and (page := self.pages.get(scope["path"])) is not None:
            await send_page(send, page)
            return
        if scope["method"] != "POST":
            await self.app(scope, receive, _errors_shaped(send, scope))
            return
        await self._post(scope, receive, send)

    async def _post(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A POST: refused unless JSON within ``max_bytes``, else read whole and passed on."""
        if not _is_json(media := _media_type(scope)):
            how = "send it with Content-Type: application/json"
            error = f"the body must be JSON, not {media}"
            await self._refuse(scope, send, 415, error, problem(["body"], how, "media_type"))
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_bytes:
                error = f"request body is larger than {self.max_bytes} bytes"
                how = "split the records into smaller requests"
                await self._refuse(scope, send, 413, error, problem(["body"], how, "too_large"))
                return
        body = b"".join(chunks)
        send = _errors_shaped(send, scope)  # the guard's own refusals above have the shape
        if scope["path"] == "/predict":
            send = self._watched(send, body)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(
        self, scope: Scope, send: Send, status: int, error: str, how: dict[str, Any]
    ) -> None:
        """Answer ``status`` about the whole body before reading it (reported for /predict)."""
        if scope["path"] == "/predict":
            self.on_rejected(status, b"", b"")
        await _send_json(send, status, error_document(error, [how]))

    def _watched(self, send: Send, request: bytes) -> Send:
        """``send``, telling ``on_rejected`` once a 4xx answer has been sent whole."""
        status = 0
        answer: list[bytes] = []

        async def watched(message: Message) -> None:
            nonlocal status
            await send(message)
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and 400 <= status < 500:  # noqa: PLR2004
                answer.append(message.get("body", b""))
                if not message.get("more_body", False):
                    self.on_rejected(status, request, b"".join(answer))

        return watched


class ClientErrorsAreNotServerErrors(logging.Filter):
    """Turns BentoML's ERROR-with-traceback for a rejected request into one INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite records about 4xx errors; keep everything else as it is."""
        error = record.exc_info[1] if record.exc_info else None
        client_error = isinstance(error, ValidationError) or (
            isinstance(error, BentoMLException) and int(error.error_code) < 500  # noqa: PLR2004
        )
        if client_error:
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg = "Rejected a request: %s"
            record.args = (str(error).splitlines()[0],)
            record.exc_info, record.exc_text = None, None
        return True
