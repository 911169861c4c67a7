"""Blocks: cut rules, headers, the state commitment, and replay catching every tampering."""

from __future__ import annotations

import itertools

import msgspec
import pytest

from matching import (
    AddAccount,
    BlockBuilder,
    CEngine,
    Deposit,
    ReferenceEngine,
    Trade,
    encode,
    replay_block,
)
from matching.block import Block
from matching.encoding import decoder
from proofs.state import PoseidonState
from venue.workload import Workload

ENGINES = [ReferenceEngine] + ([CEngine] if CEngine is not None else [])


def build(engine_cls: type, n: int = 600, seed: int = 3, **kw: int) -> tuple[list[Block], object]:
    w = Workload(seed, accounts=20, target_resting=200)
    eng = engine_cls(w.markets)
    com = PoseidonState(w.markets, account_depth=8, order_depth=9)
    bb = BlockBuilder(eng, com, **{"max_commands": 32, **kw})
    blocks = bb.submit_many(w.genesis() + list(w.commands(n)))
    blocks.append(bb.seal())
    return blocks, (w, eng, com)


def replay_all(blocks: list[Block], markets: tuple) -> object:
    eng = ReferenceEngine(markets)
    com = PoseidonState(markets, account_depth=8, order_depth=9)
    parent = 0
    for b in blocks:
        _, mismatch = replay_block(eng, com, b, parent)
        if mismatch is not None:
            return mismatch
        parent = com.header_hash(b.header)
    return None


@pytest.mark.parametrize("engine_cls", ENGINES)
def test_blocks_chain_and_replay(engine_cls: type) -> None:
    blocks, (w, _, com) = build(engine_cls)
    heights = [b.header.height for b in blocks]
    assert heights == list(range(1, len(blocks) + 1))
    for prev, b in itertools.pairwise(blocks):
        assert b.header.pre_state_root == prev.header.post_state_root
        assert b.header.parent_hash == com.header_hash(prev.header)
        assert b.header.first_seq == prev.header.first_seq + prev.header.command_count
    assert all(b.header.command_count <= 32 for b in blocks)
    assert replay_all(blocks, w.markets) is None


def test_cut_by_time() -> None:
    blocks, _ = build(ReferenceEngine, n=300, max_commands=10_000, max_interval_ns=50_000_000)
    for b in blocks[:-1]:
        span = b.commands[-1].ts - b.commands[0].ts
        assert span < 50_000_000
    assert len(blocks) > 3


@pytest.mark.parametrize("engine_cls", ENGINES)
def test_cut_before_a_command_whose_step_bound_does_not_fit(engine_cls: type) -> None:
    # hand-picked steps (bound before, cost after) for deposits, budget 10, 3 commands a block
    markets = Workload(1).markets
    eng = engine_cls(markets)
    com = PoseidonState(markets, account_depth=8, order_depth=9)
    plan = {  # seq: (bound, cost)
        1: (3, 3), 2: (4, 2),  # 5 used
        3: (6, 1),  # 5 + 6 > 10: cut before it
        4: (9, 9),  # 1 + 9 = 10: fits, and the full block is cut right after it
        5: (50, 4),  # larger than any block: goes into an empty one
        6: (7, 1),  # 4 + 7 > 10: so the large one stays alone
        7: (1, 1), 8: (1, 1),  # then max_commands cuts as ever
    }  # fmt: skip

    def bound(cmd: Deposit | AddAccount) -> int:
        assert eng.last_seq == cmd.seq - 1  # asked before the command executes
        return plan[cmd.seq][0]

    bb = BlockBuilder(
        eng, com, max_commands=3, max_interval_ns=1 << 62, max_steps=10,
        step_cost=lambda cmd, events: plan[cmd.seq][1], step_bound=bound,
    )  # type: ignore[arg-type]  # fmt: skip
    cmds = [AddAccount(1, 1_000, 1)] + [Deposit(s, 1_000 * s, 1, 5) for s in range(2, 9)]
    sealed = []
    for cmd in cmds:
        events, blocks = bb.submit(cmd)
        assert events and events[0].seq == cmd.seq  # the command always executes
        sealed += [(cmd.seq, b) for b in blocks]
    assert [(at, [c.seq for c in b.commands]) for at, b in sealed] == [
        (3, [1, 2]), (4, [3, 4]), (6, [5]), (8, [6, 7, 8]),
    ]  # fmt: skip
    # a block cut before a command closes at its own last command, as a time cut does
    assert [b.header.close_ts for _, b in sealed] == [2_000, 4_000, 5_000, 8_000]
    assert [b.header.first_seq for _, b in sealed] == [1, 3, 5, 6]
    assert replay_all([b for _, b in sealed], markets) is None


def test_time_and_step_bound_cut_once_before_the_same_command() -> None:
    markets = Workload(1).markets
    eng = ReferenceEngine(markets)
    com = PoseidonState(markets, account_depth=8, order_depth=9)
    bb = BlockBuilder(
        eng, com, max_interval_ns=10_000, max_steps=10, step_cost=lambda cmd, events: 4,
        step_bound=lambda cmd: 8,
    )  # type: ignore[arg-type]  # fmt: skip
    assert bb.submit(AddAccount(1, 1_000, 1))[1] == []
    # both rules cut before this one: the block it closes is the only one (none empty)
    _, blocks = bb.submit(Deposit(2, 50_000, 1, 5))
    assert [len(b.commands) for b in blocks] == [1] and bb.pending == 1


def test_encoding_round_trip() -> None:
    blocks, _ = build(ReferenceEngine, n=200)
    dec = decoder(Block)
    for b in blocks:
        data = encode(b)
        assert encode(dec.decode(data)) == data
        assert dec.decode(data) == b


def test_settlement_price_is_vwap_of_fills() -> None:
    blocks, _ = build(ReferenceEngine, n=600)
    saw_trade = saw_carry = False
    prev_price = 100_000
    for b in blocks:
        fills = [e for e in b.events if isinstance(e, Trade)]
        s = b.header.markets[0]
        if fills:
            notional = sum(f.price * f.qty for f in fills)
            volume = sum(f.qty for f in fills)
            assert (s.volume, s.notional, s.trade_count) == (volume, notional, len(fills))
            assert s.price == (2 * notional + volume) // (2 * volume)
            assert not s.carried
            saw_trade = True
        else:
            assert s.carried and s.price == prev_price and s.volume == 0
            saw_carry = True
        prev_price = s.price
    assert saw_trade and saw_carry


def test_incremental_root_equals_full_rebuild() -> None:
    _, (_, eng, com) = build(ReferenceEngine, n=800)
    again = PoseidonState.restore(eng.snapshot(), com.snapshot(), account_depth=8, order_depth=9)
    assert again.root == com.root
    com._check()


@pytest.mark.parametrize("markets", [2, 13])
def test_many_market_account_leaves_batch_like_the_definition(markets: int) -> None:
    # One market's account leaf is one Poseidon(3) (the circuit's); more markets absorb their
    # packed elements four wide (13 markets: 19 inputs, more than one Poseidon takes), and the
    # incremental roots equal a rebuild from the snapshots.
    from proofs import state
    from proofs.poseidon import hash_n
    from venue.workload import default_markets

    w = Workload(5, markets=default_markets(markets), accounts=12, target_resting=60)
    eng = ReferenceEngine(w.markets)
    com = PoseidonState(w.markets, account_depth=8, order_depth=9)
    bb = BlockBuilder(eng, com, max_commands=32)
    bb.submit_many(w.genesis() + list(w.commands(300)))
    bb.seal()
    snap = eng.snapshot()
    for a in snap.accounts:
        xs = [7, *state._account_elems(a)]
        acc = hash_n(xs[:4])
        for i in range(4, len(xs), 3):
            acc = hash_n([acc, *xs[i : i + 3]])
        assert state.account_leaf(a, 7) == acc and len(xs) > 4
    again = PoseidonState.restore(snap, com.snapshot(), account_depth=8, order_depth=9)
    assert again.root == com.root
    com._check()


def _tamper(block: Block, **changes: object) -> Block:
    return msgspec.structs.replace(block, **changes)


def _tamper_header(block: Block, **changes: object) -> Block:
    return _tamper(block, header=msgspec.structs.replace(block.header, **changes))


@pytest.mark.parametrize(
    "how",
    [
        "price",
        "post_root",
        "volume",
        "drop_command",
        "swap_commands",
        "event",
        "command_commitment",
    ],
)
def test_replay_detects_tampering(how: str) -> None:
    blocks, (w, _, _) = build(ReferenceEngine, n=400)
    i = next(i for i, b in enumerate(blocks) if any(isinstance(e, Trade) for e in b.events))
    b = blocks[i]
    if how == "price":
        m = msgspec.structs.replace(b.header.markets[0], price=b.header.markets[0].price + 1)
        bad = _tamper_header(b, markets=(m,))
    elif how == "post_root":
        bad = _tamper_header(b, post_state_root=b.header.post_state_root ^ 1)
    elif how == "volume":
        m = msgspec.structs.replace(b.header.markets[0], volume=b.header.markets[0].volume + 1)
        bad = _tamper_header(b, markets=(m,))
    elif how == "drop_command":
        bad = _tamper(b, commands=b.commands[:-1])
    elif how == "swap_commands":
        c = list(b.commands)
        c[0], c[1] = (
            msgspec.structs.replace(c[1], seq=c[0].seq),
            msgspec.structs.replace(c[0], seq=c[1].seq),
        )
        bad = _tamper(b, commands=tuple(c))
    elif how == "event":
        ev = list(b.events)
        j = next(j for j, e in enumerate(ev) if isinstance(e, Trade))
        ev[j] = msgspec.structs.replace(ev[j], qty=ev[j].qty + 1)
        bad = _tamper(b, events=tuple(ev))
    else:
        bad = _tamper_header(b, command_commitment=b.header.command_commitment + 1)
    mismatch = replay_all([*blocks[:i], bad], w.markets)
    assert mismatch is not None and mismatch.height == b.header.height


# Every root, command commitment and header hash of this 20,000-command run must stay
# bit-identical, since circuits and stored blocks depend on them. Re-pinned when the layout
# changed on purpose (4-ary trees, one-hash account leaves); the incremental roots are checked
# against from-scratch rebuilds by the snapshot and merkle tests, not by this pin.
PINNED_20K = (
    344,
    0x16E75E62684106DCCC0BD9B0FB091E2764FF4C4B848F57D21724C36CAF379D6D,
    0x0899CA4AF2BE357F94D6710710143F2363AA588439FC295D9C9848F2F070AC0A,
    "9be96c2c614d069f1c4a38b9d7da9b02a283403ffec7f5f2b2e77fa16c598282",
)


def test_roots_pinned_on_20k_workload() -> None:
    import hashlib

    w = Workload(11, accounts=1_000, target_resting=6_000)
    eng = (CEngine or ReferenceEngine)(w.markets)
    com = PoseidonState(w.markets, account_depth=16, order_depth=14)
    bb = BlockBuilder(eng, com, max_commands=64)
    blocks = bb.submit_many(w.genesis() + list(w.commands(20_000)))
    blocks.append(bb.seal())
    h = hashlib.sha256()
    for b in blocks:
        for v in (b.header.pre_state_root, b.header.command_commitment, b.header.post_state_root):
            h.update(v.to_bytes(32, "big"))
        h.update(bytes(32))
    got = (len(blocks), com.root, com.header_hash(blocks[-1].header), h.hexdigest())
    assert got == PINNED_20K
    again = PoseidonState.restore(eng.snapshot(), com.snapshot(), account_depth=16, order_depth=14)
    assert again.root == com.root


def test_fast_leaf_packing_equals_the_definitions() -> None:
    """The precomputed layouts (commands, orders, accounts) pack exactly like ``pack_greedy``
    / ``pack``, and out-of-range values still raise the definition's errors."""
    from proofs import state
    from proofs.poseidon import FieldRangeError, hash_chain

    _, (w, eng, com) = build(ReferenceEngine, n=400)
    cmds = w.genesis() + list(w.commands(300))
    assert {type(c).__name__ for c in cmds} >= {"AddAccount", "PlaceOrder", "CancelOrder"}
    for c in cmds:
        elems = state._command_hash_slow(c)
        assert state._command_elems(c) == elems
        assert state.command_hash(c) == (elems[0] if len(elems) == 1 else hash_chain(elems))
    snap = eng.snapshot()
    assert snap.orders and snap.accounts
    for o in snap.orders:
        for nxt in (state.NO_LINK, (5, o.price + 1, o.priority + 7)):
            assert state._order_elems(o, nxt) == state._order_leaf_slow(o, nxt)
    for a in snap.accounts:
        assert state._account_elems(a) == state.pack_greedy(state._account_fields(a))
    o, a = snap.orders[0], snap.accounts[0]
    with pytest.raises(FieldRangeError):
        state.order_leaf(msgspec.structs.replace(o, price=1 << 40), state.NO_LINK)
    with pytest.raises(FieldRangeError):
        state.order_leaf(o, (1 << 25, 0, 0))
    with pytest.raises(TypeError):
        state.order_leaf(msgspec.structs.replace(o, qty=True), state.NO_LINK)
    with pytest.raises(FieldRangeError):
        state.account_leaf(msgspec.structs.replace(a, collateral=1 << 127), 1)
    p = msgspec.structs.replace(a.positions[0], open_buy=1 << 56)
    with pytest.raises(FieldRangeError):
        state.account_leaf(msgspec.structs.replace(a, positions=(p,)), 1)
    place = next(c for c in cmds if type(c).__name__ == "PlaceOrder")
    with pytest.raises(FieldRangeError):
        state.command_hash(msgspec.structs.replace(place, price=1 << 41))
    assert com.command_commitment([]) == 0


def test_unchanged_leaves_are_not_rehashed_and_roots_match_a_rebuild() -> None:
    """Re-applying a block's diff changes no leaf: nothing is rehashed below the roots, the
    root only moves with the height, and it equals a rebuild from the snapshot."""
    from matching.block import StateDiff

    _, (_, eng, com) = build(CEngine or ReferenceEngine, n=500)
    snap = eng.snapshot()
    diff = StateDiff(
        tuple((o.order_id, o) for o in snap.orders), tuple((a.account, a) for a in snap.accounts)
    )
    trees = [com.accounts, *(s.tree for s in com._sides.values())]
    before = [t.hash_count for t in trees]
    roots = [t.root for t in trees]
    com.apply(com.height + 1, diff, snap.market_states)
    assert [t.hash_count for t in trees] == before
    assert [t.root for t in trees] == roots
    com._check()
    again = PoseidonState.restore(eng.snapshot(), com.snapshot(), account_depth=8, order_depth=9)
    assert again.root == com.root
