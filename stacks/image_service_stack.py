"""The image-service stack of one stage: providers, remote state, constructs, outputs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from cdktf import Aspects, TerraformOutput, TerraformProvider, TerraformStack, TerraformVariable
from constructs import Construct

from constructs_lib.backups.construct import Backups
from constructs_lib.backups.props import BACKUP_ROLE
from constructs_lib.cache.construct import Cache
from constructs_lib.dns_delegation.props import DNS_ROLE_VARIABLE
from constructs_lib.domains.construct import CustomDomains
from constructs_lib.image_api.construct import ImageApi
from constructs_lib.image_bucket.construct import ImageBucket
from constructs_lib.image_bucket.rules import BUCKET_DENY_INSECURE_TRANSPORT
from constructs_lib.image_cdn.construct import ImageCdn
from constructs_lib.image_handler.construct import ImageHandler
from constructs_lib.metadata_table.construct import MetadataTable
from constructs_lib.monitoring.construct import Monitoring
from constructs_lib.network.construct import Network
from constructs_lib.shared import PERMISSIONS_BOUNDARY_CONTEXT
from constructs_lib.user_auth.construct import UserAuth
from constructs_lib.waf.construct import WebAcl
from stacks.policies import OrganisationPolicy, PolicyProps
from stacks.providers import aws_provider, pin_toolchain, s3_backend
from stacks.settings import CLOUDFRONT_REGION, AccountSettings, StageSettings, emulator_reason
from stacks.settings.derived import CREATED_ON_TAG

# What `add_service_environment` tells a handler: where the service's data lives.
TABLE_NAME_VARIABLE = "TABLE_NAME"
BUCKET_NAME_VARIABLE = "BUCKET_NAME"
CDN_DOMAIN_VARIABLE = "CDN_DOMAIN"


class ImageServiceStack(TerraformStack):
    def __init__(self, scope: Construct, settings: StageSettings):
        super().__init__(scope, settings.stack_name)
        self.settings = settings
        # Every role created in the stack (the handlers') carries the account's boundary.
        self.node.set_context(PERMISSIONS_BOUNDARY_CONTEXT, settings.permissions_boundary_arn)
        pin_toolchain(self)
        aws_provider(
            self,
            "aws",
            region=settings.region,
            stage=settings.stage,
            account=settings.account,
            emulator=settings.emulator,
            tags=settings.extra_tags,
        )
        # CloudFront's control plane: it only accepts ACM certificates issued in us-east-1, and
        # delivers its standard logs (v2) only from there.
        us_east_1 = aws_provider(
            self,
            "aws_us_east_1",
            region=CLOUDFRONT_REGION,
            stage=settings.stage,
            account=settings.account,
            emulator=settings.emulator,
            alias="us_east_1",
            tags=settings.extra_tags,
        )
        self.dns_parent = self._dns_parent_provider(settings)
        s3_backend(self, settings.state, settings.state_key, settings.emulator, settings.account)
        # Checked when the stack is synthesized; a violation stops synthesis.
        self.policy = OrganisationPolicy(
            PolicyProps(
                protect_data=settings.protect_data,
                permissions_boundary_arn=settings.permissions_boundary_arn,
                waivers={}
                if settings.bucket.deny_insecure_transport
                else {
                    BUCKET_DENY_INSECURE_TRANSPORT: emulator_reason(
                        "bucket.deny_insecure_transport"
                    )
                },
            )
        )
        Aspects.of(self).add(self.policy)
        self.compose(settings, us_east_1)

    def _dns_parent_provider(self, settings: StageSettings) -> TerraformProvider | None:
        """The provider that writes the stage zone's NS record in the parent zone: pinned to the
        parent's account, through the stage's writer role there (None: no delegation). The role
        is the variable DNS_ROLE_VARIABLE, whose default is the writer: review and drift plans,
        which may not assume the writer, set it to the reader (ops/review.py)."""
        delegation = settings.domains.delegation if settings.domains else None
        if delegation is None:
            return None
        role_arn = delegation.role_arn
        if role_arn is not None:
            role_arn = TerraformVariable(
                self,
                DNS_ROLE_VARIABLE,
                type="string",
                default=role_arn,
                description="The role in the DNS account through which the parent zone is "
                "written (the stage's writer) or only read (review plans: the reader)",
            ).string_value
        return aws_provider(
            self,
            "aws_dns_parent",
            region=settings.region,
            stage=settings.stage,
            account=AccountSettings(account_id=delegation.parent_account_id, role_arn=role_arn),
            emulator=settings.emulator,
            alias="dns_parent",
            tags=settings.extra_tags,
        )

    def compose(self, settings: StageSettings, us_east_1: TerraformProvider) -> None:
        """The constructs, each given its settings section, with what only the stack knows: the
        stage's data protection and the custom domains' certificates."""
        protect = settings.protect_data
        self.table = MetadataTable(
            self, "MetadataTable", replace(settings.table, protect_data=protect)
        )
        self.bucket = ImageBucket(
            self, "ImageBucket", replace(settings.bucket, protect_data=protect)
        )
        domains = (
            CustomDomains(
                self,
                replace(settings.domains, protect_data=protect),
                cdn_certificate_provider=us_east_1,
                parent_provider=self.dns_parent,
            )
            if settings.domains
            else None
        )
        self.waf = (
            WebAcl(self, "Waf", replace(settings.waf, provider=us_east_1)) if settings.waf else None
        )
        self.cdn = ImageCdn(
            self,
            "ImageCdn",
            self.bucket,
            replace(
                settings.cdn,
                custom_domain=domains.cdn_domain if domains else None,
                log_delivery_provider=us_east_1,
                web_acl_id=self.waf.arn if self.waf else None,
            ),
        )
        self.auth = UserAuth(
            self,
            "UserAuth",
            replace(settings.auth, region=settings.region, protect_data=protect),
        )
        self.api = ImageApi(
            self,
            "ImageApi",
            self.auth,
            replace(settings.api, custom_domain=domains.api_domain if domains else None),
        )
        if domains:
            domains.alias("CdnAlias", domains.cdn_domain, self.cdn, ipv6=True)
            if domains.api_domain:
                domains.alias("ApiAlias", domains.api_domain, self.api, ipv6=False)
        self.backups = self._backups(settings)
        self.monitoring = self._monitoring(settings, domains, us_east_1)
        self._cache_tier(settings)
        #: The custom domains (the stage's zone, certificates, aliases), or None.
        self.domains = domains
        self.cdn_hostname = domains.cdn_domain.hostname if domains else self.cdn.domain_name
        self.add_outputs(domains)

    def _backups(self, settings: StageSettings) -> Backups | None:
        """AWS Backup of the table and the bucket into a locked vault, copied into a locked
        vault in another region (a provider of its own) or another account's."""
        if settings.backups is None:
            return None
        copy = settings.backups.copy
        copy_provider = (
            aws_provider(
                self,
                "aws_backup_copy",
                region=copy.region,
                stage=settings.stage,
                account=settings.account,
                emulator=settings.emulator,
                alias="backup_copy",
                tags=settings.extra_tags,
            )
            if copy.vault_arn is None
            else None
        )
        return Backups(
            self,
            "Backups",
            replace(
                settings.backups,
                resource_arns=(self.table.arn, self.bucket.arn),
                role_arn=f"arn:aws:iam::{settings.account.account_id}:role/{BACKUP_ROLE}",
                copy_provider=copy_provider,
                protect_data=settings.protect_data,
            ),
        )

    def _cache_tier(self, settings: StageSettings) -> None:
        """The private network handlers may join (ImageHandlerProps.network) and the Valkey
        cache in it (grant_connect), each None where the stage has none; after monitoring,
        which watches the cache."""
        self.network = Network(self, "Network", settings.network) if settings.network else None
        self.cache = (
            Cache(self, "Cache", self.network, settings.cache)
            if settings.cache and self.network
            else None
        )

    def _monitoring(
        self,
        settings: StageSettings,
        domains: CustomDomains | None,
        us_east_1: TerraformProvider,
    ) -> Monitoring | None:
        """The stage's alarms on the API, table, CDN and certificates (and, as they are
        added, every handler), its dashboard and budget."""
        if settings.monitoring is None:
            return None
        monitoring = Monitoring(
            self,
            replace(settings.monitoring, region=settings.region),
            settings.account.account_id,
            global_provider=us_east_1,
        )
        monitoring.watch(
            self.api,
            self.table,
            self.cdn,
            *([domains] if domains else []),
            *([self.backups] if self.backups else []),
        )
        return monitoring

    def add_outputs(self, domains: CustomDomains | None) -> None:
        outputs = {
            "TableName": self.table.name,
            "TableArn": self.table.arn,
            "TableStreamArn": self.table.stream_arn,
            "BucketName": self.bucket.name,
            "BucketArn": self.bucket.arn,
            "CloudFrontDomain": self.cdn.domain_name,
            "CloudFrontDistributionId": self.cdn.distribution_id,
            "ApiEndpoint": self.api.endpoint,
            "ApiId": self.api.api_id,
            "UserPoolId": self.auth.user_pool_id,
            "UserPoolClientId": self.auth.audience[0],
        }
        if self.monitoring:
            outputs["AlarmTopicArn"] = self.monitoring.topic.arn
            outputs["GlobalAlarmTopicArn"] = self.monitoring.global_topic.arn
        if self.waf:
            outputs["WebAclArn"] = self.waf.arn
        if self.network:
            outputs["VpcId"] = self.network.vpc_id
        if self.backups:
            outputs["BackupVaultName"] = self.backups.vault.name
            outputs["BackupCopyVaultArn"] = self.backups.copy_vault_arn
        if self.cache:
            outputs["CacheEndpoint"] = self.cache.endpoint
            outputs["CachePort"] = str(self.cache.port)
        if domains:
            outputs["CdnCustomDomain"] = domains.cdn_domain.hostname
            if domains.api_domain:
                outputs["ApiCustomDomain"] = domains.api_domain.hostname
        if self.settings.disposable and CREATED_ON_TAG in self.settings.extra_tags:
            # Read back by bin/cdktf before the next deploy, so the tag keeps its first date.
            outputs["CreatedOn"] = self.settings.extra_tags[CREATED_ON_TAG]
        for name, value in outputs.items():
            TerraformOutput(self, name, value=value)

    def handler_sources(self) -> dict[str, dict[str, str]]:
        """Each ImageHandler's function name -> its source folder (absolute) and handler: what
        the local gateway runs (stacks/cli.py writes it beside an emulator stack)."""
        return {
            c.props.name: {
                "source_dir": str(Path(c.props.source_dir).resolve()),
                "handler": c.props.handler,
            }
            for c in self.node.find_all()
            if isinstance(c, ImageHandler)
        }

    def add_service_environment(self, handler: ImageHandler) -> None:
        """Tell a handler where the service's data lives: TABLE_NAME, BUCKET_NAME and
        CDN_DOMAIN (the hostname images are served from). Access is granted separately, with
        the table's and the bucket's grant methods."""
        handler.add_environment(TABLE_NAME_VARIABLE, self.table.name)
        handler.add_environment(BUCKET_NAME_VARIABLE, self.bucket.name)
        handler.add_environment(CDN_DOMAIN_VARIABLE, self.cdn_hostname)
