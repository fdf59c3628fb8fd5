"""UserAuthProps: who may call the API (constructs_lib/user_auth/)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TypedDict

from constructs_lib.errors import Problem
from constructs_lib.validation import EMAIL, set_by_the_stack

_USER_POOL_ID = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d_[0-9A-Za-z]+$")
_CLIENT_ID = re.compile(r"^[0-9a-z]{1,128}$")
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")


@dataclass(frozen=True)
class ExistingUserPool:
    """A Cognito user pool and app clients that exist already, used instead of creating them."""

    #: e.g. 'us-east-1_AbC123xyz'.
    user_pool_id: str
    #: The pool's app client ids: the JWT authorizer's audience.
    client_ids: tuple[str, ...]

    def problems(self) -> list[Problem]:
        found = []
        if not _USER_POOL_ID.match(self.user_pool_id):
            found.append(
                Problem(
                    "user_pool_id",
                    f"'{self.user_pool_id}' is not a Cognito user pool id",
                    "use the id shown by Cognito, e.g. 'us-east-1_AbC123xyz', or existing=None "
                    "to create a pool",
                )
            )
        if not self.client_ids:
            found.append(
                Problem(
                    "client_ids",
                    "an existing pool is named but no client ids",
                    "list the pool's app client ids; the JWT authorizer needs them as audience",
                )
            )
        found += [
            Problem(
                "client_ids",
                f"'{cid}' is not a Cognito app client id",
                "use the client id shown by Cognito (lowercase letters and digits)",
            )
            for cid in self.client_ids
            if not _CLIENT_ID.match(cid)
        ]
        return found


_SES_IDENTITY = re.compile(r"^arn:aws[a-z-]*:ses:([a-z0-9-]+):(\d{12}):identity/(.+)$")


@dataclass(frozen=True)
class UserPoolEmail:
    """The pool's mail (sign-up codes, password resets) sent through Amazon SES from our own
    verified identity (Cognito's DEVELOPER mode), instead of Cognito's default sender, which
    AWS caps at about 50 emails a day per account and sends from no-reply@verificationemail.com.
    """

    #: The verified SES identity: arn:aws:ses:<region>:<account>:identity/<domain or address>.
    source_arn: str
    #: The sender, at the identity's domain (or the identity's address itself).
    from_address: str

    def problems(self) -> list[Problem]:
        match = _SES_IDENTITY.match(self.source_arn)
        if not match:
            return [
                Problem(
                    "source_arn",
                    f"'{self.source_arn}' is not an SES identity ARN",
                    "use arn:aws:ses:<region>:<account id>:identity/<verified domain or "
                    "address> (the SES console's identity page shows it)",
                )
            ]
        identity = match.group(3)
        sender = EMAIL.match(self.from_address)
        if not sender:
            return [
                Problem(
                    "from_address",
                    f"'{self.from_address}' is not an email address",
                    "use an address such as 'no-reply@lego-moc.com'",
                )
            ]
        domain = sender.group(1)
        if self.from_address != identity and not (
            domain == identity or domain.endswith("." + identity)
        ):
            return [
                Problem(
                    "from_address",
                    f"'{self.from_address}' is not covered by the SES identity '{identity}'; "
                    "SES refuses to send from it",
                    f"send from an address at {identity}, or name the identity that verifies "
                    "this address",
                )
            ]
        return []


@dataclass(frozen=True)
class UserAuthProps:
    """UserAuth: a Cognito user pool and browser app client, or existing ones."""

    #: The user pool's name (its app client is named `<name>-web`).
    name: str
    #: The pool's region: part of the token issuer the JWT authorizer checks (the stack gives
    #: its own). Default: us-east-1.
    region: str = field(default="us-east-1", metadata=set_by_the_stack("the stage's region"))
    #: Production data (user accounts): Cognito deletion protection and prevent_destroy.
    #: Default: protected.
    protect_data: bool = field(
        default=True,
        metadata=set_by_the_stack("the stage's `protect_data`"),
    )
    #: Use this pool and its clients instead of creating them. Default: none (create).
    existing: ExistingUserPool | None = None
    #: Users create their own accounts from the app (True), or only an administrator creates
    #: them (False). Default: True: the platform's builders sign themselves up.
    self_sign_up: bool = True
    #: Send the pool's mail through SES from our own identity. Default: none (Cognito's
    #: default sender, capped at about 50 emails a day: enough for a test stage only; a stage
    #: with protected data must set it).
    email: UserPoolEmail | None = None

    def problems(self) -> list[Problem]:
        found = []
        if not self.name.strip():
            found.append(
                Problem(
                    "name",
                    "the user pool name is empty",
                    "name the pool, e.g. 'image-service-dev'",
                )
            )
        if not REGION.match(self.region):
            found.append(
                Problem(
                    "region",
                    f"'{self.region}' is not an AWS region name",
                    "use a region code such as 'us-east-1' or 'eu-west-1'",
                )
            )
        if self.existing is not None:
            found += [p.within("existing") for p in self.existing.problems()]
        if self.email is not None:
            found += [p.within("email") for p in self.email.problems()]
        return found


class UserAuthChanges(TypedDict, total=False):
    """What a stage's row may change of UserAuthProps (stacks/settings/stages.py): every field but
    its name, which the stage gives, and what the stack sets. mypy checks the stage table
    against it."""

    existing: ExistingUserPool | None
    self_sign_up: bool
    email: UserPoolEmail | None
