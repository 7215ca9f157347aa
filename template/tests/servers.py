"""Real servers of the production profile for the tests: PostgreSQL databases, `mlflow server`
and `prefect server` on them, and a TCP proxy that can cut a connection like a network would.

PostgreSQL is the one at ``TEST_POSTGRES_URL`` (default: the local server, user postgres); each
test session creates its own databases there and drops them at the end.
"""

import configparser
import os
import secrets
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from conftest import PROJECT_ROOT, free_port, wait_until_up
from processes import start, stop

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def postgres_or_skip() -> sa.Engine:
    """An engine on the server's maintenance database; skips when unreachable outside CI."""
    engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as error:
        cause = str(error.orig).splitlines()[0].split(": ")[-1]  # e.g. Connection refused
        reason = f"no PostgreSQL at {POSTGRES_URL} (set TEST_POSTGRES_URL): {cause}"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the production-profile tests, but found {reason}")
        pytest.skip(reason)
    return engine


@contextmanager
def databases(names: list[str]) -> Iterator[dict[str, str]]:
    """Fresh databases on the test PostgreSQL, dropped on exit; yields their SQLAlchemy URLs."""
    engine = postgres_or_skip()
    prefix = f"test_{secrets.token_hex(4)}"
    created = {name: f"{prefix}_{name}" for name in names}
    with engine.connect() as connection:
        for database in created.values():
            connection.execute(sa.text(f'CREATE DATABASE "{database}"'))
    base = sa.make_url(POSTGRES_URL)
    try:
        yield {
            name: base.set(database=database).render_as_string(hide_password=False)
            for name, database in created.items()
        }
    finally:
        with engine.connect() as connection:
            for database in created.values():
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        engine.dispose()


def tool(name: str) -> str:
    """A command installed beside this Python (the project's environment)."""
    return str(Path(sys.executable).with_name(name))


class ServerProcess:
    """A server started by ``command`` on a fixed port; it can be stopped and started again.

    ``login`` holds the variables a client sets to be let in (the server answers nobody else).
    """

    def __init__(
        self,
        command: list[str],
        health: str,
        log: Path,
        env: dict[str, str],
        login: dict[str, str],
    ) -> None:
        self.command = command
        self.health = health
        self.log = log
        self.env = env
        self.login = login
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, seconds: float = 180) -> None:
        wait_until_up(self.health, self.launch(), self.log, seconds)

    def launch(self) -> subprocess.Popen[bytes]:
        """Start the process without waiting for it to answer."""
        self.process = start(self.command, self.log, env={**os.environ, **self.env})
        return self.process

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


def mlflow_server(backend_url: str, folder: Path) -> tuple[ServerProcess, str]:
    """`mlflow server` on PostgreSQL with served artifacts and basic-auth, configured by the
    project's deploy/mlflow/basic_auth.ini (its user database moved into ``folder``); not
    started. Returns it and its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    auth = configparser.ConfigParser()
    auth.read(PROJECT_ROOT / "deploy" / "mlflow" / "basic_auth.ini")
    auth["mlflow"]["database_uri"] = f"sqlite:///{folder / 'mlflow-users.db'}"
    config = folder / "mlflow-basic-auth.ini"
    with config.open("w") as file:
        auth.write(file)
    password = secrets.token_urlsafe(16)
    env = {
        "MLFLOW_AUTH_CONFIG_PATH": str(config),
        "MLFLOW_AUTH_ADMIN_USERNAME": "admin",
        "MLFLOW_AUTH_ADMIN_PASSWORD": password,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_urlsafe(32),
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",  # as deploy/compose.yaml
    }
    command = [tool("mlflow"), "server", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", "1", "--backend-store-uri", backend_url, "--app-name", "basic-auth"]
    command += ["--artifacts-destination", str(folder / "artifacts"), "--serve-artifacts"]
    login = {"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": password}
    return ServerProcess(command, f"{url}/health", folder / "mlflow.log", env, login), url


def prefect_server(database_url: str, folder: Path) -> tuple[ServerProcess, str]:
    """`prefect server` on PostgreSQL that asks for an auth string (not started); and its API
    URL."""
    port = free_port()
    async_url = sa.make_url(database_url).set(drivername="postgresql+asyncpg")
    auth = f"admin:{secrets.token_urlsafe(16)}"
    env = {
        "PREFECT_HOME": str(folder / "prefect-home"),
        "PREFECT_API_DATABASE_CONNECTION_URL": async_url.render_as_string(hide_password=False),
        "PREFECT_SERVER_API_AUTH_STRING": auth,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
    }
    command = [tool("prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}/api"
    login = {"PREFECT_API_AUTH_STRING": auth}
    return ServerProcess(command, f"{url}/health", folder / "prefect.log", env, login), url


def local_prefect_server(folder: Path) -> tuple[ServerProcess, str]:
    """`prefect server` on SQLite in ``folder``, for callers on this machine (not started); and
    its API URL."""
    port = free_port()
    env = {
        "PREFECT_HOME": str(folder),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{folder / 'prefect.db'}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
    }
    command = [tool("prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}/api"
    return ServerProcess(command, f"{url}/health", folder / "prefect.log", env, {}), url


class TcpProxy:
    """Forwards a local port to ``target``; ``cut`` closes every connection and refuses new
    ones (the database is gone, as far as the client can tell) until ``restore``."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            if self._listener is not None:
                with suppress(OSError):  # wakes the thread blocked in accept()
                    self._listener.shutdown(socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
            for connection in self._open:
                with suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:  # cut while connecting: refused like the rest
                    client.close()
                    upstream.close()
                    return
                self._open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def metric(service: str | httpx.Client, name: str) -> float:
    """The value of a metric on ``service``'s /metrics (a URL, or a client of a service built in
    process), 0 when absent; ``name`` with its labels as exported, if it has any."""
    if isinstance(service, str):
        exported = httpx.get(f"{service}/metrics", timeout=30).text
    else:
        exported = service.get("/metrics").text
    for line in exported.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    return 0.0
