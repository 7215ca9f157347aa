"""Safe rollout of a challenger: stable canary routing and a circuit breaker.

The ``challenger`` alias names the candidate under trial. In shadow mode it scores requests off
the response path; as a canary it answers a share of callers, chosen by a hash of their routing
key so that a caller keeps its model. Its errors and slow answers count against a circuit
breaker, which switches the challenger off and tries it again after a cool-down.
"""

import hashlib
import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


def routing_bucket(key: str) -> float:
    """Where ``key`` falls in [0, 1): the same key always falls in the same place."""
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def goes_to_canary(key: str, share: float) -> bool:
    """Whether the caller with ``key`` is in the canary's ``share`` of traffic."""
    return share > 0 and routing_bucket(key) < share


class CircuitBreaker:
    """Switches the challenger off after ``max_failures`` failures in a row.

    After ``cooldown`` seconds it lets calls through again: one that succeeds closes it, one
    that fails starts another cool-down.
    """

    def __init__(
        self,
        max_failures: int,
        cooldown: float,
        on_change: Callable[[bool], None] = lambda is_open: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_failures = max_failures
        self._cooldown = cooldown
        self._on_change = on_change
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None

    @property
    def is_open(self) -> bool:
        """True while the challenger is switched off."""
        return self._opened_at is not None

    def allows(self) -> bool:
        """Whether the challenger may be called now (closed, or open past its cool-down)."""
        with self._lock:
            return self._opened_at is None or self._clock() - self._opened_at >= self._cooldown

    def succeeded(self) -> None:
        """Record a call that answered in time; closes an open breaker."""
        with self._lock:
            self._failures = 0
            if self._opened_at is None:
                return
            self._opened_at = None
        logger.info("Challenger answered again: circuit breaker closed, challenger back on")
        self._on_change(False)

    def failed(self, reason: str) -> None:
        """Record an error or a too-slow answer; opens the breaker at the threshold."""
        with self._lock:
            self._failures += 1
            if self._opened_at is not None:
                self._opened_at = self._clock()  # a failed trial: cool down again
                return
            if self._failures < self._max_failures:
                return
            self._opened_at = self._clock()
        logger.warning(
            "Challenger switched off after %d failures in a row (last: %s); retried in %.0f s",
            self._max_failures,
            reason,
            self._cooldown,
        )
        self._on_change(True)
