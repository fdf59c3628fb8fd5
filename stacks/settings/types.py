"""What a stage is made of: its account, its state backend, one props object per concern
(constructs_lib/<concern>/props.py: each section of a stage's settings is its construct's
props), its data protection and, for the emulator stages, the emulator it runs on.
`StageSettings.problems()` reports everything wrong with a stage at once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from constructs_lib.backups.props import BackupsProps
from constructs_lib.cache.props import CacheProps
from constructs_lib.ci_identity.props import PERMISSIONS_BOUNDARY
from constructs_lib.domains.props import CustomDomainsProps
from constructs_lib.errors import Problem
from constructs_lib.image_api.props import ImageApiProps
from constructs_lib.image_bucket.props import ImageBucketProps
from constructs_lib.image_cdn.props import ImageCdnProps
from constructs_lib.metadata_table.props import MetadataTableProps
from constructs_lib.monitoring.props import MonitoringProps
from constructs_lib.network.props import NetworkProps
from constructs_lib.shared import CLOUDFRONT_REGION as CLOUDFRONT_REGION
from constructs_lib.user_auth.props import REGION, UserAuthProps
from constructs_lib.validation import ACCOUNT_ID, ROLE_ARN, bucket_name_problems
from constructs_lib.waf.props import WebAclProps

# The AWS config profile through which the emulator stages' providers reach the emulator.
EMULATOR_PROFILE = "image-service-emulator"

_STAGE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_PROFILE = re.compile(r"^[A-Za-z0-9_.+@-]{1,64}$")


def stack_name(stage: str) -> str:
    """The Terraform stack (and cdktf.out/stacks/ directory) of a stage."""
    return f"image-service-{stage}"


@dataclass(frozen=True)
class AccountSettings:
    """The AWS account a stage lives in, and how its credentials are obtained. Every AWS provider
    of the stage refuses to act in any other account (`allowed_account_ids`); the stage's state
    backend uses the same role or profile."""

    #: The 12-digit account id.
    account_id: str
    #: A role in that account to assume for every provider and the state backend (e.g. a
    #: deploy role). Default: none (the credentials themselves act).
    role_arn: str | None = None
    #: A named profile from ~/.aws/config. Default: none (the environment's credentials, as CI's
    #: OIDC step sets them).
    profile: str | None = None

    def problems(self) -> list[Problem]:
        found = []
        if not ACCOUNT_ID.match(self.account_id):
            found.append(
                Problem(
                    "account_id",
                    f"{self.account_id!r} is not an AWS account id",
                    "use the account's 12 digits, as a string (e.g. '123456789012'; the AWS "
                    "console shows it under the account menu, `aws sts get-caller-identity` "
                    "prints it)",
                )
            )
        found += self._role_problems()
        if self.profile is not None and not _PROFILE.match(self.profile):
            found.append(
                Problem(
                    "profile",
                    f"{self.profile!r} is not a usable profile name",
                    "use the name of a profile in ~/.aws/config (letters, digits, '_', '.', "
                    "'-', '+', '@'), or None for the environment's credentials",
                )
            )
        return found

    def _role_problems(self) -> list[Problem]:
        if self.role_arn is None:
            return []
        match = ROLE_ARN.match(self.role_arn)
        if not match:
            return [
                Problem(
                    "role_arn",
                    f"{self.role_arn!r} is not an IAM role ARN",
                    "use arn:aws:iam::<account id>:role/<name>, or None to use the credentials "
                    "as they are",
                )
            ]
        if match.group(1) != self.account_id:
            return [
                Problem(
                    "role_arn",
                    f"the role is in account {match.group(1)}, but the stage is pinned to "
                    f"account {self.account_id}",
                    "name a role in the stage's own account (every provider refuses any other)",
                )
            ]
        return []


@dataclass(frozen=True)
class StateBackendSettings:
    """Where a stack keeps its Terraform state (S3, encrypted, locked with a lock file)."""

    bucket: str
    region: str

    def problems(self) -> list[Problem]:
        return [*bucket_name_problems("bucket", self.bucket), *region_problems(self.region)]


def region_problems(region: str, setting: str = "region") -> list[Problem]:
    if REGION.match(region):
        return []
    return [
        Problem(
            setting,
            f"'{region}' is not an AWS region name",
            "use a region code such as 'us-east-1' or 'eu-west-1'",
        )
    ]


@dataclass(frozen=True)
class EmulatorSettings:
    """Points every provider and the backend at a local AWS emulator instead of AWS."""

    endpoint: str

    def aws_config(self) -> str:
        """The shared AWS config file the providers read: every service at `endpoint`."""
        return f"[profile {EMULATOR_PROFILE}]\nendpoint_url = {self.endpoint}\n"

    def problems(self) -> list[Problem]:
        if re.match(r"^http://(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d{1,5}$", self.endpoint):
            return []
        return [
            Problem(
                "endpoint",
                f"'{self.endpoint}' is not a loopback URL; the local target must never send "
                "traffic anywhere else",
                "use http://127.0.0.1:<port> (or unset IMAGE_SERVICE_LOCAL_ENDPOINT)",
            )
        ]


@dataclass(frozen=True)
class StageSettings:
    """One stage: each concern's section is that construct's props (the stack adds only what it
    alone knows: data protection, the custom domains' certificates)."""

    stage: str
    account: AccountSettings
    state: StateBackendSettings
    table: MetadataTableProps
    bucket: ImageBucketProps
    cdn: ImageCdnProps
    api: ImageApiProps
    auth: UserAuthProps
    #: The custom domains of the API and the CDN. None: none (the AWS-given names).
    domains: CustomDomainsProps | None = None
    #: Alarms, dashboard, notifications and budget. None: none.
    monitoring: MonitoringProps | None = None
    #: The WAF web ACL in front of the CDN. None: none.
    waf: WebAclProps | None = None
    #: The private network the cache lives in and handlers may join. None: none.
    network: NetworkProps | None = None
    #: The Valkey cache, in `network`. None: none.
    cache: CacheProps | None = None
    #: AWS Backup of the table and the bucket into locked vaults. None: none.
    backups: BackupsProps | None = None
    region: str = "us-east-1"
    #: Production data: DynamoDB deletion protection, Terraform prevent_destroy on the table,
    #: bucket and user pool, and a bucket that refuses to be emptied by Terraform.
    #: Default: protected.
    protect_data: bool = True
    emulator: EmulatorSettings | None = None
    #: A stage made to be thrown away (a pull request's, a developer's: stacks/settings/
    #: derived.py): `bin/cdktf destroy` removes all of it, its state object included, without
    #: naming each loss. Default: no.
    disposable: bool = False
    #: Tags every resource gets besides Service, Stage and ManagedBy (a derived stage's kind,
    #: owner and creation date). Default: none.
    extra_tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def stack_name(self) -> str:
        return stack_name(self.stage)

    @property
    def permissions_boundary_arn(self) -> str:
        """The boundary the account's bootstrap creates, which every role of the stage carries
        (the deploy role may create roles only with it)."""
        return f"arn:aws:iam::{self.account.account_id}:policy/{PERMISSIONS_BOUNDARY}"

    @property
    def state_key(self) -> str:
        return f"image-service/{self.stage}/terraform.tfstate"

    def sections(self) -> dict[str, object]:
        """Every part of the stage that reports its own problems, by its setting name."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if hasattr(getattr(self, f.name), "problems")
        }

    def problems(self) -> list[Problem]:
        """What is wrong with the stage's own fields, every section's problems (named inside
        the section) and what only the stage can see across sections."""
        found = []
        if not _STAGE_NAME.match(self.stage):
            found.append(
                Problem(
                    "stage",
                    f"'{self.stage}' is not a usable stage name",
                    "use 1-40 lowercase letters, digits or '-', starting with a letter",
                )
            )
        found += region_problems(self.region)
        for name, section in self.sections().items():
            found += [p.within(name) for p in section.problems()]  # type: ignore[attr-defined]
        if self.cache is not None and self.network is None:
            found.append(
                Problem(
                    "cache",
                    "the cache needs a private network to live in, and the stage has none",
                    "turn the network on as well (network={} in the stage's row), or the cache "
                    "off (cache=None)",
                )
            )
        backups = self.backups
        if backups and backups.copy.vault_arn is None and backups.copy.region == self.region:
            found.append(
                Problem(
                    "backups.copy.region",
                    f"the copies would live in {self.region}, the stage's own region, beside "
                    "what they protect",
                    "copy to another region (e.g. 'us-west-2'), or into another account's vault "
                    "(backups.copy.vault_arn)",
                )
            )
        if self.protect_data and (self.monitoring is None or not self.monitoring.subscriptions):
            found.append(
                Problem(
                    "monitoring.subscriptions",
                    "the stage's data is protected (real users), but its alarms would reach nobody",
                    "subscribe the on-call address or webhook: monitoring.subscriptions="
                    "(Subscription('email', 'oncall@lego-moc.com'),)",
                )
            )
        if self.protect_data and self.auth.existing is None and self.auth.email is None:
            found.append(
                Problem(
                    "auth.email",
                    "the stage's data is protected (real users), but its user pool would send "
                    "sign-up codes and password resets from Cognito's default sender, which "
                    "AWS caps at about 50 emails a day",
                    "set auth.email=UserPoolEmail(source_arn=<a verified SES identity>, "
                    "from_address=...) in the stage's row",
                )
            )
        return found
