"""SQLite databases of the embedded defaults: their folder exists before a connection opens."""

from pathlib import Path


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (relative as written, or absolute); None for other databases."""
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def create_sqlite_folder(url: str) -> None:
    """Create the folder of a relative SQLite URL's file (``sqlite:///.local/app.db``).

    Absolute paths (``sqlite:////...``) and other databases are left alone.
    """
    path = sqlite_file(url)
    if path is not None and not path.is_absolute():
        path.parent.mkdir(parents=True, exist_ok=True)
