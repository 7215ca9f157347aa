"""`settings`: what the project runs with, secrets masked."""

import json
import re
from typing import Any
from urllib.parse import urlsplit

from ..config.settings import Settings


def settings(*, schema: bool = False) -> int:
    """Print the current settings (APP_* variables and .env) as JSON, secrets masked.

    Example: settings --schema

    Parameters
    ----------
    schema
        Print the JSON schema of the settings (every name, type, default and description).
    """
    current = Settings()
    document = Settings.model_json_schema() if schema else masked(current)
    print(json.dumps(document, indent=2))
    return 0


def masked(current: Settings) -> dict[str, Any]:
    """The settings with their secrets hidden: tokens, passwords in URLs, webhook paths."""
    document: dict[str, Any] = current.model_dump(mode="json")  # SecretStr: **********
    document["prediction_log_url"] = current.prediction_log_url.get_secret_value()
    for name, value in document.items():  # where a database is, but not its password
        if isinstance(value, str):
            document[name] = re.sub(r"(://[^/:@]*:)[^@/]*@", r"\1***@", value)
    if current.alert_webhook_url is not None:  # chat webhooks carry their secret in the path
        url = urlsplit(current.alert_webhook_url.get_secret_value())
        document["alert_webhook_url"] = f"{url.scheme}://{url.hostname}/***"
    return document
