"""proofs.booktrace: the book-side step model matches the commitment and rejects cheating.

The model is the specification of circuit ``BookStep``: replayed from a block's events it must
end, block by block, on exactly the side root ``PoseidonState`` commits; and every illegal
operation (a fill that skips the best order, an out-of-order insertion, a removal after the
wrong predecessor, a write into an occupied slot, a skipped half-operation, a dropped step)
raises ``BookTraceError`` without changing the side.
"""

from __future__ import annotations

import itertools
from collections import Counter

import msgspec
import pytest

from matching import (
    BlockBuilder,
    CEngine,
    OrderAccepted,
    OrderCancelled,
    OrderView,
    ReferenceEngine,
    Side,
    Trade,
)
from matching.block import Block
from proofs.booktrace import (
    MAX_PRICE,
    NO_PENDING,
    BookOp,
    BookSide,
    BookTraceError,
    OpKind,
    StepOp,
    book_key,
    derive_ops,
    final_slots,
    order_record,
    pack_head,
    steps_inputs,
    trace_block,
    verify_chain,
    windows,
)
from proofs.state import NO_LINK, PoseidonState, order_leaf, side_root
from venue.workload import Workload, default_markets

ENGINES = [ReferenceEngine] + ([CEngine] if CEngine is not None else [])
D = 7


def _run(engine_cls: type, seed: int, n: int = 500) -> tuple[Counter[str], int, int]:
    """Replay a 2-market workload block by block through the model; return op counts, the
    number of orders that rested and left within one block, and the number of blocks."""
    w = Workload(seed, markets=default_markets(2), accounts=4, target_resting=40, spread_ticks=6)
    eng = engine_cls(w.markets)
    com = PoseidonState(w.markets, account_depth=8, order_depth=D)
    bb = BlockBuilder(eng, com, max_commands=24)
    sides = {(m.market_id, s): BookSide(D, s == Side.BUY)
             for m in w.markets for s in (Side.BUY, Side.SELL)}
    counts: Counter[str] = Counter()
    transient = 0
    blocks = 0

    def block_done(block: Block) -> None:
        nonlocal transient, blocks
        blocks += 1
        for (mid, s), side in sides.items():
            final = final_slots(com, mid, s)
            start = {o.order_id for o, _ in side.orders.values()}
            ops = derive_ops(side, block, mid, s, final)
            for op in ops:
                counts[op.kind.name] += 1
                new = op.kind in (OpKind.INSERT_HEAD, OpKind.INSERT_AFTER)
                transient += new and op.order_id not in final and op.order_id not in start
            before = side.copy()
            steps = trace_block(side, block, mid, s, final)
            verify_chain(steps)
            if steps:
                assert steps[0].old_root == before.tree.root
                assert steps[-1].new_root == side.tree.root
                assert steps[-1].pend_after == NO_PENDING
            assert side.root == com._sides[(mid, s)].root(), (block.header.height, mid, s)
            if block.header.height % 5 == 0:
                side._check()
                again = BookSide.from_snapshots(eng.snapshot(), com.snapshot(), mid, s, D)
                assert again.root == side.root
                assert BookSide.from_poseidon(com, mid, s).root == side.root

    for cmd in [*w.genesis(), *w.commands(n)]:
        for block in bb.submit(cmd)[1]:
            block_done(block)
    block_done(bb.seal())
    return counts, transient, blocks


@pytest.mark.parametrize("engine_cls", ENGINES)
def test_model_matches_commitment_block_by_block(engine_cls: type) -> None:
    counts, transient, blocks = _run(engine_cls, 5)
    assert blocks > 20
    assert set(counts) == {k.name for k in OpKind} - {"NOP"}, counts
    assert transient > 0  # orders that rested and left in one block took throughout-empty slots


def test_model_matches_commitment_other_seeds() -> None:
    for seed in (1, 2):
        counts, _, _ = _run(ReferenceEngine, seed, 300)
        assert counts["FILL_HEAD"] and counts["INSERT_AFTER"] and counts["REMOVE_AFTER"]


# -- small hand-made sides ---------------------------------------------------------------------


def _order(oid: int, price: int, side: int = Side.SELL, qty: int = 5, prio: int = 0,
           account: int = 1) -> OrderView:
    return OrderView(oid, account, 1, side, price, qty, prio or oid, 100 + oid)


def _asks() -> BookSide:
    """Asks 100 (slot 4), 101 (slot 0), 101 later (slot 2), 105 (slot 1)."""
    orders = [_order(10, 101), _order(11, 105), _order(12, 101), _order(13, 100)]
    return BookSide.from_orders(4, False, orders, {10: 0, 11: 1, 12: 2, 13: 4})


def _state(side: BookSide) -> tuple[int, object, object]:
    return side.root, side.pending, dict(side.orders)


def test_from_orders_links_in_priority_order() -> None:
    side = _asks()
    assert list(side.walk()) == [4, 0, 2, 1]
    assert side.head == (5, 100, 13)
    side._check()
    leaves = dict(side.tree.items())
    assert leaves[0] == order_leaf(_order(10, 101), (3, 101, 12))
    assert leaves[1] == order_leaf(_order(11, 105), NO_LINK)
    assert side.root == side_root(side.tree.root, (5, 100, 13))
    bids = BookSide.from_orders(
        4, True, [_order(1, 99, Side.BUY), _order(2, 100, Side.BUY)], {1: 3, 2: 7}
    )
    assert list(bids.walk()) == [7, 3]
    assert BookSide(4, True).root == side_root(BookSide(4, True).tree.root, NO_LINK)


def test_keys() -> None:
    assert book_key(False, 100, 7) == 100 * 2**48 + 7
    assert book_key(True, 100, 7) == (MAX_PRICE - 100) * 2**48 + 7
    assert book_key(True, 101, 9) < book_key(True, 100, 7)  # higher bid is better
    assert book_key(False, 100, 9) < book_key(False, 101, 7)
    assert pack_head((5, 100, 13)) == 5 + (100 << 25) + (13 << 65)
    assert order_record(_order(10, 101), (3, 101, 12)) == (101, 5, 10, 1, 3, 10, 110, 2, 101, 12)


def test_every_operation_on_a_small_side() -> None:
    side = _asks()
    steps = []
    steps += side.apply(BookOp(OpKind.INSERT_AFTER, slot=5, pred=2, order=_order(20, 101)))
    steps += side.apply(BookOp(OpKind.INSERT_HEAD, slot=6, order=_order(21, 99)))
    steps += side.apply(BookOp(OpKind.FILL_HEAD, qty=2, order_id=21))
    steps += side.apply(BookOp(OpKind.FILL_HEAD, qty=3, order_id=21))
    steps += side.apply(BookOp(OpKind.REDUCE, slot=2, qty=4, cl_ord_id=555))
    steps += side.apply(BookOp(OpKind.REMOVE_AFTER, slot=5, pred=2))
    steps += side.apply(BookOp(OpKind.REMOVE_HEAD, order_id=13))
    steps += side.apply(BookOp(OpKind.NOP))
    verify_chain(steps)
    side._check()
    assert [s.op for s in steps] == [
        StepOp.LINK, StepOp.PUT, StepOp.INSERT_HEAD, StepOp.FILL_HEAD, StepOp.FILL_HEAD,
        StepOp.REDUCE, StepOp.DETACH, StepOp.RELINK, StepOp.REMOVE_HEAD, StepOp.NOP,
    ]
    assert list(side.walk()) == [0, 2, 1]
    assert side.orders[2][0].qty == 1 and side.orders[2][0].cl_ord_id == 555
    fills = [s.fill for s in steps if s.op == StepOp.FILL_HEAD]
    assert fills == [(99, 2, 1, 21, 3), (99, 3, 1, 21, 0)]
    # the emptying fill keeps the record (qty 0) as the circuit's witness, and frees the slot
    assert steps[4].new_order[1] == 0 and 6 not in side.orders
    rebuilt = BookSide.from_orders(4, False, [o for o, _ in side.orders.values()],
                                   {o.order_id: s for s, (o, _) in side.orders.items()})
    assert rebuilt.root == side.root
    inp = steps[0].inputs()
    # depth 4: two levels, the top one held in the circuit's tier (4 nodes), one in the path
    assert inp["op"] == StepOp.LINK and inp["pend"] == [0] * 7 and len(inp["siblings"]) == 3
    assert all(a.new_tier == b.old_tier for a, b in itertools.pairwise(steps))
    assert steps[-1].new_tier == tuple(side.tree.tier()) and len(side.tree.tier()) == 4
    assert all(len(st.new_tier) == 4 for st in steps)
    assert steps[0].public_signals()[4 + 3] == 1  # pending INSERT after the LINK


# -- cheating operations -----------------------------------------------------------------------

BAD_OPS = {
    "fill_not_head": BookOp(OpKind.FILL_HEAD, qty=1, order_id=10),
    "fill_too_much": BookOp(OpKind.FILL_HEAD, qty=6),
    "fill_nothing": BookOp(OpKind.FILL_HEAD, qty=0),
    "fill_not_head_slot": BookOp(OpKind.FILL_HEAD, slot=0, qty=1),
    "remove_not_head": BookOp(OpKind.REMOVE_HEAD, order_id=12),
    "insert_before_pred": BookOp(OpKind.INSERT_AFTER, slot=5, pred=0, order=_order(20, 100)),
    "insert_after_next": BookOp(OpKind.INSERT_AFTER, slot=5, pred=0, order=_order(20, 101)),
    "insert_equal_pred": BookOp(OpKind.INSERT_AFTER, slot=5, pred=4,
                                order=_order(20, 100, prio=13)),
    "insert_head_worse": BookOp(OpKind.INSERT_HEAD, slot=5, order=_order(20, 100)),
    "insert_head_occupied": BookOp(OpKind.INSERT_HEAD, slot=1, order=_order(20, 99)),
    "insert_after_occupied": BookOp(OpKind.INSERT_AFTER, slot=1, pred=4, order=_order(20, 100)),
    "insert_wrong_side": BookOp(OpKind.INSERT_HEAD, slot=5, order=_order(20, 99, Side.BUY)),
    "insert_no_qty": BookOp(OpKind.INSERT_HEAD, slot=5, order=_order(20, 99, qty=0)),
    "insert_no_order": BookOp(OpKind.INSERT_AFTER, slot=5, pred=0),
    "insert_outside": BookOp(OpKind.INSERT_HEAD, slot=16, order=_order(20, 99)),
    "remove_wrong_pred": BookOp(OpKind.REMOVE_AFTER, slot=1, pred=0),
    "remove_empty": BookOp(OpKind.REMOVE_AFTER, slot=3, pred=0),
    "remove_after_last": BookOp(OpKind.REMOVE_AFTER, slot=4, pred=1),
    "reduce_to_zero": BookOp(OpKind.REDUCE, slot=0, qty=5),
    "reduce_empty": BookOp(OpKind.REDUCE, slot=3, qty=1),
}


@pytest.mark.parametrize("name", sorted(BAD_OPS))
def test_illegal_operation_is_rejected_without_change(name: str) -> None:
    side = _asks()
    before = _state(side)
    with pytest.raises(BookTraceError):
        side.apply(BAD_OPS[name])
    assert _state(side) == before
    side._check()


def test_empty_side_rejects_head_operations() -> None:
    side = BookSide(3, True)
    for op in (BookOp(OpKind.FILL_HEAD, qty=1), BookOp(OpKind.REMOVE_HEAD)):
        with pytest.raises(BookTraceError):
            side.apply(op)
    (st,) = side.apply(BookOp(OpKind.INSERT_HEAD, slot=2, order=_order(1, 50, Side.BUY)))
    assert st.head_after == (3, 50, 1) and side.head == (3, 50, 1)


def test_half_operations_must_pair() -> None:
    side = _asks()
    with pytest.raises(BookTraceError):
        side.step(StepOp.PUT, order=_order(20, 102))  # no LINK pending
    with pytest.raises(BookTraceError):
        side.step(StepOp.RELINK, 4)  # no DETACH pending
    side.step(StepOp.LINK, 2, link=(6, 102, 20))
    for op in (StepOp.NOP, StepOp.LINK, StepOp.FILL_HEAD, StepOp.RELINK, StepOp.DETACH):
        with pytest.raises(BookTraceError):
            side.step(op, 2, link=(6, 102, 21))
    with pytest.raises(BookTraceError):
        side.step(StepOp.PUT, order=_order(20, 103))  # key differs from the LINK's
    with pytest.raises(BookTraceError):
        side.step(StepOp.PUT, 6, order=_order(20, 102))  # not X's slot
    side.step(StepOp.PUT, order=_order(20, 102))
    side._check()
    # remove slot 5 (after slot 2): DETACH empties it, then RELINK points 2 past it
    st = side.step(StepOp.DETACH, 5)
    assert st.pend_after == (2, (6, 102, 20), (2, 105, 11)) and 5 not in side.orders
    with pytest.raises(BookTraceError):
        side.step(StepOp.INSERT_HEAD, 7, order=_order(30, 1))
    with pytest.raises(BookTraceError):
        side.step(StepOp.DETACH, 1)  # one removal at a time
    side.step(StepOp.RELINK, 2)
    side._check()
    # a RELINK at a leaf whose next is not the detached order is refused
    side.step(StepOp.DETACH, 2)
    for wrong in (4, 1):
        with pytest.raises(BookTraceError):
            side.step(StepOp.RELINK, wrong)
    with pytest.raises(BookTraceError):
        side.step(StepOp.DETACH, 3)  # an empty slot (and one removal at a time)
    side.step(StepOp.RELINK, 0)
    side._check()
    assert list(side.walk()) == [4, 0, 1]
    # the head has no predecessor: after DETACH of the head no RELINK exists
    side.step(StepOp.DETACH, 4)
    for slot in (0, 1):
        with pytest.raises(BookTraceError):
            side.step(StepOp.RELINK, slot)


def test_dropped_step_breaks_the_chain() -> None:
    side = _asks()
    steps = side.apply(BookOp(OpKind.FILL_HEAD, qty=1))
    steps += side.apply(BookOp(OpKind.INSERT_AFTER, slot=5, pred=2, order=_order(20, 101)))
    steps += side.apply(BookOp(OpKind.REMOVE_HEAD))
    verify_chain(steps)
    for i in range(1, len(steps) - 1):  # any step in the middle
        with pytest.raises(BookTraceError):
            verify_chain([*steps[:i], *steps[i + 1 :]])
    with pytest.raises(BookTraceError):
        verify_chain([steps[1], steps[0], *steps[2:]])


def test_windows_never_split_an_operation() -> None:
    side = _asks()
    steps = []
    for oid, price in [(20, 106), (21, 107), (22, 108)]:
        steps += side.apply(BookOp(OpKind.INSERT_AFTER, slot=oid - 15, pred=1 if oid == 20
                                   else oid - 16, order=_order(oid, price)))
    steps += side.apply(BookOp(OpKind.FILL_HEAD, qty=1))
    wins = windows(steps, 3)
    assert [len(w) for w in wins] == [2, 2, 3]
    assert all(w[-1].pend_after == NO_PENDING for w in wins)
    with pytest.raises(BookTraceError):
        windows(steps, 1)
    inp, public = steps_inputs(wins[0], 4, 4)
    assert len(inp["op"]) == 4 and inp["op"][2:] == [0, 0]  # type: ignore[index]
    assert public == [wins[0][-1].new_root, pack_head(wins[0][-1].head_after),
                      wins[0][0].old_root, pack_head(wins[0][0].head_before), 0]
    with pytest.raises(ValueError):
        steps_inputs([], 4, 4)


# -- events that do not fit the book -----------------------------------------------------------


def _real_block() -> tuple[BookSide, Block, dict[int, int], int]:
    """A real block with a trade on the ask side, the side before it, and its final slots."""
    w = Workload(3, accounts=8, target_resting=60, spread_ticks=10)
    com = PoseidonState(w.markets, account_depth=8, order_depth=D)
    bb = BlockBuilder(ReferenceEngine(w.markets), com, max_commands=32)
    side = BookSide(D, False)
    for cmd in [*w.genesis(), *w.commands(300)]:
        for block in bb.submit(cmd)[1]:
            final = final_slots(com, 1, Side.SELL)
            trades = [e for e in block.events if isinstance(e, Trade) and e.taker_side == Side.BUY]
            if trades and len(side.orders) >= 3:
                return side, block, final, trades[0].maker_order_id
            trace_block(side, block, 1, Side.SELL, final)
    raise LookupError("no block with a buy trade")


def test_trade_against_a_maker_that_is_not_the_head_is_rejected() -> None:
    side, block, final, _ = _real_block()
    derive_ops(side, block, 1, Side.SELL, final)  # the honest block fits
    i = next(i for i, e in enumerate(block.events)
             if isinstance(e, Trade) and e.taker_side == Side.BUY)
    trade = block.events[i]
    assert isinstance(trade, Trade)
    # The operator claims the taker hit another resting ask (skipping the best one).
    other = next(o.order_id for o, _ in side.orders.values() if o.order_id != trade.maker_order_id)
    events = list(block.events)
    events[i] = msgspec.structs.replace(trade, maker_order_id=other)
    with pytest.raises(BookTraceError):
        derive_ops(side, msgspec.structs.replace(block, events=tuple(events)), 1, Side.SELL,
                   final)
    events[i] = msgspec.structs.replace(trade, maker_remaining=trade.maker_remaining + 1)
    with pytest.raises(BookTraceError):
        derive_ops(side, msgspec.structs.replace(block, events=tuple(events)), 1, Side.SELL,
                   final)


def test_events_must_end_on_the_committed_orders() -> None:
    side, block, final, _ = _real_block()
    wrong = dict(final)
    oid = next(iter(wrong))
    wrong[oid] = 2**D - 1 if wrong[oid] != 2**D - 1 else 2**D - 2
    with pytest.raises(BookTraceError):
        derive_ops(side, block, 1, Side.SELL, wrong)


def test_transient_orders_need_a_slot_empty_throughout() -> None:
    _, block, _, _ = _real_block()
    full = BookSide.from_orders(1, False, [_order(1, 100), _order(2, 101)], {1: 0, 2: 1})
    accepted = OrderAccepted(50, 50, 3, 1, 0, Side.SELL, 120, 4)
    cancelled = OrderCancelled(51, 50, 3, 1, 4, 1)
    fake = msgspec.structs.replace(
        block, commands=block.commands[:2], events=(accepted, cancelled), event_offsets=(0, 1)
    )
    with pytest.raises(OverflowError):
        derive_ops(full, fake, 1, Side.SELL, {1: 0, 2: 1})
    roomy = BookSide.from_orders(2, False, [_order(1, 100), _order(2, 101)], {1: 0, 2: 1})
    ops = derive_ops(roomy, fake, 1, Side.SELL, {1: 0, 2: 1})
    assert [(o.kind, o.slot) for o in ops] == [(OpKind.INSERT_AFTER, 2), (OpKind.REMOVE_AFTER, 2)]
    for op in ops:
        roomy.apply(op)
    roomy._check()
