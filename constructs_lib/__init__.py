"""Reusable constructs of the Image Service, one per concern. They know nothing of stages.

Importing this package first makes the AWS provider bindings cheap to import; see
`_lazy_provider_bindings` below.
"""

import importlib.util
import os
import sys

PROVIDER_PACKAGE = "cdktf_cdktf_provider_aws"
EAGER_IMPORT_ENV = "IMAGE_SERVICE_EAGER_PROVIDER_IMPORT"


def _lazy_provider_bindings() -> None:
    """Register the provider package in sys.modules without running its __init__.

    The package's __init__ imports all ~2,140 resource modules (≈9 s and ≈800 MB here), and
    Python runs a package's __init__ before any submodule import. Every submodule only needs the
    `_jsii` subpackage (which loads the jsii assembly), not the package's own __init__, so an
    empty module object with the right __path__ lets `from cdktf_cdktf_provider_aws.s3_bucket
    import S3Bucket` load just that module. tests/stacks/test_lazy_bindings.py proves the
    skipped __init__ does nothing else we depend on, and `make bench` that every stack
    synthesizes byte for byte the same with it imported eagerly
    (IMAGE_SERVICE_EAGER_PROVIDER_IMPORT=1 turns the lazy import off).
    """
    if PROVIDER_PACKAGE in sys.modules or os.environ.get(EAGER_IMPORT_ENV) == "1":
        return
    spec = importlib.util.find_spec(PROVIDER_PACKAGE)
    if spec is None:
        raise ImportError(f"{PROVIDER_PACKAGE} is not installed; run `make deps`")
    sys.modules[PROVIDER_PACKAGE] = importlib.util.module_from_spec(spec)


_lazy_provider_bindings()
