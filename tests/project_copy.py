"""A copy of this project's working tree for tests that need the project changed as a user would
change it: the next epic's handler added (tests/deploy/test_make_up.py), or the shipped
placeholders filled in with an organisation's own values (docs/first-deploy.md)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from ops.toolchain import ROOT

# What a team fills in before its first deploy (stacks/settings/stages.py), as
# docs/first-deploy.md says: each stage's account, the previews account, the DNS account and
# the repository.
FILLED_IN = {
    "dev": "210000000001",
    "staging": "210000000002",
    "production": "210000000003",
    "dns": "210000000004",
    "previews": "210000000005",
    "repository": "lego-moc/image-service",
}


def copy_project(root: Path) -> Path:
    """A copy of what git tracks or would track, beside the installed dependencies; a git work
    tree, as a checkout is (make up's synthesis cache lists its files with git)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "-c", "-o", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, root / name)
    for name in (".venv", "node_modules"):
        (root / name).symlink_to(ROOT / name)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


def fill_in_placeholders(root: Path) -> Path:
    """The copy's stacks/settings/stages.py with FILLED_IN's values where the placeholders
    were: exactly the four edits docs/first-deploy.md lists."""
    stages = root / "stacks" / "settings" / "stages.py"
    text = stages.read_text()
    edits = [
        *[
            (
                rf'"{stage}": AccountSettings\(account_id="\d{{12}}"\)',
                f'"{stage}": AccountSettings(account_id="{FILLED_IN[stage]}")',
            )
            for stage in ("dev", "staging", "production")
        ],
        (r'^DNS_ACCOUNT_ID = "\d{12}"$', f'DNS_ACCOUNT_ID = "{FILLED_IN["dns"]}"'),
        (
            r'^PREVIEWS_ACCOUNT = AccountSettings\(account_id="\d{12}"\)$',
            f'PREVIEWS_ACCOUNT = AccountSettings(account_id="{FILLED_IN["previews"]}")',
        ),
        (
            r"^GITHUB_REPOSITORY = GitHubRepository\(PLACEHOLDER_REPOSITORY\)$",
            f'GITHUB_REPOSITORY = GitHubRepository("{FILLED_IN["repository"]}")',
        ),
    ]
    for pattern, replacement in edits:
        text, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
        assert count == 1, f"stages.py no longer has {pattern!r}"
    stages.write_text(text)
    return root
