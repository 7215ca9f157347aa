"""Who may call the service: bearer tokens from ``APP_API_TOKENS``, each with its scopes.

An entry is ``NAME:SCOPES:SECRET``: SCOPES is ``predict``, ``feedback``, ``metrics`` and
``admin`` joined by ``+`` (``admin`` may do everything); SECRET is the token itself or
``sha256:<hex digest of the token>``, so that the setting need not hold the token. ``/livez``,
``/readyz`` and the root page are open. Without tokens the service answers anonymous callers on
loopback only, unless ``APP_ALLOW_ANONYMOUS`` (unsafe) says otherwise.
"""

import hashlib
import hmac
import ipaddress
import re
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..core.errors import UserError
from .error_bodies import error_document, problem

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ANONYMOUS = "anonymous"
"""The caller's name in the prediction log when no token was needed."""


class Permission(StrEnum):
    """What a token may do."""

    PREDICT = "predict"
    FEEDBACK = "feedback"
    METRICS = "metrics"
    ADMIN = "admin"


OPEN_PATHS = frozenset({"/", "/livez", "/readyz", "/healthz"})
NEEDED = {
    "/predict": Permission.PREDICT,
    "/feedback": Permission.FEEDBACK,
    "/metrics": Permission.METRICS,
    "/model": Permission.ADMIN,
}
"""The permission each path needs; other paths (the OpenAPI document) need any valid token."""

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MIN_SECRET = 16


class TokenError(UserError, ValueError):
    """``APP_API_TOKENS`` cannot be read; the message names the entry, never its secret."""


@dataclass(frozen=True)
class Token:
    """One caller: its name (for the audit trail), what it may do, the digest of its secret."""

    name: str
    permissions: frozenset[Permission]
    digest: bytes

    def allows(self, needed: Permission | None) -> bool:
        """Whether this token may call a path that needs ``needed``."""
        return needed is None or Permission.ADMIN in self.permissions or needed in self.permissions


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def parse_tokens(text: str) -> tuple[Token, ...]:
    """The tokens of an ``APP_API_TOKENS`` value (empty: none)."""
    tokens: list[Token] = []
    for position, entry in enumerate(filter(None, (part.strip() for part in text.split(","))), 1):
        name, _, rest = entry.partition(":")
        scopes, _, secret = rest.partition(":")
        where = f"APP_API_TOKENS entry {position} ({name if NAME.match(name) else 'unnamed'})"
        if not NAME.match(name) or not scopes or not secret:
            raise TokenError(f"{where}: write NAME:SCOPES:SECRET, e.g. from `make token`")
        try:
            permissions = frozenset(Permission(scope) for scope in scopes.split("+"))
        except ValueError:
            raise TokenError(
                f"{where}: scopes are {', '.join(Permission)} joined by +, not {scopes!r}"
            ) from None
        if secret.startswith("sha256:"):
            try:
                digest = bytes.fromhex(secret.removeprefix("sha256:"))
            except ValueError:
                digest = b""
            if len(digest) != hashlib.sha256().digest_size:
                raise TokenError(f"{where}: sha256: needs the 64 hex digits of the token's digest")
        elif len(secret) < MIN_SECRET:
            raise TokenError(f"{where}: a token needs at least {MIN_SECRET} characters")
        else:
            digest = _digest(secret)
        if any(token.name == name for token in tokens):
            raise TokenError(f"{where}: the name is used twice")
        tokens.append(Token(name, permissions, digest))
    return tuple(tokens)


def new_token(name: str, permissions: list[Permission]) -> tuple[str, str]:
    """A random token, and its ``APP_API_TOKENS`` entry (which holds only its digest)."""
    if not NAME.match(name):
        raise TokenError(f"a token name is 1 to 64 letters, digits, '.', '_' or '-', not {name!r}")
    token = secrets.token_urlsafe(32)
    scopes = "+".join(dict.fromkeys(permissions))
    return token, f"{name}:{scopes}:sha256:{_digest(token).hex()}"


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (an address or ``localhost``) is this machine."""
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    body = error_document(code, [problem(["header", "authorization"], message, code)])
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:  # noqa: PLR2004
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Authenticator:
    """Refuses callers without a valid token (401) or the path's permission (403).

    The caller's name and permissions are put in the ASGI scope (``caller``, ``permissions``)
    for the audit trail and for what an endpoint allows. Tokens are
    compared by digest in constant time, against every entry, and never logged.
    """

    def __init__(self, app: ASGIApp, tokens: tuple[Token, ...], allow_anonymous: bool) -> None:
        self.app = app
        self.tokens = tokens
        self.allow_anonymous = allow_anonymous

    def _caller(self, scope: Scope) -> Token | None:
        presented = next(
            (value for key, value in scope.get("headers", []) if key == b"authorization"), b""
        )
        kind, _, token = presented.decode("latin-1").partition(" ")
        digest = _digest(token.strip()) if kind.lower() == "bearer" else b""
        found = None
        for candidate in self.tokens:  # every entry, whatever matched: constant time
            if hmac.compare_digest(candidate.digest, digest):
                found = candidate
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        if not self.tokens:
            client = scope.get("client")
            if not (self.allow_anonymous or is_loopback(client[0] if client else None)):
                await _refuse(
                    send,
                    401,
                    "unauthorized",
                    "this service has no tokens: callers "
                    "from other machines are refused (APP_API_TOKENS)",
                )
                return
            scope["caller"], scope["permissions"] = ANONYMOUS, frozenset()
            await self.app(scope, receive, send)
            return
        token = self._caller(scope)
        if token is None:
            await _refuse(send, 401, "unauthorized", "a valid bearer token is required")
            return
        if not token.allows(NEEDED.get(scope["path"])):
            await _refuse(send, 403, "forbidden", "this token may not call this endpoint")
            return
        scope["caller"], scope["permissions"] = token.name, token.permissions
        await self.app(scope, receive, send)
