"""CPU priority of the venue's background processes: the ack path never waits for them.

The acknowledgement path (gateway, sequencer, journal) is latency-critical. The committer
(Poseidon hashing of each block) and the prover workers are throughput work whose lag is
bounded elsewhere (``max_lag`` stops the sequencer when the committer falls too far behind;
proofs are never on the ack path). On a machine with fewer cores than busy processes the
kernel otherwise shares a core between a trader's order and a block's hashing, and the
order waits: measured on 2 vCPUs with one trader and one order in flight, the ack p99 fell
from 2.2–3.9 ms to 1.1–1.2 ms when the committer ran as ``SCHED_IDLE`` (``bench/RESULTS.md``,
"Background priority").

``"background"`` is ``SCHED_IDLE`` on Linux (the process runs only on a core nothing else
wants, and any normal task that wakes up preempts it at once), else nice 19. It is one-way:
an unprivileged process cannot raise its priority again, so it is set once, in the worker,
before it starts any thread (on Linux a policy is per thread and new threads inherit it).
``"normal"`` leaves the process as it is. Trade-off, measured in the same bench: when the
machine is saturated the committer gets only the CPU left over, so sustained throughput at
saturation is lower (2 × 256 orders in flight: −12% to −16%); give it ``"normal"`` where the
committer has cores of its own, or where throughput at saturation matters more than
latency.
"""

from __future__ import annotations

import os
from typing import Literal

__all__ = ["PRIORITIES", "Priority", "apply_priority", "check_priority", "policy_of"]

Priority = Literal["normal", "background"]
PRIORITIES: tuple[str, ...] = ("normal", "background")


def check_priority(priority: str) -> Priority:
    """``priority`` if it is one of ``PRIORITIES``; ``ValueError`` otherwise."""
    if priority not in PRIORITIES:
        raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}, got {priority!r}")
    return priority  # type: ignore[return-value]


def apply_priority(priority: str) -> str:
    """Set the calling thread's (and its future threads') CPU priority; return what was set.

    Returns ``"SCHED_IDLE"``, ``"nice 19"`` or ``"normal"``. Call it first thing in a worker
    process, before it starts threads.
    """
    if check_priority(priority) == "normal":
        return "normal"
    idle = getattr(os, "SCHED_IDLE", None)
    if idle is not None and hasattr(os, "sched_setscheduler"):
        os.sched_setscheduler(0, idle, os.sched_param(0))
        return "SCHED_IDLE"
    os.nice(19 - os.nice(0))  # pragma: no cover - not Linux
    return "nice 19"  # pragma: no cover


def policy_of(pid: int) -> str:
    """The scheduling policy of process ``pid`` as ``apply_priority`` names it (Linux)."""
    if os.sched_getscheduler(pid) == getattr(os, "SCHED_IDLE", -1):
        return "SCHED_IDLE"
    return "normal"
