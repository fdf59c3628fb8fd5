"""What the construct modules share: a bare stack to build a construct in directly, without a
stage, as the next epic's code would."""

from __future__ import annotations

import pytest


@pytest.fixture
def bare_stack():
    from cdktf import App, TerraformStack

    return TerraformStack(App(), "bare")
