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
