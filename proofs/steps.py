"""How many block-circuit positions a command takes, from the command and its events, or
before it runs, from the command and the engine's state.

The block circuit executes a block in S fixed positions (``proofs/circuits/BLOCK.md``), so a
venue whose blocks must all be provable cuts a block before its positions can exceed S. Two
ways (every function here also takes the circuit's layout, ``ratio``, below):

* after the fact: ``matching.BlockBuilder(max_steps=S, step_cost=command_steps,
  step_reserve=R)`` closes a block once fewer than R positions are left, and R =
  ``worst_command_steps(max_matches, max_open_orders)`` (the most one command can take under
  the engine's limits) makes every block fit by construction, at the price of leaving up to
  R - 1 positions of every block unused;
* before the fact: ``step_bound=lambda cmd: command_steps_before(cmd, engine)`` bounds the
  next command's positions from the engine's state before it executes, and the builder
  closes the block first when it might not fit. No reserve is needed, blocks fill almost to
  S, and ``worst_command_steps(...) <= S`` still guarantees that a command fits an empty
  block.

Layout (``ratio`` R, the circuit's): position s is a full step (order slot + account slot)
when s % R == 0, else an order-only step. A command is a pattern of steps, each needing a
full position (F) or not (O); ``positions(pattern, R)`` is what it occupies, with SKIP
fillers before an F on an order-only position and NOP fillers up to the next full position
after it (counted as if every command starts at a full position, so costs add up over a
block). R = 1 is the uniform layout: positions = steps. A command that changes nothing (a
rejection, an unsigned IOC that trades nothing, an order cancelled before it touches the
book) takes no step: it is only chained in its command slot.

Every function here takes the longest pattern the witness may emit for what it knows: events
alone do not tell whether an order rests at the head of its side (REST: F) or behind it
(+ PUT: O), whether a cancel hits the head (F) or not (DETACH + RELINK: F, O), or whether an
IOC that trades nothing is proved by nothing (unsigned) or by PLACE + END (signed, whose
acceptance raises the replay mark). Since ``positions`` never decreases when a step is added
or an O becomes an F, that longest pattern bounds every alternative. A PlaceOrder whose first
match is a fill begins with it (FILL_BEGIN, no PLACE step): ``command_steps`` sees that in the
events; ``command_steps_before`` cannot tell a fill from a self-trade action before the command
runs and keeps PLACE, one F more, which only decides whether the last command of a block fits
(the builder charges each command what ``command_steps`` counts once it has run).

Invariants: ``command_steps_before >= command_steps`` for every command, in any layout;
``command_steps >=`` what the witness builder emits, per command when R = 1, and for R > 1
summed over every prefix of a block (so over the block): the witness counts the NOP fillers
before a command's first full step in that command, not in the one before.
``tests/test_coverage_steps.py`` checks them over the standard workload.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from matching import (
    ALL_MARKETS,
    AddAccount,
    CancelOrder,
    Command,
    Deposit,
    Event,
    MarketConfig,
    MassCancel,
    OrderCancelled,
    OrderReduced,
    OrderReplaced,
    OrderType,
    OrderView,
    PlaceOrder,
    Rejected,
    ReplaceOrder,
    TimeInForce,
    Trade,
    Withdraw,
)

__all__ = [
    "BoundEngine",
    "command_markets_before",
    "command_steps",
    "command_steps_before",
    "positions",
    "worst_command_steps",
]

#: Step patterns: "F" needs a full position (it writes an account), "O" runs on any position.
#: Removing a resting order: the head (F) or DETACH + RELINK behind it (F, O).
_REMOVE = "FO"
#: A taker's load when it rests without trading (REST_BEGIN / RP_REST, + PUT behind the head)
#: and a taker's last step when it rests after trading (REST, + PUT).
_REST = "FO"
#: A taker that neither trades nor rests: PLACE + END (a self-trade cancel of itself, or an
#: IOC on a signed venue; nothing at all for an unsigned IOC, which this bounds).
_NO_TRADE_END = "FF"


class BoundEngine(Protocol):
    """The read-only engine queries ``command_steps_before`` needs (both engines have them)."""

    @property
    def max_matches(self) -> int: ...
    def order_view(self, order_id: int) -> OrderView | None: ...
    def crossing_count(
        self, market: int, side: int, price: int, cap: int, qty: int = 0, account: int = -1
    ) -> int: ...
    def open_orders(self, account: int, market: int) -> int: ...
    def market_configs(self) -> tuple[MarketConfig, ...]: ...


def command_markets_before(cmd: Command, engine: BoundEngine) -> frozenset[int]:
    """The markets whose book ``cmd`` may change when ``engine`` executes it next, from its
    state now (read-only): an order, cancel or replace names its market (a rejection changes
    nothing, so this only over-counts); a mass cancel its market, or for every market the
    markets where the account rests orders (``engine.open_orders``); the rest none. What a
    venue proved one market per block cuts its blocks by (``BlockBuilder(market_bound=)``)."""
    if isinstance(cmd, (PlaceOrder, CancelOrder, ReplaceOrder)):
        return frozenset((cmd.market,))
    if isinstance(cmd, MassCancel):
        if cmd.market != ALL_MARKETS:
            return frozenset((cmd.market,))
        return frozenset(
            m.market_id
            for m in engine.market_configs()
            if engine.open_orders(cmd.account, m.market_id)
        )
    return frozenset()


def positions(pattern: str, ratio: int = 1) -> int:
    """Positions a command whose steps are ``pattern`` takes in a layout of ``ratio``, from a
    full position: for each step, an F ("full") on an order-only position is preceded by SKIP
    fillers up to the next full one, an O takes the next position as it is; the total is
    rounded up to a multiple of ``ratio`` (NOP fillers), where the next command starts.
    ``ratio`` 1 gives ``len(pattern)``. O(len(pattern)).

    Monotone (the bounds rely on it): adding a step or turning an O into an F never lowers
    the result, since each step maps pos to a value above pos that does not decrease as pos
    grows, and an F's value is at least an O's."""
    if ratio < 1:
        raise ValueError(f"layout ratio {ratio} < 1")
    if not set(pattern) <= {"F", "O"}:
        raise ValueError(f"a step pattern is made of 'F' and 'O', not {pattern!r}")
    if ratio == 1:
        return len(pattern)
    pos = 0
    for step in pattern:
        if step == "F":
            pos += -pos % ratio
        pos += 1
    return pos + -pos % ratio


def _taker(matches: int, rests: bool, fill_begins: bool = False) -> str:
    """A taker's pattern from its load to its end: without a match REST_BEGIN (+ PUT) when it
    rests, else PLACE + END; with some, PLACE, one F per match (FILL and STP_BOTH write an
    account; STP_MAKER and STP_DEC, which do not, are counted as F too), then REST (+ PUT)
    or END (nothing after STP_BOTH, which ends it). ``fill_begins``: a PlaceOrder whose first
    match is a fill begins with it (FILL_BEGIN), without PLACE."""
    if not matches:
        return _REST if rests else _NO_TRADE_END
    return ("" if fill_begins else "F") + "F" * matches + (_REST if rests else "F")


def _rests(cmd: PlaceOrder | ReplaceOrder) -> bool:
    """Whether the taker's remainder may rest (a moved replace re-enters as a GTC limit)."""
    if isinstance(cmd, ReplaceOrder):
        return True
    return cmd.order_type == OrderType.LIMIT and cmd.tif == TimeInForce.GTC


def command_steps(cmd: Command, events: Sequence[Event], ratio: int = 1) -> int:
    """Upper bound on the positions of ``cmd`` in the block circuit of layout ``ratio``,
    given the events it caused."""
    return positions(_pattern_after(cmd, events), ratio)


def _pattern_after(cmd: Command, events: Sequence[Event]) -> str:
    if any(isinstance(e, Rejected) for e in events):
        return ""  # changes nothing: only chained in its slot
    if isinstance(cmd, Deposit | Withdraw | AddAccount):
        return "F"
    if isinstance(cmd, CancelOrder):
        return _REMOVE
    if isinstance(cmd, MassCancel):
        cancelled = sum(isinstance(e, OrderCancelled) for e in events)
        return "F" + _REMOVE * cancelled + "F"  # MC_BEGIN, the removals, MC_END
    removal = ""
    if isinstance(cmd, ReplaceOrder):
        if any(isinstance(e, OrderReplaced) and e.priority_kept for e in events):
            return "F"  # RP_KEEP
        removal = _REMOVE  # the order leaves its side before it re-enters as a taker
    taker = cmd.order_id if isinstance(cmd, ReplaceOrder) else cmd.seq  # the order's id
    matches = 0
    left = cmd.qty  # the taker's quantity after its last match: it rests only if some is left
    cancelled = False
    fill_begins = False
    for e in events:
        if isinstance(e, Trade):
            fill_begins |= not matches and isinstance(cmd, PlaceOrder)
            matches += 1
            left = e.taker_remaining
        elif isinstance(e, OrderCancelled | OrderReduced):
            if e.order_id != taker:
                matches += 1  # a self-trade action on a maker
            elif isinstance(e, OrderReduced):
                left = e.remaining  # STP decrement of the taker itself
            else:
                cancelled = True  # IOC remainder, match limit, self-trade: it does not rest
    return removal + _taker(matches, _rests(cmd) and not cancelled and left > 0, fill_begins)


def worst_command_steps(max_matches: int, max_open_orders: int, ratio: int = 1) -> int:
    """The most positions any one command can take in a layout of ``ratio`` when a taker
    touches at most ``max_matches`` makers and an account holds at most ``max_open_orders``
    resting orders (the engine's limits of those names): with ``step_reserve`` at least
    this, every block the builder cuts fits a circuit of ``max_steps`` positions."""
    if max_matches < 1 or max_open_orders < 1:
        raise ValueError("both limits must be positive for a finite bound")
    taker = _taker(max_matches, True)
    candidates = (
        "F",  # Deposit, Withdraw, AddAccount, a kept replace
        _REMOVE,  # CancelOrder
        "F" + _REMOVE * max_open_orders + "F",  # MassCancel
        taker,
        _NO_TRADE_END,  # PlaceOrder
        _REMOVE + taker,
        _REMOVE + _NO_TRADE_END,  # a moved ReplaceOrder
    )
    return max(positions(p, ratio) for p in candidates)


def command_steps_before(
    cmd: Command, engine: BoundEngine, max_matches: int | None = None, ratio: int = 1
) -> int:
    """Upper bound of ``command_steps(cmd, events, ratio)`` for the events ``cmd`` will
    cause when ``engine`` executes it next, computed from its state now (read-only,
    O(max_matches) for a taker, O(open orders) for a mass cancel).

    ``max_matches``: the engine's match limit (default: ``engine.max_matches``; 0 means no
    limit, and then a taker's crossing orders are all counted). It may be larger than the
    engine's, which only loosens the bound, never smaller.

    Why it is an upper bound, case by case. Each case bounds the pattern ``command_steps``
    takes, step for step, and ``positions`` is monotone; a rejection takes nothing, which
    every case below is at least:

    * Deposit, Withdraw, AddAccount: F, as counted afterwards.
    * CancelOrder: a removal (F, O), or nothing when the named order does not rest in that
      market under that account (the engine rejects such a cancel).
    * MassCancel: F + (F, O) per order it removes + F, and it removes exactly the account's
      resting orders in the market (every market for ``ALL_MARKETS``): ``engine.open_orders``.
    * PlaceOrder: a match is a fill or a self-trade action on a maker. Each match consumes a
      distinct maker that crossed the taker's limit when the command began: the opposite
      side only loses orders while a taker executes (a maker is filled, reduced to 0 or
      cancelled, or the taker stops), and a maker left partly filled or reduced ends the
      sweep because the taker is then done. A fill takes min(remaining, maker qty) of the
      taker's quantity, so once the makers of other accounts met in priority order hold the
      taker's quantity, it has none left; its own makers count as matches without taking
      any (CANCEL_MAKER takes none, DECREMENT some, CANCEL_TAKER and CANCEL_BOTH end the
      sweep). So matches <= min(M, c) with c the crossing orders now counted that way
      (``engine.crossing_count`` with the taker's qty and account, capped at M; a negative
      qty, which the engine rejects, counts them all): the bound is the taker pattern
      with min(M, c) matches, ending in REST (+ PUT) when the order type may rest. When
      c = 0 nothing can trade or cancel the taker by self-trade or match limit, so a GTC
      limit order rests (F, O) and any other is cancelled (the PLACE + END bound).
    * ReplaceOrder: nothing when the named order does not rest in that market under that
      account (rejected). Same price and no more quantity than it has: RP_KEEP (F), the
      engine's own rule. Otherwise the order leaves its own side before it re-enters as a
      GTC limit taker at the new price, so the opposite side it may cross is the one seen
      now: the removal (F, O) + the PlaceOrder bound at the new price on the order's side.

    The pre-state is the one the command executes on: the builder asks just before
    ``process``, and only ``end_block`` (which moves no order) may run in between.
    """
    return positions(_pattern_before(cmd, engine, max_matches), ratio)


def _pattern_before(cmd: Command, engine: BoundEngine, max_matches: int | None) -> str:
    limit = engine.max_matches
    if max_matches is None:
        max_matches = limit
    elif max_matches < limit or (max_matches and not limit) or max_matches < 0:
        # a smaller cap than the engine's would undercount a taker's matches
        raise ValueError(f"max_matches {max_matches} does not cover the engine's {limit} (0: none)")
    if isinstance(cmd, Deposit | Withdraw | AddAccount):
        return "F"
    if isinstance(cmd, MassCancel):
        return "F" + _REMOVE * engine.open_orders(cmd.account, cmd.market) + "F"
    if isinstance(cmd, CancelOrder):
        return _REMOVE if _own_resting(engine, cmd) is not None else ""
    # no limit: every crossing order may be a match (O(book), as is the command itself)
    cap = max_matches or _NO_CAP
    if isinstance(cmd, PlaceOrder):
        crossing = engine.crossing_count(
            cmd.market, cmd.side, cmd.price, cap, max(cmd.qty, 0), cmd.account
        )
        return _taker(crossing, _rests(cmd))
    if isinstance(cmd, ReplaceOrder):
        view = _own_resting(engine, cmd)
        if view is None:
            return ""
        if cmd.price == view.price and cmd.qty <= view.qty:
            return "F"  # keeps its place (the engine's ``keeps``)
        crossing = engine.crossing_count(
            view.market, view.side, cmd.price, cap, max(cmd.qty, 0), cmd.account
        )
        return _REMOVE + _taker(crossing, True)
    raise TypeError(f"not a command: {cmd!r}")


#: "count them all": more orders than any book can hold (order ids are below 2**48)
_NO_CAP = 1 << 48


def _own_resting(engine: BoundEngine, cmd: CancelOrder | ReplaceOrder) -> OrderView | None:
    """The order ``cmd`` names if it rests in ``cmd.market`` under ``cmd.account``; else the
    engine rejects the command (``UNKNOWN_ORDER``/``NOT_ORDER_OWNER``, or an unknown account
    or market, which hold no orders), and it takes no step."""
    view = engine.order_view(cmd.order_id)
    if view is None or view.market != cmd.market or view.account != cmd.account:
        return None
    return view
