"""The template's documentation builds strictly and covers every question."""

import re
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import TEMPLATE


def test_the_docs_build_strictly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=TEMPLATE,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    assert (tmp_path / "workshop" / "lab-1-serve" / "index.html").is_file()
    architecture = (tmp_path / "architecture" / "index.html").read_text()
    assert '<pre class="mermaid">' in architecture, "the layers diagram is not rendered as mermaid"
    for page in tmp_path.rglob("*.html"):
        sources = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", page.read_text())
        remote = [source for source in sources if re.match(r"(https?:)?//", source)]
        assert not remote, f"{page.relative_to(tmp_path)} loads third-party scripts: {remote}"


def test_every_question_is_documented() -> None:
    questions = {
        name
        for name in yaml.safe_load((TEMPLATE / "copier.yml").read_text())
        if not name.startswith("_")
    }
    reference = (TEMPLATE / "docs" / "questions.md").read_text()
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", reference, re.MULTILINE))
    assert documented == questions


class MkDocsLoader(yaml.SafeLoader):
    """mkdocs.yml's YAML: `!!python/name:` tags read as their names, never imported."""


MkDocsLoader.add_multi_constructor(
    "tag:yaml.org,2002:python/name:", lambda _loader, suffix, _node: suffix
)


def test_every_page_is_in_the_navigation() -> None:
    config = yaml.load((TEMPLATE / "mkdocs.yml").read_text(), Loader=MkDocsLoader)

    def pages(items: list[object]) -> set[str]:
        found: set[str] = set()
        for item in items:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            found |= pages(value) if isinstance(value, list) else {str(value)}
        return found

    on_disk = {
        str(path.relative_to(TEMPLATE / "docs")) for path in (TEMPLATE / "docs").rglob("*.md")
    }
    assert pages(config["nav"]) == on_disk
