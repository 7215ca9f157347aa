"""The benchmarks import what a generated project has, checked without running them."""

import ast
from pathlib import Path

import pytest

from conftest import DEFAULT_ANSWERS, rendered

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
PACKAGE = DEFAULT_ANSWERS["package_name"]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return rendered(tmp_path_factory, "benchmarks") / "src"


def module_file(source: Path, dotted: str) -> Path | None:
    base = source.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def top_level_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


@pytest.mark.parametrize(
    "script", sorted(BENCHMARKS.rglob("*.py")), ids=lambda p: str(p.relative_to(BENCHMARKS))
)
def test_every_import_of_the_package_names_something_it_has(source: Path, script: Path) -> None:
    """A benchmark left behind by a move of the package fails here, not on the day it is run."""
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.Import):
            dotted = [alias.name for alias in node.names if alias.name.startswith(PACKAGE)]
            for name in dotted:
                assert module_file(source, name), f"{script.name}: no module {name}"
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE):
            assert node.module is not None
            found = module_file(source, node.module)
            assert found, f"{script.name}: no module {node.module}"
            defined = top_level_names(found)
            for alias in node.names:
                submodule = module_file(source, f"{node.module}.{alias.name}")
                assert alias.name in defined or submodule, (
                    f"{script.name}: {node.module} has no {alias.name}"
                )
