"""SQLite databases of the embedded defaults: their folder exists before a connection opens."""

from pathlib import Path


def create_sqlite_folder(url: str) -> None:
    """Create the folder of a relative SQLite URL's file (``sqlite:///.local/app.db``).

    Absolute paths (``sqlite:////...``) and other databases are left alone.
    """
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
