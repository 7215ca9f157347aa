"""v0.3.0: the package moved from one flat folder into capability subpackages.

`copier update` deletes the old modules and writes the new ones, so a team's edits to an old
module would be lost (`custom_expectations.py`, the team's own file, among them). This migration
carries them over: for each module the team changed, it merges the change into the module's new
place (a three-way merge against the old template's version, both with their imports rewritten to
the new layout) and leaves conflict markers where the template changed the same lines. In modules
and tests the team added, it rewrites imports of the moved modules. Run by copier after an update
that crosses v0.3.0, in the project's directory, as `v0_3_0_package_layout.py TEMPLATE OLD_REF`.
"""

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ANSWERS = Path(".copier-answers.yml")
MOVES = {
    "errors": "core.errors",
    "yaml_files": "core.yaml_files",
    "telemetry": "core.telemetry",
    "local_state": "core.local_state",
    "process_supervision": "core.process_supervision",
    "contract": "contract.data_contract",
    "contract_schemas": "contract.schemas",
    "contract_inference": "contract.inference",
    "project_files": "contract.project_files",
    "settings": "config.settings",
    "training_config": "config.training",
    "datasets": "data.files",
    "sample_data": "data.sample",
    "validation": "data.validation",
    "custom_expectations": "data.custom_expectations",
    "baseline": "models.baseline",
    "baseline_fitting": "models.baseline_fitting",
    "baseline_model": "models.baseline_model",
    "trained_model": "models.trained_model",
    "training": "models.pipeline",
    "explanations": "models.explanations",
    "registry": "models.registry",
    "reference_data": "models.reference_data",
    "scoring": "models.scoring",
    "prediction_log": "audit.prediction_log",
    "service": "serving.service",
    "api_auth": "serving.api_auth",
    "http_guards": "serving.http_guards",
    "metrics": "serving.metrics",
    "micro_batching": "serving.micro_batching",
    "model_refresh": "serving.model_refresh",
    "rollout": "serving.rollout",
    "batch_scoring": "serving.batch_scoring",
    "smoke_test": "serving.smoke_test",
    "traffic_simulation": "serving.traffic_simulation",
    "drift": "monitoring.drift",
    "alerts": "monitoring.alerts",
    "comparison": "monitoring.comparison",
    "monitoring": "monitoring.report",
    "evaluation": "training.evaluation",
    "retraining": "training.flow",
    "promotion": "training.promotion",
    "cli": "cli.main",
}
"""Old module -> its new dotted path inside the package."""


def run(*command: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)


def relative_imports(text: str, location: list[str]) -> str:
    """``from .old import`` rewritten for a module in the subpackage ``location``."""

    def new(match: re.Match[str]) -> str:
        target = MOVES.get(match.group(2))
        if target is None:
            return match.group(0)
        parts = target.split(".")
        if location and parts[0] == location[0]:
            path = "." + ".".join(parts[1:])
        else:
            path = "." * (len(location) + 1) + target
        return f"{match.group(1)}from {path} import"

    return re.sub(r"^(\s*)from \.(\w+) import", new, text, flags=re.MULTILINE)


def absolute_imports(text: str, package: str) -> str:
    """``package.old`` (imports, patch targets) rewritten to the new dotted paths."""
    names = "|".join(sorted(MOVES, key=len, reverse=True))
    pattern = re.compile(rf"\b{package}\.({names})\b(?![.\w])")
    return pattern.sub(lambda match: f"{package}.{MOVES[match.group(1)]}", text)


def merge(team: str, base: str, current: str) -> tuple[str, int]:
    """The team's change from ``base`` applied to ``current``; the number of conflicts."""
    with tempfile.TemporaryDirectory() as scratch:
        paths = []
        for name, text in (("team", team), ("base", base), ("current", current)):
            path = Path(scratch) / name
            path.write_text(text, encoding="utf-8")
            paths.append(str(path))
        labels = ["-L", "your change", "-L", "the old template", "-L", "the new template"]
        result = run("git", "merge-file", "-p", *labels, *paths)
    if result.returncode < 0:
        raise RuntimeError(result.stderr)
    return result.stdout, result.returncode


def main(template: str, old_ref: str) -> int:
    """Carry the team's edits of moved modules to their new places."""
    package = str(yaml.safe_load(ANSWERS.read_text(encoding="utf-8"))["package_name"])
    before = set(run("git", "ls-tree", "-r", "--name-only", "HEAD").stdout.split())
    if not before:
        print("migration v0.3.0: no commit before the update; nothing to carry over")
        return 0
    listing = run("git", "ls-tree", "-r", "--name-only", old_ref, "template/", cwd=Path(template))
    old_template = {
        name.removeprefix("template/").removesuffix(".jinja").replace("{{package_name}}", package)
        for name in listing.stdout.split()
    }
    moved = {f"src/{package}/{old}.py": new for old, new in MOVES.items()}
    for path in sorted(before & set(moved)):
        team = run("git", "show", f"HEAD:{path}").stdout
        old_name = path.rsplit("/", 1)[1]
        base_file = f"{old_ref}:template/src/{{{{package_name}}}}/{old_name}"
        base = run("git", "show", base_file, cwd=Path(template))
        target = Path("src", package, *moved[path].split(".")).with_suffix(".py")
        if base.returncode != 0:
            Path(path).write_text(team, encoding="utf-8")
            print(
                f"migration v0.3.0: kept {path} (the old template's version is unavailable): "
                f"port your changes to {target} and delete it"
            )
            continue
        if team == base.stdout:
            continue
        location = moved[path].split(".")[:-1]
        current = target.read_text(encoding="utf-8") if target.is_file() else ""
        merged, conflicts = merge(
            relative_imports(team, location), relative_imports(base.stdout, location), current
        )
        target.write_text(merged, encoding="utf-8")
        outcome = (
            f"with {conflicts} conflict(s): resolve the <<<<<<< markers" if conflicts else "cleanly"
        )
        print(f"migration v0.3.0: merged your changes to {path} into {target} {outcome}")
    for path in sorted(before - set(moved) - old_template):
        file = Path(path)
        if file.suffix != ".py" or not file.is_file() or file.parts[0] not in {"src", "tests"}:
            continue
        text = file.read_text(encoding="utf-8")
        rewritten = absolute_imports(text, package)
        if file.parent == Path("src", package):
            rewritten = relative_imports(rewritten, [])
        if rewritten != text:
            file.write_text(rewritten, encoding="utf-8")
            print(f"migration v0.3.0: {path} now imports the moved modules from their new places")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
