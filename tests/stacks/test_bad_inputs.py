"""Every bad input gives a clear error naming the setting and the fix, exits non-zero, and
leaves no half-written cdktf.out."""

import os
import subprocess
import sys
from dataclasses import replace

import pytest

from constructs_lib.cache.props import CacheProps
from constructs_lib.image_api.props import ApiAlarms
from constructs_lib.image_cdn.props import MANAGED_SECURITY_HEADERS_POLICY_ID, CdnAccessLogs
from constructs_lib.metrics import Threshold
from constructs_lib.monitoring.props import Budget, Subscription
from constructs_lib.network.props import FlowLogs, NetworkProps
from constructs_lib.user_auth.props import ExistingUserPool
from constructs_lib.waf.props import WebAclProps
from ops.toolchain import ROOT, project_env
from stacks.cli import PublishError, publish
from stacks.errors import SettingsError
from stacks.settings import ALL_STAGES, EmulatorSettings, stage_settings, validate_stage
from stacks.settings.stages import ALERTS, PRODUCTION_EMAIL
from tests.project_copy import FILLED_IN

dev = stage_settings("dev")
staging = stage_settings("staging")
local_production = stage_settings("local-production")


def _account(**kw):
    return {"account": replace(dev.account, **kw)}


def _bucket(**kw):
    return {"bucket": replace(dev.bucket, **kw)}


def _cdn(**kw):
    return {"cdn": replace(dev.cdn, **kw)}


def _api(**kw):
    return {"api": replace(dev.api, **kw)}


def _domains(**kw):
    return {"domains": replace(dev.domains, **kw)}


# (case id, changes to dev's settings, the setting the message must name)
SETTINGS_CASES = [
    ("region-malformed", {"region": "us-east"}, "region"),
    ("region-uppercase", {"region": "US-EAST-1"}, "region"),
    ("state-region-malformed", {"state": replace(dev.state, region="earth")}, "state.region"),
    ("state-bucket-empty", {"state": replace(dev.state, bucket="")}, "state.bucket"),
    ("account-id-short", _account(account_id="12345"), "account.account_id"),
    ("account-id-int-like", _account(account_id="1111-2222-3333"), "account.account_id"),
    ("account-role-not-an-arn", _account(role_arn="deploy-role"), "account.role_arn"),
    (
        "account-role-in-another-account",
        _account(role_arn="arn:aws:iam::999999999999:role/deploy"),
        "account.role_arn",
    ),
    ("account-profile-with-space", _account(profile="lego dev"), "account.profile"),
    (
        "api-burst-below-rate",
        _api(throttling_burst_limit=500, throttling_rate_limit=1000.0),
        "api.throttling_burst_limit",
    ),
    (
        "cdn-cors-wildcard-subdomain",
        _cdn(cors_origins=("https://*.lego-moc.com",)),
        "cdn.cors_origins",
    ),
    ("cdn-cors-empty", _cdn(cors_origins=()), "cdn.cors_origins"),
    (
        "real-stage-with-the-emulators-headers-policy",
        _cdn(response_headers_policy_id=MANAGED_SECURITY_HEADERS_POLICY_ID),
        "cdn.response_headers_policy_id",
    ),
    (
        "real-stage-ignoring-drift",
        _cdn(ignore_drift_in=tuple(local_production.cdn.ignore_drift_in)),
        "cdn.ignore_drift_in",
    ),
    (
        "cdn-logs-retention-not-accepted",
        _cdn(access_logs=CdnAccessLogs(retention_days=45)),
        "cdn.access_logs.retention_days",
    ),
    # Protected data means real users: Cognito's default sender caps them at ~50 emails a day.
    (
        "protected-stage-without-its-own-email",
        {"protect_data": True, "monitoring": replace(dev.monitoring, subscriptions=ALERTS)},
        "auth.email",
    ),
    # ... and alarms that reach nobody.
    (
        "protected-stage-whose-alarms-reach-nobody",
        {"protect_data": True, "auth": replace(dev.auth, email=PRODUCTION_EMAIL)},
        "monitoring.subscriptions",
    ),
    (
        "alarm-threshold-negative",
        {"api": replace(dev.api, alarms=ApiAlarms(latency_ms=Threshold(-1, 5)))},
        "api.alarms.latency_ms.value",
    ),
    (
        "alarm-statistic-unknown",
        {"api": replace(dev.api, alarms=ApiAlarms(latency_statistic="median"))},
        "api.alarms.latency_statistic",
    ),
    (
        "subscription-email-malformed",
        {"monitoring": replace(dev.monitoring, subscriptions=(Subscription("email", "oncall"),))},
        "monitoring.subscriptions[0].endpoint",
    ),
    (
        "subscription-url-not-https",
        {
            "monitoring": replace(
                dev.monitoring, subscriptions=(Subscription("https", "http://hook.example"),)
            )
        },
        "monitoring.subscriptions[0].endpoint",
    ),
    (
        "real-stage-with-the-emulators-topic-key",
        {"monitoring": replace(dev.monitoring, customer_managed_keys=False)},
        "monitoring.customer_managed_keys",
    ),
    (
        "budget-not-positive",
        {"monitoring": replace(dev.monitoring, budget=Budget(monthly_usd=0))},
        "monitoring.budget.monthly_usd",
    ),
    (
        "waf-rate-limit-below-the-minimum",
        {"waf": WebAclProps(name="image-service-dev-cdn", rate_limit=5)},
        "waf.rate_limit",
    ),
    (
        "delegation-role-outside-the-parent-account",
        _domains(
            delegation=replace(
                dev.domains.delegation, role_arn="arn:aws:iam::111111111111:role/dns"
            )
        ),
        "domains.delegation.role_arn",
    ),
    (
        "zone-not-below-its-parent",
        _domains(delegation=replace(dev.domains.delegation, parent_zone_name="example.org")),
        "domains.delegation.parent_zone_name",
    ),
    (
        "looked-up-zone-delegated-again",
        _domains(create_hosted_zone=False),
        "domains.delegation",
    ),
    ("table-name-empty", {"table": replace(dev.table, name="")}, "table.name"),
    ("table-name-bad-chars", {"table": replace(dev.table, name="Image Metadata")}, "table.name"),
    ("bucket-name-empty", _bucket(name=""), "bucket.name"),
    ("bucket-name-too-short", _bucket(name="ab"), "bucket.name"),
    ("bucket-name-too-long", _bucket(name="a" * 64), "bucket.name"),
    ("bucket-name-uppercase", _bucket(name="Images-Lego"), "bucket.name"),
    ("bucket-name-underscore", _bucket(name="images_lego"), "bucket.name"),
    ("bucket-name-double-dot", _bucket(name="images..lego"), "bucket.name"),
    ("bucket-name-ip", _bucket(name="192.168.5.4"), "bucket.name"),
    ("bucket-name-xn-prefix", _bucket(name="xn--images"), "bucket.name"),
    ("bucket-name-s3alias-suffix", _bucket(name="images-s3alias"), "bucket.name"),
    ("bucket-name-ends-hyphen", _bucket(name="images-"), "bucket.name"),
    ("bucket-cors-empty", _bucket(cors_origins=()), "bucket.cors_origins"),
    (
        "bucket-cors-two-wildcards",
        _bucket(cors_origins=("https://*.*.lego-moc.com",)),
        "bucket.cors_origins",
    ),
    (
        "tiering-days-negative",
        _bucket(intelligent_tiering_days=-1),
        "bucket.intelligent_tiering_days",
    ),
    (
        "noncurrent-days-zero",
        _bucket(noncurrent_version_expiration_days=0),
        "bucket.noncurrent_version_expiration_days",
    ),
    ("multipart-days-negative", _bucket(abort_multipart_days=-3), "bucket.abort_multipart_days"),
    (
        "bucket-preflight-cache-negative",
        _bucket(cors_max_age_seconds=-1),
        "bucket.cors_max_age_seconds",
    ),
    (
        "bucket-exposed-header-not-a-name",
        _bucket(cors_expose_headers=("ETag", "x amz id")),
        "bucket.cors_expose_headers",
    ),
    (
        "api-preflight-cache-over-a-day",
        _api(cors_max_age_seconds=90_000),
        "api.cors_max_age_seconds",
    ),
    ("ttl-min-above-default", _cdn(min_ttl=90_000), "cdn.min_ttl/default_ttl/max_ttl"),
    ("ttl-default-above-max", _cdn(default_ttl=40_000_000), "cdn.min_ttl/default_ttl/max_ttl"),
    ("ttl-negative", _cdn(min_ttl=-1), "cdn.min_ttl/default_ttl/max_ttl"),
    ("origin-access-unknown", _cdn(origin_access="PUBLIC"), "cdn.origin_access"),
    ("cache-policy-unknown", _cdn(cache_policy="none"), "cdn.cache_policy"),
    ("price-class-unknown", _cdn(price_class="PriceClass_50"), "cdn.price_class"),
    # The emulator's shortcuts around provider waits, on a real stage.
    (
        "inline-lifecycle-rules-on-aws",
        _bucket(inline_lifecycle_rules=True),
        "bucket.inline_lifecycle_rules",
    ),
    ("cdn-disabled-on-aws", _cdn(enabled=False), "cdn.enabled"),
    ("cdn-retained-on-aws", _cdn(retain_on_delete=True), "cdn.retain_on_delete"),
    (
        "api-origin-wildcard-subdomain",
        _api(cors_origins=("https://*.lego-moc.com",)),
        "api.cors_origins",
    ),
    ("api-origins-empty", _api(cors_origins=()), "api.cors_origins"),
    ("api-origin-with-path", _api(cors_origins=("https://lego-moc.com/app",)), "api.cors_origins"),
    ("throttle-burst-zero", _api(throttling_burst_limit=0), "api.throttling_burst_limit"),
    ("throttle-rate-negative", _api(throttling_rate_limit=-5.0), "api.throttling_rate_limit"),
    (
        "log-retention-unsupported",
        _api(access_log_retention_days=10),
        "api.access_log_retention_days",
    ),
    (
        "user-pool-name-empty",
        {"auth": replace(dev.auth, name=" ")},
        "auth.name",
    ),
    (
        "existing-pool-bad-id",
        {"auth": replace(dev.auth, existing=ExistingUserPool("pool-1", ("abc",)))},
        "auth.existing.user_pool_id",
    ),
    (
        "existing-pool-no-clients",
        {"auth": replace(dev.auth, existing=ExistingUserPool("us-east-1_Ab1", ()))},
        "auth.existing.client_ids",
    ),
    (
        "existing-pool-bad-client-id",
        {"auth": replace(dev.auth, existing=ExistingUserPool("us-east-1_Ab1", ("Not-A-Client",)))},
        "auth.existing.client_ids",
    ),
    ("hosted-zone-missing", _domains(hosted_zone_name=""), "domains.hosted_zone_name"),
    (
        "api-hostname-invalid",
        _domains(api_hostname="images_dev.lego-api.com"),
        "domains.api_hostname",
    ),
    ("cdn-hostname-outside-zone", _domains(cdn_hostname="cdn.example.org"), "domains.cdn_hostname"),
    (
        "cdn-and-api-hostname-collide",
        _domains(cdn_hostname="images-dev.lego-api.com"),
        "domains.cdn_hostname",
    ),
    (
        "real-stage-allowing-insecure-transport",
        _bucket(deny_insecure_transport=False),
        "bucket.deny_insecure_transport",
    ),
    # The local web origin is the emulator's local stage's alone (issue 29).
    (
        "real-stage-answering-a-developers-machine",
        _api(cors_origins=(*dev.api.cors_origins, "http://localhost:5173")),
        "api.cors_origins",
    ),
    (
        "real-stage-bucket-open-to-127-0-0-1",
        _bucket(cors_origins=(*dev.bucket.cors_origins, "http://127.0.0.1:3000")),
        "bucket.cors_origins",
    ),
    # The cache tier (issue 28): dev turns it on with both sections; every field validated.
    ("cache-without-a-network", {"cache": CacheProps(name="image-service-dev")}, "cache"),
    (
        "cache-name-uppercase",
        {"network": staging.network, "cache": replace(staging.cache, name="Cache")},
        "cache.name",
    ),
    (
        "cache-node-type-unknown",
        {"network": staging.network, "cache": replace(staging.cache, node_type="m5.large")},
        "cache.node_type",
    ),
    (
        "cache-valkey-too-old",
        {"network": staging.network, "cache": replace(staging.cache, engine_version="7.1")},
        "cache.engine_version",
    ),
    (
        "cache-replicas-too-many",
        {"network": staging.network, "cache": replace(staging.cache, replicas=9)},
        "cache.replicas",
    ),
    (
        "cache-snapshots-too-long",
        {"network": staging.network, "cache": replace(staging.cache, snapshot_retention_days=40)},
        "cache.snapshot_retention_days",
    ),
    (
        "cache-snapshot-window-short",
        {
            "network": staging.network,
            "cache": replace(staging.cache, snapshot_window="03:00-03:15"),
        },
        "cache.snapshot_window",
    ),
    (
        "cache-maintenance-window-malformed",
        {
            "network": staging.network,
            "cache": replace(staging.cache, maintenance_window="sun 05:00"),
        },
        "cache.maintenance_window",
    ),
    (
        "network-one-zone",
        {"network": NetworkProps(name="n", zone_ids=("use1-az1",))},
        "network.zone_ids",
    ),
    (
        "network-public-cidr",
        {"network": NetworkProps(name="n", cidr="52.0.0.0/16")},
        "network.cidr",
    ),
    (
        "network-cidr-malformed",
        {"network": NetworkProps(name="n", cidr="10.20.0.0")},
        "network.cidr",
    ),
    (
        "network-subnets-do-not-fit",
        {
            "network": NetworkProps(
                name="n", cidr="10.20.0.0/24", subnet_prefix=25, nat_gateways=True
            )
        },
        "network.subnet_prefix",
    ),
    (
        "flow-log-retention-not-accepted",
        {"network": NetworkProps(name="n", flow_logs=FlowLogs(retention_days=100))},
        "network.flow_logs.retention_days",
    ),
    (
        "real-stage-without-api-domain",
        _domains(api_domain=False),
        "domains.api_domain",
    ),
]


@pytest.mark.parametrize(
    "changes,setting", [c[1:] for c in SETTINGS_CASES], ids=[c[0] for c in SETTINGS_CASES]
)
def test_bad_setting_names_the_setting_and_the_fix(changes, setting):
    with pytest.raises(SettingsError) as err:
        validate_stage(replace(dev, **changes))
    _names_the_setting_and_the_fix(err.value, setting)


def _names_the_setting_and_the_fix(error: SettingsError, setting: str) -> None:
    assert error.setting == setting, str(error)
    assert [p.setting for p in error.problems] == [setting], str(error)
    assert f"`{setting}`" in str(error) and "Fix: " in str(error)
    assert len(error.fix) > 10


# What an emulator stage needs and lacks: (case id, changes to local-production, the setting).
EMULATOR_CASES = [
    (
        "emulator-not-loopback",
        {"emulator": EmulatorSettings("http://10.1.2.3:5000")},
        "emulator.endpoint",
    ),
    (
        "emulator-with-a-budget",
        {"monitoring": replace(local_production.monitoring, budget=Budget(monthly_usd=10))},
        "monitoring.budget",
    ),
    (
        "emulator-looking-up-the-parent-zone",
        {
            "domains": replace(
                local_production.domains,
                delegation=replace(local_production.domains.delegation, create_parent_zone=False),
            )
        },
        "domains.delegation",
    ),
    (
        "emulator-with-an-api-domain",
        {"domains": replace(local_production.domains, api_domain=True)},
        "domains.api_domain",
    ),
    (
        "emulator-denying-insecure-transport",
        {"bucket": replace(local_production.bucket, deny_insecure_transport=True)},
        "bucket.deny_insecure_transport",
    ),
    (
        "emulator-with-an-origin-access-identity",
        {"cdn": replace(local_production.cdn, origin_access="OAI")},
        "cdn.origin_access",
    ),
    (
        "emulator-with-its-own-cache-policy",
        {"cdn": replace(local_production.cdn, cache_policy="custom")},
        "cdn.cache_policy",
    ),
]


@pytest.mark.parametrize(
    "changes,setting", [c[1:] for c in EMULATOR_CASES], ids=[c[0] for c in EMULATOR_CASES]
)
def test_an_emulator_stage_needs_each_row_of_the_emulator_table(changes, setting):
    with pytest.raises(SettingsError) as err:
        validate_stage(replace(local_production, **changes))
    _names_the_setting_and_the_fix(err.value, setting)
    if setting != "emulator.endpoint":
        assert "the emulator cannot take" in str(err.value)
        assert "stacks/settings/emulator.py" in str(err.value)


def test_a_role_and_a_profile_of_the_stages_account_are_accepted():
    account = replace(
        dev.account, role_arn="arn:aws:iam::111111111111:role/image-service-deploy", profile="dev"
    )
    assert validate_stage(replace(dev, account=account)).account == account


def test_every_shipped_stage_is_valid():
    for name in ALL_STAGES:
        assert validate_stage(stage_settings(name)).stage == name


def test_two_stages_claiming_one_zone_are_refused():
    from stacks.settings.lookup import check_zone_claims

    staging = stage_settings("staging")
    claimed = replace(
        staging,
        domains=replace(
            staging.domains,
            hosted_zone_name="lego-api.com",
            api_hostname="api.lego-api.com",
            cdn_hostname="cdn.images-dev.lego-api.com",
        ),
    )
    with pytest.raises(SettingsError) as err:
        check_zone_claims([dev, claimed])
    assert str(err.value) == (
        "Invalid setting `domains.hosted_zone_name` for stage 'staging': the zone "
        "'lego-api.com' and stage 'dev''s zone 'images-dev.lego-api.com' claim the same names; "
        "each stage owns the zone of its own hostnames. Fix: give each stage hostnames under a "
        "zone of its own (e.g. images-<stage>.lego-api.com). (Settings live in stacks/settings/; "
        "nothing was synthesized.)"
    )
    check_zone_claims([dev, staging])  # the shipped stages: one zone each


def test_a_repository_the_oidc_token_cannot_name_is_refused(monkeypatch):
    from constructs_lib.ci_identity.props import GitHubRepository
    from stacks.settings import accounts

    monkeypatch.setattr(accounts, "GITHUB_REPOSITORY", GitHubRepository("lego moc/images"))
    with pytest.raises(SettingsError) as err:
        accounts.account_setup("dev")
    assert err.value.setting == "GITHUB_REPOSITORY"
    assert "is not a GitHub repository as its OIDC token names it" in str(err.value)


def test_unknown_stage():
    with pytest.raises(SettingsError, match=r"'qa' is not a known stage.*Fix: use one of dev"):
        stage_settings("qa")


def _main(tmp_path, **env):
    outdir = tmp_path / "cdktf.out"
    full_env = project_env({"CDKTF_OUTDIR": str(outdir), **env})
    proc = subprocess.run(
        [sys.executable, "main.py"], cwd=ROOT, env=full_env, text=True, capture_output=True
    )
    return proc, outdir


CLI_CASES = [
    ("unknown-stage", {"IMAGE_SERVICE_STAGES": "dev,qa"}, "IMAGE_SERVICE_STAGES"),
    (
        "emulator-endpoint-not-loopback",
        {"IMAGE_SERVICE_LOCAL_ENDPOINT": "http://192.168.1.9:5000"},
        "emulator.endpoint",
    ),
    (
        "emulator-endpoint-https",
        {"IMAGE_SERVICE_LOCAL_ENDPOINT": "https://127.0.0.1:5000"},
        "emulator.endpoint",
    ),
]


@pytest.mark.parametrize("env,setting", [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_synth_refuses_bad_input_without_writing_anything(tmp_path, env, setting):
    proc, outdir = _main(tmp_path, **env)
    assert proc.returncode == 2
    assert f"`{setting}`" in proc.stderr and "Fix:" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not outdir.exists()
    assert not list(tmp_path.glob(".synth-*"))


def _wrapper(tmp_path, env):
    """`bin/cdktf synth` of the dev stage into tmp_path."""
    full = dict(os.environ, **{"IMAGE_SERVICE_STAGES": "dev", **env})
    return subprocess.run(
        [str(ROOT / "bin" / "cdktf"), "synth", "--output", str(tmp_path / "cdktf.out")],
        cwd=ROOT,
        env=full,
        text=True,
        capture_output=True,
    )


def test_terraform_missing_from_path(tmp_path):
    # a PATH with node and python but no terraform
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("node", "bash", "env", "dirname"):
        src = subprocess.run(["which", tool], capture_output=True, text=True).stdout.strip()
        (bindir / tool).symlink_to(src)
    proc = _wrapper(tmp_path, {"PATH": str(bindir)})
    assert proc.returncode == 2
    assert "terraform was not found on PATH" in proc.stderr and "Fix:" in proc.stderr


def test_without_the_provider_mirror_the_wrapper_runs_against_the_public_registry(
    tmp_path, synth_dir
):
    """A machine without this project's offline mirror is no longer refused: the provider comes
    from the registry (tests/ops/test_toolchain.py checks what Terraform is told). Here
    `bin/cdktf review` of the synthesis, which checks the toolchain first: it gets past that to
    the shipped placeholders' refusal, of a stage and of a state stack alike (found through the
    app's table: issue 25, bug 1)."""
    config = tmp_path / "cli.tfrc"
    config.write_text(
        'provider_installation {\n filesystem_mirror {\n  path = "%s"\n }\n}\n'
        % (tmp_path / "no-mirror")
    )
    env = {**_without_credentials(tmp_path), "IMAGE_SERVICE_TF_CLI_CONFIG": str(config)}
    proc = subprocess.run(
        [str(ROOT / "bin" / "cdktf"), "review", "image-service-dev", "--skip-synth"]
        + ["image-service-state-111111111111", "--outdir", str(synth_dir)],
        cwd=ROOT,
        env=env,
        text=True,
        capture_output=True,
    )
    assert proc.returncode == 2, proc.stderr
    assert "mirror" not in proc.stderr
    assert proc.stderr.startswith(
        "error: bin/cdktf review: image-service-dev, image-service-state-111111111111 still "
        "uses the project's placeholders"
    )


@pytest.mark.parametrize(
    "command,what,stack,settings",
    [
        (
            ["bin/cdktf", "deploy", "image-service-dev", "--skip-synth"],
            "bin/cdktf deploy",
            "image-service-dev",
            ["ACCOUNTS['dev']", "DNS_ACCOUNT_ID"],
        ),
        (
            ["bin/cdktf", "review"],
            "bin/cdktf review",
            "image-service-dev, image-service-staging, image-service-production",
            ["ACCOUNTS['dev']", "DNS_ACCOUNT_ID", "ACCOUNTS['staging']", "ACCOUNTS['production']"],
        ),
        (
            ["bin/cdktf", "diff", "image-service-state-333333333333", "--skip-synth"],
            "bin/cdktf diff",
            "image-service-state-333333333333",
            ["ACCOUNTS['production']", "GITHUB_REPOSITORY"],
        ),
        (
            ["bin/cdktf", "output", "image-service-staging"],
            "bin/cdktf output",
            "image-service-staging",
            ["ACCOUNTS['staging']", "DNS_ACCOUNT_ID"],
        ),
        (
            [sys.executable, "-m", "ops.bootstrap", "dev"],
            "ops.bootstrap",
            "image-service-state-111111111111",
            ["ACCOUNTS['dev']", "GITHUB_REPOSITORY"],
        ),
        (
            [sys.executable, "-m", "ops.plan_guard", "image-service-production"],
            "ops.plan_guard",
            "image-service-production",
            ["ACCOUNTS['production']", "DNS_ACCOUNT_ID"],
        ),
        (
            [sys.executable, "-m", "ops.bootstrap", "previews"],
            "ops.bootstrap",
            "image-service-state-555555555555",
            ["PREVIEWS_ACCOUNT", "GITHUB_REPOSITORY"],
        ),
        (
            [sys.executable, "-m", "ops.bootstrap", "dns"],
            "ops.bootstrap",
            "image-service-state-444444444444",
            ["DNS_ACCOUNT_ID", "ACCOUNTS['dev']", "ACCOUNTS['staging']", "ACCOUNTS['production']"],
        ),
    ],
    ids=[
        "deploy",
        "review",
        "diff-of-a-state-stack",
        "output",
        "bootstrap",
        "plan-guard",
        "bootstrap-previews",
        "bootstrap-dns",
    ],
)
def test_the_shipped_placeholders_are_refused_before_credentials_are_looked_for(
    tmp_path, synth_dir, monkeypatch, capsys, command, what, stack, settings
):
    """A new team's first command against a real stage: one paragraph naming each setting to
    fill in, exit 2, before credentials are looked for (this machine has some) or anything is
    synthesized or contacted."""
    if command[0] == "bin/cdktf":
        command = [str(ROOT / "bin" / "cdktf"), *command[1:]]
        if "--skip-synth" in command:
            command += ["--output", str(synth_dir)]
    if what in OWN_PROCESS:
        # The two entry points as a user runs them: a process of their own.
        env = {**_without_credentials(tmp_path), "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE"}
        proc = subprocess.run(command, cwd=ROOT, env=env, text=True, capture_output=True)
        code, stderr, stdout = proc.returncode, proc.stderr, proc.stdout
    else:
        # The other commands' refusal in this process (the same code path, without ~1 s of
        # interpreter start each): what report() prints and returns.
        code, stderr, stdout = _in_process(command, tmp_path, monkeypatch, capsys)
    assert code == 2, stdout + stderr
    assert stderr.startswith(f"error: {what}: {stack} still uses the project's placeholders")
    assert [s for s in settings if f"`{s}`:" in stderr] == settings
    assert stderr.count("\n") == 1, "one paragraph"
    assert "nothing was contacted. Fix: set " in stderr
    assert "(docs/first-deploy.md), then run again" in stderr
    assert "Traceback" not in stderr and stdout == ""


# The placeholder refusals run in a process of their own (the rest in this one).
OWN_PROCESS = ("bin/cdktf deploy", "ops.bootstrap")


def _in_process(command, tmp_path, monkeypatch, capsys) -> tuple[int, str, str]:
    from ops import cdktf, plan_guard

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    capsys.readouterr()
    if command[0].endswith("cdktf"):
        monkeypatch.setattr(sys, "argv", ["bin/cdktf", *command[1:]])
        code = cdktf.main()
    else:
        code = plan_guard.main(command[3:])
    out = capsys.readouterr()
    return code, out.err, out.out


# The project's other commands: (case id, command, text the error must contain)
OPS_CASES = [
    (
        "guard-unknown-stack",
        [sys.executable, "-m", "ops.plan_guard", "image-service-qa"],
        "image-service-qa/cdk.tf.json does not exist. Fix:",
    ),
    (
        "guard-no-arguments",
        [sys.executable, "-m", "ops.plan_guard"],
        "give either STACK or --plan-json FILE",
    ),
    (
        "guard-plan-file-missing",
        [sys.executable, "-m", "ops.plan_guard", "--plan-json", "no-such-plan.json"],
        "cannot read a JSON plan",
    ),
    (
        "wrapper-deploy-unknown-stack",
        [str(ROOT / "bin" / "cdktf"), "deploy", "image-service-qa", "--skip-synth"],
        "image-service-qa is not a stack of this app (its stacks: image-service-dev, ",
    ),
    (
        # Issue 25, bug 1: a state stack is the bootstrap's, found through the app's table.
        "wrapper-deploy-of-a-state-stack",
        [str(ROOT / "bin" / "cdktf"), "deploy", "image-service-state-111111111111", "--skip-synth"],
        "is not deployed like a stage; nothing was done. Fix: run "
        "`.venv/bin/python -m ops.bootstrap dev`",
    ),
    (
        "wrapper-destroy-of-a-state-stack",
        [str(ROOT / "bin" / "cdktf"), "destroy", "image-service-state-local", "--skip-synth"],
        "`.venv/bin/python -m ops.bootstrap local`",
    ),
    (
        # An option the wrapper does not know is never taken for a stack name.
        "wrapper-option-of-the-cli-before-the-separator",
        [str(ROOT / "bin" / "cdktf"), "diff", "image-service-dev", "--var", "x=1"],
        "unrecognized arguments: --var x=1. Options for the cdktf CLI itself go after `--`",
    ),
    (
        "wrapper-without-a-command",
        [str(ROOT / "bin" / "cdktf")],
        "the following arguments are required: COMMAND",
    ),
]


def _without_credentials(tmp_path) -> dict[str, str]:
    """This machine as one without AWS credentials; and should anything still try to reach
    AWS, its requests end at a dead-end proxy on loopback."""
    env = {k: v for k, v in project_env().items() if not k.startswith("AWS_")}
    return {**env, "HOME": str(tmp_path), "HTTPS_PROXY": "http://127.0.0.1:9"}


@pytest.mark.parametrize(
    "command,what,stack",
    [
        (
            ["bin/cdktf", "deploy", "image-service-dev", "--skip-synth"],
            "bin/cdktf deploy",
            "image-service-dev",
        ),
        (
            ["bin/cdktf", "diff", "image-service-dev", "--skip-synth"],
            "bin/cdktf diff",
            "image-service-dev",
        ),
        (
            ["bin/cdktf", "diff", f"image-service-state-{FILLED_IN['dev']}", "--skip-synth"],
            "bin/cdktf diff",
            f"image-service-state-{FILLED_IN['dev']}",
        ),
        (
            [sys.executable, "-m", "ops.bootstrap", "dev"],
            "ops.bootstrap",
            f"image-service-state-{FILLED_IN['dev']}",
        ),
    ],
    ids=["deploy", "diff", "diff-of-a-state-stack", "bootstrap"],
)
def test_a_real_stage_without_credentials_is_refused_before_anything_is_contacted(
    tmp_path, filled_in_project, command, what, stack
):
    """Once the placeholders are filled in (tests/project_copy.py), a machine without
    credentials for the stage's account is the next refusal."""
    if command[0] == "bin/cdktf":
        command = [str(filled_in_project / "bin" / "cdktf"), *command[1:]]
        command += ["--output", str(tmp_path / "cdktf.out")]
    proc = subprocess.run(
        command,
        cwd=filled_in_project,
        env=_without_credentials(tmp_path),
        text=True,
        capture_output=True,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith(
        f"error: {what}: {stack} cannot be planned here: no AWS credentials for "
        f"account {FILLED_IN['dev']} in this environment"
    )
    assert "nothing was contacted. Fix: sign in to the stage's account first" in proc.stderr
    assert "Traceback" not in proc.stderr and "terraform" not in proc.stdout.lower()


@pytest.mark.parametrize(
    "command,expected", [c[1:] for c in OPS_CASES], ids=[c[0] for c in OPS_CASES]
)
def test_project_commands_refuse_bad_arguments_clearly(tmp_path, command, expected):
    proc = subprocess.run(command, cwd=ROOT, env=project_env(), text=True, capture_output=True)
    assert proc.returncode == 2, proc.stderr
    assert expected in " ".join(proc.stderr.split())
    assert "Traceback" not in proc.stderr


def _up(env):
    return subprocess.run(
        [sys.executable, "-m", "ops.up"],
        cwd=ROOT,
        text=True,
        capture_output=True,
        env=dict(project_env(), **env),
        timeout=60,
    )


@pytest.mark.parametrize(
    "env,expected",
    [
        ({"IMAGE_SERVICE_STAGES": "nope"}, "'nope' is not a known stage"),
        ({"IMAGE_SERVICE_STAGES": "dev"}, "leaves out the stage `make up` deploys"),
        ({"IMAGE_SERVICE_LOCAL_ENDPOINT": "http://10.0.0.1:5050"}, "is not a loopback URL"),
        (
            {"IMAGE_SERVICE_LOCAL_ENDPOINT": "http://127.0.0.1:6000"},
            "`make up` runs the project's own emulator",
        ),
    ],
    ids=["unknown-stage", "stage-without-local", "endpoint-not-loopback", "endpoint-of-its-own"],
)
def test_make_up_refuses_environment_settings_instead_of_replacing_them(env, expected):
    proc = _up(env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("error: Invalid setting `") and expected in proc.stderr
    assert "Fix:" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""  # refused before anything started


def test_publishing_is_all_or_nothing_when_a_directory_cannot_be_written(tmp_path):
    outdir, scratch = tmp_path / "cdktf.out", tmp_path / ".synth-x"
    for stack in ("a", "b"):
        (outdir / "stacks" / stack).mkdir(parents=True)
        (outdir / "stacks" / stack / "cdk.tf.json").write_text("old")
        (scratch / "stacks" / stack / "assets").mkdir(parents=True)
        (scratch / "stacks" / stack / "cdk.tf.json").write_text("new")
        (scratch / "stacks" / stack / "assets" / "x.config").write_text("new")
    (outdir / "stacks" / "b" / "assets").write_text("a file where a directory must go")
    with pytest.raises(PublishError) as err:
        publish(scratch, outdir)
    assert "Nothing in" in str(err.value) and "Fix:" in str(err.value)
    assert [(outdir / "stacks" / s / "cdk.tf.json").read_text() for s in "ab"] == ["old", "old"]
    assert not (outdir / "stacks" / "a" / "assets" / "x.config").exists()


def test_synth_into_an_unwritable_place_is_one_clear_error(tmp_path, monkeypatch, capsys):
    # What main.py runs (stacks.cli.run_synth), in this process: it stops before cdktf.
    from stacks.cli import run_synth

    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("CDKTF_OUTDIR", str(blocker / "cdktf.out"))
    monkeypatch.setenv("IMAGE_SERVICE_STAGES", "local")
    with pytest.raises(SystemExit) as exit_:
        run_synth()
    assert exit_.value.code == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith(f"error: cannot write beside {blocker / 'cdktf.out'}")
    assert "Traceback" not in stderr and "Fix:" in stderr


def test_every_problem_of_a_stage_is_reported_at_once():
    broken = replace(
        dev,
        region="us-east",
        table=replace(dev.table, name=""),
        cdn=replace(dev.cdn, price_class="PriceClass_Cheap"),
    )
    with pytest.raises(SettingsError) as err:
        validate_stage(broken)
    assert [p.setting for p in err.value.problems] == ["region", "table.name", "cdn.price_class"]
    message = str(err.value)
    assert message.startswith("3 invalid settings for stage 'dev':")
    for problem in err.value.problems:
        assert f"`{problem.setting}`: {problem.problem}. Fix: {problem.fix}." in message
    assert err.value.setting == "region"  # the first, for callers that name one


def test_the_preview_stages_in_a_real_stages_account_are_refused(monkeypatch):
    """Issue 35: a pull request's code deploys the preview stages; in a real stage's account
    their role could change that stage's HTTP API routes and CloudFront policies, which IAM
    cannot scope inside one account."""
    from stacks.settings import accounts
    from stacks.settings.derived import DerivedStages

    monkeypatch.setattr(
        accounts, "DERIVED", DerivedStages(account=accounts.ACCOUNTS["dev"], base="dev")
    )
    with pytest.raises(SettingsError) as refused:
        accounts.account_setup("previews")
    assert str(refused.value).startswith(
        "Invalid setting `PREVIEWS_ACCOUNT` for stage 'previews': 111111111111 is dev's "
        "account: a pull request's code deploys the preview stages"
    )
    assert "Fix: give the preview and personal stages an AWS account of their own" in str(
        refused.value
    )


def test_two_real_stages_in_one_account_are_refused(monkeypatch):
    from stacks.settings import accounts

    shared = {**accounts.ACCOUNTS, "staging": accounts.ACCOUNTS["dev"]}
    monkeypatch.setattr(accounts, "ACCOUNTS", shared)
    with pytest.raises(SettingsError) as refused:
        accounts.account_setup("dev")
    assert "111111111111 is also dev's account" in str(refused.value)
    assert "Fix: give each real stage an AWS account of its own" in str(refused.value)


def test_an_unknown_account_name_for_the_bootstrap_is_refused_naming_the_choices():
    from stacks.settings import accounts

    with pytest.raises(SettingsError) as refused:
        accounts.account_setup("sandbox")
    assert str(refused.value) == (
        "Invalid setting `account` for stage 'sandbox': 'sandbox' names no account. Fix: use a "
        "stage (dev, staging, production, local, local-production) for its account, 'previews' "
        "for the account of the preview and personal stages, or 'dns' for the one that holds "
        "lego-api.com ('local-dns' on the emulator). (Settings live in stacks/settings/; "
        "nothing was synthesized.)"
    )
