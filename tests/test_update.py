"""`copier update` from an older release: the team's changes survive, the template's arrive,
conflicts appear only where both touched the same lines, and migrations run.

The old project comes from the oldest release (conftest's RELEASES), the new version is the
working tree (the `versions` fixture).
"""

import ast
import difflib
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from packaging.version import Version

from conftest import DEFAULT_ANSWERS, OLDEST, TEMPLATE, Versions, copier, git, next_version

TEAM_TEST = """

def test_team_rule_for_premium_customers() -> None:
    assert "premium" in Path("contract/baseline.yaml").read_text()
"""
TEAM_RULE = """  - name: premium_customers_stay
    when:
      monthly_charges: {min: 200}
    predict: retained
    confidence: 0.6
"""


def render_version(versions: Versions, ref: str, destination: Path) -> Path:
    data = [f"--data={name}={value}" for name, value in DEFAULT_ANSWERS.items()]
    result = copier(
        "copy", "--defaults", f"--vcs-ref={ref}", *data, str(versions.source), str(destination)
    )
    assert result.returncode == 0, result.stderr
    return destination


def files(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): path.read_text(encoding="utf-8")
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def changed_lines(old: str, new: str) -> set[int]:
    """Indexes of the old text's lines that the new text replaces or deletes, and the lines next
    to where it inserts."""
    touched: set[int] = set()
    matcher = difflib.SequenceMatcher(a=old.splitlines(), b=new.splitlines(), autojunk=False)
    for tag, start, end, _, _ in matcher.get_opcodes():
        if tag != "equal":
            touched.update(range(start - 1, max(end, start + 1) + 1))
    return touched


@dataclass
class Update:
    fresh: dict[str, str]
    before: dict[str, str]
    after: dict[str, str]
    team_files: set[str]
    conflict_file: str
    kept_file: str
    result: subprocess.CompletedProcess[str]


def edit_line(text: str, index: int, suffix: str) -> str:
    lines = text.splitlines(keepends=True)
    lines[index] = lines[index].rstrip("\n") + suffix + "\n"
    return "".join(lines)


@pytest.fixture(scope="module")
def update(versions: Versions, tmp_path_factory: pytest.TempPathFactory) -> Update:
    """An old project with a team's typical changes, committed, then `copier update`d."""
    root = tmp_path_factory.mktemp("update")
    fresh = files(render_version(versions, versions.current, root / "fresh"))
    project = render_version(versions, OLDEST, root / "project")
    old = files(project)
    git(project, "init", "--quiet", "--initial-branch=main")
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--message", f"generated from {OLDEST}")

    def change(name: str, text: str) -> None:
        (project / name).write_text(text, encoding="utf-8")

    contract = "contract/data_contract.yaml"
    change(contract, old[contract].replace("maximum: 120", "maximum: 240", 1))
    baseline = "contract/baseline.yaml"
    change(baseline, old[baseline].replace("fallback:", TEAM_RULE + "fallback:", 1))
    training = "config/training.yaml"
    change(training, old[training].replace("min_improvement: 0.01", "min_improvement: 0.02"))
    # A test file whose end the template left alone gets a team test appended.
    tests = sorted(
        name
        for name in old
        if name.startswith("tests/test_")
        and name in fresh
        and not changed_lines(old[name], fresh[name])
        & set(range(len(old[name].splitlines()) - 3, len(old[name].splitlines())))
    )
    assert tests, "no test file kept its last lines between the versions"
    change(tests[0], old[tests[0]] + TEAM_TEST)
    # In files both versions have (the README first), a line the template changed (a conflict is
    # expected there) and a line far from any template change (the team's edit must merge cleanly).
    common = sorted(
        (
            name
            for name in old
            if name in fresh
            and old[name] != fresh[name]
            and name not in {contract, baseline, training, tests[0]}
            and not name.startswith("data/")
            and name != ".copier-answers.yml"
        ),
        key=lambda name: name != "README.md",
    )
    conflict_file = kept_file = ""
    for name in common:
        touched = changed_lines(old[name], fresh[name])
        lines = old[name].splitlines()
        replaced = [
            index
            for index in sorted(touched)
            if 0 <= index < len(lines)
            and lines[index].strip()
            and lines[index] not in fresh[name].splitlines()
        ]
        far = [
            index
            for index, line in enumerate(lines)
            if line.strip() and not touched & set(range(index - 3, index + 4))
        ]
        if not conflict_file and replaced:
            conflict_file = name
            change(name, edit_line(old[name], replaced[0], " (edited by the team)"))
        elif not kept_file and far:
            kept_file = name
            change(name, edit_line(old[name], far[0], " (edited by the team)"))
    assert conflict_file, "the template replaced no line of a file the team could edit"
    assert kept_file, "the template left no file with both changed and unchanged stretches"
    git(project, "commit", "--quiet", "--all", "--message", "team changes")
    before = files(project)

    result = copier("update", "--defaults", "--trust", cwd=project)
    team = {contract, baseline, training, tests[0], conflict_file, kept_file}
    return Update(fresh, before, files(project), team, conflict_file, kept_file, result)


def test_the_update_runs_and_names_the_new_version(update: Update, versions: Versions) -> None:
    assert update.result.returncode == 0, update.result.stderr
    answers = yaml.safe_load(update.after[".copier-answers.yml"])
    assert answers["_commit"] == versions.current


def test_files_the_team_owns_keep_the_teams_content(update: Update) -> None:
    for name in ("contract/data_contract.yaml", "contract/baseline.yaml"):
        assert update.after[name] == update.before[name], name
    assert "premium_customers_stay" in update.after["contract/baseline.yaml"]


def test_the_migration_adds_the_business_outcome_and_keeps_the_rest(update: Update) -> None:
    training = "config/training.yaml"
    assert update.after[training].startswith(update.before[training].rstrip())
    config = yaml.safe_load(update.after[training])
    assert config["evaluation"]["min_improvement"] == 0.02
    assert config["outcome"]["metric"] == "Monthly churn rate of subscription customers"
    assert (
        "migration v0.2.0: added the business outcome"
        in update.result.stdout + update.result.stderr
    )


def test_template_changes_arrive_where_the_team_did_not_edit(update: Update) -> None:
    untouched = set(update.fresh) - update.team_files - {".copier-answers.yml"}
    differ = sorted(name for name in untouched if update.after.get(name) != update.fresh[name])
    assert differ == [], f"differ from a fresh render of the new version: {differ}"


def test_team_edits_survive_next_to_template_changes(update: Update) -> None:
    name = update.kept_file
    assert "(edited by the team)" in update.after[name]
    assert "<<<<<<<" not in update.after[name]
    team_line = next(
        line for line in update.after[name].splitlines() if "(edited by the team)" in line
    )
    merged = update.after[name].replace(team_line, team_line.replace(" (edited by the team)", ""))
    assert merged == update.fresh[name], "the template's changes did not all arrive"
    appended = next(name for name in update.team_files if name.startswith("tests/test_"))
    assert update.after[appended].endswith(TEAM_TEST)


def test_conflicts_only_where_both_sides_changed_the_same_lines(update: Update) -> None:
    conflicted = sorted(name for name, text in update.after.items() if "<<<<<<<" in text)
    assert conflicted == [update.conflict_file]
    assert "(edited by the team)" in update.after[update.conflict_file]


def test_each_migration_is_for_a_version_this_template_reaches_and_has_its_script() -> None:
    config = yaml.safe_load((TEMPLATE / "copier.yml").read_text())
    for migration in config["_migrations"]:
        assert Version(migration["version"]) <= Version(next_version()), migration["version"]
        script = next(part for part in migration["command"] if part.endswith(".py"))
        script = script.replace("{{ _copier_conf.src_path }}/", "")
        assert (TEMPLATE / script).is_file(), script


TEAM_EXPECTATION = """    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToNotBeNull(
            column="customer_id", meta={"rule": "has no id", "column": "customer_id"}
        )
    ]
"""
TEAM_SERVICE_LINE = "        # team: our dashboard counts these requests\n"
TEAM_MODULE = """\"\"\"A team's own module in the flat layout.\"\"\"

from .contract import DataContract


def feature_count(contract: DataContract) -> int:
    return len(contract.features)
"""
TEAM_MODULE_TEST = """from customer_churn.contract import DataContract
from customer_churn.team_features import feature_count


def test_feature_count() -> None:
    contract = DataContract.load("contract/data_contract.yaml")
    assert feature_count(contract) == len(contract.features)
"""


@dataclass
class LayoutUpdate:
    fresh: dict[str, str]
    after: dict[str, str]
    result: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def layout_update(versions: Versions, tmp_path_factory: pytest.TempPathFactory) -> LayoutUpdate:
    """A v0.2.0 project (flat package) whose team edited service.py and its own
    custom_expectations.py and added a module and a test, committed, then `copier update`d."""
    root = tmp_path_factory.mktemp("layout")
    fresh = files(render_version(versions, versions.current, root / "fresh"))
    project = render_version(versions, "v0.2.0", root / "project")
    git(project, "init", "--quiet", "--initial-branch=main")
    package = project / "src" / "customer_churn"
    expectations = package / "custom_expectations.py"
    text = expectations.read_text()
    assert "    return []\n" in text
    expectations.write_text(text.replace("    return []\n", TEAM_EXPECTATION))
    service = package / "service.py"
    lines = service.read_text().splitlines(keepends=True)
    predict = next(i for i, line in enumerate(lines) if "async def predict(" in line)
    lines.insert(predict + 2, TEAM_SERVICE_LINE)
    service.write_text("".join(lines))
    (package / "team_features.py").write_text(TEAM_MODULE)
    (project / "tests" / "test_team_features.py").write_text(TEAM_MODULE_TEST)
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--message", "generated from v0.2.0, then the team's changes")
    result = copier("update", "--defaults", "--trust", cwd=project)
    return LayoutUpdate(fresh, files(project), result)


def test_the_update_to_subpackages_runs_and_leaves_no_flat_module(
    layout_update: LayoutUpdate,
) -> None:
    assert layout_update.result.returncode == 0, layout_update.result.stderr
    flat = sorted(
        name
        for name in layout_update.after
        if name.startswith("src/customer_churn/") and name.count("/") == 2
    )
    expected = ["__init__.py", "__main__.py", "team_features.py"]
    assert flat == [f"src/customer_churn/{name}" for name in expected]
    assert not any("<<<<<<<" in text for text in layout_update.after.values())


def test_the_teams_expectations_move_with_the_file_they_own(layout_update: LayoutUpdate) -> None:
    moved = layout_update.after["src/customer_churn/data/custom_expectations.py"]
    assert TEAM_EXPECTATION in moved
    assert "from ..contract.data_contract import DataContract" in moved
    output = layout_update.result.stdout + layout_update.result.stderr
    assert "merged your changes to src/customer_churn/custom_expectations.py" in output


def test_a_teams_edit_of_a_moved_module_is_merged_into_its_new_place(
    layout_update: LayoutUpdate,
) -> None:
    name = "src/customer_churn/serving/service.py"
    after = layout_update.after[name]
    assert TEAM_SERVICE_LINE in after
    assert after.replace(TEAM_SERVICE_LINE, "", 1) == layout_update.fresh[name]


def test_the_teams_own_module_and_test_import_from_the_new_places(
    layout_update: LayoutUpdate,
) -> None:
    module = layout_update.after["src/customer_churn/team_features.py"]
    assert "from .contract.data_contract import DataContract" in module
    test = layout_update.after["tests/test_team_features.py"]
    assert "from customer_churn.contract.data_contract import DataContract" in test


def test_every_relative_import_after_the_update_names_a_module_that_exists(
    layout_update: LayoutUpdate,
) -> None:
    sources = {name for name in layout_update.after if name.startswith("src/")}
    for name in sorted(sources):
        if not name.endswith(".py"):
            continue
        folder = name.rsplit("/", 1)[0].split("/")
        for node in ast.walk(ast.parse(layout_update.after[name])):
            if isinstance(node, ast.ImportFrom) and node.level and node.module:
                base = folder[: len(folder) - node.level + 1]
                target = "/".join([*base, *node.module.split(".")])
                assert f"{target}.py" in sources or f"{target}/__init__.py" in sources, (
                    f"{name} imports {node.module} (level {node.level}), which does not exist"
                )
