"""The lazy provider import (constructs_lib/__init__.py) cannot change what is synthesized.

The trick skips the provider package's own __init__ (which imports all ~2,140 binding modules,
~9 s). That is safe exactly when the skipped __init__ does nothing a binding module or our code
depends on: these tests read it statement by statement. The behavioural check, every stack
synthesized with the __init__ imported eagerly and compared byte for byte, costs ~12 s of CPU
and runs in `make bench` (the lever it measures), not in every test run.
"""

import ast
import importlib.util
import pkgutil
import re
import sys
from pathlib import Path

from constructs_lib import PROVIDER_PACKAGE

# What the bindings' __init__ may do for skipping it to be safe: import standard and jsii
# helper modules, define names nobody imports from the package, and import submodules.
SAFE_IMPORTS = {
    "abc",
    "builtins",
    "datetime",
    "enum",
    "typing",
    "jsii",
    "publication",
    "typing_extensions",
    "typeguard",
}
SAFE_FROM_IMPORTS = {
    ("pkgutil", 0): {"extend_path"},
    ("importlib.metadata", 0): {"version"},
    ("_jsii", 1): {"*"},
}
SAFE_ASSIGNED = {"__path__", "TYPEGUARD_MAJOR_VERSION", "__all__"}
SAFE_FUNCTIONS = {"check_type"}


def _init_statements() -> tuple[Path, list[ast.stmt]]:
    spec = importlib.util.find_spec(PROVIDER_PACKAGE)
    assert spec is not None and spec.origin
    path = Path(spec.origin)
    return path.parent, ast.parse(path.read_text()).body


def test_the_skipped_init_only_imports_helpers_and_submodules():
    package_dir, body = _init_statements()
    unexpected, submodules = [], []
    for node in body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if isinstance(node, ast.Import) and {a.name for a in node.names} <= SAFE_IMPORTS:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module is None:
                submodules += [a.name for a in node.names]
                continue
            allowed = SAFE_FROM_IMPORTS.get((node.module or "", node.level), set())
            if {a.name for a in node.names} <= allowed:
                continue
        if isinstance(node, ast.Assign) and all(
            isinstance(t, ast.Name) and t.id in SAFE_ASSIGNED for t in node.targets
        ):
            continue
        if isinstance(node, ast.FunctionDef) and node.name in SAFE_FUNCTIONS:
            continue
        if ast.unparse(node) == "publication.publish()":
            continue  # hides the package's non-__all__ names; the lazy package has none
        unexpected.append(ast.unparse(node)[:120])
    assert unexpected == [], "the provider package's __init__ now does more than import"
    assert len(submodules) > 2000
    assert all((package_dir / name / "__init__.py").is_file() for name in submodules)


def test_no_binding_module_we_load_reads_a_name_the_skipped_init_defines():
    # A binding that used the package's check_type or TYPEGUARD_MAJOR_VERSION (instead of its
    # own) would depend on the __init__ having run.
    package_dir, _ = _init_statements()
    root = Path(__file__).resolve().parents[2]
    loaded = set()
    for path in [*root.glob("constructs_lib/**/*.py"), *root.glob("stacks/*.py")]:
        source = path.read_text()
        assert f"import {PROVIDER_PACKAGE}\n" not in source, path
        loaded |= set(re.findall(rf"from {PROVIDER_PACKAGE}\.(\w+) import", source))
    assert {"s3_bucket", "cloudfront_distribution", "provider", "dynamodb_table"} <= loaded
    for name in sorted(loaded):
        source = (package_dir / name / "__init__.py").read_text()
        assert "def check_type(" in source and "TYPEGUARD_MAJOR_VERSION = " in source, name
        assert "from .. import" not in source, name
        assert f"{PROVIDER_PACKAGE}.check_type" not in source, name


def test_the_lazy_package_is_the_one_the_stacks_use_and_has_the_same_path():
    package = sys.modules[PROVIDER_PACKAGE]
    assert not hasattr(package, "__all__"), "the package __init__ ran: the lever is off"
    # The skipped `__path__ = extend_path(__path__, __name__)` would add no other directory.
    assert pkgutil.extend_path(list(package.__path__), PROVIDER_PACKAGE) == list(package.__path__)


def test_importing_the_app_loads_only_the_provider_modules_it_uses(main_in_a_fresh_process):
    # However the imports of stacks/ are ordered (e.g. by `ruff check --fix`), stacks/__init__.py
    # puts the lazy load in place first: the app needs ~40 provider modules, the package's own
    # __init__ would import ~4,270. Counted in a fresh process that imported stacks.app first and
    # ran main.py's synthesis of dev (tests/conftest.py).
    proc, _ = main_in_a_fresh_process
    [line] = [line for line in proc.stdout.splitlines() if line.startswith("provider modules")]
    loaded = int(line.rsplit(" ", 1)[1])
    assert 0 < loaded < 200, loaded
