"""The block circuit's parts for a venue of several markets (proofs/circuits/block.circom).

``BlockStateRootM(M)``: the state root of M markets of which a block opens one, the touched
market's side roots from its trees and heads, the others' kept as they are. It must equal
``PoseidonState.root`` on real two-market states for either market touched, and a changed
untouched market, a touched index naming the wrong market, or a mark outside its width must
fail. ``BlockStateRoot()`` is its M = 1 case (the block circuit's count is pinned in
test_circuit_block.py).
"""

from __future__ import annotations

import dataclasses
import functools
import random
from collections import Counter
from pathlib import Path

import msgspec
import pytest

from matching import BlockBuilder, CEngine, ReferenceEngine
from matching.block import Block
from matching.types import (
    AddAccount,
    Command,
    Deposit,
    MassCancel,
    OrderType,
    PlaceOrder,
    Side,
    TimeInForce,
    Withdraw,
)
from proofs.accounttrace import StepConstraintError
from proofs.circom import CompiledCircuit, UnsatisfiedWitnessError, compile_circuit
from proofs.state import PoseidonState
from proofs.steps import command_markets_before
from proofs.verify import TEST_SIZE, BlockCircuit, verify_block
from proofs.witness import (
    BlockParams,
    BlockProverState,
    BlockWitness,
    UnsupportedInCircuit,
    public_signals,
)
from venue.workload import Workload

from .test_coverage_accounttrace import TWO

ROOT = Path(__file__).resolve().parents[1]
CIRCUITS = ROOT / "tests" / "circuits"
CACHE = ROOT / ".cache" / "circuits"

# `python -m proofs.circom tests/circuits/block_state_root_m2_test.circom`
EXPECTED = {"block_state_root_m2": 3091, "block_4x18r2_m3_mk2": 120262}


@pytest.fixture(scope="module")
def root2() -> CompiledCircuit:
    return compile_circuit(CIRCUITS / "block_state_root_m2_test.circom", cache_dir=CACHE)


@pytest.fixture(scope="module")
def venue() -> PoseidonState:
    """A two-market venue after a few blocks of the standard mix on both markets."""
    w = Workload(5, markets=TWO, accounts=6, target_resting=30, collateral=10**12)
    com = PoseidonState(TWO, account_depth=8, order_depth=8)
    BlockBuilder(ReferenceEngine(TWO), com, max_commands=16).submit_many(
        w.genesis() + list(w.commands(200))
    )
    return com


def _inputs(com: PoseidonState, touched: int) -> dict[str, object]:
    mid = TWO[touched].market_id
    sides = com.side_roots()
    states = com.market_states
    bids, asks = com._sides[(mid, Side.BUY)], com._sides[(mid, Side.SELL)]
    return {
        "touched": touched,
        "accRoot": com.accounts.root,
        "bidTree": bids.tree.root,
        "bidHead": list(bids.head()),
        "askTree": asks.tree.root,
        "askHead": list(asks.head()),
        # the touched market's slot is not read: a zero there proves it
        "bidSide": [0 if i == touched else sides[m.market_id][0] for i, m in enumerate(TWO)],
        "askSide": [0 if i == touched else sides[m.market_id][1] for i, m in enumerate(TWO)],
        "marks": [s.mark for s in states],
        "closeTs": [s.last_close_ts for s in states],
        "cumPriceTime": [int(s.cum_price_time) for s in states],
        "height": com.height,
    }


def test_constraint_count(root2: CompiledCircuit) -> None:
    assert root2.stats.constraints == EXPECTED["block_state_root_m2"]


def test_state_root_of_two_markets(root2: CompiledCircuit, venue: PoseidonState) -> None:
    assert all(s.mark != m.initial_price for s, m in zip(venue.market_states, TWO, strict=True))
    assert all(any(venue.side_roots()[m.market_id]) for m in TWO)
    for touched in (0, 1):
        inputs = _inputs(venue, touched)
        root2.prove(inputs, [venue.root])
        other = 1 - touched
        for name in ("bidSide", "askSide", "marks", "cumPriceTime"):  # an untouched market moved
            bad = list(inputs[name])  # type: ignore[call-overload]
            bad[other] += 1
            with pytest.raises(UnsatisfiedWitnessError):
                root2.prove({**inputs, name: bad}, [venue.root])
        with pytest.raises(UnsatisfiedWitnessError):  # the touched index names the other market
            root2.prove({**inputs, "touched": other}, [venue.root])
        with pytest.raises(UnsatisfiedWitnessError):  # not a market index
            root2.prove({**inputs, "touched": 2}, [venue.root])
    # the same packed element from a mark one bit too wide: only the range check stops it
    marks, close = list(inputs["marks"]), list(inputs["closeTs"])  # type: ignore[call-overload]
    marks[0] += 1 << 40
    close[0] -= 1
    with pytest.raises(UnsatisfiedWitnessError):
        root2.prove({**inputs, "marks": marks, "closeTs": close}, [venue.root])


# --- BlockM: real two-market blocks, each opening one market -------------------------------------

#: the match limit of ``venue.demo.PROVABLE_GENESIS``, so a two-market venue of that kind
#: (tests/test_coverage_proving.py) is proved with these keys
MATCHES = 3
PARAMS2 = BlockParams(4, 18, 4, 4, TWO[0], ratio=2, more_markets=(TWO[1],), max_matches=MATCHES)


class TwoMarkets:
    """Engine, commitment and prover state of a two-market venue at the test depths."""

    def __init__(self, engine_cls: type = ReferenceEngine, max_markets: int = 0) -> None:
        self.engine = engine_cls(TWO, max_accounts=16, max_resting_per_side=16, max_matches=MATCHES)
        self.com = PoseidonState(TWO, account_depth=4, order_depth=4)
        bound = functools.partial(command_markets_before, engine=self.engine)
        self.builder = BlockBuilder(
            self.engine, self.com, max_commands=8 if max_markets else 1 << 20,
            max_interval_ns=1 << 62, max_markets=max_markets,
            market_bound=bound if max_markets else None,
        )  # fmt: skip
        self.state = BlockProverState(TWO, order_depth=4, account_depth=4)
        self.seq, self.ts = 0, 1_700_000_000_000_000_000

    def n(self) -> tuple[int, int]:
        self.seq += 1
        self.ts += 1_000_000
        return self.seq, self.ts

    def place(self, account: int, market: int, side: Side, price: int, qty: int,
              tif: TimeInForce = TimeInForce.GTC) -> PlaceOrder:  # fmt: skip
        return PlaceOrder(*self.n(), account, market, 0, side, OrderType.LIMIT, tif, price, qty)

    def block(self, cmds: list[Command]) -> tuple[Block, BlockWitness]:
        for c in cmds:
            self.builder.submit(c)
        b = self.builder.seal()
        return b, self.state.advance(b, PARAMS2)


@pytest.fixture(scope="module")
def two_market_blocks() -> list[tuple[Block, BlockWitness]]:
    """Accounts; resting asks in market 2; a sweep of them; then a trade in market 1 by the
    account now long in market 2 (its margin sums both markets) and a withdrawal."""
    v = TwoMarkets()
    out = [v.block([AddAccount(*v.n(), a) for a in range(3)] + [Deposit(*v.n(), 0, 10**7)])]
    out.append(
        v.block(
            [
                Deposit(*v.n(), 1, 10**7),
                Deposit(*v.n(), 2, 10**7),
                v.place(1, 2, Side.SELL, 40_010, 2),
                v.place(2, 2, Side.SELL, 40_020, 2),
            ]
        )
    )
    out.append(v.block([v.place(0, 2, Side.BUY, 40_020, 3, TimeInForce.IOC),
                        v.place(2, 2, Side.BUY, 39_000, 1)]))  # fmt: skip
    out.append(v.block([v.place(1, 1, Side.SELL, 100_000, 2), Withdraw(*v.n(), 2, 1_000),
                        v.place(0, 1, Side.BUY, 100_000, 1, TimeInForce.IOC)]))  # fmt: skip
    assert v.state.root == v.com.root
    with pytest.raises(UnsupportedInCircuit, match="markets \\[1, 2\\]"):  # both books change
        v.block([v.place(2, 1, Side.BUY, 99_000, 1), v.place(2, 2, Side.BUY, 39_500, 1)])
    return out


@pytest.fixture(scope="module")
def circuit2() -> BlockCircuit:
    """The test size for the two markets: ``BlockM(4, 18, 4, 4, 2, …)``."""
    return BlockCircuit(TWO, TEST_SIZE, wrapper_dir=CIRCUITS, cache_dir=CACHE, max_matches=MATCHES)


@pytest.fixture(scope="module")
def block2(circuit2: BlockCircuit) -> CompiledCircuit:
    return circuit2.compile()


def test_two_market_blocks_prove(
    two_market_blocks: list[tuple[Block, BlockWitness]],
    circuit2: BlockCircuit,
    block2: CompiledCircuit,
) -> None:
    assert circuit2.wrapper.name == "block_4x18r2_m3_mk2_test.circom"
    assert "= BlockM(4, 18, 4, 4, 2, [[1, " in circuit2.source()
    assert block2.stats.constraints == EXPECTED["block_4x18r2_m3_mk2"]
    touched = [w.inputs["touched"] for _, w in two_market_blocks]
    assert touched == [0, 1, 1, 0]
    last = two_market_blocks[-1][1]
    # the taker in market 1 holds a position in market 2: its account writes carried it
    assert any(o[0] != 1 << 63 for s in last.inputs["accOther"] for o in s)  # type: ignore[union-attr]
    vk = circuit2.verifying_key
    for b, w in two_market_blocks:
        assert w.public_signals == public_signals(b.header)
        proof = circuit2.prove(w)
        # anyone with the header alone: both markets' settlement records are in the signals
        assert verify_block(b.header, proof, vk)
        moved = msgspec.structs.replace(b.header.markets[0], price=b.header.markets[0].price + 1)
        header = msgspec.structs.replace(b.header, markets=(moved, b.header.markets[1]))
        assert not verify_block(header, proof, vk)


def test_two_market_blocks_tampered(
    two_market_blocks: list[tuple[Block, BlockWitness]], block2: CompiledCircuit
) -> None:
    _, w = two_market_blocks[2]  # the sweep in market 2
    for name, value in (
        ("touched", 0),  # the block's books claimed to be market 1's
        ("bidSide", [w.inputs["bidSide"][0] + 1, 0]),  # market 1's book changed  # type: ignore[index]
    ):
        with pytest.raises(UnsatisfiedWitnessError):
            block2.prove({**w.inputs, name: value}, w.public_signals)
    # an account write that moves the account's fields in the market the block does not open
    _, w4 = two_market_blocks[3]  # market 1, by account 0, long 3 in market 2
    other = [[list(o) for o in s] for s in w4.inputs["accOther"]]  # type: ignore[union-attr]
    s = next(i for i, x in enumerate(other) if x[1][0] != 1 << 63)
    other[s][1][0] += 1
    with pytest.raises(UnsatisfiedWitnessError):
        block2.prove({**w4.inputs, "accOther": other}, w4.public_signals)
    pub = list(w.public_signals)
    pub[4] += 1  # market 1's settlement record: it had no fill, its price is carried
    with pytest.raises(UnsatisfiedWitnessError):
        block2.prove(w.inputs, pub)


def test_a_mass_cancel_of_every_market_leaves_nothing_open_anywhere(
    circuit2: BlockCircuit, block2: CompiledCircuit
) -> None:
    # Account 0 rests a bid in each market. A mass cancel of market 1 is honest; the same
    # block claimed to be a mass cancel of every market (which cancels nothing in market 2,
    # whose book the block does not open) must fail in the witness builder and in the circuit
    # (flatAll at MC_END: the other market's open quantity is not 0).
    v = TwoMarkets()
    v.block([AddAccount(*v.n(), 0), Deposit(*v.n(), 0, 10**7)])
    v.block([v.place(0, 1, Side.BUY, 99_000, 1)])
    v.block([v.place(0, 2, Side.BUY, 39_000, 1)])
    pre = v.state.copy()
    b, w = v.block([MassCancel(*v.n(), 0, 1)])
    (cmd,) = b.commands
    every = msgspec.structs.replace(cmd, market=0)
    forged = msgspec.structs.replace(
        b,
        commands=(every,),
        header=msgspec.structs.replace(
            b.header, command_commitment=v.com.command_commitment([every])
        ),
    )
    with pytest.raises(StepConstraintError, match="left orders open"):
        pre.copy().advance(forged, PARAMS2)
    # the forged witness: the slot's market field, the commitment, and the flag the steps
    # see (CF_MASS_ALL, bit 11); without the flatAll constraint this proves (checked by hand)
    slots = [list(c) for c in w.inputs["slotCmd"]]  # type: ignore[union-attr]
    assert slots[0][4] == 1  # the command's market field
    slots[0][4] = 0
    views = [list(x) for x in w.inputs["cmd"]]  # type: ignore[union-attr]
    for x in views:
        if x[7] == cmd.seq:
            x[6] |= 1 << 11
    pub = list(w.public_signals)
    pub[2] = int(forged.header.command_commitment)
    with pytest.raises(UnsatisfiedWitnessError, match="AccountStepOpsM"):
        block2.prove({**w.inputs, "slotCmd": slots, "cmd": views, "cmdCommitment": pub[2]}, pub)
    # the honest block proves; and once market 2's bid is gone, a mass cancel of every market
    # is one market's (1) and proves, flatAll holding
    assert verify_block(b.header, circuit2.prove(w), circuit2.verifying_key)
    v.block([MassCancel(*v.n(), 0, 2)])
    v.block([v.place(0, 1, Side.BUY, 99_000, 1)])
    b, w = v.block([MassCancel(*v.n(), 0, 0)])
    assert w.inputs["touched"] == 0 and w.command_kinds[0][-1] == "MC_END"
    assert verify_block(b.header, circuit2.prove(w), circuit2.verifying_key)


ENGINES = [ReferenceEngine] + ([CEngine] if CEngine is not None else [])


@pytest.mark.parametrize("engine_cls", ENGINES, ids=lambda c: c.__name__)
def test_two_market_workload_blocks_cut_by_market_witness_and_match(engine_cls: type) -> None:
    # The standard mix on two markets, with withdrawals, deposits and per-market mass cancels,
    # cut by the block builder so that each block changes one market's book (the bound asks
    # the engine, so both engines cut alike): every block's witness builds, and the builder
    # checks each block's roots against the commitment.
    rng = random.Random(11)
    w = Workload(11, markets=TWO, accounts=8, target_resting=12, collateral=10**9)
    wide = dataclasses.replace(PARAMS2, n=8, s=96)
    v = TwoMarkets(engine_cls, max_markets=1)
    touched = Counter[int]()
    kinds = Counter[str]()
    stream = iter(w.genesis())
    blocks: list[Block] = []
    for i in range(416):
        cmd = next(stream, None) or w.command()  # the generator's seq counter stays in step
        extra: list[Command] = []
        if i >= 16 and rng.random() < 0.06:
            w.seq += 1
            a, m = rng.randrange(8), TWO[rng.randrange(2)].market_id
            extra = [rng.choice([Withdraw(w.seq, w.ts, a, rng.randint(1, 10**6)),
                                 Deposit(w.seq, w.ts, a, rng.randint(1, 10**6)),
                                 MassCancel(w.seq, w.ts, a, m)])]  # fmt: skip
        for c in [cmd, *extra]:
            blocks += v.builder.submit(c)[1]
    blocks.append(v.builder.seal())
    for b in blocks:
        wit = v.state.advance(b, wide)
        touched[wit.inputs["touched"]] += 1  # type: ignore[index]
        kinds.update("+".join(k) for k in wit.command_kinds)
    assert v.state.root == v.com.root
    assert touched[0] > 10 and touched[1] > 10, touched
    assert {"REST_BEGIN+PUT", "CANCEL_DETACH+CANCEL_RELINK"} <= set(kinds), kinds
    assert any(k.startswith("FILL_BEGIN") for k in kinds)
    assert any(k.startswith("RP_") for k in kinds)
    assert any(k.startswith("MC_BEGIN") for k in kinds)


def test_a_mass_cancel_of_every_market_is_cut_by_where_the_account_rests() -> None:
    v = TwoMarkets(ReferenceEngine, max_markets=1)
    for c in (
        AddAccount(*v.n(), 0),
        Deposit(*v.n(), 0, 10**7),
        v.place(0, 2, Side.BUY, 39_000, 1),
    ):
        v.builder.submit(c)
    # the bound only reads the engine: probes need no sequence number of their own
    probe = (v.seq + 1, v.ts)
    # orders in market 2 only: a mass cancel of every market changes market 2's book alone
    assert command_markets_before(MassCancel(*probe, 0, 0), v.engine) == {2}
    assert command_markets_before(MassCancel(*probe, 0, 1), v.engine) == {1}
    assert command_markets_before(Deposit(*probe, 0, 1), v.engine) == frozenset()
    # an order in market 1 closes the block of market 2 first
    _, cut = v.builder.submit(v.place(0, 1, Side.BUY, 99_000, 1))
    assert [len(b.commands) for b in cut] == [3]
    v.state.advance(cut[0], PARAMS2)
    # resting in both markets, a mass cancel of every market fits no one-market block: it
    # gets a block of its own, which the circuit cannot prove (the gateway must send one
    # mass cancel per market; BLOCK.md "Several markets per circuit", left)
    every = MassCancel(*v.n(), 0, 0)
    assert command_markets_before(every, v.engine) == {1, 2}
    _, cut = v.builder.submit(every)
    assert [len(b.commands) for b in cut] == [1]
    v.state.advance(cut[0], PARAMS2)
    alone = v.builder.seal()
    assert alone.commands == (every,)
    with pytest.raises(UnsupportedInCircuit, match="markets \\[1, 2\\]"):
        v.state.advance(alone, PARAMS2)
    with pytest.raises(ValueError, match="go together"):
        BlockBuilder(v.engine, v.com, max_markets=1)
