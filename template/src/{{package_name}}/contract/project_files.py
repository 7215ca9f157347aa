"""Files of the project that `contract infer` brings in step with a new contract.

The data settings in ``.env`` and the README's example request; the contract, the baseline and
the behaviour checks have modules of their own.
"""

import json
import re
from pathlib import Path

from .data_contract import DataContract
from .schemas import example_records

README_REQUEST = re.compile(
    r"^(curl -s -X POST http://127\.0\.0\.1:3000/predict .*? -d )'.*'$", re.MULTILINE
)


def set_env(path: Path, values: dict[str, str]) -> None:
    """Set ``values`` in a dotenv file, replacing their lines and keeping every other line."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    kept = [line for line in lines if line.split("=", 1)[0].strip() not in values]
    kept += [f"{name}={_quoted(value)}" for name, value in values.items()]
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")


def _quoted(value: str) -> str:
    """A dotenv value: quoted when it holds spaces, quotes or a ``#``."""
    if re.fullmatch(r"[\w./:@+-]*", value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def update_readme_request(path: Path, contract: DataContract) -> bool:
    """Rewrite the README's example request with a record of ``contract``; True if it did.

    The record is built from the contract's limits, never from the data: a README is public.
    """
    if not path.exists():
        return False
    text = path.read_text(encoding="utf-8")
    body = json.dumps({"records": example_records(contract)}, ensure_ascii=False)
    shell = "'" + body.replace("'", "'\\''") + "'"
    updated, found = README_REQUEST.subn(lambda match: match.group(1) + shell, text, count=1)
    if found:
        path.write_text(updated, encoding="utf-8")
    return bool(found)
