"""How many block-circuit steps a command takes, from the command and its events, or
before it runs, from the command and the engine's state.

The block circuit executes a block in S fixed steps (``proofs/circuits/BLOCK.md``), so a
venue whose blocks must all be provable cuts a block before its steps can exceed S. Two ways:

* after the fact: ``matching.BlockBuilder(max_steps=S, step_cost=command_steps,
  step_reserve=R)`` closes a block once fewer than R steps are left, and R =
  ``worst_command_steps(max_matches, max_open_orders)`` (the most one command can take under
  the engine's limits) makes every block fit by construction, at the price of leaving up to
  R - 1 steps of every block unused;
* before the fact: ``step_bound=lambda cmd: command_steps_before(cmd, engine)`` bounds the
  next command's steps from the engine's state before it executes, and the builder closes
  the block first when it might not fit. No reserve is needed, blocks fill almost to S, and
  ``worst_command_steps(...) <= S`` still guarantees that a command fits an empty block.

``command_steps`` is an upper bound of what ``proofs.witness`` emits (equal to it for most
commands): it cannot see from events alone whether an order rests at the head of its side
(one step) or behind it (two: LINK + PUT), nor whether a cancel hits the head, so it counts
the longer form. ``command_steps_before`` is an upper bound of ``command_steps``.
``tests/test_coverage_steps.py`` checks both against the witness builder over the standard
workload.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from matching import (
    AddAccount,
    CancelOrder,
    Command,
    Deposit,
    Event,
    MassCancel,
    OrderCancelled,
    OrderReduced,
    OrderView,
    PlaceOrder,
    Rejected,
    ReplaceOrder,
    Trade,
    Withdraw,
)

__all__ = ["BoundEngine", "command_steps", "command_steps_before", "worst_command_steps"]


class BoundEngine(Protocol):
    """The read-only engine queries ``command_steps_before`` needs (both engines have them)."""

    @property
    def max_matches(self) -> int: ...
    def order_view(self, order_id: int) -> OrderView | None: ...
    def crossing_count(self, market: int, side: int, price: int, cap: int) -> int: ...
    def open_orders(self, account: int, market: int) -> int: ...


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


def command_steps_before(
    cmd: Command, engine: BoundEngine, max_matches: int | None = None
) -> int:
    """Upper bound of ``command_steps(cmd, events)`` for the events ``cmd`` will cause when
    ``engine`` executes it next, computed from its state now (read-only, O(max_matches) for
    a taker, O(open orders) for a mass cancel).

    ``max_matches``: the engine's match limit (default: ``engine.max_matches``; 0 means no
    limit, and then a taker's crossing orders are all counted). It may be larger than the
    engine's, which only loosens the bound, never smaller.

    Why it is an upper bound, case by case (``command_steps`` counts 1 for any rejection,
    which every case below is at least):

    * Deposit, Withdraw, AddAccount: 1, as counted afterwards.
    * CancelOrder: 2, or 1 when the named order does not rest in that market under that
      account (the engine rejects such a cancel).
    * MassCancel: 2 + 2 per order it removes, and it removes exactly the account's resting
      orders in the market (every market for ``ALL_MARKETS``): ``engine.open_orders``.
    * PlaceOrder: ``command_steps`` is 2 without a match, else 3 + matches, where a match is
      a fill or a self-trade action on a maker. Each match consumes a distinct maker that
      crossed the taker's limit when the command began: the opposite side only loses orders
      while a taker executes (a maker is filled, reduced to 0 or cancelled, or the taker
      stops), and a maker left partly filled or reduced ends the sweep because the taker is
      then done. So matches <= min(M, c) with c the crossing orders now
      (``engine.crossing_count``, capped at M): the bound is 2 when c = 0, else 3 + min(M, c).
    * ReplaceOrder: 1 when the named order does not rest in that market under that account
      (rejected). Otherwise the order leaves its own side before it re-enters as a taker at
      the new price, so the opposite side it may cross is the one seen now: the PlaceOrder
      bound at the new price on the order's side, + 2 for the removal. A replace that keeps
      its place (same price, no more quantity) counts 2 + 2 afterwards, and the bound is at
      least that.

    The pre-state is the one the command executes on: the builder asks just before
    ``process``, and only ``end_block`` (which moves no order) may run in between.
    """
    limit = engine.max_matches
    if max_matches is None:
        max_matches = limit
    elif max_matches < limit or (max_matches and not limit) or max_matches < 0:
        # a smaller cap than the engine's would undercount a taker's matches
        raise ValueError(f"max_matches {max_matches} does not cover the engine's {limit} (0: none)")
    if isinstance(cmd, Deposit | Withdraw | AddAccount):
        return 1
    if isinstance(cmd, MassCancel):
        return 2 + 2 * engine.open_orders(cmd.account, cmd.market)
    if isinstance(cmd, CancelOrder):
        return 2 if _own_resting(engine, cmd) is not None else 1
    # no limit: every crossing order may be a match (O(book), as is the command itself)
    cap = max_matches or _NO_CAP
    if isinstance(cmd, PlaceOrder):
        crossing = engine.crossing_count(cmd.market, cmd.side, cmd.price, cap)
        return 3 + crossing if crossing else 2
    if isinstance(cmd, ReplaceOrder):
        view = _own_resting(engine, cmd)
        if view is None:
            return 1
        crossing = engine.crossing_count(view.market, view.side, cmd.price, cap)
        return 2 + (3 + crossing if crossing else 2)
    raise TypeError(f"not a command: {cmd!r}")


#: "count them all": more orders than any book can hold (order ids are below 2**48)
_NO_CAP = 1 << 48


def _own_resting(engine: BoundEngine, cmd: CancelOrder | ReplaceOrder) -> OrderView | None:
    """The order ``cmd`` names if it rests in ``cmd.market`` under ``cmd.account``; else the
    engine rejects the command (``UNKNOWN_ORDER``/``NOT_ORDER_OWNER``, or an unknown account
    or market, which hold no orders), and it is 1 step."""
    view = engine.order_view(cmd.order_id)
    if view is None or view.market != cmd.market or view.account != cmd.account:
        return None
    return view
