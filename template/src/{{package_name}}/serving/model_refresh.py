"""Follows the registry's champion in a running service, so promotion needs no restart.

Every ``APP_MODEL_REFRESH_SECONDS`` a background thread asks the registry which version the
``champion`` alias points at; when it changed (or the service is degraded), the new champion is
loaded next to the old one and swapped in between requests. With shadow or canary on, the
``challenger`` alias is followed the same way. A registry that does not answer leaves the loaded
models serving and sets ``model_registry_up`` to 0.
"""

import logging
import threading
from collections.abc import Callable

from mlflow.entities.model_registry import ModelVersion

from ..config.settings import Settings
from ..contract.data_contract import DataContract
from ..models.registry import (
    CHALLENGER,
    LoadedModel,
    aliased_version,
    champion_version,
    client_for,
    contract_mismatch,
    load_serving_model,
    load_version,
)

logger = logging.getLogger(__name__)


class ModelRefresher:
    """Checks the champion every ``interval`` seconds and calls ``swap`` with a new one."""

    def __init__(
        self,
        settings: Settings,
        contract: DataContract,
        current: Callable[[], LoadedModel],
        swap: Callable[[LoadedModel], None],
        on_registry: Callable[[bool], None],
        *,
        challenger: "ChallengerSlot | None" = None,
        on_error: Callable[[], None] = lambda: None,
        on_refused: Callable[[], None] = lambda: None,
    ) -> None:
        self._settings = settings
        self._contract = contract
        self._current = current
        self._swap = swap
        self._on_registry = on_registry
        self._challenger = challenger
        self._on_error = on_error
        self._on_refused = on_refused
        self._refused: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="model-refresh", daemon=True)

    def start(self) -> None:
        """Start checking: once now, then every interval unless it is 0."""
        self._thread.start()

    def stop(self) -> None:
        """Stop checking."""
        self._stop.set()

    def check_once(self) -> bool:
        """Swap in a new champion if there is one; True when a swap happened."""
        try:
            client = client_for(self._settings)
            champion = champion_version(client, self._settings)
            if self._challenger is not None:
                self._challenger.follow(aliased_version(client, self._settings, CHALLENGER))
        except Exception as error:
            logger.warning("Registry unreachable, serving the loaded model: %s", error)
            self._on_registry(False)
            return False
        self._on_registry(True)
        loaded = self._current()
        if champion is None or (str(champion.version) == loaded.version and not loaded.degraded):
            return False
        if self._refused == str(champion.version):
            return False
        mismatch = contract_mismatch(self._settings, str(champion.version), self._contract)
        if mismatch:
            # Its inputs are not this API's: answering with it would score the wrong columns.
            logger.error("Champion not loaded: %s; keeping version %s", mismatch, loaded.version)
            self._refused = str(champion.version)
            self._on_refused()
            return False
        fresh = load_serving_model(self._settings, self._contract)
        if fresh.degraded:
            return False
        logger.info(
            "New champion: %s version %s (was %s)", fresh.name, fresh.version, loaded.version
        )
        self._swap(fresh)
        return True

    def _run(self) -> None:
        """Check now, then every interval; an unexpected error is logged, counted, survived."""
        interval = self._settings.model_refresh_seconds
        while True:
            try:
                self.check_once()
            except Exception:
                logger.exception("Checking the registry failed unexpectedly; trying again later")
                self._on_error()
            if interval <= 0 or self._stop.wait(interval):
                return


class ChallengerSlot:
    """The loaded challenger (or None), kept in step with the registry's ``challenger`` alias."""

    def __init__(self, settings: Settings, swap: Callable[[LoadedModel | None], None]) -> None:
        self._settings = settings
        self._swap = swap
        self.model: LoadedModel | None = None

    def follow(self, version: ModelVersion | None) -> None:
        """Load the version the alias names now, or drop the challenger if there is none."""
        wanted = None if version is None else str(version.version)
        if wanted == (None if self.model is None else self.model.version):
            return
        if wanted is None:
            logger.info("No challenger any more: shadow and canary stop")
            self.model = None
        else:
            try:
                self.model = load_version(self._settings, wanted)
            except Exception as error:  # a broken challenger must not touch the champion
                logger.warning("Challenger version %s not loaded: %s", wanted, error)
                return
            logger.info("Challenger: version %s", wanted)
        self._swap(self.model)
