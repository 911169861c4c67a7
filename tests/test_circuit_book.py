"""BookStep / BookSteps in-circuit: honest steps from real blocks prove, cheating ones don't.

Witnesses come from ``proofs.booktrace`` (the circuit's specification) run over real workload
blocks. Every must-fail case goes through ``CompiledCircuit.prove`` with the public signals the
cheating prover would claim, so the self-verification raises ``UnsatisfiedWitnessError``
(groth16py 0.2.0 does not check constraints itself). ``_claimed`` recomputes what the circuit's
assignments output for given inputs, ignoring every ``===``: it is what a cheater's proof would
carry, and for honest inputs it equals the model's public signals (checked below).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from matching import BlockBuilder, ReferenceEngine, Side
from proofs.booktrace import (
    NO_PENDING,
    BookOp,
    BookSide,
    OpKind,
    Step,
    StepOp,
    derive_ops,
    final_slots,
    order_record,
    pack_head,
    steps_inputs,
    windows,
)
from proofs.circom import CompiledCircuit, UnsatisfiedWitnessError, circuit_stats, compile_circuit
from proofs.merkle import below_tier, tier_update
from proofs.poseidon import FIELD_MODULUS, hash2
from proofs.state import PoseidonState
from venue.workload import Workload

ROOT = Path(__file__).resolve().parents[1]
CIRCUITS = ROOT / "tests" / "circuits"
CACHE = ROOT / ".cache" / "circuits"
D = 8
S = 12

# Total constraints (groth16py 0.2.0 compiler, = circom --O2); proofs/circuits/README.md.
EXPECTED = {"book_step8": 2828, "book_step12": 4042, "book_step14": 4649, "book_steps8x12": 37005}


def _compile(name: str) -> CompiledCircuit:
    return compile_circuit(CIRCUITS / f"{name}_test.circom", cache_dir=CACHE)


@pytest.fixture(scope="module")
def step8() -> CompiledCircuit:
    return _compile("book_step8")


@pytest.fixture(scope="module")
def steps8x12() -> CompiledCircuit:
    return _compile("book_steps8x12")


# -- real blocks -------------------------------------------------------------------------------

Trace = list[tuple[BookSide, list[BookOp]]]  # (side before the block, the block's ops)


@pytest.fixture(scope="module")
def trace() -> Trace:
    """Per block and side of a small real workload: the side before it and its operations."""
    w = Workload(3, accounts=8, target_resting=60, spread_ticks=10)
    com = PoseidonState(w.markets, account_depth=8, order_depth=D)
    bb = BlockBuilder(ReferenceEngine(w.markets), com, max_commands=32)
    sides = {s: BookSide(D, s == Side.BUY) for s in (Side.BUY, Side.SELL)}
    out: Trace = []

    def block_done(block: object) -> None:
        for s, side in sides.items():
            ops = derive_ops(side, block, 1, s, final_slots(com, 1, s))  # type: ignore[arg-type]
            out.append((side.copy(), ops))
            for op in ops:
                side.apply(op)
            assert side.root == com._sides[(1, s)].root()

    for cmd in [*w.genesis(), *w.commands(400)]:
        for block in bb.submit(cmd)[1]:
            block_done(block)
    block_done(bb.seal())
    return out


def _find(trace: Trace, want: Callable[[BookSide, BookOp], bool]) -> tuple[BookSide, BookOp]:
    """The first (side state, op) of the trace where ``want`` holds, the side just before it."""
    for before, ops in trace:
        side = before.copy()
        for op in ops:
            if want(side, op):
                return side, op
            side.apply(op)
    raise LookupError("no such operation in the trace")


def _len(side: BookSide) -> int:
    return len(side.orders)


# -- what a cheater's proof would claim --------------------------------------------------------


def _leaf(rec: list[int]) -> int:
    w1, w2 = [40, 48, 48, 20, 25], [48, 64, 2, 40, 48]

    def packed(vals: list[int], widths: list[int]) -> int:
        acc, shift = 0, 0
        for v, width in zip(vals, widths, strict=True):
            acc += v << shift
            shift += width
        return acc % FIELD_MODULUS

    return hash2(packed(rec[:5], w1), packed(rec[5:], w2))


def _claimed(inp: dict[str, object]) -> list[int]:
    """BookStep's outputs (then public inputs) computed by its assignments alone."""
    op = int(inp["op"])  # type: ignore[call-overload]
    old = list(inp["oldOrder"])  # type: ignore[call-overload]
    new = list(inp["newOrder"])  # type: ignore[call-overload]
    head = list(inp["head"])  # type: ignore[call-overload]
    pend = list(inp["pend"])  # type: ignore[call-overload]
    link = list(inp["link"])  # type: ignore[call-overload]
    q, index = int(inp["q"]), int(inp["index"])  # type: ignore[call-overload]
    gone = op == StepOp.FILL_HEAD and new[1] == 0
    new_empty = op in (StepOp.REMOVE_HEAD, StepOp.DETACH) or gone
    new_leaf = 0 if new_empty else _leaf(new)
    old_tier = list(inp["oldTier"])  # type: ignore[call-overload]
    siblings = list(inp["siblings"])  # type: ignore[call-overload]
    tier = old_tier if op == StepOp.NOP else tier_update(old_tier, index, new_leaf, siblings)
    nxt = [old[4], old[8], old[9]]
    if op == StepOp.INSERT_HEAD:
        head_after = [index + 1, new[0], new[2]]
    elif op == StepOp.REMOVE_HEAD or gone:
        head_after = nxt
    else:
        head_after = head
    pend_after = [0] * 7
    if op == StepOp.LINK:
        pend_after = [1, *link, *nxt]
    elif op == StepOp.DETACH:
        pend_after = [2, index + 1, old[0], old[2], *nxt]
    fh = op == StepOp.FILL_HEAD
    fill = [old[0], q, old[3], old[5], new[1]] if fh else [0] * 5
    return [*tier, *head_after, *pend_after, *fill, *old_tier, *head, *pend, int(inp["isBid"])]  # type: ignore[call-overload]


def _must_fail(circuit: CompiledCircuit, inp: dict[str, object]) -> None:
    with pytest.raises(UnsatisfiedWitnessError):
        circuit.prove(inp, _claimed(inp))


# -- counts --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_constraint_count(name: str) -> None:
    assert circuit_stats(CIRCUITS / f"{name}_test.circom", cache_dir=CACHE).constraints == (
        EXPECTED[name]
    )


def test_template_file_follows_house_rules() -> None:
    text = (ROOT / "proofs" / "circuits" / "book.circom").read_text()
    assert text.startswith("pragma circom 2.0.0;\n") and "component main" not in text
    for template in text.split("\ntemplate ")[1:]:
        params = template.split("(")[1].split(")")[0]
        assert not params or "assert(" in template.split("}")[0], template.split("(")[0]


def test_wrappers_are_three_lines() -> None:
    for name in EXPECTED:
        lines = (CIRCUITS / f"{name}_test.circom").read_text().splitlines()
        assert len(lines) == 3 and lines[2].startswith("component main"), name


# -- honest steps ------------------------------------------------------------------------------


def test_every_step_kind_proves(step8: CompiledCircuit, trace: Trace) -> None:
    seen: dict[StepOp, Step] = {}
    for before, ops in trace:
        side = before.copy()
        for op in ops:
            for st in side.apply(op):
                seen.setdefault(st.op, st)
        seen.setdefault(StepOp.NOP, side.nop())
    # The workload has no priority-keeping replace or STP decrement in this stretch: make one.
    side, _ = _find(trace, lambda s, o: _len(s) >= 3)
    victim = next(iter(side.walk()))
    seen[StepOp.REDUCE] = side.step(StepOp.REDUCE, victim, q=0, cl_ord_id=777)
    assert set(seen) == set(StepOp)
    for st in seen.values():
        assert _claimed(st.inputs()) == st.public_signals()
        proof = step8.prove(st.inputs(), st.public_signals())
        assert step8.verify(proof, st.public_signals())


def test_fill_that_empties_the_head_proves(step8: CompiledCircuit, trace: Trace) -> None:
    side, op = _find(trace, lambda s, o: o.kind == OpKind.FILL_HEAD and
                     s.orders[s.head[0] - 1][0].qty == o.qty and _len(s) >= 2)
    (st,) = side.apply(op)
    assert st.head_after != st.head_before and st.fill[4] == 0
    step8.prove(st.inputs(), st.public_signals())


def test_real_windows_prove(steps8x12: CompiledCircuit, trace: Trace) -> None:
    longest = max(range(len(trace)), key=lambda i: len(trace[i][1]))
    side = trace[longest][0].copy()
    steps = [st for op in trace[longest][1] for st in side.apply(op)]
    wins = windows(steps, S)
    assert len(wins) >= 2
    for win in wins[:2]:
        inp, public = steps_inputs(win, S, D)
        proof = steps8x12.prove(inp, public)
        assert steps8x12.verify(proof, public)
        assert not steps8x12.verify(proof, [public[0], public[1] ^ 1, *public[2:]])


# -- cheating steps ------------------------------------------------------------------------------


def test_fill_of_a_maker_that_is_not_the_head_fails(step8: CompiledCircuit, trace: Trace) -> None:
    side, op = _find(trace, lambda s, o: o.kind == OpKind.FILL_HEAD and _len(s) >= 2)
    second = list(side.walk())[1]
    o, nxt = side.orders[second]
    inp = side.copy().apply(op)[0].inputs()
    # Skip the best order: fill the second one instead (leaf and path are genuine).
    rest = o.qty - 1
    inp.update(
        index=second,
        siblings=below_tier(side.tree.path(second)),
        oldOrder=list(order_record(o, nxt)),
        newOrder=[o.price, rest, *order_record(o, nxt)[2:]],
        q=1,
    )
    _must_fail(step8, inp)


@pytest.mark.parametrize("where", ["before_pred", "after_next", "equal_pred"])
def test_insert_out_of_order_fails(step8: CompiledCircuit, trace: Trace, where: str) -> None:
    side, op = _find(
        trace,
        lambda s, o: o.kind == OpKind.INSERT_AFTER and s.orders[o.pred][1][0] != 0,
    )
    st = side.copy().apply(op)[0]
    assert st.op == StepOp.LINK
    p, nxt = side.orders[op.pred]
    bid = side.is_bid
    worse = 1 if not bid else -1  # price step that makes a key larger (worse)
    if where == "before_pred":
        x = (op.slot + 1, p.price - worse, p.priority)
    elif where == "after_next":
        x = (op.slot + 1, nxt[1] + worse, nxt[2])
    else:
        x = (op.slot + 1, p.price, p.priority)
    inp = st.inputs()
    new = list(st.new_order)
    new[4], new[8], new[9] = x
    inp.update(link=list(x), newOrder=new)
    _must_fail(step8, inp)


def test_insert_at_head_not_better_than_head_fails(step8: CompiledCircuit, trace: Trace) -> None:
    side, op = _find(trace, lambda s, o: o.kind == OpKind.INSERT_HEAD and s.head[0] != 0)
    st = side.copy().apply(op)[0]
    inp = st.inputs()
    new = list(st.new_order)
    new[0] = side.head[1]  # same price as the head and a later priority: behind it
    assert new[2] > side.head[2]
    inp.update(newOrder=new)
    _must_fail(step8, inp)


@pytest.mark.parametrize("tamper", ["q", "remaining", "price", "account"])
def test_fill_fields_inconsistent_fail(step8: CompiledCircuit, trace: Trace, tamper: str) -> None:
    side, op = _find(trace, lambda s, o: o.kind == OpKind.FILL_HEAD and
                     s.orders[s.head[0] - 1][0].qty > o.qty + 1)
    st = side.apply(op)[0]
    inp = st.inputs()
    old, new = list(st.old_order), list(st.new_order)
    if tamper == "q":  # fill more than the maker loses
        inp["q"] = st.q + 1
    elif tamper == "remaining":  # maker keeps more than qty - q
        new[1] += 1
    elif tamper == "price":  # fill at a better price than the maker's (both leaves agree)
        old[0] += 1
        new[0] += 1
    else:  # the fill charged to another account
        old[3] ^= 1
        new[3] ^= 1
    inp.update(oldOrder=old, newOrder=new)
    _must_fail(step8, inp)


def test_remove_with_wrong_predecessor_fails(step8: CompiledCircuit, trace: Trace) -> None:
    side, op = _find(trace, lambda s, o: o.kind == OpKind.REMOVE_AFTER and _len(s) >= 4)
    wrong = next(s for s in side.walk() if s != op.pred and side.orders[s][1][0] != op.slot + 1
                 and side.orders[s][1][0] != 0)
    honest = side.copy()
    detach, relink = honest.apply(op)
    after_detach = side.copy()
    after_detach.step(StepOp.DETACH, op.slot)
    w, wnext = side.orders[wrong]
    path = below_tier(after_detach.tree.path(wrong))
    # (a) RELINK at the wrong predecessor with its leaf forged to point at the detached order
    forged = list(order_record(w, wnext))
    forged[4], forged[8], forged[9] = detach.pend_after[1]
    inp = relink.inputs()
    inp.update(index=wrong, siblings=path, oldOrder=forged,
               newOrder=list(order_record(w, detach.pend_after[2])))
    _must_fail(step8, inp)
    # (b) its genuine leaf, whose next is another order: the pending X differs
    inp.update(oldOrder=list(order_record(w, wnext)))
    _must_fail(step8, inp)


@pytest.mark.parametrize("kind", [StepOp.INSERT_HEAD, StepOp.PUT], ids=["head", "put"])
def test_new_order_into_occupied_slot_fails(
    step8: CompiledCircuit, trace: Trace, kind: StepOp
) -> None:
    want = OpKind.INSERT_HEAD if kind == StepOp.INSERT_HEAD else OpKind.INSERT_AFTER
    side, op = _find(trace, lambda s, o: o.kind == want and _len(s) >= 2)
    taken = next(s for s in side.walk() if s != op.pred)
    if kind == StepOp.INSERT_HEAD:
        st = side.copy().apply(op)[0]
        inp = st.inputs()
        inp.update(index=taken, siblings=below_tier(side.tree.path(taken)))
    else:
        cheat = side.copy()
        assert op.order is not None
        cheat.step(StepOp.LINK, op.pred, link=(taken + 1, op.order.price, op.order.priority))
        honest = side.copy()
        st = honest.apply(op)[1]
        inp = st.inputs()
        inp.update(oldTier=cheat.tree.tier(), index=taken,
                   siblings=below_tier(cheat.tree.path(taken)),
                   pend=[1, taken + 1, *st.pend_before[1][1:], *st.pend_before[2]])
    _must_fail(step8, inp)


def test_half_operations_cannot_be_skipped(step8: CompiledCircuit, trace: Trace) -> None:
    side, op = _find(trace, lambda s, o: o.kind == OpKind.INSERT_AFTER)
    link, put = side.copy().apply(op)
    # PUT without a pending LINK: a new leaf appears unlinked.
    inp = put.inputs()
    inp.update(oldTier=list(link.old_tier), pend=[0] * 7)
    _must_fail(step8, inp)
    # NOP (or any other op) while the LINK is pending: the new order never gets its leaf.
    inp = {**put.inputs(), "op": 0, "index": 0, "siblings": [0] * len(put.inputs()["siblings"]),  # type: ignore[arg-type]
           "q": 0}
    _must_fail(step8, inp)


def test_dropped_step_breaks_the_chain(steps8x12: CompiledCircuit, trace: Trace) -> None:
    longest = max(range(len(trace)), key=lambda i: len(trace[i][1]))
    side = trace[longest][0].copy()
    steps = [st for op in trace[longest][1] for st in side.apply(op)]
    win = windows(steps, S)[0]
    # Drop a whole operation (both halves of a LINK/PUT or DETACH/RELINK pair), so the pending
    # register stays consistent and only the roots fail to chain.
    drop = 1 if win[0].op in (StepOp.LINK, StepOp.DETACH) else 0
    assert win[-1].pend_after == NO_PENDING and len(win) > drop + 1
    _, public = steps_inputs(win, S, D)  # the cheater claims the honest end state
    inp, _ = steps_inputs(win[drop + 1 :], S, D)
    inp.update(oldRoot=win[0].old_root, oldHead=pack_head(win[0].head_before),
               tier0=list(win[0].old_tier))
    with pytest.raises(UnsatisfiedWitnessError):
        steps8x12.prove(inp, public)
