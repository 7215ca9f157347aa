"""One shape for every error answer (4xx) of the service, whoever refused the request.

    {"error": "<one line>", "count": <problems>,
     "detail": [{"loc": [...], "field": "<name>" | null, "msg": "<the rule>", "type": "<kind>"}]}

``loc`` says where: ``["records", 0, "<column>"]`` for a field of a record (named as in the data
contract), ``["prediction_id"]`` for a field of the body, ``["body"]``, ``["header", ...]`` or
``["path"]``; ``field`` is the name alone. ``detail`` lists the first ``SHOWN_PROBLEMS``, ``count``
says how many there were: a thousand bad records make a short answer. The framework's own
bodies (pydantic's validation errors, BentoML's and Starlette's refusals) are rewritten into it,
without class names or links to other sites.
"""

import json
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

SHOWN_PROBLEMS = 20
"""Problems listed in ``detail`` at most."""
SHOWN_NAMES = 5
"""Field names an error's one line lists at most."""
_WRAPPERS = ("Value error, ", "Assertion failed, ")
"""Prefixes pydantic puts before the messages of validators' own errors."""
_BENTOML_PREFIX = "BentoService error handling API request: "
_NOT_FIELDS = ("body", "header", "path", "method")
"""Where a problem can be that is not a field of the request."""

Problem = dict[str, Any]


def problem(loc: Sequence[str | int], msg: str, kind: str) -> Problem:
    """One problem: where (``loc``), the field's name, the rule broken and its kind."""
    for prefix in _WRAPPERS:
        msg = msg.removeprefix(prefix)
    named = bool(loc) and isinstance(loc[-1], str) and loc[0] not in _NOT_FIELDS
    field = str(loc[-1]) if named else None
    return {"loc": list(loc), "field": field, "msg": msg, "type": kind}


def error_document(error: str, problems: Sequence[Problem]) -> bytes:
    """The body of an error answer: ``error``, how many ``problems``, the first of them."""
    shown = list(problems[:SHOWN_PROBLEMS])
    return json.dumps({"error": error, "count": len(problems), "detail": shown}).encode()


def summary(problems: Sequence[Problem]) -> str:
    """One line for a refused body: the records and fields at fault, or the first problem."""
    fields = [item for item in problems if _in_a_record(item["loc"])]
    if fields and len(fields) == len(problems):
        records = {item["loc"][1] for item in fields}
        names = list(dict.fromkeys(item["field"] for item in fields if item["field"]))
        listed = ", ".join(names[:SHOWN_NAMES])
        more = f" and {len(names) - SHOWN_NAMES} more" if len(names) > SHOWN_NAMES else ""
        where = f": {listed}{more}" if names else ""
        breaks = "record breaks" if len(records) == 1 else "records break"
        return f"{len(records)} {breaks} the data contract{where}"
    first = problems[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def _in_a_record(loc: Sequence[str | int]) -> bool:
    return len(loc) > 1 and loc[0] == "records" and isinstance(loc[1], int)


def rewritten(status: int, body: bytes, method: str, path: str) -> bytes:
    """``body`` of a 4xx answer in the service's error shape, whatever produced it."""
    try:
        parsed: Any = json.loads(body) if body else None
    except ValueError:
        parsed = body.decode("utf-8", "replace").strip()
    if isinstance(parsed, list) and len(parsed) == 1:  # BentoML answers some errors as a list
        parsed = parsed[0]
    if isinstance(parsed, dict) and isinstance(details := parsed.get("detail"), list):
        problems = [
            problem(item.get("loc", []), str(item.get("msg", "")), str(item.get("type", "")))
            for item in details
            if isinstance(item, dict)
        ]
        if problems:
            return error_document(summary(problems), problems)
    message = (parsed.get("error") or parsed.get("detail")) if isinstance(parsed, dict) else parsed
    return error_document(*_plain(status, str(message or ""), method, path))


def _plain(status: int, message: str, method: str, path: str) -> tuple[str, list[Problem]]:
    """The error and its one problem for an answer that carried a message alone."""
    message = message.removeprefix(_BENTOML_PREFIX)
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    kind = phrase.lower().replace(" ", "_")
    if status == HTTPStatus.NOT_FOUND and message in ("", "Not Found"):
        return f"no endpoint {path}", [problem(["path"], "see /docs for the endpoints", kind)]
    if status == HTTPStatus.METHOD_NOT_ALLOWED:
        error = f"{method} is not allowed on {path}"
        return error, [problem(["method"], "see /docs for the methods of each endpoint", kind)]
    name, _, rest = message.partition(": ")
    if rest and name.isidentifier():  # the service's own messages start with the field
        return message, [problem([name], rest, kind)]
    return message or phrase, [problem(["body"], message or phrase, kind)]
