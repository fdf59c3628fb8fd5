"""Where the Lambda handlers are attached to each stage's stack (CONTRIBUTING.md, "Adding a
handler").

`build_app()` calls `add_handlers(stack)` for every stage after the stack's own constructs
exist. There are none yet: the real stages' routes have no integration until the next epic adds
its handlers here, one `ImageHandler` per route, named after the stack so that every stage gets
its own function (`f"{stack.settings.stack_name}-get-image"`), with the grants it needs and
`stack.api.integrate(route_key, handler)`.
"""

from __future__ import annotations

from stacks.image_service_stack import ImageServiceStack


def add_handlers(stack: ImageServiceStack) -> None:
    """Attach the handlers to `stack` (no handler exists yet)."""
