"""The props of every construct in this library, one module per concern, importable without
cdktf (the stage settings are these props, validated before cdktf is even imported).

A construct takes one props object; each field says what it means, and the defaults are what
is usual for this service (and the safe choice for data, as AWS CDK retains stateful resources
by default), so a caller passes only what differs. `problems()` reports everything wrong with
the props at once (constructs_lib/validation.py); a construct refuses props with problems.
An optional part of a concern is a field that holds its own props, None when it is off
(`domains`, `cdn.access_logs`, `auth.existing`).
"""

from constructs_lib.props.cache import CacheProps as CacheProps
from constructs_lib.props.domains import CustomDomain as CustomDomain
from constructs_lib.props.domains import CustomDomainsProps as CustomDomainsProps
from constructs_lib.props.domains import (
    DnsValidatedCertificateProps as DnsValidatedCertificateProps,
)
from constructs_lib.props.domains import HostedZoneProps as HostedZoneProps
from constructs_lib.props.domains import ZoneDelegation as ZoneDelegation
from constructs_lib.props.image_api import API_CORS_ORIGINS as API_CORS_ORIGINS
from constructs_lib.props.image_api import ImageApiProps as ImageApiProps
from constructs_lib.props.image_bucket import BUCKET_CORS_ORIGINS as BUCKET_CORS_ORIGINS
from constructs_lib.props.image_bucket import ImageBucketProps as ImageBucketProps
from constructs_lib.props.image_cdn import (
    MANAGED_CACHING_OPTIMIZED_POLICY_ID as MANAGED_CACHING_OPTIMIZED_POLICY_ID,
)
from constructs_lib.props.image_cdn import (
    MANAGED_SECURITY_HEADERS_POLICY_ID as MANAGED_SECURITY_HEADERS_POLICY_ID,
)
from constructs_lib.props.image_cdn import PRICE_CLASSES as PRICE_CLASSES
from constructs_lib.props.image_cdn import CdnAccessLogs as CdnAccessLogs
from constructs_lib.props.image_cdn import ImageCdnProps as ImageCdnProps
from constructs_lib.props.image_handler import ImageHandlerProps as ImageHandlerProps
from constructs_lib.props.metadata_table import MetadataTableProps as MetadataTableProps
from constructs_lib.props.monitoring import Budget as Budget
from constructs_lib.props.monitoring import MonitoringProps as MonitoringProps
from constructs_lib.props.monitoring import Subscription as Subscription
from constructs_lib.props.monitoring import Threshold as Threshold
from constructs_lib.props.monitoring import WebAclProps as WebAclProps
from constructs_lib.props.network import FlowLogs as FlowLogs
from constructs_lib.props.network import NetworkProps as NetworkProps
from constructs_lib.props.user_auth import ExistingUserPool as ExistingUserPool
from constructs_lib.props.user_auth import UserAuthProps as UserAuthProps
from constructs_lib.props.user_auth import UserPoolEmail as UserPoolEmail
