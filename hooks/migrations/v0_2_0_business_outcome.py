"""v0.2.0: `config/training.yaml` must state the business outcome (`outcome:`).

The file belongs to the team, so `copier update` does not touch it. This migration appends an
`outcome:` section built from the answers (the new `outcome_*` questions) and leaves every other
line, comment included, as it was. Run by copier after an update that crosses v0.2.0, in the
project's directory.
"""

import sys
from pathlib import Path

import yaml

CONFIG = Path("config/training.yaml")
ANSWERS = Path(".copier-answers.yml")
FIELDS = ("metric", "target", "population", "timeframe")


def main() -> int:
    """Add the outcome section if the configuration lacks one."""
    if not CONFIG.is_file():
        print(f"migration v0.2.0: no {CONFIG}, nothing to do")
        return 0
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8")) or {}
    if "outcome" in config:
        print(f"migration v0.2.0: {CONFIG} already states its outcome")
        return 0
    answers = yaml.safe_load(ANSWERS.read_text(encoding="utf-8"))
    outcome = {field: str(answers[f"outcome_{field}"]) for field in FIELDS}
    block = yaml.safe_dump({"outcome": outcome}, sort_keys=False, allow_unicode=True, width=100)
    text = CONFIG.read_text(encoding="utf-8")
    CONFIG.write_text(
        f"{text.rstrip()}\n\n"
        "# The business outcome the model serves (added by the v0.2.0 update from your answers):\n"
        "# shown in docs/model-card.md and logged with every trained model version.\n"
        f"{block}",
        encoding="utf-8",
    )
    print(f"migration v0.2.0: added the business outcome to {CONFIG}; review it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
