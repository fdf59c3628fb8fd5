"""Every AWS action Terraform really calls for a stage, granted to the stage's deploy role
(issue 35): the emulator records each call it is sent (ops/action_log.py: Terraform's name their
stack in their User-Agent, the project's own commands name themselves), each call is mapped to
the IAM actions it needs, and each must be granted by the role's policies where IAM authorizes
it (tests/policies/iam.py, `grants`: on "*" for an action of no resource type, else on ARNs of
one of its types), as synthesized for the emulator's account by the same code as a real
account's (the emulator's bootstrap, image-service-state-local).

Recording adds no deployment: the session's deployments (tests/deploy/shared.py), the `make up`
scenario and the derived stage's deploy and destroy record while they run; the test at the end
of each of those modules reads the record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ops.action_log import terraform_actions
from stacks.settings import EMULATOR_ACCOUNT_ID
from tests.policies.iam import Catalogue, grants
from tests.policies.roles import role

# The actions the provider calls and carries on without when refused, each with its source.
TOLERATED = {
    "iam:GetUser": "the provider looks its account up with iam:GetUser first and, refused, "
    "with sts:GetCallerIdentity (aws-sdk-go-base v2, getAccountIDAndPartition; its tests: "
    "'Ignore iam:GetUser failure with unauthorized user')",
}
# Fewer distinct actions than this in a stage's record means the recording failed, not that
# the stage needs little (image-service-local alone needs about 70).
ENOUGH = 40


def missing_grants(
    catalogue: Catalogue,
    bootstrap: Mapping[str, Any],
    deploy_role: str,
    records: Iterable[Path],
    stack: str,
) -> list[str]:
    """Each action the recorded calls for `stack` needed that `deploy_role` (of the emulator's
    bootstrap, `bootstrap`) is not granted, with the operations that needed it and why."""
    records = list(records)
    needed = terraform_actions(records, stack)
    assert len(needed) >= ENOUGH, (
        f"only {len(needed)} actions recorded for {stack} in {[str(r) for r in records]}"
    )
    principal = role(bootstrap, deploy_role, EMULATOR_ACCOUNT_ID)
    missing = []
    for action, operations in sorted(needed.items()):
        if action in TOLERATED:
            continue
        decision = grants(catalogue, principal, action)  # UnknownAction: a wrong mapping
        if not decision:
            missing.append(f"{action} ({', '.join(sorted(operations))}): {decision.reason}")
    return missing
