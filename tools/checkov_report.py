"""checkov over every synthesized stack, with the skip list in .checkov.yaml; prints the counts.

    .venv-checkov/bin/python tools/checkov_report.py     (what `make checkov` runs)

checkov leaves checks excluded by `skip-check` out of its own "Skipped" count, so this runs it
twice: with the repository's config (the verdict), and without the skip list, to count what the
list skips. Exit status: 1 if any check fails or any stack was not scanned, else 0.

checkov's terraform_json parser cannot read a string directly in the `terraform` block
(`required_version`: "this method receives only dicts", and the stack is silently left out), so
it scans a copy of each stack's cdk.tf.json without that one key, which no check reads.
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
SYNTHESIZED = ROOT / "cdktf.out"
OPTIONS = ["--framework", "terraform_json", "--skip-download", "--output", "json"]
# Checks that must run and pass on the stacks whose names start so, whatever .checkov.yaml
# skips elsewhere: the CI identity's GitHub OIDC trust (each account's bootstrap: a `sub`
# condition, no wildcard), and the WAF in front of the CDN where the stage has one (staging,
# production and its emulator twin; dev keeps WAF off by setting).
WAF_STACKS = ("image-service-staging", "image-service-production", "image-service-local-production")
# Production's VPC keeps flow logs (staging's keeps none, by setting).
FLOW_LOG_STACKS = ("image-service-production", "image-service-local-production")
MUST_PASS = {
    "CKV_AWS_358": ("image-service-state-",),
    "CKV2_AWS_11": FLOW_LOG_STACKS,
    "CKV_AWS_68": WAF_STACKS,
    "CKV2_AWS_47": WAF_STACKS,
}


def scannable_copy(target: Path) -> list[str]:
    """Every synthesized stack's cdk.tf.json copied under `target`, as checkov can parse it;
    returns the stack names."""
    names = []
    for config in sorted(SYNTHESIZED.glob("stacks/*/cdk.tf.json")):
        document = json.loads(config.read_text())
        document.get("terraform", {}).pop("required_version", None)
        copy = target / "stacks" / config.parent.name / "cdk.tf.json"
        copy.parent.mkdir(parents=True)
        copy.write_text(json.dumps(document))
        names.append(config.parent.name)
    return names


def scan(directory: Path, *extra: str, cwd: Path = ROOT) -> list[dict]:
    proc = subprocess.run(
        [str(CHECKOV), "-d", str(directory), *OPTIONS, *extra],
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    if proc.returncode not in (0, 1):
        sys.exit(f"checkov failed ({proc.returncode}):\n{proc.stderr}")
    data = json.loads(proc.stdout)
    return data if isinstance(data, list) else [data]


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        copies = Path(scratch) / "cdktf.out"
        synthesized = scannable_copy(copies)
        verdict = scan(copies, "--config-file", ".checkov.yaml")
        # checkov always reads .checkov.yaml from its working directory; run from elsewhere to
        # get every check, skip list ignored.
        with tempfile.TemporaryDirectory() as elsewhere:
            everything = scan(copies, cwd=Path(elsewhere))
    stacks = sorted(
        {c["file_path"].split("/")[-2] for r in everything for c in r["results"]["passed_checks"]}
    )
    print(f"checkov {len(stacks)} stacks ({', '.join(stacks)})")
    unscanned = sorted(set(synthesized) - set(stacks))
    if not synthesized or unscanned:
        print(
            "  NOT SCANNED: "
            + (", ".join(unscanned) if unscanned else "no stack in cdktf.out/stacks")
            + " (checkov could not parse them; run checkov on one to see why)"
        )
        return 1
    failed = report_counts(verdict, everything)
    # The verdict's run is quiet (.checkov.yaml): passed checks are listed only without it.
    missing = must_pass_missing(everything, synthesized)
    for line in missing:
        print(f"  NOT PASSED {line}")
    return 1 if failed or missing else 0


def report_counts(verdict: list[dict], everything: list[dict]) -> list[dict]:
    """Print what passed, failed and was skipped (each skip list entry with its count); the
    failed checks."""
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
    return failed


def must_pass_missing(results: list[dict], synthesized: list[str]) -> list[str]:
    """Each MUST_PASS check on each stack it covers that did not pass there (none of them is
    in the skip list, so a failure is also in the verdict's failed checks)."""
    passed = {
        (c["check_id"], c["file_path"].split("/")[-2])
        for r in results
        for c in r["results"].get("passed_checks", [])
    }
    return [
        f"{check} on {stack} (it must run and pass: tools/checkov_report.py, MUST_PASS)"
        for check, prefixes in MUST_PASS.items()
        for stack in synthesized
        if stack.startswith(prefixes) and (check, stack) not in passed
    ]


if __name__ == "__main__":
    sys.exit(main())
