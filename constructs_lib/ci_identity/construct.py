"""An account's CI identity, as AWS CDK's `cdk bootstrap` gives each account (CiIdentityProps):
GitHub's OIDC provider, a read-only review role, a deploy role per stage, and the permissions
boundary every role a deploy creates must carry, so that a deploy role cannot raise its own
privileges through a role it makes.

What each role may do comes from the concerns (constructs_lib/concern.py): each concern's
families give, per kind of resource, the ARNs of a stage's resources and the actions that read
and that change them. A stage's deploy role gets both on its own stage's resources; the
account's review role gets the reads on every stage's. Actions AWS authorizes on no resource
("*") are granted in statements of their own, each action with its reason (the concern's
on_every_resource: the organisation policy accepts a `*` resource there and nowhere else).
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.iam_openid_connect_provider import IamOpenidConnectProvider
from cdktf_cdktf_provider_aws.iam_policy import IamPolicy
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from constructs_lib.ci_identity.permissions import (
    READ_ON_EVERY_RESOURCE,
    REVIEW_ON_EVERY_RESOURCE,
)
from constructs_lib.ci_identity.props import (
    DEPLOY_ROLE_PREFIX,
    DEPLOY_SESSION_SECONDS,
    GITHUB_OIDC_AUDIENCE,
    GITHUB_OIDC_HOST,
    GITHUB_OIDC_URL,
    PERMISSIONS_BOUNDARY,
    REVIEW_ROLE,
    REVIEW_SESSION_SECONDS,
    CiIdentityProps,
    DeployScope,
)
from constructs_lib.concern import (
    Family,
    Statement,
    concerns,
    document,
    families,
    statement,
)
from constructs_lib.validation import check

# Resource types that need no permission of their own: Terraform-side only.
NO_PERMISSIONS_NEEDED = ("terraform_data",)
# What the deploy role does to a handler's role only while the role carries the boundary.
BOUNDED_ROLE_ACTIONS = (
    "iam:CreateRole",
    "iam:PutRolePermissionsBoundary",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
)
# What no review may read, as CDK's lookup role denies it: decrypted data and secrets.
REVIEW_DENIED = (
    "kms:Decrypt",
    "secretsmanager:GetSecretValue",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
)
# IAM's limits on policy size, in characters without whitespace: a role's inline policies
# together, and each customer managed policy (IAM's docs, "IAM and AWS STS quotas").
INLINE_POLICY_LIMIT = 10_240
MANAGED_POLICY_LIMIT = 6_144
# Each document is filled to this share of its limit at most: the next family, or a longer
# account's ARNs, then fit without a new policy at bootstrap (tests/constructs/
# test_ci_identity.py holds every policy to it).
FILL = 0.9


def pack(statements: list[Statement]) -> list[list[Statement]]:
    """The statements in documents that fit IAM's limits with room to spare (FILL), in order:
    the first the role's inline policy, each next one a managed policy."""
    documents: list[list[Statement]] = [[]]
    for next_one in statements:
        limit = FILL * (INLINE_POLICY_LIMIT if len(documents) == 1 else MANAGED_POLICY_LIMIT)
        if documents[-1] and len(document([*documents[-1], next_one])) > limit:
            documents.append([])
        documents[-1].append(next_one)
    return documents


class CiIdentity(Construct):
    """Exposes `review_role`, `deploy_roles` (by stage), `boundary` and `oidc_provider`."""

    def __init__(self, scope: Construct, id_: str, props: CiIdentityProps):
        check(props, "CiIdentity")
        super().__init__(scope, id_)
        self.props = props
        self.oidc_provider = IamOpenidConnectProvider(
            self,
            "GitHubOidc",
            url=GITHUB_OIDC_URL,
            client_id_list=[GITHUB_OIDC_AUDIENCE],
        )
        self.boundary = IamPolicy(
            self,
            "PermissionsBoundary",
            name=PERMISSIONS_BOUNDARY,
            description="The most any role a deploy creates (the handlers') may ever do",
            policy=document(self._boundary_statements()),
        )
        self.review_role = self._role(
            "ReviewRole",
            REVIEW_ROLE,
            [
                props.repository.subject("pull_request"),
                props.repository.subject(f"ref:refs/heads/{props.default_branch}"),
            ],
            REVIEW_SESSION_SECONDS,
            self._review_statements(),
        )
        # A role per GitHub environment; several scopes may share one (the preview role's).
        scopes: dict[str, list[DeployScope]] = {}
        for scope_ in props.stages:
            scopes.setdefault(scope_.stage, []).append(scope_)
        self.deploy_roles = {
            stage: self._role(
                f"DeployRole-{stage}",
                f"{DEPLOY_ROLE_PREFIX}{stage}",
                [props.repository.subject(f"environment:{stage}")],
                DEPLOY_SESSION_SECONDS,
                self._deploy_statements(of_stage),
            )
            for stage, of_stage in scopes.items()
        }

    @property
    def oidc_provider_arn(self) -> str:
        return f"arn:aws:iam::{self.props.account_id}:oidc-provider/{GITHUB_OIDC_HOST}"

    @property
    def boundary_arn(self) -> str:
        return f"arn:aws:iam::{self.props.account_id}:policy/{PERMISSIONS_BOUNDARY}"

    def _role(
        self,
        id_: str,
        name: str,
        subjects: list[str],
        session_seconds: int,
        statements: list[Statement],
    ) -> IamRole:
        """A role GitHub's OIDC tokens for exactly `subjects` may assume (StringEquals: no
        pattern), with its one inline policy. The provider is named by its ARN, as IAM gives
        it (so that checkov's CKV_AWS_358 sees the GitHub trust), and created first."""
        trust = DataAwsIamPolicyDocument(
            self,
            f"{id_}Trust",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    effect="Allow",
                    actions=["sts:AssumeRoleWithWebIdentity"],
                    principals=[
                        DataAwsIamPolicyDocumentStatementPrincipals(
                            type="Federated", identifiers=[self.oidc_provider_arn]
                        )
                    ],
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals",
                            variable=f"{GITHUB_OIDC_HOST}:aud",
                            values=[GITHUB_OIDC_AUDIENCE],
                        ),
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals",
                            variable=f"{GITHUB_OIDC_HOST}:sub",
                            values=subjects,
                        ),
                    ],
                )
            ],
        )
        role = IamRole(
            self,
            id_,
            name=name,
            assume_role_policy=trust.json,
            max_session_duration=session_seconds,
            depends_on=[self.oidc_provider],
        )
        # One inline policy, and what does not fit IAM's limit in managed policies of its own.
        inline, *more = pack(statements)
        IamRolePolicy(self, f"{id_}Policy", name=name, role=role.id, policy=document(inline))
        for n, part in enumerate(more, start=2):
            managed = IamPolicy(self, f"{id_}Policy{n}", name=f"{name}-{n}", policy=document(part))
            IamRolePolicyAttachment(
                self, f"{id_}Policy{n}Attachment", role=role.name, policy_arn=managed.arn
            )
        return role

    def _state(self, keys: list[str], write: bool) -> list[Statement]:
        bucket = f"arn:aws:s3:::{self.props.state_bucket}"
        # A disposable stage's destroy removes every version of its state object.
        actions = (
            ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion")
            if write
            else ("s3:GetObject",)
        )
        return [
            statement("StateBucket", ("s3:ListBucket", "s3:ListBucketVersions"), [bucket]),
            statement("State", actions, [f"{bucket}/{key}" for key in keys]),
        ]

    def _families(self, scopes: list[DeployScope]) -> list[Family]:
        """The families any of `scopes` may have (a derived stage has no network, ...)."""
        return [f for f in families() if any(s.may_have(f.concern) for s in scopes)]

    def _resources(self, family: Family, scopes: list[DeployScope]) -> list[str]:
        account = self.props.account_id
        return list(
            dict.fromkeys(
                arn
                for s in scopes
                if s.may_have(family.concern)
                for arn in family.resources(s, account)
            )
        )

    def _deploy_statements(self, scopes: list[DeployScope]) -> list[Statement]:
        account = self.props.account_id
        boundary = {"StringEquals": {"iam:PermissionsBoundary": self.boundary_arn}}
        roles = [f"arn:aws:iam::{account}:role/{s.name}-*" for s in scopes]
        keys = [key for s in scopes for key in (s.state_key, f"{s.state_key}.tflock")]
        families = self._families(scopes)
        anywhere = sorted(
            {a for f in families for a in f.read_anywhere + f.write_anywhere}
            | set(READ_ON_EVERY_RESOURCE)
        )
        passed = [s for c in concerns() for s in c.passes_roles_to]
        writers = sorted({s.dns_role_arn for s in scopes if s.dns_role_arn})
        return [
            *[
                statement(
                    f.sid,
                    f.read + f.write,
                    self._resources(f, scopes),
                    condition=f.condition(scopes) if f.condition else None,
                )
                for f in families
            ],
            statement("BoundedHandlerRoles", BOUNDED_ROLE_ACTIONS, roles, condition=boundary),
            statement(
                "PassStageRoles",
                ("iam:PassRole",),
                roles,
                condition={"StringEquals": {"iam:PassedToService": passed}},
            ),
            statement("OnEveryResource", anywhere, ["*"]),
            # Lock object beside the state (use_lockfile): a deploy takes the lock.
            *self._state(keys, write=True),
            # Its own stage's NS record in the parent zone, through that stage's writer only.
            *([statement("DnsDelegation", ("sts:AssumeRole",), writers)] if writers else []),
            *self._guards(scopes),
        ]

    def _guards(self, scopes: list[DeployScope]) -> list[Statement]:
        """What a deploy role may never do: drop a role's boundary, touch the bootstrap's own
        roles, boundary and policies, or what a concern says it must never do (lose a
        backup)."""
        account = self.props.account_id
        # Only where the role's stages may have the concern (the previews have no backups).
        forbidden = [
            a for c in concerns() if any(s.may_have(c.name) for s in scopes) for a in c.never
        ]
        return [
            *([statement("NeverLoseData", forbidden, ["*"], effect="Deny")] if forbidden else []),
            statement(
                "KeepTheBoundary",
                ("iam:DeleteRolePermissionsBoundary",),
                ["*"],
                effect="Deny",
            ),
            statement(
                "LeaveTheBootstrapAlone",
                ("iam:*",),
                [
                    self.boundary_arn,
                    f"arn:aws:iam::{account}:role/{REVIEW_ROLE}",
                    f"arn:aws:iam::{account}:role/{DEPLOY_ROLE_PREFIX}*",
                    # The CI roles' own managed policies (what did not fit inline).
                    f"arn:aws:iam::{account}:policy/{REVIEW_ROLE}-*",
                    f"arn:aws:iam::{account}:policy/{DEPLOY_ROLE_PREFIX}*",
                ],
                effect="Deny",
            ),
        ]

    def _review_statements(self) -> list[Statement]:
        scopes = list(self.props.stages)
        families = self._families(scopes)
        anywhere = sorted(
            {a for f in families for a in f.read_anywhere}
            | set(READ_ON_EVERY_RESOURCE)
            | set(REVIEW_ON_EVERY_RESOURCE)
        )
        reader = self.props.dns_read_role_arn
        return [
            *[statement(f.sid, f.read, self._resources(f, scopes)) for f in families if f.read],
            statement("OnEveryResource", anywhere, ["*"]),
            # Review plans run with -lock=false, so no lock object (docs/commands.md,
            # "Review, drift and the pipeline").
            *self._state([stage.state_key for stage in scopes], write=False),
            # The parent zone, read through the DNS account's reader (which writes nothing).
            *([statement("DnsRead", ("sts:AssumeRole",), [reader])] if reader else []),
            statement("NoDecryptionNoSecrets", REVIEW_DENIED, ["*"], effect="Deny"),
        ]

    def _boundary_statements(self) -> list[Statement]:
        """The most a role a deploy creates may do: each concern's boundary, for the account's
        stages, and what they do on no resource."""
        account, stages = self.props.account_id, self.props.stages
        return [
            *[s for c in concerns() if c.boundary for s in c.boundary(stages, account)],
            statement(
                "OnEveryResource", [a for c in concerns() for a in c.boundary_anywhere], ["*"]
            ),
        ]
