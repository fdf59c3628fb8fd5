"""ImageBucketProps: the settings of the image bucket (constructs_lib/image_bucket/)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

from constructs_lib.errors import Problem
from constructs_lib.validation import (
    bucket_name_problems,
    cors_cache_and_expose_problems,
    s3_cors_origin_problems,
    set_by_the_stack,
    whole_number_problems,
)

# The story's origins: the app and every subdomain (S3 CORS matches one '*' per origin).
BUCKET_CORS_ORIGINS = ("https://lego-moc.com", "https://*.lego-moc.com")
# What a browser's upload reads from S3's answers: each part's ETag completes a multipart
# upload (S3's docs, "Using cross-origin resource sharing": expose ETag for multipart uploads;
# the AWS SDK for JavaScript's Upload reads it), the version a PUT made in a versioned bucket,
# and the request ids support asks for.
BUCKET_CORS_EXPOSE_HEADERS = ("ETag", "x-amz-version-id", "x-amz-request-id", "x-amz-id-2")
# How long a browser reuses a preflight's answer for the same URL (a retried part, say), as the
# API's: an hour.
CORS_MAX_AGE_SECONDS = 3600


@dataclass(frozen=True)
class ImageBucketProps:
    """ImageBucket: private, encrypted, TLS-only, browsers upload through CORS."""

    #: The bucket name (S3's naming rules).
    name: str
    #: Origins browsers may upload from and read with (S3 allows one '*' per origin).
    #: Default: the app and its subdomains.
    cors_origins: tuple[str, ...] = BUCKET_CORS_ORIGINS
    #: Response headers a browser's script may read. Default: ETag (a multipart upload needs
    #: each part's), x-amz-version-id and the request ids.
    cors_expose_headers: tuple[str, ...] = BUCKET_CORS_EXPOSE_HEADERS
    #: Seconds a browser may reuse a preflight's answer (0 to 86400). Default: 3600.
    cors_max_age_seconds: int = CORS_MAX_AGE_SECONDS
    #: Keep overwritten and deleted images as noncurrent versions. Default: on.
    versioning: bool = True
    #: Days until an image moves to Intelligent-Tiering. Default: 0 (at once; SPEC).
    intelligent_tiering_days: int = 0
    #: Days a noncurrent version is kept (versioned buckets). Default: 30.
    noncurrent_version_expiration_days: int = 30
    #: Days until an unfinished multipart upload is aborted. Default: 1.
    abort_multipart_days: int = 1
    #: Production data: prevent_destroy, and Terraform may not empty the bucket to delete it.
    #: Default: protected.
    protect_data: bool = field(
        default=True,
        metadata=set_by_the_stack("the stage's `protect_data`"),
    )
    #: The same rules as aws_s3_bucket's deprecated inline `lifecycle_rule` blocks instead of
    #: an aws_s3_bucket_lifecycle_configuration resource. Only for an emulator: the provider
    #: waits 55 s after creating that resource, not after the inline form (the emulator
    #: table, stacks/settings/emulator.py). Default: off.
    inline_lifecycle_rules: bool = False
    #: The bucket policy denies every request not made over TLS. False only for an emulator
    #: that cannot evaluate that condition (the emulator table); the organisation policy then
    #: needs a waiver with the reason. Default: on.
    deny_insecure_transport: bool = True

    def problems(self) -> list[Problem]:
        found = bucket_name_problems("name", self.name)
        if not self.cors_origins:
            found.append(
                Problem(
                    "cors_origins",
                    "the list is empty, so browsers could not upload",
                    "list at least one origin, e.g. 'https://lego-moc.com'",
                )
            )
        found += s3_cors_origin_problems("cors_origins", self.cors_origins)
        found += cors_cache_and_expose_problems(
            "cors_max_age_seconds",
            self.cors_max_age_seconds,
            "cors_expose_headers",
            self.cors_expose_headers,
        )
        for setting, minimum in (
            ("intelligent_tiering_days", 0),
            ("noncurrent_version_expiration_days", 1),
            ("abort_multipart_days", 1),
        ):
            found += whole_number_problems(setting, getattr(self, setting), minimum, "days")
        return found


class ImageBucketChanges(TypedDict, total=False):
    """What a stage's row may change of ImageBucketProps (stacks/settings/stages.py): every field
    but its name, which the stage gives, and what the stack sets. mypy checks the stage table
    against it."""

    cors_origins: tuple[str, ...]
    cors_expose_headers: tuple[str, ...]
    cors_max_age_seconds: int
    versioning: bool
    intelligent_tiering_days: int
    noncurrent_version_expiration_days: int
    abort_multipart_days: int
    inline_lifecycle_rules: bool
    deny_insecure_transport: bool
