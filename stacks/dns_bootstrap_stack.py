"""The DNS account's delegation roles (constructs_lib/dns_delegation/): a writer per real
stage, through which only that stage's deploy role changes only its own zone's NS record in the
parent zone, and a reader for review plans.

`python -m ops.bootstrap dns` applies it (after the account's state bucket: its state lives
there, `image-service/dns/terraform.tfstate`), with the DNS account's administrator's
credentials, once every stage account is bootstrapped (a writer's trust names the stage's
deploy role, which must exist). On the emulator `python -m ops.bootstrap local-dns` applies the
same stack, creating the parent zone the emulator lacks.
"""

from __future__ import annotations

from cdktf import Aspects, TerraformOutput, TerraformStack
from constructs import Construct

from constructs_lib.dns_delegation.construct import DnsDelegation
from constructs_lib.dns_delegation.props import DnsDelegationProps
from stacks.policies import OrganisationPolicy, PolicyProps
from stacks.providers import aws_provider, pin_toolchain, s3_backend
from stacks.settings import AccountSettings, EmulatorSettings, StateBackendSettings
from stacks.settings.accounts import DNS_STATE_KEY
from stacks.state_bootstrap_stack import role_output


class DnsBootstrapStack(TerraformStack):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        state: StateBackendSettings,
        account: AccountSettings,
        emulator: EmulatorSettings | None,
        props: DnsDelegationProps,
    ):
        super().__init__(scope, id_)
        pin_toolchain(self)
        s3_backend(self, state, DNS_STATE_KEY, emulator, account)
        aws_provider(
            self, "aws", region=state.region, stage="shared", account=account, emulator=emulator
        )
        Aspects.of(self).add(OrganisationPolicy(PolicyProps(protect_data=emulator is None)))
        self.delegation = DnsDelegation(self, "DnsDelegation", props)
        TerraformOutput(self, "DnsReaderRoleArn", value=self.delegation.reader.arn)
        for stage, role in self.delegation.writers.items():
            TerraformOutput(self, role_output("DnsWriterRoleArn", stage), value=role.arn)
