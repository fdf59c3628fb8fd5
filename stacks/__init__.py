"""The stages and their stacks.

Importing any module of this package imports `constructs_lib` first, which makes the AWS provider
bindings cheap to import (see constructs_lib/__init__.py): whatever order a module's imports end
up in, the lazy load is in place before a provider submodule is imported
(tests/stacks/test_lazy_bindings.py guards this).
"""

import constructs_lib  # noqa: F401
