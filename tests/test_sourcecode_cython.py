"""Text lints for the Cython sources: pitfalls a compiler does not flag."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "cython_ext"
SOURCES = sorted([*ROOT.glob("*.pyx"), *ROOT.glob("*.pxd"), *ROOT.glob("includes/*.pxd")])
UNSAFE = re.compile(r"(boundscheck|wraparound)\(False\)|(boundscheck|wraparound)\s*=\s*False")


def unjustified(text: str) -> list[int]:
    """Lines disabling bounds/wraparound checks with no justification comment.

    The comment goes on the same line or on the line before; a stack of decorators shares the
    comment above its first line.
    """
    lines = text.splitlines()
    bad = []
    for i, line in enumerate(lines):
        if UNSAFE.search(line):
            here = "#" in line.split("boundscheck")[-1] or "#" in line.split("wraparound")[-1]
            j = i - 1
            while j >= 0 and lines[j].strip().startswith("@"):
                j -= 1
            before = j >= 0 and lines[j].strip().startswith("#")
            if not (here or before):
                bad.append(i + 1)
    return bad


def test_lint_flags_bare_directives() -> None:
    assert unjustified("@cython.boundscheck(False)\ndef f(): pass\n") == [1]
    assert unjustified("# indices come from range(n)\n@cython.wraparound(False)\n") == []
    assert unjustified("@cython.boundscheck(False)  # i < n checked above\n") == []
    stacked = "# i in [0, n)\n@cython.boundscheck(False)\n@cython.wraparound(False)\n"
    assert unjustified(stacked) == []
    assert unjustified("# i in [0, n)\n\n@cython.boundscheck(False)\n") == [3]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_unsafe_directives_are_justified(path: Path) -> None:
    assert unjustified(path.read_text()) == [], f"{path}: justify boundscheck/wraparound(False)"


def test_pyx_starts_with_directives() -> None:
    for path in ROOT.glob("*.pyx"):
        first = path.read_text().splitlines()[0]
        assert first == "# cython: language_level=3, embedsignature=True", path
