"""Alerts: always a log line; also a webhook (a chat channel, an incident tool) when configured.

A notifier is anything with ``notify(alert)``; add your own (e-mail, pager) beside these and list
it in :func:`notifiers`.
"""

import http.client
import json
import logging
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from ..config.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alert:
    """Something a person should look at, with the facts to start from."""

    title: str
    reasons: list[str]
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The alert as one message."""
        return f"{self.title}: " + "; ".join(self.reasons)


class Notifier(Protocol):
    """Delivers an alert somewhere."""

    def notify(self, alert: Alert) -> None:
        """Deliver ``alert``; must not raise."""
        ...


class LogNotifier:
    """Writes the alert as one WARNING line (what log-based alerting picks up)."""

    def notify(self, alert: Alert) -> None:
        """Log ``alert``."""
        logger.warning("ALERT %s", alert.text)


class WebhookNotifier:
    """POSTs ``{"text": ..., "alert": {...}}`` as JSON, with retries and back-off."""

    def __init__(self, url: str, attempts: int = 3, timeout: float = 5.0) -> None:
        self.url = url
        self.attempts = attempts
        self.timeout = timeout

    def notify(self, alert: Alert) -> None:
        """Deliver ``alert``; a webhook that stays down is logged as an error, not raised."""
        body = json.dumps({"text": alert.text, "alert": asdict(alert)}, default=str).encode()
        request = urllib.request.Request(  # noqa: S310 - the URL is validated as http(s)
            self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        for attempt in range(1, self.attempts + 1):
            try:
                with urllib.request.urlopen(request, timeout=self.timeout):  # noqa: S310
                    return
            except (OSError, http.client.HTTPException) as error:  # URLError, a dropped link
                if attempt == self.attempts:
                    logger.error("Alert not delivered to the webhook: %s", error)
                    return
                time.sleep(0.5 * 2 ** (attempt - 1))


def notifiers(settings: Settings) -> list[Notifier]:
    """The log, plus the webhook when ``APP_ALERT_WEBHOOK_URL`` is set."""
    found: list[Notifier] = [LogNotifier()]
    if settings.alert_webhook_url is not None:
        found.append(WebhookNotifier(settings.alert_webhook_url.get_secret_value()))
    return found
