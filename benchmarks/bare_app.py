"""The physical limit for `/predict`: uvicorn and Starlette, the same request validation (the
contract's record model) and the same baseline rules, nothing else (no registry, metrics or log).

Run inside a generated project: `uv run python bare_app.py --port 3702`.
"""

import argparse
import uuid
from typing import Any

import uvicorn
from customer_churn.config.settings import Settings
from customer_churn.contract.data_contract import DataContract
from customer_churn.contract.schemas import record_model, records_frame
from customer_churn.models.baseline import BaselineRules
from pydantic import Field, ValidationError, create_model
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

settings = Settings()
contract = DataContract.load(settings.contract_path)
rules = BaselineRules.load(settings.baseline_path, contract)
PredictRequest = create_model(
    "PredictRequest",
    records=(list[record_model(contract)], Field(min_length=1, max_length=settings.max_batch_size)),  # type: ignore[misc]
)


async def predict(request: Request) -> JSONResponse:
    try:
        parsed: Any = PredictRequest.model_validate_json(await request.body())
    except ValidationError as error:
        return JSONResponse(
            {"error": "invalid request", "detail": error.errors(include_url=False)}, 400
        )
    inputs = [record.model_dump(by_alias=True) for record in parsed.records]
    output = rules.predict(records_frame(inputs, contract), contract.problem_type)
    request_id = uuid.uuid4().hex
    results = [
        {
            "prediction_id": f"{request_id}-{index}",
            "prediction": row["prediction"],
            "confidence": row["confidence"],
            "needs_review": row["confidence"] < settings.review_threshold,
            "explanation": row["rule"],
        }
        for index, row in enumerate(output.to_dict(orient="records"))
    ]
    return JSONResponse({"request_id": request_id, "model_version": "baseline", "results": results})


app = Starlette(routes=[Route("/predict", predict, methods=["POST"])])

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=3702)
    port = parser.parse_args().port
    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_level="warning")
