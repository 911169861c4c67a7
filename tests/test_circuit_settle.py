"""Settle and BlockMeta in-circuit against the engine's MarketSummary and real block headers.

The expected public signals come from the engine (``end_block``'s summaries) and the sealed
headers, never from ``proofs.commandtrace``, which only supplies inputs and hints; every proof
verifies itself against them (``CompiledCircuit.prove``), so a disagreement or a tampered hint
raises ``groth16py.WitnessError``.
"""

from __future__ import annotations

from pathlib import Path

import groth16py
import pytest

from matching import BlockBuilder
from matching.block import Block
from matching.engine import MarketStateView, ReferenceEngine
from matching.types import (
    AddAccount,
    Deposit,
    MarketSummary,
    OrderType,
    PlaceOrder,
    Side,
    TimeInForce,
)
from proofs.circom import CompiledCircuit, circuit_stats, compile_circuit
from proofs.commandtrace import (
    meta_element,
    settle_element,
    settle_inputs,
    settle_outputs,
)
from proofs.poseidon import FIELD_MODULUS
from proofs.state import PoseidonState
from venue.workload import Workload, default_markets

ROOT = Path(__file__).resolve().parents[1]
CIRCUITS = ROOT / "tests" / "circuits"
CACHE = ROOT / ".cache" / "circuits"

#: Measured constraint counts (also in proofs/circuits/README.md).
EXPECTED_CONSTRAINTS = {"settle": 805, "settle_meta": 160}

T0 = 1_700_000_000_123_456_789  # not a whole millisecond: the ms division matters


@pytest.fixture(scope="module")
def settle_circuit() -> CompiledCircuit:
    return compile_circuit(CIRCUITS / "settle_test.circom", cache_dir=CACHE)


@pytest.fixture(scope="module")
def meta_circuit() -> CompiledCircuit:
    return compile_circuit(CIRCUITS / "settle_meta_test.circom", cache_dir=CACHE)


def _settle_block(
    fills: list[tuple[int, int]], close_delta: int = 2_500_000
) -> tuple[MarketStateView, MarketSummary, int, ReferenceEngine]:
    """Run fills (price, qty) through the engine in one block: account 0 rests each sell,
    account 1 takes it with an IOC buy. Returns the state before, the summary, close_ts."""
    eng = ReferenceEngine(default_markets())
    seq = 0
    ts = T0

    def run(cmd_cls: type, *args: object, **kw: object) -> None:
        nonlocal seq, ts
        seq += 1
        ts += 1_234_567
        events = eng.process(cmd_cls(seq, ts, *args, **kw))
        assert not any(type(e).__name__ == "Rejected" for e in events), events

    for acc in (0, 1):
        run(AddAccount, acc)
        run(Deposit, acc, 10**15)
    eng.end_block(ts)  # genesis block: no fills, carried
    prev = eng.market_state(1)
    for i, (price, qty) in enumerate(fills):
        common = {"order_type": OrderType.LIMIT, "price": price, "qty": qty}
        run(PlaceOrder, 0, 1, 2 * i + 1, Side.SELL, tif=TimeInForce.GTC, **common)
        run(PlaceOrder, 1, 1, 2 * i + 2, Side.BUY, tif=TimeInForce.IOC, **common)
    close_ts = ts + close_delta
    (summary,) = eng.end_block(close_ts)
    return prev, summary, close_ts, eng


def _prove(circuit: CompiledCircuit, prev: MarketStateView, s: MarketSummary, close: int) -> None:
    inputs = settle_inputs(s.notional, s.volume, s.trade_count, prev, close)
    circuit.prove(inputs, settle_outputs(s))


@pytest.mark.parametrize(
    "fills, price",
    [
        ([(100, 1), (101, 1)], 101),  # 100.5: a tie rounds up
        ([(99, 1), (100, 1)], 100),  # 99.5
        ([(100, 3), (101, 1)], 100),  # 100.25
        ([(100, 1), (101, 3)], 101),  # 100.75
        ([(100_000, 7)], 100_000),  # exact
        ([(9_999_999, 999_999), (1, 1)], 9_999_989),  # large notional
    ],
)
def test_settle_vwap_matches_engine(
    settle_circuit: CompiledCircuit, fills: list[tuple[int, int]], price: int
) -> None:
    prev, summary, close_ts, _ = _settle_block(fills)
    assert not summary.carried and summary.price == price
    assert summary.trade_count == len(fills)
    _prove(settle_circuit, prev, summary, close_ts)


def test_settle_carried_matches_engine(settle_circuit: CompiledCircuit) -> None:
    _, summary, close_ts, eng = _settle_block([(100, 1), (101, 1)])
    before = eng.market_state(1)
    later = close_ts + 7_654_321_987
    (carried,) = eng.end_block(later)
    assert carried.carried and carried.price == summary.price == 101
    assert carried.cum_price_time == summary.cum_price_time + 101 * (
        later // 10**6 - close_ts // 10**6
    )
    _prove(settle_circuit, before, carried, later)
    # the same close time again: dt = 0, accumulator unchanged
    again = eng.market_state(1)
    (same,) = eng.end_block(later)
    assert same.cum_price_time == carried.cum_price_time
    _prove(settle_circuit, again, same, later)


@pytest.fixture(scope="module")
def real_blocks() -> tuple[list[Block], tuple]:
    w = Workload(11, accounts=10, target_resting=40)
    eng = ReferenceEngine(w.markets)
    com = PoseidonState(w.markets, account_depth=8, order_depth=8)
    bb = BlockBuilder(eng, com, max_commands=16)
    blocks = bb.submit_many(w.genesis() + list(w.commands(260)))
    blocks.append(bb.seal())
    return blocks, w.markets


def test_settle_over_real_blocks(
    settle_circuit: CompiledCircuit, meta_circuit: CompiledCircuit, real_blocks: tuple
) -> None:
    blocks, markets = real_blocks
    (m,) = markets
    prev = MarketStateView(m.market_id, m.initial_price, 0, 0)  # PoseidonState's genesis view
    traded = carried = 0
    for block in blocks:
        header = block.header
        (s,) = header.markets
        _prove(settle_circuit, prev, s, header.close_ts)
        meta_circuit.prove(
            {
                "height": header.height,
                "closeTs": header.close_ts,
                "commandCount": header.command_count,
                "firstSeq": header.first_seq,
            },
            [meta_element(header)],
        )
        traded += not s.carried
        carried += s.carried
        prev = MarketStateView(m.market_id, s.price, s.cum_price_time, header.close_ts)
    assert traded >= 3 and carried >= 2, (traded, carried)


def test_settle_must_fail(settle_circuit: CompiledCircuit) -> None:
    prev, s, close_ts, _ = _settle_block([(100, 1), (101, 1)])
    good = settle_inputs(s.notional, s.volume, s.trade_count, prev, close_ts)
    public = settle_outputs(s)
    settle_circuit.prove(good, public)

    def refused(inputs: dict[str, int], claim: list[int]) -> None:
        with pytest.raises(groth16py.WitnessError):
            settle_circuit.prove(inputs, claim)

    # a settlement price off by one (alone, and with a consistent settle element)
    for delta in (1, -1):
        off = s.__class__(
            **{**{k: getattr(s, k) for k in s.__struct_fields__}, "price": s.price + delta}
        )
        refused(good, [off.price, *public[1:]])
        refused(good, [off.price, public[1], public[2], settle_element(off)])
    # the accumulator off by one, carried flipped
    refused(good, [public[0], public[1], public[2] + 1, public[3]])
    refused(good, [public[0], 1, public[2], public[3]])
    # wrong VWAP hints: q one higher (r negative), q one lower (r >= den), r alone
    den = 2 * s.volume
    refused({**good, "q": good["q"] + 1, "r": (good["r"] - den) % FIELD_MODULUS}, public)
    refused({**good, "q": good["q"] - 1, "r": good["r"] + den}, public)
    refused({**good, "r": good["r"] + 1}, public)
    # wrong millisecond hints for both timestamps
    for ms, rem in (("closeMs", "closeRem"), ("lastMs", "lastRem")):
        refused({**good, ms: good[ms] - 1, rem: good[rem] + 10**6}, public)
        refused({**good, ms: good[ms] + 1, rem: (good[rem] - 10**6) % FIELD_MODULUS}, public)
    # a close time before the previous close (hints honest for it)
    early = prev.last_close_ts - 1
    back = settle_inputs(s.notional, s.volume, s.trade_count, prev, early)
    dt = early // 10**6 - prev.last_close_ts // 10**6
    claim = [s.price, 0, (int(prev.cum_price_time) + s.price * dt) % FIELD_MODULUS, public[3]]
    refused(back, claim)
    # a block with no volume but notional or trades
    empty = settle_inputs(0, 0, 0, prev, close_ts)
    carried_s = MarketSummary(1, prev.mark, True, 0, 0, 0, 0)
    carried_pub = settle_outputs(carried_s)
    cum = int(prev.cum_price_time) + prev.mark * (close_ts // 10**6 - prev.last_close_ts // 10**6)
    carried_pub[2] = cum
    settle_circuit.prove(empty, carried_pub)
    refused({**empty, "notional": 5}, carried_pub)
    refused({**empty, "trades": 1}, carried_pub)
    # an out-of-range mark (2^40 does not fit the 40-bit price)
    refused({**empty, "mark": 1 << 40}, carried_pub)


def test_meta_must_fail(meta_circuit: CompiledCircuit) -> None:
    inputs = {"height": 3, "closeTs": T0, "commandCount": 16, "firstSeq": 17}
    meta = 3 + (T0 << 32) + (16 << 96) + (17 << 112)
    meta_circuit.prove(inputs, [meta])
    with pytest.raises(groth16py.WitnessError):
        meta_circuit.prove(inputs, [meta + 1])
    # a count of 2^16 would alias into first_seq
    alias = {**inputs, "commandCount": 16 + (1 << 16), "firstSeq": 16}
    with pytest.raises(groth16py.WitnessError):
        meta_circuit.prove(alias, [meta])


@pytest.mark.parametrize("name", sorted(EXPECTED_CONSTRAINTS))
def test_constraint_count(name: str) -> None:
    stats = circuit_stats(CIRCUITS / f"{name}_test.circom", cache_dir=CACHE)
    assert stats.constraints == EXPECTED_CONSTRAINTS[name]
