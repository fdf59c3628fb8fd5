"""Least-privilege grants: what a construct's grant methods hand to whoever needs access.

A grantee is anything with `add_to_role_policy(statement)`: the Lambda handler construct of the
next epic collects the statements into its role's one policy. Grants name exact actions on exact
ARNs, never `*`, `dynamodb:*` or `s3:*` (the organisation policy's iam-no-wildcards rule checks
every stack for that).
"""

from __future__ import annotations

from typing import Protocol

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from constructs import Construct


class Grantee(Protocol):
    def add_to_role_policy(self, statement: DataAwsIamPolicyDocumentStatement) -> None: ...


def grant(
    grantee: Grantee, sid: str, actions: tuple[str, ...], resources: list[str]
) -> DataAwsIamPolicyDocumentStatement:
    """Give `grantee` exactly `actions` on exactly `resources`; returns the statement."""
    statement = DataAwsIamPolicyDocumentStatement(
        sid=sid, effect="Allow", actions=list(actions), resources=resources
    )
    grantee.add_to_role_policy(statement)
    return statement


def service_trust(
    scope: Construct,
    id_: str,
    service: str,
    condition: list[DataAwsIamPolicyDocumentStatementCondition] | None = None,
) -> DataAwsIamPolicyDocument:
    """A role's trust policy: only `service` (e.g. lambda.amazonaws.com) may assume it, on
    `condition` if given."""
    return DataAwsIamPolicyDocument(
        scope,
        id_,
        statement=[
            DataAwsIamPolicyDocumentStatement(
                effect="Allow",
                actions=["sts:AssumeRole"],
                principals=[
                    DataAwsIamPolicyDocumentStatementPrincipals(
                        type="Service", identifiers=[service]
                    )
                ],
                condition=condition,
            )
        ],
    )
