"""What authentication adds to a request: p50 and p99 of the service's token check, in process.

Runs inside a generated project: `uv run python authentication.py`. The project's own ASGI
middleware (`serving.api_auth.Authenticator`) in front of an app that answers at once, called as the
server calls it: without tokens (a loopback caller), and with 1 and 20 entries in
APP_API_TOKENS (the right token last, so every entry is compared, as always).
"""

import asyncio
import statistics
import time
from typing import Any

from customer_churn.serving import api_auth as auth

ROUNDS = 20_000


async def answer(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def timed(app: Any, headers: list[tuple[bytes, bytes]]) -> tuple[float, float]:
    """p50 and p99 of one POST /predict through ``app``, in microseconds."""
    scope = {"type": "http", "path": "/predict", "headers": headers, "client": ("127.0.0.1", 1)}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        return None

    times = []
    for index in range(ROUNDS + 1000):
        started = time.perf_counter()
        await app(dict(scope), receive, send)
        if index >= 1000:  # warmed up
            times.append((time.perf_counter() - started) * 1e6)
    cuts = statistics.quantiles(times, n=100)
    return cuts[49], cuts[98]


async def main() -> None:
    cases: dict[str, tuple[Any, list[tuple[bytes, bytes]]]] = {
        "no middleware": (answer, []),
        "no tokens (loopback caller)": (auth.Authenticator(answer, (), False), []),
    }
    for count in (1, 20):
        entries = [auth.new_token(f"caller-{i}", [auth.Permission.PREDICT]) for i in range(count)]
        tokens = auth.parse_tokens(",".join(entry for _, entry in entries))
        header = [(b"authorization", f"Bearer {entries[-1][0]}".encode())]
        cases[f"{count} token(s), the right one"] = (
            auth.Authenticator(answer, tokens, False),
            header,
        )
    print(f"Authentication per request, {ROUNDS:,} calls each\n")
    print("| Case | p50 (µs) | p99 (µs) |")
    print("| --- | --- | --- |")
    for name, (app, headers) in cases.items():
        p50, p99 = await timed(app, headers)
        print(f"| {name} | {p50:,.1f} | {p99:,.1f} |")


asyncio.run(main())
