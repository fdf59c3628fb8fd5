"""Names shared across concerns, importable without loading cdktf: CloudFront's region, the
bound on every long wait, and the context key through which a stack gives its roles the
account's permissions boundary."""

from __future__ import annotations

# CloudFront's control plane: it takes certificates only from this region, delivers its
# standard logs (v2) only from here, and publishes its metrics only here.
CLOUDFRONT_REGION = "us-east-1"

# The longest Terraform may wait for AWS on any one resource (certificate validation, a
# distribution's deployment, a custom domain, a table): the provider's own defaults go up to 75
# minutes (aws_acm_certificate_validation), past the deploy job's timeout and its role session.
# The three numbers, each inside the next (docs/first-deploy.md, "Bounded waits"): this wait
# (20 min) < the deploy job's timeout-minutes (60, .github/workflows/deploy-stage.yml) < the deploy
# role's session (90 min: DEPLOY_SESSION_SECONDS, constructs_lib/ci_identity/props.py), so a
# stuck wait fails the apply with the provider's own message while the job can still release
# the state lock and report it.
WAIT_TIMEOUT_MINUTES = 20
WAIT_TIMEOUT = f"{WAIT_TIMEOUT_MINUTES}m"

# The context key through which a stack gives every role created in it the account's
# permissions boundary (as AWS CDK's `@aws-cdk/core:permissionsBoundary`): ImageHandler reads it
# when its props name none; ImageServiceStack sets it from the stage's account.
PERMISSIONS_BOUNDARY_CONTEXT = "image-service:permissionsBoundary"
