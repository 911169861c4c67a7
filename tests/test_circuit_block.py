"""The v1 block circuit end to end: real blocks prove, and verify against their headers alone.

Blocks come from the reference engine (hand-built scenarios in the ``tests/harness.py`` style,
and ``venue.workload.Workload`` restricted to what v1 supports); witnesses from
``proofs.witness`` (which cross-checks every tree and the command chain against the
commitment on every block). Verification recomputes the public signals from the header only
(``proofs.verify.verify_block``). Must-fail cases go through the self-verifying
``CompiledCircuit.prove`` (``UnsatisfiedWitnessError``) or through ``verify_block``.

Runtime: one compile + setup of ``Block(4, 12, 4, 4)`` (≈ 153k constraints, cached under
``.cache/circuits``), key load ≈ 30 s, four proofs of ≈ 9 s each in the default suite; the
other witness-level tampers are ``slow``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from pathlib import Path

import msgspec
import pytest

from matching import (
    AddAccount,
    BlockBuilder,
    CancelOrder,
    Deposit,
    MassCancel,
    OrderType,
    PlaceOrder,
    ReferenceEngine,
    ReplaceOrder,
    Side,
    TimeInForce,
    Withdraw,
)
from matching.block import Block
from matching.types import Command, StpMode
from proofs.booktrace import order_record
from proofs.circom import CompiledCircuit, UnsatisfiedWitnessError, compile_circuit
from proofs.poseidon import hash2
from proofs.state import PoseidonState, command_hash
from proofs.verify import TEST_SIZE, BlockCircuit, verify_block
from proofs.witness import (
    BlockParams,
    BlockProverState,
    BlockWitness,
    StepKind,
    UnsupportedInCircuit,
    public_signals,
)
from venue.workload import Workload, default_markets

ROOT = Path(__file__).resolve().parents[1]
CIRCUITS = ROOT / "tests" / "circuits"
CACHE = ROOT / ".cache" / "circuits"
MARKET = default_markets()[0]
D, A = TEST_SIZE.order_depth, TEST_SIZE.account_depth
PARAMS = BlockParams(TEST_SIZE.n, TEST_SIZE.s, D, A, MARKET)
#: only to move the state past a block that needs more than S steps (not proved)
WIDE = BlockParams(TEST_SIZE.n, 64, D, A, MARKET)
EXPECTED = {"block_step4x4": 12353, "block_4x12": 153331}


# --- building blocks ---------------------------------------------------------------------------


class Chain:
    """Engine + commitment + block builder at the test size, and the prover state beside it."""

    def __init__(self) -> None:
        self.engine = ReferenceEngine((MARKET,), max_accounts=1 << A, max_resting_per_side=1 << D)
        self.com = PoseidonState((MARKET,), account_depth=A, order_depth=D)
        self.builder = BlockBuilder(
            self.engine, self.com, max_commands=1 << 20, max_interval_ns=1 << 62
        )
        self.state = BlockProverState(MARKET, order_depth=D, account_depth=A)
        self.seq = 0
        self.ts = 1_700_000_000_000_000_000
        self.blocks: list[Block] = []
        self.pre: list[BlockProverState] = []
        self.witnesses: list[BlockWitness] = []
        self.too_long = 0

    def n(self) -> tuple[int, int]:
        self.seq += 1
        self.ts += 1_000_000
        return self.seq, self.ts

    def place(
        self,
        account: int,
        side: Side,
        price: int,
        qty: int,
        tif: TimeInForce = TimeInForce.GTC,
        stp: int = 0,
    ) -> PlaceOrder:
        return PlaceOrder(
            *self.n(), account, MARKET.market_id, 0, side, OrderType.LIMIT, tif, price, qty, stp=stp
        )

    def block(self, cmds: Sequence[Command]) -> BlockWitness:
        """Submit ``cmds`` as one sealed block and build its witness."""
        for c in cmds:
            self.builder.submit(c)
        b = self.builder.seal()
        self.blocks.append(b)
        self.pre.append(self.state.copy())
        try:
            w = self.state.copy().advance(b, PARAMS)
        except UnsupportedInCircuit as exc:
            if "steps" not in str(exc):
                raise
            self.too_long += 1
            w = self.state.copy().advance(b, WIDE)  # the test size cannot prove this block
        self.state.advance(b, WIDE)
        self.witnesses.append(w)
        return w


def supported(cmds: Sequence[Command]) -> Iterator[Command]:
    """The workload's commands that v1 proves: no replaces, STP cancel-taker; seqs renumbered
    (cancels follow their orders' new ids)."""
    remap: dict[int, int] = {}
    seq = 0
    for c in cmds:
        if isinstance(c, ReplaceOrder):
            continue
        seq += 1
        remap[c.seq] = seq
        kw: dict[str, int] = {"seq": seq}
        if isinstance(c, PlaceOrder):
            kw["stp"] = StpMode.CANCEL_TAKER
        if isinstance(c, CancelOrder):
            kw["order_id"] = remap.get(c.order_id, 0)
        yield msgspec.structs.replace(c, **kw)


@pytest.fixture(scope="module")
def scenario() -> Chain:
    """Hand-built blocks: 2 resting asks, a taker sweeping both (FILL, FILL, END), a cancel of
    the new head, a resting bid, a deposit; then a self-trade (cancel-taker after a fill) and a
    withdrawal and a mass cancel."""
    c = Chain()
    c.block(
        [
            AddAccount(*c.n(), 0),
            Deposit(*c.n(), 0, 10**12),
            AddAccount(*c.n(), 1),
            Deposit(*c.n(), 1, 10**12),
        ]
    )
    second = [
        AddAccount(*c.n(), 2),
        Deposit(*c.n(), 2, 10**12),
        c.place(1, Side.SELL, 100_010, 2),
        c.place(2, Side.SELL, 100_020, 2),
    ]
    c.block(second)
    sweep = c.place(0, Side.BUY, 100_020, 3, TimeInForce.IOC)
    c.block(
        [
            sweep,
            CancelOrder(*c.n(), 2, MARKET.market_id, second[-1].seq),
            c.place(1, Side.BUY, 99_000, 1),
            Deposit(*c.n(), 0, 5),
        ]
    )
    c.block(
        [
            c.place(2, Side.BUY, 99_500, 1),
            c.place(1, Side.SELL, 98_000, 3, TimeInForce.IOC),
            Withdraw(*c.n(), 0, 1_000),
            MassCancel(*c.n(), 1, MARKET.market_id),
        ]
    )
    return c


@pytest.fixture(scope="module")
def workload() -> Chain:
    """Real workload blocks (v1-supported commands) through the same chain."""
    c = Chain()
    w = Workload(3, accounts=8, target_resting=10)
    cmds = list(supported(w.genesis() + list(w.commands(160))))
    for i in range(0, len(cmds), TEST_SIZE.n):
        c.block(cmds[i : i + TEST_SIZE.n])
    return c


@pytest.fixture(scope="module")
def block_circuit() -> BlockCircuit:
    return BlockCircuit(MARKET, TEST_SIZE, wrapper_dir=CIRCUITS, cache_dir=CACHE)


@pytest.fixture(scope="module")
def compiled(block_circuit: BlockCircuit) -> CompiledCircuit:
    return block_circuit.compile()


@pytest.fixture(scope="module")
def sweep_proof(scenario: Chain, block_circuit: BlockCircuit, compiled: CompiledCircuit) -> bytes:
    return block_circuit.prove(scenario.witnesses[2])


def _kinds(w: BlockWitness) -> list[str]:
    return ["+".join(k) for k in w.command_kinds]


# --- the witness builder (no proving) ----------------------------------------------------------


def test_scenario_schedule(scenario: Chain) -> None:
    ks = [_kinds(w) for w in scenario.witnesses]
    assert ks[1] == ["ADD", "DEPOSIT", "REST_BEGIN", "REST_BEGIN+PUT"]
    assert ks[2] == ["PLACE+FILL+FILL+END", "CANCEL_HEAD", "REST_BEGIN", "DEPOSIT"]
    assert ks[3] == ["REST_BEGIN", "PLACE+FILL+END", "WITHDRAW", "MC_BEGIN+MC_HEAD+MC_END"]
    end = next(s for s in scenario.witnesses[3].steps if s.kind == StepKind.END)
    assert end.inputs["stpRead"] == 1  # the crossing head is the taker's own: cancel-taker


def test_workload_blocks_build_and_match_the_commitment(workload: Chain) -> None:
    kinds = {k for w in workload.witnesses for k in _kinds(w)}
    assert {"REST_BEGIN+PUT", "CANCEL_UNLINK+CANCEL_CLEAR", "CANCEL_HEAD", "REJECT"} <= kinds
    assert any(k.startswith("PLACE+FILL") for k in kinds)
    assert workload.state.root == workload.com.root
    for b, w in zip(workload.blocks, workload.witnesses, strict=True):
        assert w.public_signals == public_signals(b.header)
    assert workload.too_long < len(workload.blocks) // 4


def _with_resting_order(side: Side = Side.BUY) -> tuple[Chain, PlaceOrder]:
    c = Chain()
    c.block([AddAccount(*c.n(), 0), Deposit(*c.n(), 0, 10**12)])
    o = c.place(0, side, 99_000 if side == Side.BUY else 100_000, 1)
    c.block([o])
    return c, o


def test_unsupported_commands_raise() -> None:
    c, o = _with_resting_order()
    with pytest.raises(UnsupportedInCircuit, match="ReplaceOrder"):
        c.block([ReplaceOrder(*c.n(), 0, MARKET.market_id, o.seq, 99_001, 1)])
    c, o = _with_resting_order()  # a mass cancel of every market (ALL_MARKETS = 0)
    w = c.block([MassCancel(*c.n(), 0, 0)])
    assert _kinds(w) == ["MC_BEGIN+MC_HEAD+MC_END"]
    c, o = _with_resting_order(Side.SELL)
    with pytest.raises(UnsupportedInCircuit, match="self-trade"):
        c.block([c.place(0, Side.BUY, 100_000, 1, stp=StpMode.DECREMENT)])
    c, o = _with_resting_order()  # a rejected replace is only chained: supported
    w = c.block([ReplaceOrder(*c.n(), 0, MARKET.market_id, o.seq + 99, 99_001, 1)])
    assert _kinds(w) == ["REJECT"]


def test_block_witness_is_pure(scenario: Chain) -> None:
    from proofs.witness import block_witness

    pre = scenario.pre[2]
    root = pre.root
    inputs, pub = block_witness(pre, scenario.blocks[2], PARAMS)
    assert pre.root == root and pub == scenario.witnesses[2].public_signals
    assert inputs == scenario.witnesses[2].inputs


# --- proofs ------------------------------------------------------------------------------------


def test_constraint_counts(compiled: CompiledCircuit) -> None:
    assert compiled.constraints == EXPECTED["block_4x12"]
    step = compile_circuit(CIRCUITS / "block_step4x4_test.circom", cache_dir=CACHE)
    assert step.constraints == EXPECTED["block_step4x4"]


def test_real_blocks_prove_and_verify(
    scenario: Chain,
    workload: Chain,
    block_circuit: BlockCircuit,
    compiled: CompiledCircuit,
    sweep_proof: bytes,
) -> None:
    vk = compiled.verifying_key
    assert verify_block(scenario.blocks[2].header, sweep_proof, vk)
    # self-trade (STP read), withdrawal, mass cancel
    proof = block_circuit.prove(scenario.witnesses[3])
    assert verify_block(scenario.blocks[3].header, proof, vk)
    # a workload block with LINK+PUT and UNLINK+CLEAR
    i = next(
        i
        for i, w in enumerate(workload.witnesses)
        if len(w.steps) == TEST_SIZE.s
        and {"REST_BEGIN+PUT", "CANCEL_UNLINK+CANCEL_CLEAR"} <= set(_kinds(w))
    )
    proof = block_circuit.prove(workload.witnesses[i])
    assert verify_block(workload.blocks[i].header, proof, vk)
    assert not verify_block(workload.blocks[i + 1].header, proof, vk)


def _header(b: Block, **changes: object) -> object:
    return msgspec.structs.replace(b.header, **changes)


def test_tampered_header_proof_and_public_input_rejected(
    scenario: Chain, compiled: CompiledCircuit, sweep_proof: bytes
) -> None:
    vk = compiled.verifying_key
    b = scenario.blocks[2]
    s = b.header.markets[0]
    for dp in (1, -1):  # settlement price one tick off
        bad = _header(b, markets=(msgspec.structs.replace(s, price=s.price + dp),))
        assert not verify_block(bad, sweep_proof, vk)  # type: ignore[arg-type]
    cmds = list(b.commands)
    reordered = [cmds[1], cmds[0], *cmds[2:]]
    acc = 0
    for cmd in reordered:
        acc = hash2(acc, command_hash(cmd))
    assert not verify_block(_header(b, command_commitment=acc), sweep_proof, vk)  # type: ignore[arg-type]
    dropped = scenario.com.command_commitment(cmds[:-1])
    assert not verify_block(
        _header(b, command_commitment=dropped, command_count=len(cmds) - 1),  # type: ignore[arg-type]
        sweep_proof,
        vk,
    )
    for i in (0, 100, 255):  # a flipped proof byte
        proof = bytearray(sweep_proof)
        proof[i] ^= 1
        assert not verify_block(b.header, bytes(proof), vk)
    assert not verify_block(b.header, sweep_proof[:-1], vk)
    pub = public_signals(b.header)
    for k in range(len(pub)):  # a tampered public input
        bad_pub = list(pub)
        bad_pub[k] += 1
        assert not compiled.verify(sweep_proof, bad_pub)


def _tampered(w: BlockWitness, step: int, **changes: object) -> dict[str, object]:
    """The block's inputs with step ``step``'s witness values replaced."""
    inputs = copy.deepcopy(w.inputs)
    for name, value in changes.items():
        arr = inputs[name]
        assert isinstance(arr, list)
        arr[step] = value
    return inputs


def _fill_step(w: BlockWitness, nth: int = 0) -> int:
    return [i for i, s in enumerate(w.steps) if s.kind == StepKind.FILL][nth]


def test_skipping_the_best_order_fails(scenario: Chain, compiled: CompiledCircuit) -> None:
    # The sweep's first FILL takes the head (account 1 @ 100,010). The cheat fills the second
    # ask (account 2 @ 100,020) instead: its real leaf and Merkle path, qty 2 -> 0.
    w, pre = scenario.witnesses[2], scenario.pre[2]
    asks = pre.sides[Side.SELL]
    slot = next(s for s, (o, _) in asks.orders.items() if o.account == 2)
    o, nxt = asks.orders[slot]
    i = _fill_step(w)
    inputs = _tampered(
        w,
        i,
        bookIndex=slot,
        siblings=asks.tree.path(slot),
        oldOrder=list(order_record(o, nxt)),
        newOrder=list(order_record(msgspec.structs.replace(o, qty=0), nxt)),
        q=2,
    )
    with pytest.raises(UnsatisfiedWitnessError):
        compiled.prove(inputs, w.public_signals)


@pytest.mark.slow
def test_invented_fill_and_wrong_qty_fail(scenario: Chain, compiled: CompiledCircuit) -> None:
    w = scenario.witnesses[2]
    i = _fill_step(w)
    old = w.steps[i].inputs
    new_order = list(old["newOrder"])  # type: ignore[call-overload]
    # wrong quantity: 1 lot instead of min(remaining 3, maker 2) = 2; maker keeps 1
    new_order[1] += 1
    inputs = _tampered(w, i, q=1, newOrder=new_order, accQty=1)
    with pytest.raises(UnsatisfiedWitnessError):
        compiled.prove(inputs, w.public_signals)
    # invented fill: the deposit step (a non-trading command) claims volume in the header
    s = scenario.blocks[2].header.markets[0]
    bad = msgspec.structs.replace(
        scenario.blocks[2].header,
        markets=(msgspec.structs.replace(s, volume=s.volume + 1, trade_count=s.trade_count + 1),),
    )
    with pytest.raises(UnsatisfiedWitnessError):
        compiled.prove(w.inputs, public_signals(bad))


@pytest.mark.slow
def test_fill_at_a_wrong_price_fails(scenario: Chain, compiled: CompiledCircuit) -> None:
    w = scenario.witnesses[2]
    i = _fill_step(w)
    with pytest.raises(UnsatisfiedWitnessError):  # the maker account booked one tick off
        compiled.prove(_tampered(w, i, accPrice=100_011), w.public_signals)
    s = scenario.blocks[2].header.markets[0]
    bad = msgspec.structs.replace(
        scenario.blocks[2].header, markets=(msgspec.structs.replace(s, price=s.price + 1),)
    )
    with pytest.raises(UnsatisfiedWitnessError):  # the settlement price one tick off
        compiled.prove(w.inputs, public_signals(bad))


@pytest.mark.slow
def test_reordered_or_dropped_commands_fail(scenario: Chain, compiled: CompiledCircuit) -> None:
    w = scenario.witnesses[1]  # ADD, DEPOSIT, REST_BEGIN, REST_BEGIN+PUT
    inputs = copy.deepcopy(w.inputs)
    for name, arr in inputs.items():  # swap the ADD and DEPOSIT steps
        if isinstance(arr, list) and len(arr) == TEST_SIZE.s and name != "settleHints":
            arr[0], arr[1] = arr[1], arr[0]
    with pytest.raises(UnsatisfiedWitnessError):
        compiled.prove(inputs, w.public_signals)
    # drop the last command: its steps become NOPs, the header still counts it
    last = [i for i, s in enumerate(w.steps) if s.kind != StepKind.NOP][-2:]
    inputs = _tampered(w, last[0], kind=0)
    with pytest.raises(UnsatisfiedWitnessError):
        compiled.prove(inputs, w.public_signals)


def test_solidity_export(
    block_circuit: BlockCircuit, compiled: CompiledCircuit, tmp_path: Path
) -> None:
    out = block_circuit.export_solidity(tmp_path / "BlockVerifier.sol")
    text = out.read_text()
    assert "contract BlockVerifier" in text and "verifyProof" in text


@pytest.mark.slow
def test_every_step_kind_proves_alone(scenario: Chain, workload: Chain) -> None:
    """Each kind once on ``BlockStep(4, 4)`` with its registers public (where a witness bug
    shows which step and kind it is in, unlike the whole block)."""
    step = compile_circuit(CIRCUITS / "block_step4x4_test.circom", cache_dir=CACHE)
    seen: set[StepKind] = set()
    for w in scenario.witnesses + workload.witnesses:
        for i, s in enumerate(w.steps):
            if s.kind not in seen:
                seen.add(s.kind)
                step.prove(*w.step_inputs(i))
    assert seen >= set(StepKind) - {StepKind.MC_UNLINK, StepKind.MC_CLEAR}
