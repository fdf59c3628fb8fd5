"""The organisation's rule for caches: encrypted at rest and in transit, and no client
connects without authenticating."""

from __future__ import annotations

from collections.abc import Iterator

from constructs_lib.stack_json import Config, RuleContext, Rules, Violation, blocks, resources

CACHE_ENCRYPTED_AND_AUTHENTICATED = "cache-encrypted-and-authenticated"

# What a cache must have: each attribute, the value(s) that satisfy it, and what is wrong
# without it. The provider takes at_rest_encryption_enabled as the string "true".
_CACHE_REQUIREMENTS = (
    ("at_rest_encryption_enabled", (True, "true"), "does not encrypt its data at rest"),
    ("transit_encryption_enabled", (True, "true"), "accepts connections without TLS"),
)


def _check_caches(config: Config) -> Iterator[Violation]:
    yield from _check_cache_users(config)
    for cache in resources(config, "aws_elasticache_replication_group"):
        body = cache.body
        for attribute, wanted, problem in _CACHE_REQUIREMENTS:
            if body.get(attribute) not in wanted:
                yield Violation(
                    cache.path,
                    cache.address,
                    CACHE_ENCRYPTED_AND_AUTHENTICATED,
                    problem,
                    f"set {attribute} = true (constructs_lib/cache/ does)",
                )
        if not body.get("user_group_ids") and not body.get("auth_token"):
            yield Violation(
                cache.path,
                cache.address,
                CACHE_ENCRYPTED_AND_AUTHENTICATED,
                "lets any client that reaches its port in without authenticating",
                "give it a user group (user_group_ids: IAM authentication, as Cache does)",
            )


def _check_cache_users(config: Config) -> Iterator[Violation]:
    """No cache user may connect without a password or IAM: it would let any client that
    reaches the port in, and ElastiCache refuses it in a user group of the Valkey engine
    ("can only contain users using an authentication mechanism (password or IAM)", the RBAC
    page), so a stage with one would fail its first apply."""
    for user in resources(config, "aws_elasticache_user"):
        modes = [m.get("type") for m in blocks(user.body.get("authentication_mode"))]
        if user.body.get("no_password_required") in (True, "true") or (
            "no-password-required" in modes
        ):
            yield Violation(
                user.path,
                user.address,
                CACHE_ENCRYPTED_AND_AUTHENTICATED,
                "needs no password: any client that reaches the cache's port connects as it, "
                "and a Valkey user group refuses it",
                "authenticate it with IAM (authentication_mode type 'iam', as Cache's user "
                "does) or a password, or leave it out (a Valkey group needs no `default` user)",
            )


def _check(config: Config, context: RuleContext) -> Iterator[Violation]:
    yield from _check_caches(config)


RULES = Rules((CACHE_ENCRYPTED_AND_AUTHENTICATED,), _check)
