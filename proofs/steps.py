"""How many block-circuit steps a command takes, from the command and its events.

The block circuit executes a block in S fixed steps (``proofs/circuits/BLOCK.md``), so a
venue whose blocks must all be provable cuts a block before its steps can exceed S:
``matching.BlockBuilder(max_steps=S, step_cost=command_steps, step_reserve=R)``.

With the engine's limits ``max_matches`` and ``max_open_orders`` every command's steps are
bounded (``worst_command_steps``), so a reserve of that many makes every block fit by
construction.

``command_steps`` is an upper bound of what ``proofs.witness`` emits (equal to it for most
commands): it cannot see from events alone whether an order rests at the head of its side
(one step) or behind it (two: LINK + PUT), nor whether a cancel hits the head, so it counts
the longer form. ``tests/test_coverage_steps.py`` checks the bound against the witness
builder over the standard workload.
"""

from __future__ import annotations

from collections.abc import Sequence

from matching import (
    AddAccount,
    CancelOrder,
    Command,
    Deposit,
    Event,
    MassCancel,
    OrderCancelled,
    OrderReduced,
    Rejected,
    ReplaceOrder,
    Trade,
    Withdraw,
)

__all__ = ["command_steps", "worst_command_steps"]


def command_steps(cmd: Command, events: Sequence[Event]) -> int:
    """Upper bound on the steps of ``cmd`` in the block circuit, given the events it caused."""
    if isinstance(cmd, Deposit | Withdraw | AddAccount):
        return 1
    if any(isinstance(e, Rejected) for e in events):
        return 1  # chained, changes nothing
    if isinstance(cmd, CancelOrder):
        return 2  # UNLINK + CLEAR (1 at the head)
    if isinstance(cmd, MassCancel):
        cancelled = sum(isinstance(e, OrderCancelled) for e in events)
        return 2 + 2 * cancelled  # MC_BEGIN, (UNLINK + CLEAR) per order, MC_END
    # PlaceOrder / ReplaceOrder: begin, one step per fill or self-trade action on a maker,
    # then END, or REST (+ PUT when it links behind an order)
    taker = cmd.order_id if isinstance(cmd, ReplaceOrder) else cmd.seq  # the order's id
    matches = sum(
        isinstance(e, Trade)
        or (isinstance(e, OrderCancelled | OrderReduced) and e.order_id != taker)
        for e in events
    )
    # no match: REST_BEGIN (+ PUT), or PLACE + END (a self-trade cancel of the taker itself),
    # or one REJECT-kind step (an IOC that traded nothing)
    steps = 1 + matches + 2 if matches else 2
    if isinstance(cmd, ReplaceOrder):
        steps += 2  # the removal (RP_UNLINK + RP_CLEAR) before the order re-enters
    return steps


def worst_command_steps(max_matches: int, max_open_orders: int) -> int:
    """The most steps any one command can take when a taker touches at most ``max_matches``
    makers and an account holds at most ``max_open_orders`` resting orders (the engine's
    limits of those names): with ``step_reserve`` at least this, every block the builder
    cuts fits a circuit of ``max_steps`` steps."""
    if max_matches < 1 or max_open_orders < 1:
        raise ValueError("both limits must be positive for a finite bound")
    place = 1 + max_matches + 2
    replace = 2 + place
    mass_cancel = 2 + 2 * max_open_orders
    return max(replace, mass_cancel)
