"""Every path of the project that its code, configuration, workflows and docs name exists: a
renamed or deleted module leaves no comment, docstring, cache key or README line pointing at
it (issue 36 found main.py, .checkov.yaml and the setup action's cache key naming the stage
settings' old single module, split into a package long before)."""

from __future__ import annotations

import re
import subprocess

from ops.toolchain import ROOT

# A project path as the text names it: one of the project's folders, then a path.
PATH = re.compile(
    r"(?<![\w./-])((?:stacks|constructs_lib|ops|tests|tools|bench|terraform|\.github|docs)/"
    r"[\w./-]*[\w-])"
)
# Paths named that exist only while something runs, each with what makes it.
MADE_WHILE_RUNNING = {
    "bench/bare-bucket.tfstate": "bench/run.py's bare-bucket stack, in a scratch copy",
    "ops/big.py": "tests/ops/test_toolchain.py's too-big function, in a scratch copy",
    "stacks/image-service-dev/assets/GetImage_Code/NEW/code.zip": "a synthesis's output",
}
# Words that look like paths but are not the project's (a name inside a sentence).
NOT_PATHS = ("terraform/cdktf", "stacks/golden", "tests/constructs/test_")


def test_every_project_path_named_in_the_project_exists():
    listed = subprocess.run(
        ["git", "ls-files", "-c", "-o", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    missing = []
    for name in listed:
        if name.endswith((".json", ".lock")) or not (ROOT / name).is_file():
            continue
        text = (ROOT / name).read_text(errors="replace")
        for match in PATH.finditer(text):
            path = match.group(1).rstrip(".")
            if any(c in path for c in "<*{") or path in MADE_WHILE_RUNNING or path in NOT_PATHS:
                continue
            if not (ROOT / path).exists():
                missing.append(f"{name}: {path}")
    assert missing == []


# A section named in the code or docs: `(docs/first-deploy.md, "Bounded waits")`.
SECTION = re.compile(r"\(((?:README|CONTRIBUTING|docs/[\w-]+)\.md),\s+\"([^\"]+)\"")
# A Markdown link to a project file, with an optional anchor: `[text](docs/faults.md#faults)`.
LINK = re.compile(r"\]\(([^)\s:#]*)(?:#([\w-]+))?\)")


def _headings(path) -> list[str]:
    """The Markdown headings of `path`, outside its code blocks."""
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return [m.group(1).strip() for m in re.finditer(r"^#+ (.+)$", text, re.M)]


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def _project_files(*patterns: str) -> list[str]:
    return subprocess.run(
        ["git", "ls-files", "-c", "-o", "--exclude-standard", *patterns],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()


def test_every_section_named_in_the_project_is_a_heading_of_that_document():
    missing = []
    for name in _project_files("*.py", "*.md", "*.yml", "Makefile", ".ci/run"):
        # A reference may wrap over comment lines: join them first.
        text = re.sub(r"\s*\n\s*(?:#:?\s*)?", " ", (ROOT / name).read_text())
        for document, section in SECTION.findall(text):
            headings = _headings(ROOT / document) if (ROOT / document).is_file() else []
            if not any(heading.startswith(section) for heading in headings):
                missing.append(f'{name}: ({document}, "{section}")')
    assert missing == []


def test_every_link_between_the_docs_reaches_a_file_and_heading():
    broken = []
    for name in _project_files("*.md"):
        source = ROOT / name
        for target, anchor in LINK.findall(source.read_text()):
            path = (source.parent / target).resolve() if target else source
            if not path.exists():
                broken.append(f"{name}: {target}")
            elif anchor and anchor not in {_anchor(h) for h in _headings(path)}:
                broken.append(f"{name}: {target}#{anchor}")
    assert broken == []


def test_the_readme_is_a_front_door_with_the_two_commands_first():
    """At most ~250 lines (issue 36: the old one was 1,400), and its first code block is the
    two set-up-and-run commands; the rest lives in docs/ and CONTRIBUTING.md, which it links."""
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 250
    first_block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in first_block.splitlines()] == [
        "make up",
        "make test",
    ]
    linked = set(re.findall(r"\]\(((?:docs/[\w-]+|CONTRIBUTING)\.md)\)", text))
    on_disk = {f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")} | {"CONTRIBUTING.md"}
    assert linked == on_disk
