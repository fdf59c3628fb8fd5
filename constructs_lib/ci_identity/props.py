"""CiIdentityProps: who may act in an account from CI (constructs_lib/ci_identity/): the GitHub
repository whose workflows assume the roles, the account's stages and what each deploys, and
the numbers that bound a deploy (docs/first-deploy.md, "Bounded waits").

GitHub's OIDC token names the job in `sub` (GitHub's docs, "About security hardening with
OpenID Connect"): `repo:OWNER/REPO:environment:NAME` for a job with an `environment:`,
`repo:OWNER/REPO:pull_request` for a pull request's job without one, and
`repo:OWNER/REPO:ref:refs/heads/BRANCH` for any other job without one (the nightly drift check
on main). A deploy role trusting `ref:` would never match an environment-gated deploy job.
Repositories created or renamed since June 2026 present the immutable form
`repo:owner-<id>/repo-<id>:...` (GitHub changelog, 2026-04-23): both forms are accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from constructs_lib.errors import Problem
from constructs_lib.validation import ACCOUNT_ID

# GitHub's OIDC issuer and the audience aws-actions/configure-aws-credentials asks for. No
# thumbprint: since July 2023 AWS checks GitHub's certificate against its trusted CAs, and
# thumbprint_list is optional in provider 5.100 (aws_iam_openid_connect_provider).
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_URL = f"https://{GITHUB_OIDC_HOST}"
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"
# What each account's bootstrap creates; the workflows' secrets hold the roles' ARNs.
REVIEW_ROLE = "image-service-review"
DEPLOY_ROLE_PREFIX = "image-service-deploy-"
PERMISSIONS_BOUNDARY = "image-service-boundary"
# The numbers that bound a deploy, each inside the next: one wait (WAIT_TIMEOUT_MINUTES in
# constructs_lib/shared.py, 20) < the deploy job's timeout-minutes (60) < the deploy role's
# session (90 min), so a stuck wait fails with the provider's message while the job still has
# its credentials to release the state lock. The review and drift jobs time out at 30 min.
DEPLOY_JOB_TIMEOUT_MINUTES = 60
DEPLOY_SESSION_SECONDS = 5400
REVIEW_SESSION_SECONDS = 3600

_NAMED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")
_IMMUTABLE = re.compile(r"^owner-\d+/repo-\d+$")


@dataclass(frozen=True)
class GitHubRepository:
    """The repository whose workflows deploy and review the stages, as GitHub's OIDC token
    names it: `owner/name`, or `owner-<id>/repo-<id>` for one created or renamed since June
    2026."""

    slug: str

    def problems(self) -> list[Problem]:
        if _NAMED.match(self.slug) or _IMMUTABLE.match(self.slug):
            return []
        return [
            Problem(
                "slug",
                f"{self.slug!r} is not a GitHub repository as its OIDC token names it",
                "use 'owner/name' (e.g. 'lego-moc/image-service'), or for a repository created "
                "or renamed since June 2026 its immutable 'owner-<id>/repo-<id>' form (the "
                "`sub` claim of a workflow's token shows which)",
            )
        ]

    def subject(self, context: str) -> str:
        """The token's `sub` for a job of this repository in `context` ("pull_request",
        "environment:dev", "ref:refs/heads/main")."""
        return f"repo:{self.slug}:{context}"


# The concerns a stage may have or not (the families of constructs_lib/ci_identity/ name the
# one they belong to); a deploy role is given the permissions of those its stages may have.
OPTIONAL_CONCERNS = ("domains", "cdn_logs", "budget", "waf", "network", "cache", "backups")


@dataclass(frozen=True)
class DeployScope:
    """What one stage deploys, by name: its deploy role may change these and nothing else of
    the service (the stage's settings give them)."""

    stage: str
    #: The stage's stack name, which prefixes its API, user pool, log groups, handlers and
    #: their roles (e.g. image-service-dev).
    name: str
    table_name: str
    bucket_name: str
    #: The stage's Terraform state object in the account's state bucket.
    state_key: str
    region: str = "us-east-1"
    #: The record names (patterns) its deploy role may change in the account's zones: the
    #: stage's own zone and the names below it. Default: none.
    record_names: tuple[str, ...] = ()
    #: The role in the DNS account through which the stage writes its zone's NS record in the
    #: parent zone (constructs_lib/dns_delegation/). Default: none.
    dns_role_arn: str | None = None
    #: The optional concerns (OPTIONAL_CONCERNS) the stage may have, whose permissions its role
    #: gets. Default: None, every one (a real stage may turn any on).
    concerns: tuple[str, ...] | None = None

    def may_have(self, concern: str | None) -> bool:
        return concern is None or self.concerns is None or concern in self.concerns


@dataclass(frozen=True)
class CiIdentityProps:
    """One account's CI identity: the GitHub OIDC provider, the review role (pull requests and
    the default branch's scheduled drift check: read-only), a deploy role per stage (that
    stage's GitHub environment only), and the permissions boundary every role a deploy creates
    must carry."""

    repository: GitHubRepository
    account_id: str
    #: Each stage of the account.
    stages: tuple[DeployScope, ...]
    #: The account's state bucket.
    state_bucket: str
    #: The reader of the parent zone in the DNS account, which review plans assume
    #: (constructs_lib/dns_delegation/); each stage's writer is its scope's. Default: none.
    dns_read_role_arn: str | None = None
    #: The branch whose scheduled jobs (the nightly drift check) may assume the review role.
    #: Default: "main".
    default_branch: str = "main"

    def problems(self) -> list[Problem]:
        found = [p.within("repository") for p in self.repository.problems()]
        if not ACCOUNT_ID.match(self.account_id):
            found.append(
                Problem(
                    "account_id",
                    f"{self.account_id!r} is not an AWS account id",
                    "use the account's 12 digits",
                )
            )
        if not self.stages:
            found.append(
                Problem(
                    "stages",
                    "the account has no stage, so no deploy role would be created",
                    "give the account at least one stage",
                )
            )
        return found
