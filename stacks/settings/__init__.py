"""Stage settings: every value that differs between stages, typed and validated.

    types.py     what a stage is made of (StageSettings: its account, state backend and one
                 props object per concern, constructs_lib/<concern>/props.py), and its own checks
    stages.py    the stage table: what dev, staging and production each set differently
    emulator.py  the emulator's table (setting, value, reason) and the emulator stages
    lookup.py    a stage's validated settings by name, the selection, the app's stacks
    accounts.py  the accounts, and what each one's bootstrap creates (state, CI identity, DNS)

A stage's settings are validated once (`stage_settings`, `load_stages`) before any construct is
created, every problem at once, so a bad value stops the program before anything is written.
"""

from stacks.settings.emulator import DEFAULT_LOCAL_ENDPOINT as DEFAULT_LOCAL_ENDPOINT
from stacks.settings.emulator import EMULATOR_ACCESS_KEY as EMULATOR_ACCESS_KEY
from stacks.settings.emulator import EMULATOR_ACCOUNT as EMULATOR_ACCOUNT
from stacks.settings.emulator import EMULATOR_ACCOUNT_ID as EMULATOR_ACCOUNT_ID
from stacks.settings.emulator import EMULATOR_API_DOMAIN_GAP as EMULATOR_API_DOMAIN_GAP
from stacks.settings.emulator import EMULATOR_BUCKET_POLICY_GAP as EMULATOR_BUCKET_POLICY_GAP
from stacks.settings.emulator import EMULATOR_RESPONSE_HEADERS_GAP as EMULATOR_RESPONSE_HEADERS_GAP
from stacks.settings.emulator import EMULATOR_SECRET_KEY as EMULATOR_SECRET_KEY
from stacks.settings.emulator import EMULATOR_STAGES as EMULATOR_STAGES
from stacks.settings.emulator import EMULATOR_TABLE as EMULATOR_TABLE
from stacks.settings.emulator import LOCAL_ENDPOINT_ENV as LOCAL_ENDPOINT_ENV
from stacks.settings.emulator import LOCAL_STATE as LOCAL_STATE
from stacks.settings.emulator import emulator_reason as emulator_reason
from stacks.settings.lookup import ALL_STAGES as ALL_STAGES
from stacks.settings.lookup import BOOTSTRAP_STATE_KEY as BOOTSTRAP_STATE_KEY
from stacks.settings.lookup import EMULATOR_STATE_STACK as EMULATOR_STATE_STACK
from stacks.settings.lookup import LOCAL_STATE_FILE as LOCAL_STATE_FILE
from stacks.settings.lookup import STAGES_ENV as STAGES_ENV
from stacks.settings.lookup import STATE_STACK as STATE_STACK
from stacks.settings.lookup import AppStack as AppStack
from stacks.settings.lookup import app_stacks as app_stacks
from stacks.settings.lookup import bootstrap_stack_name as bootstrap_stack_name
from stacks.settings.lookup import emulator_stage_settings as emulator_stage_settings
from stacks.settings.lookup import load_stages as load_stages
from stacks.settings.lookup import selected_stages as selected_stages
from stacks.settings.lookup import stage_settings as stage_settings
from stacks.settings.lookup import validate_stage as validate_stage
from stacks.settings.stages import ACCOUNTS as ACCOUNTS
from stacks.settings.stages import DEPLOYED_STAGES as DEPLOYED_STAGES
from stacks.settings.stages import STAGE_TABLE as STAGE_TABLE
from stacks.settings.stages import placeholder_problems as placeholder_problems
from stacks.settings.types import CLOUDFRONT_REGION as CLOUDFRONT_REGION
from stacks.settings.types import EMULATOR_PROFILE as EMULATOR_PROFILE
from stacks.settings.types import AccountSettings as AccountSettings
from stacks.settings.types import EmulatorSettings as EmulatorSettings
from stacks.settings.types import StageSettings as StageSettings
from stacks.settings.types import StateBackendSettings as StateBackendSettings
from stacks.settings.types import stack_name as stack_name

# The toolchain every stack declares (terraform.required_version, required_providers): S3-native
# state locking (`use_lockfile`) needs Terraform 1.10; the provider is pinned exactly, as the
# cdktf bindings are generated for it.
TERRAFORM_REQUIRED_VERSION = ">= 1.10, < 2.0"
AWS_PROVIDER_VERSION = "5.100.0"
