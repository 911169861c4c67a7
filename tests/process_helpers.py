"""Running a command-line follower (``--follow``) as a real process and stopping it with Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence

__all__ = ["interrupt_when", "interruptible"]


def interruptible() -> None:
    """In the child before it runs: SIGINT back to its default. A test run started in the
    background of a non-interactive shell ignores SIGINT, and Python then never installs its
    Ctrl-C handler in the children, so a Ctrl-C test would hang there and only there."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt_when(
    cmd: Sequence[str],
    seen: Callable[[list[str]], bool],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> tuple[int, str, str]:
    """Run ``cmd``, read its output lines until ``seen(lines)``, then send SIGINT (Ctrl-C):
    its exit code, the lines read before, and what it printed after the interrupt. Fails if
    the output ends before ``seen``."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=None if env is None else dict(env), preexec_fn=interruptible,
    )  # fmt: skip
    try:
        lines: list[str] = []
        assert proc.stdout is not None
        while not seen(lines):
            line = proc.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        os.kill(proc.pid, signal.SIGINT)
        rest, _ = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, "".join(lines), rest
