"""Blocks: cut rules, headers, the state commitment, and replay catching every tampering."""

from __future__ import annotations

import itertools

import msgspec
import pytest

from matching import (
    BlockBuilder,
    CEngine,
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
