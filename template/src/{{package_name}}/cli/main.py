"""The project's single command line: ``uv run <package> --help``.

Every ``make`` target and every CI step calls one of its commands. They live in one module per
capability (``contract``, ``data``, ``serving``, ``monitoring``, ``training``, ``settings``) and
are imported only when they run, so ``--help`` answers at once.
"""

import importlib
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from cyclopts import App, Parameter
from cyclopts.exceptions import CycloptsError
from pydantic import ValidationError

from ..config.settings import PACKAGE, Settings
from ..core.errors import UserError
from ..core.process_defaults import apply_process_defaults

EXIT_CODES = {
    0: "done; for a check (validate, monitor, smoke-test), everything held",
    1: "refused or failed, with the reason and the fix on one line (invalid data, a drift "
    "alert, a candidate refused under --require-promotion, a mistake in one of your files)",
    2: "the command line is wrong (unknown command or option, missing argument)",
    3: "monitor: too few predictions in the window to judge",
}
"""Every command's exit codes, shown by ``--help``."""

COMMANDS = {
    "contract": ("contract:contract", "Write a data contract from your own table, or show it."),
    "validate": ("data:validate", "Check a file or database table against the contract."),
    "sample-data": ("data:sample_data", "Regenerate the sample data, or write more of it."),
    "serve": ("serving:serve", "Serve predictions (BentoML) from the champion."),
    "token": ("serving:token", "Print a new API token and its APP_API_TOKENS entry."),
    "predict": ("serving:predict", "Score a file or database table with the champion."),
    "smoke-test": ("serving:smoke_test", "Check a deployed service: ready, one prediction."),
    "simulate-traffic": ("serving:simulate_traffic", "Send (drifted) requests to a service."),
    "monitor": ("monitoring:monitor", "Check recent predictions for drift and live quality."),
    "compare": ("monitoring:compare", "Champion against challenger on the same live requests."),
    "readiness": ("monitoring:readiness", "Score production readiness from the evidence."),
    "bootstrap": ("training:bootstrap", "Register the baseline as champion if there is none."),
    "rebaseline": ("training:rebaseline", "Serve the baseline of the current contract."),
    "retrain": ("training:retrain", "Validate, train, evaluate; promote or refuse."),
    "worker": ("training:worker", "Run the deployed retraining flow's runs (Prefect)."),
    "promote": ("training:promote", "Make a model version the champion."),
    "rollback": ("training:rollback", "Move the champion back to the previous one."),
    "history": ("training:history", "Show every move of the champion: who, when, why."),
    "settings": ("settings:settings", "Print the current settings (secrets masked) as JSON."),
}
"""Command -> where it lives (module of this package: attribute) and its one-line help."""


def completion(shell: Literal["bash", "zsh", "fish", "powershell"], /) -> None:
    """Print the shell completion script for this command line.

    Load it from your shell's start-up file, e.g. ``source <(uv run PACKAGE completion bash)``
    in ~/.bashrc, with PACKAGE this project's package.

    Example: completion zsh

    Parameters
    ----------
    shell
        The shell to complete in.
    """
    print(build_app().generate_completion(shell=shell))


def build_app(running: str | None = None) -> App:
    """The command line, with the command ``running`` (a name of ``COMMANDS``) imported.

    The others are imported only when they run or complete: ``--help`` answers at once, and
    lists them by their summaries in ``COMMANDS``; a command's own ``--help`` is its docstring.
    """
    codes = "\n".join(f"- **{code}**: {meaning}" for code, meaning in EXIT_CODES.items())
    app = App(
        name=PACKAGE,
        help=(
            "Production-first ML service: data contract, validation, serving, retraining.\n\n"
            f"Every command has `--help` with an example. Exit codes, the same for every "
            f"command:\n\n{codes}\n\n"
            "Settings come from APP_* environment variables or `.env` (`settings --schema`). "
            f"Shell completion: `source <({PACKAGE} completion bash)` (or zsh, fish)."
        ),
        help_format="markdown",
        version_flags=(),
        default_parameter=Parameter(negative=()),
        result_action="return_value",
    )
    for order, (name, (target, summary)) in enumerate(COMMANDS.items()):  # in the order above
        if name == running:
            module, attribute = target.split(":")
            command = getattr(importlib.import_module(f"{__package__}.{module}"), attribute)
            if isinstance(command, App):  # a command group, named by itself
                app.command(command)
            else:
                app.command(command, name=name)
        else:
            app.command(f"{__package__}.{target}", name=name, help=summary, sort_key=order)
    app.command(completion, sort_key=len(COMMANDS))
    return app


def _errors_only(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.ERROR


def _quiet_libraries() -> None:
    """MLflow's INFO lines and its warning that uv's environments lack pip, off.

    ``MLFLOW_LOGGING_LEVEL=INFO`` brings the INFO lines back.
    """
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    logging.getLogger("mlflow.utils.environment").addFilter(_errors_only)


def _traceback_wanted() -> bool:
    try:
        return Settings().traceback
    except ValueError:  # the settings themselves are wrong: the variable alone decides
        return os.environ.get("APP_TRACEBACK", "").lower() in {"1", "true", "yes", "on"}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code (see ``EXIT_CODES``)."""
    apply_process_defaults()  # before any command imports the stack's libraries
    _quiet_libraries()
    tokens = sys.argv[1:] if argv is None else list(argv)
    try:
        running = tokens[0] if tokens else None
        code = build_app(running)(tokens, exit_on_error=False, print_error=False)
    except CycloptsError as error:
        reason = " ".join(str(error).split())
        print(f"error: {reason} (see `{PACKAGE} --help`)", file=sys.stderr)
        return 2
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except ValidationError as error:
        if error.title != Settings.__name__:
            return _unexpected(error)
        print(f"error: {_wrong_settings(error)}", file=sys.stderr)
        return 1
    except Exception as error:  # a bug, or a failure no command knows: still one line
        return _unexpected(error)
    return code if isinstance(code, int) else 0


def _wrong_settings(error: ValidationError) -> str:
    """Which settings are wrong and why, by their variables' names, never their values.

    A wrong value may be a secret: pydantic's own message would show it.
    """
    problems = "; ".join(
        f"APP_{'.'.join(map(str, problem['loc'])).upper()}: {problem['msg']}"
        for problem in error.errors(include_input=False, include_url=False)
    )
    return (
        f"{problems}. Fix it in the environment or .env "
        f"(`{PACKAGE} settings --schema` describes every setting)."
    )


def _unexpected(error: Exception) -> int:
    """One line for a failure no command turned into a UserError (its traceback on demand)."""
    if _traceback_wanted():
        raise error
    frames = traceback.extract_tb(error.__traceback__)
    where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    reason = " ".join(str(error).split())
    print(
        f"error: unexpected {type(error).__name__}: {reason}{where}. Run again with "
        "APP_TRACEBACK=1 for the traceback, and report it if it is a bug.",
        file=sys.stderr,
    )
    return 1
