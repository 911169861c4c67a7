"""``python -m bench <name> [args]``: run one benchmark (engine, journal)."""

from __future__ import annotations

import sys


def main() -> int:
    name = sys.argv[1] if len(sys.argv) > 1 else "engine"
    args = sys.argv[2:]
    if name == "engine":
        from .engine import main as run

        return run(args)
    if name == "journal":
        from .bench_journal import main as run_journal

        return int(run_journal() or 0)
    print(f"unknown benchmark {name!r}: engine, journal", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
