"""The v1 block circuit end to end: real blocks prove, and verify against their headers alone.

Blocks come from the reference engine (hand-built scenarios in the ``tests/harness.py`` style,
and ``venue.workload.Workload``, restricted to cancel-taker without replaces, or in full);
witnesses from ``proofs.witness`` (which cross-checks every tree and the command chain against
the commitment on every block). Verification recomputes the public signals from the header only
(``proofs.verify.verify_block``). Must-fail cases go through the self-verifying
``CompiledCircuit.prove`` (``UnsatisfiedWitnessError``) or through ``verify_block``.

The unsigned circuit (``TEST_SIZE``, ``SIGNED = 0``): commands sit in N slots, each step
linked to its slot; signatures are ``tests/test_circuit_signed.py``'s.

Runtime: one compile + setup of ``Block(4, 12, 4, 4)`` (≈ 136k constraints, cached under
``.cache/circuits``), key load ≈ 30 s, six proofs of ≈ 9 s each in the default suite (two of
them the replace and STP blocks); forged RP/STP steps are checked on ``BlockStep(4, 4)``
(≈ 2 s each); the other witness-level tampers and the 2,000-command workloads are ``slow``.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import msgspec
import pytest

from matching import (
    AddAccount,
    BlockBuilder,
    CancelOrder,
    Deposit,
    EngineError,
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
from matching.engine import OrderView
from matching.types import Command, Rejected, ResultCode, StpMode
from proofs.accounttrace import AccountFields, MarketParams, _margin_hints, margin_ok
from proofs.booktrace import order_record
from proofs.circom import CompiledCircuit, UnsatisfiedWitnessError, compile_circuit
from proofs.merkle import below_tier, tier_levels, tier_update
from proofs.poseidon import FIELD_MODULUS, hash2
from proofs.state import PoseidonState, command_hash, order_leaf
from proofs.verify import TEST_SIZE, BlockCircuit, verify_block
from proofs.witness import (
    FULL_KINDS,
    BlockParams,
    BlockProverState,
    BlockWitness,
    Reg,
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
PARAMS = BlockParams(TEST_SIZE.n, TEST_SIZE.s, D, A, MARKET, ratio=TEST_SIZE.ratio)
#: only to move the state past a block that needs more than S steps (not proved)
WIDE = BlockParams(TEST_SIZE.n, 64, D, A, MARKET, ratio=TEST_SIZE.ratio)
EXPECTED = {"block_step4x4": 7393, "block_step4x4o": 2525, "block_4x18": 105670}


# --- building blocks ---------------------------------------------------------------------------


class Chain:
    """Engine + commitment + block builder at the test size, and the prover state beside it."""

    def __init__(self, **limits: int) -> None:
        self.engine = ReferenceEngine(
            (MARKET,), max_accounts=1 << A, max_resting_per_side=1 << D, **limits
        )
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

    def block(self, cmds: Sequence[Command], close_ts: int | None = None) -> BlockWitness:
        """Submit ``cmds`` as one sealed block (closed at ``close_ts``, default its last
        command) and build its witness."""
        for c in cmds:
            self.builder.submit(c)
        b = self.builder.seal(close_ts)
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
    # a taker whose first match is a fill begins with it (FILL_BEGIN: no PLACE step)
    assert ks[2] == ["FILL_BEGIN+FILL+END", "CANCEL_HEAD", "REST_BEGIN", "DEPOSIT"]
    assert ks[3] == ["REST_BEGIN", "FILL_BEGIN+END", "WITHDRAW", "MC_BEGIN+MC_HEAD+MC_END"]
    end = next(s for s in scenario.witnesses[3].steps if s.kind == StepKind.END)
    assert end.inputs["stpRead"] == 1  # the crossing head is the taker's own: cancel-taker


def test_workload_blocks_build_and_match_the_commitment(workload: Chain) -> None:
    kinds = {k for w in workload.witnesses for k in _kinds(w)}
    # a rejected command takes no step: its pattern is empty
    assert {"REST_BEGIN+PUT", "CANCEL_DETACH+CANCEL_RELINK", "CANCEL_HEAD", ""} <= kinds
    assert any(k.startswith("FILL_BEGIN") for k in kinds)
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


def test_replace_and_stp_modes_are_supported() -> None:
    # (were UnsupportedInCircuit before the RP_* and STP_* kinds)
    c, o = _with_resting_order()
    w = c.block([ReplaceOrder(*c.n(), 0, MARKET.market_id, o.seq, 99_001, 1)])
    assert _kinds(w) == ["RP_HEAD+RP_REST"]
    c, o = _with_resting_order()  # a mass cancel of every market (ALL_MARKETS = 0)
    w = c.block([MassCancel(*c.n(), 0, 0)])
    assert _kinds(w) == ["MC_BEGIN+MC_HEAD+MC_END"]
    c, o = _with_resting_order(Side.SELL)
    w = c.block([c.place(0, Side.BUY, 100_000, 1, stp=StpMode.DECREMENT)])
    assert _kinds(w) == ["PLACE+STP_DEC+END"]
    with pytest.raises(UnsupportedInCircuit, match="no market"):
        public_signals(msgspec.structs.replace(c.blocks[-1].header, markets=()))
    c, o = _with_resting_order()  # a rejected replace is only chained: supported
    w = c.block([ReplaceOrder(*c.n(), 0, MARKET.market_id, o.seq + 99, 99_001, 1)])
    assert _kinds(w) == [""] and w.steps_per_command == (0,)
    assert w.inputs["accepted"] == [0] * TEST_SIZE.n and w.inputs["active"][0] == 1


def test_block_witness_is_pure(scenario: Chain) -> None:
    from proofs.witness import block_witness

    pre = scenario.pre[2]
    root = pre.root
    inputs, pub = block_witness(pre, scenario.blocks[2], PARAMS)
    assert pre.root == root and pub == scenario.witnesses[2].public_signals
    assert inputs == scenario.witnesses[2].inputs


# --- proofs ------------------------------------------------------------------------------------


def test_constraint_counts(compiled: CompiledCircuit) -> None:
    assert compiled.constraints == EXPECTED["block_4x18"]
    assert _step_circuit().constraints == EXPECTED["block_step4x4"]
    assert _step_circuit(full=False).constraints == EXPECTED["block_step4x4o"]


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
    # a workload block with LINK+PUT and DETACH+RELINK
    i = next(
        i
        for i, w in enumerate(workload.witnesses)
        if len(w.steps) == TEST_SIZE.s
        and {"REST_BEGIN+PUT", "CANCEL_DETACH+CANCEL_RELINK"} <= set(_kinds(w))
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
    fills = (StepKind.FILL_BEGIN, StepKind.FILL)
    return [i for i, s in enumerate(w.steps) if s.kind in fills][nth]


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
        siblings=below_tier(asks.tree.path(slot)),
        oldOrder=list(order_record(o, nxt)),
        newOrder=list(order_record(msgspec.structs.replace(o, qty=0), nxt)),
        q=2,
    )
    with pytest.raises(UnsatisfiedWitnessError):
        compiled.prove(inputs, w.public_signals)


def test_tiers_must_hash_to_the_pre_root(scenario: Chain, compiled: CompiledCircuit) -> None:
    # the steps write the trees' tiers; a tier that does not hash to the pre-state's tree root
    # cannot start the block: two distinct nodes swapped (each genuine, the order not), or a
    # node changed where all are equal (an empty book side's)
    w = scenario.witnesses[2]
    for name in ("accTier0", "bidTier0", "askTier0"):
        tier = list(w.inputs[name])  # type: ignore[call-overload]
        j = next((j for j in range(1, len(tier)) if tier[j] != tier[0]), None)
        if j is None:
            tier[0] = (tier[0] + 1) % FIELD_MODULUS
        else:
            tier[0], tier[j] = tier[j], tier[0]
        inputs = {**copy.deepcopy(w.inputs), name: tier}
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
def test_acceptance_flags_cannot_be_forged(
    scenario: Chain, workload: Chain, compiled: CompiledCircuit
) -> None:
    # an executed command marked rejected: its beginning step finds no accepted command of
    # its rank
    w = scenario.witnesses[1]
    inputs = copy.deepcopy(w.inputs)
    inputs["accepted"][3] = 0  # type: ignore[index]
    with pytest.raises(UnsatisfiedWitnessError):
        compiled.prove(inputs, w.public_signals)
    # a rejected command marked accepted without steps: more accepted commands than begun
    w = next(
        w for w in workload.witnesses
        if len(w.steps) == TEST_SIZE.s and 0 in w.steps_per_command
    )  # fmt: skip
    inputs = copy.deepcopy(w.inputs)
    inputs["accepted"][w.steps_per_command.index(0)] = 1  # type: ignore[index]
    with pytest.raises(UnsatisfiedWitnessError):
        compiled.prove(inputs, w.public_signals)
    # two rejected slots after the last executed one, flagged 2 and -2: the count and every
    # executed slot's rank unchanged, so only the flags' booleanity refuses it (with other
    # values a prefix sum could give a later command a lower rank: a reordering)
    c, o = _with_resting_order()
    n = len(c.blocks)
    dep = Deposit(*c.n(), 0, 5)
    bogus = [CancelOrder(*c.n(), 0, MARKET.market_id, o.seq + 99 + i) for i in range(2)]
    w = c.block([dep, *bogus])
    assert _kinds(w) == ["DEPOSIT", "", ""] and len(c.blocks) == n + 1
    inputs = copy.deepcopy(w.inputs)
    inputs["accepted"][1:3] = [2, FIELD_MODULUS - 2]  # type: ignore[index]
    with pytest.raises(UnsatisfiedWitnessError):
        compiled.prove(inputs, w.public_signals)
    # an account write on an order-only step: a full step's REST_BEGIN on the order-only
    # BlockStep, claiming the account root unchanged
    w = scenario.witnesses[1]
    i = next(i for i, s in enumerate(w.steps) if s.kind == StepKind.REST_BEGIN)
    acc_tier = range(BR_ACC_TIER, BR_ACC_TIER + 4 ** tier_levels(TEST_SIZE.account_depth))
    forged, public = _forged_step(w, i, {}, regs_out={j: w.steps[i].regs_in[j] for j in acc_tier})
    with pytest.raises(UnsatisfiedWitnessError):
        _step_circuit(full=False).prove(forged, public)
    # a command that begins on an order-only step (which has no link to a command slot): an
    # MC_BEGIN, which writes no account, proves on a full step only
    w = scenario.witnesses[3]
    i = next(i for i, s in enumerate(w.steps) if s.kind == StepKind.MC_BEGIN)
    _step_circuit().prove(*w.step_inputs(i))
    with pytest.raises(UnsatisfiedWitnessError):
        _step_circuit(full=False).prove(*w.step_inputs(i))


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
def test_every_step_kind_proves_alone(
    scenario: Chain, workload: Chain, replaces: Chain, stp_modes: Chain
) -> None:
    """Each kind once on ``BlockStep(4, 4)`` at a full and at an order-only position, with its
    registers public (where a witness bug shows which step and kind it is in, unlike the
    whole block)."""
    circuits = (_step_circuit(full=False), _step_circuit())  # by position: order-only, full
    seen: set[tuple[StepKind, int]] = set()
    chains = (scenario, workload, replaces, stp_modes)
    for w in [w for c in chains for w in c.witnesses]:
        for i, s in enumerate(w.steps):
            full = int(i % PARAMS.ratio == 0)
            if (s.kind, full) not in seen:
                seen.add((s.kind, full))
                circuits[full].prove(*w.step_inputs(i))
    kinds = {k for k, _ in seen}
    assert kinds >= set(StepKind) - {StepKind.MC_DETACH, StepKind.MC_RELINK}
    # order-only positions took only kinds without an account write, and some of each
    order_only = {k for k, full in seen if not full}
    assert not order_only & FULL_KINDS
    assert {StepKind.PUT, StepKind.CANCEL_RELINK, StepKind.SKIP, StepKind.NOP} <= order_only


# --- ReplaceOrder and self-trade prevention (RP_* and STP_* kinds) ------------------------------


def _funded(c: Chain) -> None:
    c.block([AddAccount(*c.n(), 0), Deposit(*c.n(), 0, 10**12)])
    c.block([AddAccount(*c.n(), 1), Deposit(*c.n(), 1, 10**12)])


@pytest.fixture(scope="module")
def replaces() -> Chain:
    """Two asks of account 1 and two bids of account 0, then one block of four replaces: keep
    priority (qty 3 -> 2, new client id), move behind -> best bid, move the ask head so that it
    trades and rests, move by a larger qty at the same price (loses priority)."""
    c = Chain()
    _funded(c)
    mid = MARKET.market_id
    a1, a2 = c.place(1, Side.SELL, 100_010, 2), c.place(1, Side.SELL, 100_020, 2)
    b1, b2 = c.place(0, Side.BUY, 99_000, 3), c.place(0, Side.BUY, 98_000, 1)
    c.block([a1, a2, b1, b2])
    c.block(
        [
            ReplaceOrder(*c.n(), 0, mid, b1.seq, 99_000, 2, cl_ord_id=7),
            ReplaceOrder(*c.n(), 0, mid, b2.seq, 99_500, 1),
            ReplaceOrder(*c.n(), 1, mid, a1.seq, 99_500, 3),
            ReplaceOrder(*c.n(), 1, mid, a2.seq, 100_020, 3),
        ]
    )
    return c


@pytest.fixture(scope="module")
def stp_modes() -> Chain:
    """Account 0's asks 100,010 x1, 100,020 x3, 100,040 x2 around account 1's 100,030 x2; then
    account 0 buys into its own asks with CANCEL_MAKER, DECREMENT (reduce the head, then remove
    it and trade on) and CANCEL_BOTH."""
    c = Chain()
    _funded(c)
    c.block(
        [
            c.place(0, Side.SELL, 100_010, 1),
            c.place(0, Side.SELL, 100_020, 3),
            c.place(1, Side.SELL, 100_030, 2),
            c.place(0, Side.SELL, 100_040, 2),
        ]
    )
    ioc = TimeInForce.IOC
    c.block(
        [
            c.place(0, Side.BUY, 100_010, 1, ioc, stp=StpMode.CANCEL_MAKER),
            c.place(0, Side.BUY, 100_030, 2, ioc, stp=StpMode.DECREMENT),
            c.place(0, Side.BUY, 100_030, 3, ioc, stp=StpMode.DECREMENT),
            c.place(0, Side.BUY, 100_040, 1, stp=StpMode.CANCEL_BOTH),
        ]
    )
    return c


def test_replace_and_stp_schedules(replaces: Chain, stp_modes: Chain) -> None:
    assert _kinds(replaces.witnesses[-1]) == [
        "RP_KEEP",
        "RP_DETACH+RP_RELINK+RP_REST",
        "RP_HEAD+RP_PLACE+FILL+REST",
        "RP_DETACH+RP_RELINK+RP_REST+PUT",
    ]
    w = stp_modes.witnesses[-1]
    assert _kinds(w) == [
        "PLACE+STP_MAKER+END",
        "PLACE+STP_DEC+END",
        "PLACE+STP_DEC+FILL+END",
        "PLACE+STP_BOTH",
    ]
    dec = [s.inputs["stpReduce"] for s in w.steps if s.kind == StepKind.STP_DEC]
    assert dec == [1, 0]  # reduce the head by the taker's 2; then remove the head's last 1
    for c in (replaces, stp_modes):
        assert c.state.root == c.com.root and c.too_long == 0


def test_replace_and_stp_blocks_prove_and_verify(
    replaces: Chain, stp_modes: Chain, block_circuit: BlockCircuit, compiled: CompiledCircuit
) -> None:
    vk = compiled.verifying_key
    for c in (replaces, stp_modes):
        proof = block_circuit.prove(c.witnesses[-1])
        assert verify_block(c.blocks[-1].header, proof, vk)
        assert not verify_block(c.blocks[-2].header, proof, vk)


def test_repeated_client_ids_are_provable_rules_2_and_refused_by_rules_1(
    block_circuit: BlockCircuit, compiled: CompiledCircuit
) -> None:
    """The block proof does not look at client order ids beyond the signed replay mark, so on
    an unsigned venue it proves a block where two live orders of one account share one. Under
    rules 1 the engine refused the second (``DUPLICATE_CLIENT_ORDER_ID``): a proof verified for
    a block that replay would have sealed differently. Rules 2 (``venue.node.Genesis.rules``)
    make that block the engine's own: the venue refuses such ids before sequencing instead."""
    c = Chain(unique_cl_ord_ids=False)
    c.block([AddAccount(*c.n(), 0), Deposit(*c.n(), 0, 10**12)])
    mid, lim, gtc = MARKET.market_id, OrderType.LIMIT, TimeInForce.GTC
    cmds = [
        PlaceOrder(*c.n(), 0, mid, 42, Side.BUY, lim, gtc, 99_000, 2),
        PlaceOrder(*c.n(), 0, mid, 42, Side.BUY, lim, gtc, 98_000, 2),
        PlaceOrder(*c.n(), 0, mid, 7, Side.SELL, lim, gtc, 101_000, 2),
    ]
    cmds.append(ReplaceOrder(*c.n(), 0, mid, cmds[2].seq, 101_000, 1, 42))  # 7 -> 42, kept
    w = c.block(cmds)
    assert c.too_long == 0 and c.state.root == c.com.root
    assert not any(isinstance(e, Rejected) for e in c.blocks[-1].events)
    assert [c.engine.order_view(x.seq).cl_ord_id for x in cmds[:3]] == [42, 42, 42]
    proof = block_circuit.prove(w)
    assert verify_block(c.blocks[-1].header, proof, compiled.verifying_key)
    # the same commands under rules 1: the second order and the replace are refused
    old = ReferenceEngine((MARKET,), max_accounts=1 << A, max_resting_per_side=1 << D)
    for cmd in c.blocks[0].commands:
        old.process(cmd)
    refused = [e.code for cmd in cmds for e in old.process(cmd) if isinstance(e, Rejected)]
    assert refused == [ResultCode.DUPLICATE_CLIENT_ORDER_ID] * 2


def test_a_command_timed_before_the_previous_close_fails(
    block_circuit: BlockCircuit, compiled: CompiledCircuit
) -> None:
    """Block 1 closes a second after its last command. A command of block 2 timed at that
    close satisfies the circuit; one timed between the two is refused by the engine
    (``end_block`` raised its last ts to the close), and an operator whose engine lacks the
    rule cannot prove it: the first slot's ts is checked against the close committed in the
    pre-state."""
    c = Chain()
    c.block([AddAccount(*c.n(), 0), Deposit(*c.n(), 0, 10**12)], close_ts=c.ts + 10**9)
    close, last = c.ts + 10**9, c.ts
    assert c.engine.last_ts == close
    mid, lim, gtc = MARKET.market_id, OrderType.LIMIT, TimeInForce.GTC

    def bid(ts: int) -> PlaceOrder:
        return PlaceOrder(c.seq + 1, ts, 0, mid, 0, Side.BUY, lim, gtc, 99_000, 1)

    with pytest.raises(EngineError, match="before the previous"):
        c.engine.process(bid(close - 1))
    honest = copy.deepcopy(c)
    w = honest.block([bid(close)])
    calculator = compiled.witness_calculator()
    assert calculator is not None
    # the witness checks every constraint (each === is an assertion): at the close it holds
    witness = calculator.compute(w.inputs)
    got = [witness.wire(i) for i in range(1, len(w.public_signals) + 1)]
    assert got == [int(v) % witness.prime for v in w.public_signals]
    c.engine._last_ts = last  # the operator's engine without the rule
    w = c.block([bid(close - 1)], close_ts=close)
    with pytest.raises(UnsatisfiedWitnessError):
        block_circuit.prove(w)


def _step_circuit(full: bool = True) -> CompiledCircuit:
    """``BlockStep(4, 4, 0, 1)``, or the order-only ``BlockStep(4, 4, 0, 0)``."""
    name = "block_step4x4" if full else "block_step4x4o"
    return compile_circuit(CIRCUITS / f"{name}_test.circom", cache_dir=CACHE)


def _forged_step(
    w: BlockWitness,
    i: int,
    inputs: dict[str, object],
    regs_in: dict[int, int] | None = None,
    regs_out: dict[int, int] | None = None,
) -> tuple[dict[str, object], list[int]]:
    """Step ``i`` of ``w`` on ``BlockStep(4, 4)`` with witness values and registers replaced
    (register indices as ``BR_*`` in block.circom): a forged step whose outputs are what the
    forgery would produce, so only the rule under test can reject it."""
    base, _ = w.step_inputs(i)
    st = w.steps[i]
    r_in, r_out = list(st.regs_in), list(st.regs_out)
    for k, v in (regs_in or {}).items():
        r_in[k] = v
    for k, v in (regs_out or {}).items():
        r_out[k] = v
    forged = {**copy.deepcopy(base), **inputs, "r": r_in}
    ctx = w.context
    cfg = ctx["cfg"]
    assert isinstance(cfg, list)
    begins = int(st.kind in BEGINS)
    public = [*r_out, begins, *cfg, ctx["mark"], *r_in]
    return forged, [int(v) for v in public]  # type: ignore[call-overload]


def _only(w: BlockWitness, kind: StepKind, **match: object) -> int:
    return next(
        i
        for i, s in enumerate(w.steps)
        if s.kind == kind and all(s.inputs[k] == v for k, v in match.items())
    )


BR_CMD, BR_REMAINING, BR_TAKER, BR_MATCHES = Reg.CMD, Reg.REMAINING, Reg.TAKER, Reg.MATCHES
BR_ACC_TIER, _, BR_ASK_TIER, _ = Reg.tiers(TEST_SIZE.order_depth, TEST_SIZE.account_depth)
CV_ACCOUNT, CV_PRICE = 0, 2
BEGINS = {
    StepKind.PLACE, StepKind.REST_BEGIN, StepKind.CANCEL_HEAD,
    StepKind.CANCEL_DETACH, StepKind.ADD, StepKind.DEPOSIT, StepKind.WITHDRAW,
    StepKind.MC_BEGIN, StepKind.RP_KEEP, StepKind.RP_HEAD, StepKind.RP_DETACH,
}  # fmt: skip


def test_forged_replace_and_stp_steps_fail(replaces: Chain, stp_modes: Chain) -> None:
    step = _step_circuit()
    # control: the honest steps prove
    w = replaces.witnesses[-1]
    i = _only(w, StepKind.RP_KEEP)
    step.prove(*_forged_step(w, i, {}))
    # 1. a replace that keeps priority (REDUCE in place) while the price changed: the command
    # says 99,001, the leaf stays at 99,000 with its place in the queue
    cmd = w.steps[i].inputs["cmd"]
    assert isinstance(cmd, list)
    bad_cmd = list(cmd)
    bad_cmd[CV_PRICE] = 99_001  # (its slot would accept it: a valid price, tick 1)
    inputs, public = _forged_step(w, i, {"cmd": bad_cmd}, regs_out={BR_CMD + CV_PRICE: 99_001})
    with pytest.raises(UnsatisfiedWitnessError):
        step.prove(inputs, public)

    w = stp_modes.witnesses[-1]
    # 2. STP cancel-maker removing someone else's order: the taker claims account 1 while the
    # removed head is account 0's (everything else as the honest step)
    i = _only(w, StepKind.STP_MAKER)
    step.prove(*_forged_step(w, i, {}))
    cmd = list(w.steps[i].inputs["cmd"])  # type: ignore[call-overload]
    cmd[CV_ACCOUNT] = 1
    inputs, public = _forged_step(
        w, i, {"cmd": cmd}, regs_in={BR_CMD + CV_ACCOUNT: 1}, regs_out={BR_CMD + CV_ACCOUNT: 1}
    )
    with pytest.raises(UnsatisfiedWitnessError):
        step.prove(inputs, public)
    # 3. a decrement by the wrong amount: the head (3) and the taker (2) reduced by 1 instead of
    # min(2, 3) = 2, the taker going on with 1 (new leaf, new root, registers all consistent)
    i = _only(w, StepKind.STP_DEC, stpReduce=1)
    st = w.steps[i]
    assert st.inputs["q"] == 2
    new_order = list(st.inputs["newOrder"])  # type: ignore[call-overload]
    new_order[1] += 1
    o = OrderView(
        new_order[5], new_order[3], MARKET.market_id, new_order[7], new_order[0], new_order[1],
        new_order[2], new_order[6],
    )  # fmt: skip
    leaf = order_leaf(o, (new_order[4], new_order[8], new_order[9]))
    index = int(st.inputs["bookIndex"])  # type: ignore[call-overload]
    old_tier = st.regs_in[BR_ASK_TIER : BR_ASK_TIER + 4]
    tier = tier_update(old_tier, index, leaf, st.inputs["siblings"])  # type: ignore[arg-type]
    inputs, public = _forged_step(
        w,
        i,
        {"q": 1, "newOrder": new_order},
        regs_out={
            **{BR_ASK_TIER + j: v for j, v in enumerate(tier)},
            BR_REMAINING: st.regs_out[BR_REMAINING] + 1,
            BR_TAKER + 2: st.regs_out[BR_TAKER + 2] + 1,  # own (buy) reservation: 1 less released
            BR_TAKER + 3: st.regs_out[BR_TAKER + 3] + 1,  # the maker's (sell) side: likewise
        },
    )
    with pytest.raises(UnsatisfiedWitnessError):
        step.prove(inputs, public)


def _full_workload(seed: int, commands: int) -> Chain:
    """The standard workload (all four STP modes, 5% replaces) at the test depths: 8 accounts,
    10 resting orders targeted; blocks of N = 4, witnesses built (the wide S where needed)."""
    c = Chain()
    w = Workload(seed, accounts=8, target_resting=10)
    cmds = [*w.genesis(), *w.commands(commands)]
    for i in range(0, len(cmds), TEST_SIZE.n):
        c.block(cmds[i : i + TEST_SIZE.n])
    return c


def test_full_workload_witnesses_build() -> None:
    c = _full_workload(11, 300)
    kinds = {k for w in c.witnesses for ks in w.command_kinds for k in ks}
    assert {"RP_HEAD", "RP_DETACH", "RP_REST"} <= kinds
    assert c.state.root == c.com.root


@pytest.mark.slow
@pytest.mark.parametrize("seed", [3, 7])
def test_full_workload_2000_commands_build(seed: int) -> None:
    c = _full_workload(seed, 2000)
    kinds = {k for w in c.witnesses for ks in w.command_kinds for k in ks}
    assert {"RP_KEEP", "RP_HEAD", "RP_DETACH", "RP_RELINK", "RP_REST"} <= kinds
    assert seed != 7 or "RP_PLACE" in kinds  # a moved replace that trades (rare at 8 accounts)
    assert {"STP_MAKER", "STP_BOTH", "STP_DEC"} <= kinds
    assert c.state.root == c.com.root


def test_match_limit_end_proves_and_is_the_only_way_to_stop_a_crossing_taker() -> None:
    # max_matches = 2: a GTC bid crossing three asks takes two, and its crossing remainder is
    # cancelled (END, MATCH_LIMIT) instead of resting or trading on
    c = Chain(max_matches=2)
    params = dataclasses.replace(PARAMS, max_matches=2)
    c.block([AddAccount(*c.n(), 0), Deposit(*c.n(), 0, 10**12), AddAccount(*c.n(), 1),
             Deposit(*c.n(), 1, 10**12)])  # fmt: skip
    c.block([c.place(1, Side.SELL, 100_000 + 10 * i, 1) for i in range(3)])
    c.builder.submit(c.place(0, Side.BUY, 100_050, 5))
    blk = c.builder.seal()
    w = c.state.copy().advance(blk, params)
    assert ["+".join(k) for k in w.command_kinds] == ["FILL_BEGIN+FILL+END"]
    step, order_only = _step_circuit(), _step_circuit(full=False)
    for i in range(len(w.steps)):  # every step of the honest block, the END included
        (order_only if i % params.ratio else step).prove(*w.step_inputs(i))
    end = _only(w, StepKind.END)
    assert w.steps[end].regs_in[BR_MATCHES] == 2
    # the same END without the limit (cfg[8] = 65535): a crossing remainder may not stop
    inputs, public = w.step_inputs(end)
    cfg = list(inputs["cfg"])  # type: ignore[call-overload]
    cfg[8] = (1 << 16) - 1
    at = len(w.steps[end].regs_out) + 1 + 8  # cfg[8] among the public signals
    public[at] = cfg[8]
    with pytest.raises(UnsatisfiedWitnessError):
        step.prove({**inputs, "cfg": cfg}, public)
    # a third fill at the limit: the second FILL's step replayed with two matches behind it
    fill = _only(w, StepKind.FILL)
    inputs, public = _forged_step(w, fill, {}, regs_in={BR_MATCHES: 2}, regs_out={BR_MATCHES: 3})
    with pytest.raises(UnsatisfiedWitnessError):
        step.prove(inputs, public)


def test_register_indices_match_the_circuit() -> None:
    # proofs.witness.Reg restates block.circom's BR_* functions: the witness's register tuple
    # is positional, so a renumbering on one side only would misplace every register after it
    text = (ROOT / "proofs" / "circuits" / "block.circom").read_text()
    fixed = {
        m[1]: int(m[2]) for m in re.finditer(r"function BR_(\w+)\(\) \{ return (\d+); \}", text)
    }
    assert fixed == {name: getattr(Reg, name) for name in fixed}
    assert len(fixed) == 20 and max(fixed.values()) == Reg.FIXED
    for depths in ((4, 4), (12, 16), (5, 3)):
        acc, bid, ask, count = Reg.tiers(*depths)
        assert (acc, bid - acc, ask - bid, count - ask) == (
            Reg.FIXED, 4 ** tier_levels(depths[1]), 4 ** tier_levels(depths[0]),
            4 ** tier_levels(depths[0]),
        )  # fmt: skip


def test_fill_begin_defers_the_reservation_to_a_checked_open_write(scenario: Chain) -> None:
    # FILL_BEGIN opens nothing on the tree: the taker's leaf fields come in as a witness and
    # its END is OPEN_WRITE, which requires the leaf to be those fields and checks the margin
    # that PLACE's OPEN_ORDER would have checked on them
    w = scenario.witnesses[2]
    step = _step_circuit()
    fb, end = _only(w, StepKind.FILL_BEGIN), _only(w, StepKind.END)
    assert w.steps[end].regs_in[Reg.DEFER] == 1 and w.steps[fb].regs_in[Reg.DEFER] == 0
    assert w.steps[end].inputs["accOld"] == w.steps[fb].inputs["takerPre"]
    for i in (fb, end):
        step.prove(*w.step_inputs(i))
    # 1. the taker claims more collateral than its leaf holds: the snapshot FILL_BEGIN took
    # is not the leaf END reads
    inputs, public = _forged_step(
        w, end, {}, regs_in={Reg.SNAP: w.steps[end].regs_in[Reg.SNAP] + 1}
    )
    public[Reg.SNAP] += 1  # (the snapshot register passes through END unchanged)
    with pytest.raises(UnsatisfiedWitnessError):
        step.prove(inputs, public)
    # 2. the margin: the same END at the largest mark and initial margin the circuit takes,
    # with hints honest for them, fails as OPEN_WRITE, and proves as a plain WRITE (a command
    # begun by PLACE, whose OPEN_ORDER was checked there)
    pre = [int(v) for v in w.steps[fb].inputs["takerPre"]]  # type: ignore[union-attr]
    fields = AccountFields(pre[0] - 2**127, pre[1] - 2**63, pre[2], pre[3], pre[4] - 2**127,
                           pre[5])  # fmt: skip
    mark, imf = (1 << 40) - 1, (1 << 14) - 1
    strict = MarketParams(mark, imf)
    order = scenario.blocks[2].commands[0]
    assert isinstance(order, PlaceOrder)
    buy = order.side == Side.BUY
    assert not margin_ok(fields, buy, order.price, order.qty, strict)
    hints = list(_margin_hints(fields, buy, order.qty, strict))
    acc = list(w.steps[end].inputs["accHints"])  # type: ignore[call-overload]
    forged = {"accHints": [*acc[:2], *hints]}
    cfg = [*w.context["cfg"][:7], imf, *w.context["cfg"][8:]]  # type: ignore[index]
    at = len(w.steps[end].regs_out) + 1  # cfg, then mark, among the public signals
    for defer, refused in ((1, True), (0, False)):
        inputs, public = _forged_step(
            w, end, forged, regs_in={Reg.DEFER: defer}, regs_out={Reg.DEFER: defer}
        )
        public[at : at + len(cfg) + 1] = [*cfg, mark]
        inputs = {**inputs, "cfg": cfg, "mark": mark}
        if refused:
            with pytest.raises(UnsatisfiedWitnessError):
                step.prove(inputs, public)
        else:
            step.prove(inputs, public)


def test_fill_begin_ends_in_rest_or_stp_both() -> None:
    # the two other writes that close a FILL_BEGIN command as OPEN_WRITE: the remainder rests
    # (REST), or the next maker is the taker's own and STP cancels both (STP_BOTH)
    c = Chain()
    _funded(c)
    c.block([c.place(1, Side.SELL, 100_010, 2), c.place(1, Side.SELL, 100_011, 1),
             c.place(0, Side.SELL, 100_020, 1)])  # fmt: skip
    rests = c.block([c.place(0, Side.BUY, 100_010, 5)])
    both = c.block([c.place(0, Side.BUY, 100_020, 3, stp=int(StpMode.CANCEL_BOTH))])
    assert _kinds(rests) == ["FILL_BEGIN+REST"] and _kinds(both) == ["FILL_BEGIN+STP_BOTH"]
    step, order_only = _step_circuit(), _step_circuit(full=False)
    for w, last in ((rests, StepKind.REST), (both, StepKind.STP_BOTH)):
        end = _only(w, last)
        assert w.steps[end].regs_in[Reg.DEFER] == 1
        for i in range(len(w.steps)):
            (order_only if i % PARAMS.ratio else step).prove(*w.step_inputs(i))
    assert c.state.root == c.com.root
