"""How props say what is wrong with them: a `Problem` (constructs_lib/errors.py) names the field,
the problem and the fix.

Every props class has `problems()`, which returns all of its problems at once (as AWS CDK's
validation reports every problem); a construct given props with problems raises them as one
ConstructError (`check`), and a stage's settings report every section's problems, prefixed
with the section's name (`Problem.within`), as one SettingsError. The rules that several props
share are here, each once: bucket names, CloudWatch Logs retention periods, CORS origins, DNS
hostnames, whole numbers.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Protocol

from constructs_lib.errors import ConstructError, Problem


class Validated(Protocol):
    def problems(self) -> list[Problem]: ...


def check(props: Validated, construct: str) -> None:
    """Raise every problem of `props` as one ConstructError naming `construct`."""
    found = props.problems()
    if found:
        raise ConstructError(construct, found)


# ---- the shared rules -----------------------------------------------------------------------
# The retention periods CloudWatch Logs accepts (PutRetentionPolicy); anything else is rejected
# by AWS at apply time, so the props reject it at synth time instead.
# An AWS account id, an IAM role's ARN (group 1: its account) and an email address (group 1:
# its domain), as every props that names one checks it.
ACCOUNT_ID = re.compile(r"^\d{12}$")
ROLE_ARN = re.compile(r"^arn:aws(?:-[a-z-]+)?:iam::(\d{12}):role/[\w+=,.@/-]{1,64}$")
EMAIL = re.compile(r"^[^@\s]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)$")

LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


def retention_problems(setting: str, days: object) -> list[Problem]:
    if days in LOG_RETENTION_DAYS:
        return []
    return [
        Problem(
            setting,
            f"{days!r} is not a retention period CloudWatch Logs accepts",
            "use one of " + ", ".join(map(str, LOG_RETENTION_DAYS)),
        )
    ]


# How long a browser may cache a CORS preflight's answer: API Gateway's HTTP APIs take at most
# 86400 (a day: CreateApi's Cors.MaxAge); browsers cap it lower (Chromium at 7200 s).
MAX_PREFLIGHT_SECONDS = 86_400
# An HTTP header name (RFC 9110's token).
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


def cors_cache_and_expose_problems(
    max_age_setting: str, max_age: object, expose_setting: str, expose: tuple[str, ...]
) -> list[Problem]:
    """A preflight cache time of 0 to a day, and response headers exposed by their names."""
    found = whole_number_problems(max_age_setting, max_age, 0, "seconds")
    if not found and isinstance(max_age, int) and max_age > MAX_PREFLIGHT_SECONDS:
        found.append(
            Problem(
                max_age_setting,
                f"{max_age} seconds is more than a day, the most API Gateway takes (browsers "
                "cap it lower still: Chromium at 7200)",
                f"set at most {MAX_PREFLIGHT_SECONDS} seconds, e.g. 3600",
            )
        )
    bad = [h for h in expose if not _HEADER_NAME.match(h)]
    if bad:
        found.append(
            Problem(
                expose_setting,
                f"{', '.join(repr(h) for h in bad)} {'is' if len(bad) == 1 else 'are'} not an "
                "HTTP header name",
                "list header names, e.g. 'ETag'",
            )
        )
    return found


def whole_number_problems(setting: str, value: object, minimum: int, unit: str) -> list[Problem]:
    """`value` must be an int (not a bool) of at least `minimum`."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
        return []
    return [
        Problem(
            setting,
            f"{value!r} is not a whole number of {unit} >= {minimum}",
            f"set a whole number of {unit} of at least {minimum}",
        )
    ]


_BUCKET_CHARS = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
_BUCKET_NAME_FIX = (
    "use 3-63 characters of lowercase letters, digits, '.' and '-', starting and ending with a "
    "letter or digit, e.g. 'images-lego-moc-dev'"
)


def bucket_name_problems(setting: str, name: str) -> list[Problem]:
    """S3's general-purpose bucket naming rules."""
    found = []

    def fail(problem: str) -> None:
        found.append(Problem(setting, problem, _BUCKET_NAME_FIX))

    if not name:
        fail("the bucket name is empty")
    if not 3 <= len(name) <= 63:
        fail(f"'{name}' is {len(name)} characters long; S3 allows 3 to 63")
    if not _BUCKET_CHARS.match(name):
        fail(f"'{name}' has characters or ends S3 does not allow")
    if ".." in name or ".-" in name or "-." in name:
        fail(f"'{name}' has adjacent periods or a period next to a hyphen")
    if _is_ip_address(name):
        fail(f"'{name}' is formatted as an IP address")
    found += [
        Problem(setting, f"'{name}' starts with the reserved prefix '{prefix}'", _BUCKET_NAME_FIX)
        for prefix in ("xn--", "sthree-", "amzn-s3-demo-")
        if name.startswith(prefix)
    ]
    found += [
        Problem(setting, f"'{name}' ends with the reserved suffix '{suffix}'", _BUCKET_NAME_FIX)
        for suffix in ("-s3alias", "--ol-s3", "--x-s3", "--table-s3", ".mrap")
        if name.endswith(suffix)
    ]
    return found[:1]  # the first rule a name breaks says enough


def _is_ip_address(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


_EXACT_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:\d{1,5})?$")
_ORIGIN_WITH_ONE_WILDCARD = re.compile(r"^https?://[a-z0-9.*-]+(:\d{1,5})?$")


def exact_origin_problems(setting: str, origins: Iterable[str]) -> list[Problem]:
    """Origins as API Gateway HTTP APIs and CloudFront match them: exact, or '*', 'https://*',
    'http://*' (no wildcard subdomains)."""
    found = []
    for origin in origins:
        if origin in ("*", "https://*", "http://*"):
            continue
        if "*" in origin:
            found.append(
                Problem(
                    setting,
                    f"'{origin}' is a wildcard-subdomain origin. API Gateway HTTP APIs and "
                    "CloudFront only accept exact origins, '*', 'https://*' and 'http://*', so "
                    "this origin would never match a browser's request",
                    "list each app origin exactly, e.g. 'https://www.lego-moc.com', "
                    "'https://dev.lego-moc.com'",
                )
            )
        elif not _EXACT_ORIGIN.match(origin):
            found.append(
                Problem(
                    setting,
                    f"'{origin}' is not an origin (scheme://host[:port], no path)",
                    "write it like 'https://lego-moc.com', without a trailing slash or path",
                )
            )
    return found[:1]


def s3_cors_origin_problems(setting: str, origins: Iterable[str]) -> list[Problem]:
    """Origins as S3 CORS matches them: at most one '*' wildcard (e.g. https://*.lego-moc.com)."""
    for origin in origins:
        if origin != "*" and (origin.count("*") > 1 or not _ORIGIN_WITH_ONE_WILDCARD.match(origin)):
            return [
                Problem(
                    setting,
                    f"'{origin}' is not an origin S3 CORS accepts",
                    "use an origin like 'https://lego-moc.com' or 'https://*.lego-moc.com'",
                )
            ]
    return []


_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def hostname_problems(setting: str, host: str) -> list[Problem]:
    fix = "use a lowercase DNS name such as 'images-dev.lego-api.com' (labels of a-z, 0-9, '-')"
    if not host:
        return [Problem(setting, "the hostname is empty", fix)]
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(_HOST_LABEL.match(lab) for lab in labels):
        return [Problem(setting, f"'{host}' is not a valid DNS hostname", fix)]
    return []


def first_per_setting(problems: Iterable[Problem]) -> list[Problem]:
    """The first problem of each setting, in order (one message per setting says enough)."""
    seen: dict[str, Problem] = {}
    for problem in problems:
        seen.setdefault(problem.setting, problem)
    return list(seen.values())


#: The key of a props field's metadata that marks it as wiring, not a setting: the stack
#: composing the construct sets it, and a stage's row may not (stacks/settings/stages.py refuses
#: it, naming what sets it).
SET_BY_THE_STACK = "set_by_the_stack"


def set_by_the_stack(what: str) -> dict[str, str]:
    """The metadata of a field the stack sets: `what` says from what (e.g. "the stage's
    protect_data")."""
    return {SET_BY_THE_STACK: what}
