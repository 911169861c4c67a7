"""Benchmarks: ``python -m bench.<module>``; figures and the commands that made them are in
``bench/RESULTS.md``."""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["emit"]


def emit(result: object, path: str | os.PathLike[str] | None, *, indent: int = 2) -> None:
    """Print ``result`` as JSON, and write the same text to ``path`` when one is given."""
    text = json.dumps(result, indent=indent)
    print(text)
    if path:
        Path(path).write_text(text + "\n", encoding="utf-8")
