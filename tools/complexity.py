"""The lint gate's limits on functions in stacks/, constructs_lib/, ops/, bench/ and tools/:
cyclomatic complexity at most 15 (radon's measure) and at most 60 lines each, so that no function
grows past what reads in one go.

    .venv/bin/python tools/complexity.py        (make lint runs it; exit 1 naming each function)
"""

from __future__ import annotations

import sys
from pathlib import Path

from radon.complexity import cc_visit
from radon.visitors import Class, Function

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("stacks", "constructs_lib", "ops", "bench", "tools")
MAX_COMPLEXITY = 15
MAX_LINES = 60


def functions(block: Function | Class) -> list[Function]:
    """Every function in radon's block, methods and nested functions included."""
    found = [block] if isinstance(block, Function) else []
    for inner in [*getattr(block, "methods", []), *getattr(block, "closures", [])]:
        found += functions(inner)
    return found


def too_big(root: Path = ROOT) -> list[str]:
    problems = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            # radon lists a method both on its own and in its class: each once.
            unique = {
                (f.lineno, f.fullname): f for b in cc_visit(path.read_text()) for f in functions(b)
            }
            for function in unique.values():
                lines = function.endline - function.lineno + 1
                where = f"{path.relative_to(root)}:{function.lineno} {function.fullname}"
                if function.complexity > MAX_COMPLEXITY:
                    problems.append(f"{where}: complexity {function.complexity}")
                if lines > MAX_LINES:
                    problems.append(f"{where}: {lines} lines")
    return problems


def main() -> int:
    problems = too_big()
    for problem in problems:
        print(problem)
    print(
        f"complexity: {len(problems)} function(s) over {MAX_COMPLEXITY} or {MAX_LINES} lines "
        f"in {', '.join(PACKAGES)}"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
