"""checkov over every synthesized stack, with the skip list in .checkov.yaml; prints the counts.

    .venv-checkov/bin/python tools/checkov_report.py     (what `make checkov` runs)

checkov leaves checks excluded by `skip-check` out of its own "Skipped" count, so this runs it
twice: with the repository's config (the verdict), and without the skip list, to count what the
list skips. Exit status: 1 if any check fails, else 0.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKOV = Path(sys.executable).with_name("checkov")
BASE = [
    str(CHECKOV),
    "-d",
    str(ROOT / "cdktf.out"),
    "--framework",
    "terraform_json",
    "--skip-download",
    "--output",
    "json",
]


def scan(*extra: str, cwd: Path = ROOT) -> list[dict]:
    proc = subprocess.run([*BASE, *extra], cwd=cwd, capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        sys.exit(f"checkov failed ({proc.returncode}):\n{proc.stderr}")
    data = json.loads(proc.stdout)
    return data if isinstance(data, list) else [data]


def main() -> int:
    verdict = scan("--config-file", ".checkov.yaml")
    # checkov always reads .checkov.yaml from its working directory; run from elsewhere to get
    # every check, skip list ignored.
    with tempfile.TemporaryDirectory() as elsewhere:
        everything = scan(cwd=Path(elsewhere))
    passed = sum(r["summary"]["passed"] for r in verdict)
    failed = [c for r in verdict for c in r["results"].get("failed_checks", [])]
    suppressed = sum(r["summary"]["skipped"] for r in verdict)
    all_failed = [c for r in everything for c in r["results"]["failed_checks"]]
    kept = {(c["check_id"], c["file_path"], c["resource"]) for c in failed}
    skipped = Counter(
        c["check_id"]
        for c in all_failed
        if (c["check_id"], c["file_path"], c["resource"]) not in kept
    )
    stacks = sorted(
        {c["file_path"].split("/")[-2] for r in everything for c in r["results"]["passed_checks"]}
    )
    print(f"checkov {len(stacks)} stacks ({', '.join(stacks)})")
    print(
        f"  passed {passed}, failed {len(failed)}, skipped {sum(skipped.values()) + suppressed} "
        f"({len(skipped)} check ids in .checkov.yaml, each with its reason)"
    )
    for check_id, count in sorted(skipped.items()):
        print(f"    skipped {check_id:12} x{count}")
    for c in failed:
        print(
            f"  FAILED {c['check_id']} {c['check_name']}\n    {c['resource']} in {c['file_path']}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
