"""The DynamoDB table that holds image metadata (single-table design with two GSIs)."""

from __future__ import annotations

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocumentStatement,
)
from cdktf_cdktf_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTableGlobalSecondaryIndex,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
    DynamodbTableTimeouts,
    DynamodbTableTtl,
)
from constructs import Construct

from constructs_lib.grants import Grantee, grant
from constructs_lib.metadata_table import alarms
from constructs_lib.metadata_table.props import MetadataTableProps as MetadataTableProps
from constructs_lib.metrics import Metric
from constructs_lib.monitoring.construct import Monitoring
from constructs_lib.shared import WAIT_TIMEOUT
from constructs_lib.validation import check

# (index name, partition key, sort key). GSI1 answers "a user's images by upload time"
# (GSI1PK=USER#<userId>, GSI1SK=UPLOADED#<timestamp>); GSI2 the same for an album.
GLOBAL_SECONDARY_INDEXES = (
    ("UserIndex", "GSI1PK", "GSI1SK"),
    ("AlbumIndex", "GSI2PK", "GSI2SK"),
)
TTL_ATTRIBUTE = "ttl"
# What each grant allows (DynamoDB's own action names, never dynamodb:*).
READ_DATA_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
)
WRITE_DATA_ACTIONS = (
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)
STREAM_READ_ACTIONS = (
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
)


class MetadataTable(Construct):
    """Pay-per-request table with a stream for later consumers, TTL and AWS-managed-key SSE."""

    def __init__(self, scope: Construct, id_: str, props: MetadataTableProps):
        check(props, f"MetadataTable '{props.name}'")
        super().__init__(scope, id_)
        self.props = props
        key_attributes = [props.partition_key, props.sort_key]
        for _, pk, sk in GLOBAL_SECONDARY_INDEXES:
            key_attributes += [pk, sk]
        self.table = DynamodbTable(
            self,
            "Table",
            name=props.name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=props.partition_key,
            range_key=props.sort_key,
            attribute=[DynamodbTableAttribute(name=a, type="S") for a in key_attributes],
            global_secondary_index=[
                DynamodbTableGlobalSecondaryIndex(
                    name=name, hash_key=pk, range_key=sk, projection_type="ALL"
                )
                for name, pk, sk in GLOBAL_SECONDARY_INDEXES
            ],
            stream_enabled=True,
            stream_view_type="NEW_AND_OLD_IMAGES",
            ttl=DynamodbTableTtl(attribute_name=TTL_ATTRIBUTE, enabled=True),
            # enabled=True without a key ARN means the AWS managed key (aws/dynamodb);
            # enabled=False would mean the AWS *owned* key, which the account cannot audit.
            server_side_encryption=DynamodbTableServerSideEncryption(enabled=True),
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(
                enabled=props.point_in_time_recovery
            ),
            deletion_protection_enabled=props.protect_data,
            # An index backfill or a restore can take long; the provider's defaults (30 and 60
            # min) are past the deploy job's timeout.
            timeouts=DynamodbTableTimeouts(
                create=WAIT_TIMEOUT, update=WAIT_TIMEOUT, delete=WAIT_TIMEOUT
            ),
            lifecycle=TerraformResourceLifecycle(prevent_destroy=props.protect_data),
        )

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def arn(self) -> str:
        return self.table.arn

    @property
    def stream_arn(self) -> str:
        return self.table.stream_arn

    # ---- metrics (AWS/DynamoDB, by TableName and, for an index, GlobalSecondaryIndexName) ----
    def _metric(self, name: str, statistic: str, index: str | None = None) -> Metric:
        dimensions = {"TableName": self.name}
        if index:
            dimensions["GlobalSecondaryIndexName"] = index
        return Metric("AWS/DynamoDB", name, dimensions, statistic, label=f"{name} {index or ''}")

    @property
    def index_names(self) -> tuple[str, ...]:
        return tuple(name for name, _, _ in GLOBAL_SECONDARY_INDEXES)

    def metric_read_throttles(self, index: str | None = None) -> Metric:
        """Read requests throttled (Sum), for the table or one of its indexes."""
        return self._metric("ReadThrottleEvents", "Sum", index)

    def metric_write_throttles(self, index: str | None = None) -> Metric:
        return self._metric("WriteThrottleEvents", "Sum", index)

    def metric_system_errors(self) -> Metric:
        """Requests DynamoDB failed with a 500 (Sum): on AWS's side, not the caller's."""
        return self._metric("SystemErrors", "Sum")

    def metric_consumed_read_capacity(self) -> Metric:
        return self._metric("ConsumedReadCapacityUnits", "Sum")

    def metric_consumed_write_capacity(self) -> Metric:
        return self._metric("ConsumedWriteCapacityUnits", "Sum")

    def metric_latency(self, statistic: str = "Average") -> Metric:
        return self._metric("SuccessfulRequestLatency", statistic)

    def grant_read_data(self, grantee: Grantee) -> DataAwsIamPolicyDocumentStatement:
        """Read items of the table and its indexes (UserIndex, AlbumIndex)."""
        return grant(grantee, "ReadImageMetadata", READ_DATA_ACTIONS, self._table_and_indexes())

    def grant_read_write_data(self, grantee: Grantee) -> DataAwsIamPolicyDocumentStatement:
        """Read, write and delete items of the table (and read its indexes)."""
        return grant(
            grantee,
            "ReadWriteImageMetadata",
            READ_DATA_ACTIONS + WRITE_DATA_ACTIONS,
            self._table_and_indexes(),
        )

    def grant_stream_read(self, grantee: Grantee) -> DataAwsIamPolicyDocumentStatement:
        """Read the table's change stream (that stream's ARN only)."""
        return grant(grantee, "ReadImageMetadataStream", STREAM_READ_ACTIONS, [self.stream_arn])

    def _table_and_indexes(self) -> list[str]:
        return [self.arn, f"{self.arn}/index/*"]

    def add_alarms(self, monitoring: Monitoring) -> None:
        """AWS's recommended alarms on the table and its indexes, and its graphs (alarms.py)."""
        alarms.add_alarms(monitoring, self)
