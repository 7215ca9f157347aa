"""The post-deployment check: the service is ready and answers one valid prediction."""

import time

import httpx

from ..contract.data_contract import DataContract
from ..contract.schemas import example_records
from ..core.errors import UserError

CLIENT_TOKEN_HINTS = {
    401: "; set APP_CLIENT_TOKEN to one of the service's tokens (`make token` makes one)",
    403: "; APP_CLIENT_TOKEN lacks the scope (predict, and feedback for --feedback)",
}


class SmokeTestError(UserError):
    """The deployed service is not ready or does not answer as it should."""


def smoke_test(client: httpx.Client, contract: DataContract, wait_seconds: float = 60) -> str:
    """Wait for ``/readyz``, send one example record; returns the version that answered."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            if client.get("/readyz").status_code == 200:  # noqa: PLR2004
                break
            problem = "/readyz did not answer 200"
        except httpx.TransportError as error:
            problem = f"cannot reach the service ({error})"
        if time.monotonic() > deadline:
            raise SmokeTestError(f"{client.base_url}: {problem} within {wait_seconds:g} s")
        time.sleep(1)
    response = client.post("/predict", json={"records": example_records(contract)})
    if response.status_code != 200:  # noqa: PLR2004
        raise SmokeTestError(
            f"{client.base_url}/predict answered {response.status_code}: {response.text[:300]}"
            + CLIENT_TOKEN_HINTS.get(response.status_code, "")
        )
    body = response.json()
    if len(body.get("results", [])) != 1:
        raise SmokeTestError(f"{client.base_url}/predict answered without one result: {body}")
    return f"version {body['model_version']}" + (" (DEGRADED)" if body["degraded"] else "")
