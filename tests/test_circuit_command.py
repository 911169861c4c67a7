"""CommandHash, CommandChain and PlaceValid in-circuit against proofs.state and the engine.

Every proof goes through ``CompiledCircuit.prove(inputs, public_signals)``, which verifies its
own proof against the public signals the Python reference expects, so "the circuit agrees with
the reference" and "a tampered witness is refused" are both one call (``UnsatisfiedWitnessError``
is a ``groth16py.WitnessError``).
"""

from __future__ import annotations

import random
from pathlib import Path

import groth16py
import pytest

from matching import BlockBuilder
from matching.encoding import decode_command, encode
from matching.engine import ReferenceEngine
from matching.types import (
    AddAccount,
    CancelOrder,
    Command,
    CommandType,
    Deposit,
    MarketConfig,
    MassCancel,
    OrderType,
    PlaceOrder,
    ReplaceOrder,
    Side,
    StpMode,
    TimeInForce,
    Withdraw,
)
from proofs.circom import CompiledCircuit, circuit_stats, compile_circuit
from proofs.commandtrace import chain_inputs, command_inputs, place_valid_inputs
from proofs.poseidon import FIELD_MODULUS
from proofs.state import COMMAND_FIELD_WIDTHS, PoseidonState, command_hash
from venue.workload import Workload, default_markets

ROOT = Path(__file__).resolve().parents[1]
CIRCUITS = ROOT / "tests" / "circuits"
CACHE = ROOT / ".cache" / "circuits"
CHAIN_N = 16

#: Measured constraint counts (also in proofs/circuits/README.md).
EXPECTED_CONSTRAINTS = {"command_hash": 1003, "command_chain16": 3884, "command_place_valid": 684}


def _compile(name: str) -> CompiledCircuit:
    return compile_circuit(CIRCUITS / f"{name}_test.circom", cache_dir=CACHE)


@pytest.fixture(scope="module")
def hash_circuit() -> CompiledCircuit:
    return _compile("command_hash")


@pytest.fixture(scope="module")
def chain_circuit() -> CompiledCircuit:
    return _compile("command_chain16")


@pytest.fixture(scope="module")
def place_circuit() -> CompiledCircuit:
    return _compile("command_place_valid")


def _hash_public(cmd: Command) -> list[int]:
    tag = type(cmd).__struct_config__.tag
    return [int(t == tag) for t in range(1, 8)] + [command_hash(cmd)]


def _wire(cmd: Command) -> Command:
    """The command after a wire round trip: proves it is inside the wire schema."""
    out = decode_command(encode(cmd))
    assert out == cmd
    return out


# --- CommandHash --------------------------------------------------------------------------

SEQ_MAX = (1 << 48) - 1
TS_MAX = (1 << 64) - 1
ACC_MAX = (1 << 20) - 1
MKT_MAX = (1 << 16) - 1
CL_MAX = (1 << 64) - 1
PRICE_MIN, PRICE_MAX = -(1 << 40) + 1, (1 << 40) - 1
QTY_MIN, QTY_MAX = -(1 << 48) + 1, (1 << 48) - 1
AMOUNT_MIN, AMOUNT_MAX = -(1 << 63), (1 << 64) - 1  # MessagePack's integer range


def _random_command(kind: CommandType, rng: random.Random, extreme: str | None) -> Command:
    """A command of ``kind`` with random fields, or all fields at their lowest/highest."""

    def pick(lo: int, hi: int) -> int:
        if extreme == "min":
            return lo
        if extreme == "max":
            return hi
        return rng.randint(lo, hi)

    base = (pick(0, SEQ_MAX), pick(0, TS_MAX), pick(0, ACC_MAX))
    if kind == CommandType.PLACE_ORDER:
        return PlaceOrder(
            *base,
            pick(0, MKT_MAX),
            pick(0, CL_MAX),
            pick(0, 15),
            pick(0, 15),
            pick(0, 15),
            pick(PRICE_MIN, PRICE_MAX),
            pick(QTY_MIN, QTY_MAX),
            bool(pick(0, 1)),
            pick(0, 15),
        )
    if kind == CommandType.CANCEL_ORDER:
        return CancelOrder(*base, pick(0, MKT_MAX), pick(0, SEQ_MAX))
    if kind == CommandType.REPLACE_ORDER:
        return ReplaceOrder(
            *base,
            pick(0, MKT_MAX),
            pick(0, SEQ_MAX),
            pick(PRICE_MIN, PRICE_MAX),
            pick(QTY_MIN, QTY_MAX),
            pick(0, CL_MAX),
        )
    if kind == CommandType.MASS_CANCEL:
        return MassCancel(*base, pick(0, MKT_MAX))
    if kind == CommandType.DEPOSIT:
        return Deposit(*base, pick(AMOUNT_MIN, AMOUNT_MAX))
    if kind == CommandType.WITHDRAW:
        return Withdraw(*base, pick(AMOUNT_MIN, AMOUNT_MAX))
    return AddAccount(*base, pick(0, FIELD_MODULUS - 1), pick(0, FIELD_MODULUS - 1))


def test_circuit_widths_match_state() -> None:
    # command.circom hard-codes these widths (CMD_*_BITS and the packing offsets).
    assert COMMAND_FIELD_WIDTHS == {
        "seq": (48, False),
        "ts": (64, False),
        "account": (20, False),
        "market": (16, False),
        "cl_ord_id": (64, False),
        "side": (4, False),
        "order_type": (4, False),
        "tif": (4, False),
        "price": (41, True),
        "qty": (49, True),
        "post_only": (1, False),
        "stp": (4, False),
        "order_id": (48, False),
        "amount": (128, True),
    }


@pytest.mark.parametrize("kind", list(CommandType), ids=lambda k: k.name)
def test_command_hash_matches_state(hash_circuit: CompiledCircuit, kind: CommandType) -> None:
    rng = random.Random(1000 + kind)
    cases = [_random_command(kind, rng, e) for e in ("min", "max", None, None)]
    if kind in (CommandType.PLACE_ORDER, CommandType.REPLACE_ORDER):
        # negative price and quantity next to positive ones
        for price, qty in ((-5, 7), (123, -1), (PRICE_MIN, QTY_MAX)):
            c = cases[2]
            cases.append(c.__class__(**{**_fields(c), "price": price, "qty": qty}))
    if kind in (CommandType.DEPOSIT, CommandType.WITHDRAW):
        cases.append(Deposit(1, 2, 3, -1) if kind == CommandType.DEPOSIT else Withdraw(1, 2, 3, 0))
    for cmd in cases:
        cmd = _wire(cmd)
        hash_circuit.prove(command_inputs(cmd), _hash_public(cmd))


def _fields(cmd: Command) -> dict[str, object]:
    return {k: getattr(cmd, k) for k in cmd.__struct_fields__}


def test_command_hash_must_fail(hash_circuit: CompiledCircuit) -> None:
    place = PlaceOrder(7, 8, 9, 1, 10, Side.BUY, OrderType.LIMIT, TimeInForce.GTC, 100, 5)
    cancel = CancelOrder(7, 8, 9, 1, 42)

    def refused(inputs: dict[str, int], public: list[int]) -> None:
        with pytest.raises(groth16py.WitnessError):
            hash_circuit.prove(inputs, public)

    good = command_inputs(place)
    hash_circuit.prove(good, _hash_public(place))
    # a wrong claim: another command's hash, or the right hash under another type flag
    refused(good, [*_hash_public(cancel)[:7], command_hash(place)])
    refused(good, [*_hash_public(place)[:7], command_hash(cancel)])
    # fields outside their widths (price 2^40 is one past the signed 41-bit range)
    for name, value in (
        ("seq", 1 << 48),
        ("price", 1 << 40),
        ("qty", FIELD_MODULUS - (1 << 48) - 1),
        ("side", 16),
        ("postOnly", 2),
        ("account", 1 << 20),
    ):
        refused({**good, name: value}, _hash_public(place))
    # a field the type does not have must be 0: a Cancel carrying a side, a price, a pubkey
    for name in ("side", "price", "pubkeyX", "amount"):
        refused({**command_inputs(cancel), name: 1}, _hash_public(cancel))
    # type codes outside 1..7
    for t in (0, 8):
        refused({**command_inputs(cancel), "type": t}, _hash_public(cancel))
    # packing aliases: shifting a unit between adjacent fields keeps e1 but breaks a range
    alias = {**good, "seq": good["seq"] + (1 << 48), "ts": good["ts"] - 1}
    refused(alias, _hash_public(place))


def test_command_hash_alias_across_types(hash_circuit: CompiledCircuit) -> None:
    # MassCancel(market=m) and Cancel(order_id=0) differ only in type and layout: distinct hashes
    mass = MassCancel(1, 2, 3, 4)
    cancel = CancelOrder(1, 2, 3, 4, 0)
    assert command_hash(mass) != command_hash(cancel)
    hash_circuit.prove(command_inputs(mass), _hash_public(mass))
    with pytest.raises(groth16py.WitnessError):
        hash_circuit.prove(command_inputs(mass), _hash_public(cancel))


# --- CommandChain over real blocks --------------------------------------------------------


@pytest.fixture(scope="module")
def real_blocks() -> list:
    w = Workload(7, accounts=12, target_resting=60)
    eng = ReferenceEngine(w.markets)
    com = PoseidonState(w.markets, account_depth=8, order_depth=8)
    bb = BlockBuilder(eng, com, max_commands=CHAIN_N)
    blocks = bb.submit_many(w.genesis() + list(w.commands(150)))
    blocks.append(bb.seal())
    return blocks


def _commitment(commands: list[Command]) -> int:
    """The reference commitment of ``commands`` (what a header would carry)."""
    return _REF_STATE.command_commitment(commands)


_REF_STATE = PoseidonState(default_markets(), account_depth=2, order_depth=2)


def test_chain_equals_header_commitment(
    chain_circuit: CompiledCircuit, hash_circuit: CompiledCircuit, real_blocks: list
) -> None:
    kinds = {type(c) for b in real_blocks for c in b.commands}
    assert {AddAccount, Deposit, PlaceOrder, CancelOrder, ReplaceOrder} <= kinds
    mixed = next(b for b in real_blocks if len({type(c) for c in b.commands}) >= 3)
    # the in-circuit hash of every command of a mixed block feeds the chain
    hashes = []
    for cmd in mixed.commands:
        hash_circuit.prove(command_inputs(cmd), _hash_public(cmd))
        hashes.append(command_hash(cmd))
    inputs = chain_inputs(mixed.commands, CHAIN_N)
    assert inputs["h"][: len(hashes)] == hashes
    header = mixed.header
    chain_circuit.prove(inputs, [header.command_commitment, header.command_count])
    # a genesis block, the last (partial, padded) block and an empty chain
    for block in (real_blocks[0], real_blocks[-1]):
        assert block.header.command_count <= CHAIN_N
        chain_circuit.prove(
            chain_inputs(block.commands, CHAIN_N),
            [block.header.command_commitment, block.header.command_count],
        )
    assert real_blocks[-1].header.command_count < CHAIN_N
    chain_circuit.prove(chain_inputs([], CHAIN_N), [0, 0])


def test_chain_must_fail(chain_circuit: CompiledCircuit, real_blocks: list) -> None:
    block = next(b for b in real_blocks[1:] if b.header.command_count == CHAIN_N)
    header = block.header
    good = chain_inputs(block.commands, CHAIN_N)
    public = [header.command_commitment, header.command_count]
    chain_circuit.prove(good, public)

    def refused(inputs: dict[str, list[int]], claim: list[int]) -> None:
        with pytest.raises(groth16py.WitnessError):
            chain_circuit.prove(inputs, claim)

    # reordered commands: another commitment, so the header's claim is refused
    swapped = list(block.commands)
    swapped[3], swapped[4] = swapped[4], swapped[3]
    assert _commitment(swapped) != header.command_commitment
    reordered = chain_inputs(swapped, CHAIN_N)
    refused(reordered, public)
    chain_circuit.prove(reordered, [_commitment(swapped), header.command_count])
    # a dropped command (trailing slot deactivated)
    dropped = chain_inputs(block.commands[:-1], CHAIN_N)
    refused(dropped, public)
    # padding activated out of prefix order: slots 0..4 active, 5 inactive, 6 active; the
    # claim is the honest fold of exactly the active hashes, so only the prefix rule fails
    short = list(block.commands[:7])
    gap = chain_inputs(short, CHAIN_N)
    gap["active"][5] = 0
    kept = short[:5] + short[6:]
    refused(gap, [_commitment(kept), len(kept)])
    # a non-boolean flag
    two = chain_inputs(short, CHAIN_N)
    two["active"][0] = 2
    refused(two, [_commitment(short), len(short) + 1])


# --- PlaceValid against the engine --------------------------------------------------------

BANDED = MarketConfig(1, "BAND", 5, 10, 100, 1_000_000, 100_000, 10_000, 1_000, 500, 500)
UNBANDED = MarketConfig(2, "FREE", 1, 1, 1, 10_000_000, 1_000_000, 100_000, 1_000, 500, 0)
WIDE = MarketConfig(3, "WIDE", 1, 1, 1, (1 << 40) - 1, (1 << 48) - 1, 7, 1_000, 500, (1 << 64) - 1)
CONFIGS = (BANDED, UNBANDED, WIDE)


def _engine_checks(eng: ReferenceEngine, cmd: PlaceOrder) -> list[int]:
    """(qtyOk, priceOk, flagsOk, valid) as the engine decides them, and isLiquidation."""
    m = eng._markets[cmd.market]
    qty_ok = eng._check_qty(m, cmd.qty) == 0
    price_ok = eng._check_price(m, cmd.price) == 0
    flags_ok = eng._flags_ok(cmd)
    valid = qty_ok and price_ok and flags_ok
    liquidation = cmd.order_type == OrderType.LIQUIDATION
    return [int(qty_ok), int(price_ok), int(flags_ok), int(valid), int(liquidation)]


def _order(market: int, price: int, qty: int, **kw: int) -> PlaceOrder:
    fields: dict[str, int] = {
        "side": Side.BUY,
        "order_type": OrderType.LIMIT,
        "tif": TimeInForce.GTC,
        "post_only": False,
        "stp": StpMode.CANCEL_TAKER,
        **kw,
    }
    return PlaceOrder(1, 1, 0, market, 0, price=price, qty=qty, **fields)  # type: ignore[arg-type]


# (market, price, qty, flags) -> the engine decides the expected outputs
PLACE_CASES = [
    (1, 10_000, 100, {}),  # valid
    (1, 10_003, 100, {}),  # off tick
    (1, 10_000, 105, {}),  # off lot
    (1, 10_500, 100, {}),  # band edge: 500 * 10000 == 500 * 10000 -> valid
    (1, 10_505, 100, {}),  # just above the band
    (1, 9_500, 100, {}),  # lower band edge
    (1, 9_495, 100, {}),  # below the band
    (1, 10_000, 0, {}),  # zero qty
    (1, 10_000, -10, {}),  # negative qty
    (1, 10_000, 100_010, {}),  # above max_qty
    (1, 10_000, 100_000, {}),  # max_qty exactly
    (1, 0, 100, {}),  # zero price
    (1, -10_000, 100, {}),  # negative price
    (1, 95, 100, {}),  # below min_price (and out of band)
    (2, 99, 1, {}),  # unbanded, far from the mark: valid
    (2, 10_000_001, 1, {}),  # above max_price
    (2, 10_000_000, 1, {}),  # max_price exactly
    (2, 100, 1, {"order_type": OrderType.MARKET, "tif": TimeInForce.GTC}),  # market + GTC
    (2, 100, 1, {"order_type": OrderType.MARKET, "tif": TimeInForce.IOC}),  # market + IOC
    (2, 100, 1, {"order_type": OrderType.MARKET, "tif": TimeInForce.FOK, "post_only": True}),
    (2, 100, 1, {"tif": TimeInForce.IOC, "post_only": True}),  # post-only + IOC
    (2, 100, 1, {"tif": TimeInForce.GTC, "post_only": True}),  # post-only GTC: valid
    (2, 100, 1, {"tif": TimeInForce.FOK, "side": Side.SELL}),  # FOK sell: valid
    (2, 100, 1, {"stp": 4}),  # bad stp
    (2, 100, 1, {"stp": StpMode.DECREMENT}),  # stp 3: valid
    (2, 100, 1, {"side": 0}),  # bad side
    (2, 100, 1, {"side": 3}),
    (2, 100, 1, {"tif": 2}),  # bad tif
    (2, 100, 1, {"tif": 0}),
    (2, 100, 1, {"order_type": OrderType.LIQUIDATION}),  # liquidation + GTC
    (2, 100, 1, {"order_type": OrderType.LIQUIDATION, "tif": TimeInForce.IOC}),  # valid
    (2, 100, 1, {"order_type": OrderType.LIQUIDATION, "tif": TimeInForce.FOK}),
    (2, 100, 1, {"order_type": OrderType.LIQUIDATION, "tif": TimeInForce.IOC, "post_only": True}),
    (2, 100, 1, {"order_type": 4, "tif": TimeInForce.IOC}),  # bad order type
    (2, 100, 1, {"order_type": 0, "side": 15, "tif": 15, "stp": 15}),
    (3, (1 << 40) - 1, (1 << 48) - 1, {}),  # wide market at the maxima: valid
    (3, -(1 << 40) + 1, -(1 << 48) + 1, {}),  # minima
]


@pytest.fixture(scope="module")
def engine() -> ReferenceEngine:
    return ReferenceEngine(CONFIGS)


def test_place_valid_matches_engine(
    place_circuit: CompiledCircuit, engine: ReferenceEngine
) -> None:
    seen = set()
    for market, price, qty, kw in PLACE_CASES:
        cmd = _wire(_order(market, price, qty, **kw))
        expected = _engine_checks(engine, cmd)
        seen.add(tuple(expected))
        cfg = CONFIGS[market - 1]
        place_circuit.prove(place_valid_inputs(cfg, cfg.initial_price, cmd), expected)
    # every output combination the cases are meant to reach was reached
    assert {
        (1, 1, 1, 1, 0),
        (0, 1, 1, 0, 0),
        (1, 0, 1, 0, 0),
        (1, 1, 0, 0, 0),
        (0, 0, 1, 0, 0),
    } <= seen
    assert {(1, 1, 1, 1, 1), (1, 1, 0, 0, 1)} <= seen


def test_place_valid_random(place_circuit: CompiledCircuit, engine: ReferenceEngine) -> None:
    rng = random.Random(5)
    for _ in range(24):
        cfg = rng.choice(CONFIGS[:2])
        price = cfg.initial_price + rng.randint(-700, 700) * rng.choice((1, 1, 3))
        qty = rng.choice((cfg.lot_size, 3 * cfg.lot_size, rng.randint(-5, 50)))
        cmd = _order(
            cfg.market_id,
            price,
            qty,
            side=rng.choice((1, 2, 2, 0)),
            order_type=rng.choice((1, 1, 2, 3)),
            tif=rng.choice((1, 3, 4)),
            post_only=rng.random() < 0.2,
            stp=rng.choice((0, 1, 2, 3, 5)),
        )
        place_circuit.prove(
            place_valid_inputs(cfg, cfg.initial_price, cmd), _engine_checks(engine, cmd)
        )


def test_place_valid_must_fail(place_circuit: CompiledCircuit, engine: ReferenceEngine) -> None:
    off_tick = _order(1, 10_003, 105)  # off tick and off lot: valid = 0
    good = place_valid_inputs(BANDED, BANDED.initial_price, off_tick)
    expected = _engine_checks(engine, off_tick)
    assert expected == [0, 0, 1, 0, 0]
    place_circuit.prove(good, expected)

    def refused(inputs: dict[str, int], claim: list[int]) -> None:
        with pytest.raises(groth16py.WitnessError):
            place_circuit.prove(inputs, claim)

    # claiming it valid
    refused(good, [1, 1, 1, 1, 0])
    # hints that pretend divisibility: remainder 0 with the true quotient
    refused({**good, "priceR": 0}, [0, 1, 1, 0, 0])
    refused({**good, "qtyR": 0}, [1, 0, 1, 0, 0])
    # a quotient one lower with the remainder one divisor higher (r >= divisor)
    refused({**good, "priceQ": good["priceQ"] - 1, "priceR": good["priceR"] + 5}, expected)
    refused({**good, "qtyQ": good["qtyQ"] - 1, "qtyR": good["qtyR"] + 10}, expected)
    # a quotient one higher with a negative remainder (a huge field element)
    refused(
        {**good, "priceQ": good["priceQ"] + 1, "priceR": (good["priceR"] - 5) % FIELD_MODULUS},
        [0, 1, 1, 0, 0],
    )
    # an honest order with a wrong claim of each output
    valid = _order(1, 10_000, 100)
    inputs = place_valid_inputs(BANDED, BANDED.initial_price, valid)
    place_circuit.prove(inputs, [1, 1, 1, 1, 0])
    for i in range(5):
        claim = [1, 1, 1, 1, 0]
        claim[i] = 1 - claim[i]
        refused(inputs, claim)


# --- constraint counts --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED_CONSTRAINTS))
def test_constraint_count(name: str) -> None:
    stats = circuit_stats(CIRCUITS / f"{name}_test.circom", cache_dir=CACHE)
    assert stats.constraints == EXPECTED_CONSTRAINTS[name]


def test_templates_follow_house_rules() -> None:
    for name in ("command", "settle"):
        text = (ROOT / "proofs" / "circuits" / f"{name}.circom").read_text()
        assert text.startswith("pragma circom 2.0.0;\n")
        assert "component main" not in text
        for template in text.split("template ")[1:]:
            assert "assert(" in template.split("}")[0], template.split("(")[0]
        # every `<--` hint is followed by a constraint on the same signal on the next line
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if "<--" in line.split("//")[0]:
                target = line.split("<--")[0].strip()
                assert target in lines[i + 1] and "===" in lines[i + 1], line
