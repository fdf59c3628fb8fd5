"""One module per construct: the SPEC, asserted per stage, and its props refused when bad."""

from __future__ import annotations

import pytest


def refusal(stack, build) -> str:
    """The ConstructError `build()` raises, as its one paragraph; nothing joined `stack`."""
    from constructs_lib.errors import ConstructError

    before = [child.node.id for child in stack.node.children]
    with pytest.raises(ConstructError) as caught:
        build()
    assert [child.node.id for child in stack.node.children] == before
    return str(caught.value)
