"""The service's own pages and API description, loading nothing from another origin.

BentoML's root page is Swagger UI with Google Tag Manager in it, and its API description links
badge images from five other sites. Here the root page is plain, the docs page is Swagger UI
from the assets BentoML ships (``/static_content/``) started by a script of ours that turns off
its online validator (a badge from validator.swagger.io), and the description is the
contract's. Each page's Content-Security-Policy lets the browser load from this origin only.
"""

import html
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from ..contract.data_contract import DataContract

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]

SAME_ORIGIN = b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"
"""Swagger UI sets style attributes and draws icons from data: URLs; nothing else is allowed."""

ROOT = """<!doctype html><html lang="en"><meta charset="utf-8"><title>{title}</title>
<h1>{title}</h1><p>A prediction service. Nothing on this page comes from another origin.</p>
<ul><li><code>POST /predict</code> and <code>POST /feedback</code>: with a bearer token
(<code>Authorization: Bearer &lt;token&gt;</code>) when the service has tokens</li>
<li><a href="./docs">API docs</a> and <code>GET /docs.json</code>, the OpenAPI document: for
callers on this machine, or with a token</li>
<li><code>GET /model</code>, <code>GET /metrics</code>: for operators</li>
<li><code>GET /livez</code>, <code>GET /readyz</code>: open, for probes</li></ul></html>
"""

DOCS = """<!doctype html><html lang="en"><meta charset="utf-8"><title>API docs: {title}</title>
<link rel="stylesheet" href="./static_content/swagger-ui.css">
<link rel="icon" href="./static_content/favicon-light-32x32.png">
<div id="swagger-ui"></div>
<script src="./static_content/swagger-ui-bundle.js"></script>
<script src="./static_content/swagger-ui-standalone-preset.js"></script>
<script src="./docs/start.js"></script></html>
"""

START_DOCS = """window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "./docs.json",
    dom_id: "#swagger-ui",
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout",
  });
};
"""


def api_description(contract: DataContract) -> str:
    """The OpenAPI document's description: what the service predicts and how to call it."""
    what = contract.problem_type.value.replace("_", " ")
    about = f" {contract.description}" if contract.description else ""
    return (
        f"Predicts `{contract.target.name}` ({what}) from {len(contract.features)} features, "
        f"as the data contract `{contract.name}` declares them.{about}\n\n"
        "`POST /predict` takes `records`; each result has a `prediction_id`, under which "
        "`POST /feedback` takes the true outcome once it is known. When the service has tokens "
        "(`APP_API_TOKENS`), send `Authorization: Bearer <token>`: one with the `predict` or "
        "`feedback` scope. `GET /livez` and `GET /readyz` are open.\n\n"
        "Every refusal (4xx) has one shape: `error`, one line; `count`, the problems found; "
        '`detail`, the first twenty, each with `loc` (where: `["records", 0, "<column>"]`, '
        'a field of the body, `["body"]`, `["path"]`), `field` (the column or field '
        "name, as the contract names it), `msg` (the rule broken) and `type`."
    )


@dataclass(frozen=True)
class Page:
    """One answer to a GET: its type, body and Content-Security-Policy."""

    content_type: bytes
    body: bytes
    policy: bytes


def pages(title: str) -> dict[str, Page]:
    """The pages by path, titled ``title``."""
    escaped = html.escape(title)
    page = b"text/html; charset=utf-8"
    return {
        "/": Page(page, ROOT.format(title=escaped).encode(), b"default-src 'none'"),
        "/docs": Page(page, DOCS.format(title=escaped).encode(), SAME_ORIGIN),
        "/docs/start.js": Page(b"text/javascript", START_DOCS.encode(), b"default-src 'none'"),
    }


async def send_page(send: Send, page: Page) -> None:
    """Answer with ``page``."""
    headers = [
        (b"content-type", page.content_type),
        (b"content-length", str(len(page.body)).encode()),
        (b"content-security-policy", page.policy),
        (b"x-content-type-options", b"nosniff"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": page.body})
