"""Signed blocks: every accepted PlaceOrder, ReplaceOrder and Withdraw is authorised in the proof.

The command slot (``CmdSlot``, cmdslot.circom) and the one-hot link of a step to its slot
(``CmdLink``, cmdlink.circom) are proved on their own; then ``Block(4, 12, 4, 4, ·, 1)``
(``TEST_SIZE_SIGNED``, compiled once and cached under ``.cache/circuits``) proves blocks of the
standard mix whose commands carry ``proofs.signing`` signatures, and refuses: a Place signed by
another account's key, a signature over another price or quantity, a missing signature (the
witness builder raises a typed error first; forged witnesses do not prove), and a proof
against a tampered public input.

Runtime: compile + setup of the signed block ≈ 40 s once, key load ≈ 20 s, two proofs ≈ 10 s
each; the slot and link circuits take seconds.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path

import msgspec
import pytest

from matching import (
    AddAccount,
    CancelOrder,
    Deposit,
    PlaceOrder,
    ReplaceOrder,
    Side,
    TimeInForce,
    Withdraw,
)
from matching.block import Block
from matching.types import Command
from proofs.circom import CompiledCircuit, UnsatisfiedWitnessError, compile_circuit
from proofs.eddsa import private_to_public
from proofs.poseidon import hash2
from proofs.signing import (
    InvalidCommandSignatureError,
    SignatureEncodingError,
    command_signature,
    is_signed_type,
    sign_command,
)
from proofs.verify import TEST_SIZE_SIGNED, BlockCircuit, verify_block
from proofs.witness import BlockParams, BlockWitness, StepKind
from venue.workload import default_markets

from .test_circuit_block import Chain

ROOT = Path(__file__).resolve().parents[1]
CIRCUITS = ROOT / "tests" / "circuits"
CACHE = ROOT / ".cache" / "circuits"
MARKET = default_markets()[0]
SIZE = TEST_SIZE_SIGNED
D, A = SIZE.order_depth, SIZE.account_depth
PARAMS = BlockParams(SIZE.n, SIZE.s, D, A, MARKET, signed=True, ratio=SIZE.ratio)
KEYS = {a: bytes([a + 1]) * 32 for a in range(3)}
SIGNED_BIT = 1 << 13  # CF_SIGNED of view[CV_FLAGS] (cmdslot.circom)
CV_PKHASH, CV_FLAGS = 5, 6
PUB = {a: private_to_public(k) for a, k in KEYS.items()}
EXPECTED = {"cmd_slot0": 2020, "cmd_slot1": 6477, "cmd_link4": 32, "block_4x18_signed": 123552}


class SignedChain(Chain):
    """``Chain`` (tests/test_circuit_block.py: engine, commitment, builder, prover state at
    the test depths) whose commands are signed by their account's key unless the test asks
    otherwise, with witnesses for the signed test size."""

    def __init__(self, **limits: int) -> None:
        # a signed venue's engine: signed intents are single-use (the replay mark)
        super().__init__(signed_nonces=True, **limits)

    def place(self, *args: object, **kw: object) -> PlaceOrder:  # type: ignore[override]
        """``Chain.place`` with its seq as the client id (a nonce above the account's)."""
        o = super().place(*args, **kw)  # type: ignore[arg-type]
        return msgspec.structs.replace(o, cl_ord_id=o.seq)

    def signed(self, cmd: Command) -> Command:
        """``cmd`` signed by its account's key; a signed type without a client id gets its
        seq as the client id (its nonce: above every earlier one of the account)."""
        if not is_signed_type(cmd):
            return cmd
        if not cmd.cl_ord_id:  # type: ignore[union-attr]
            cmd = msgspec.structs.replace(cmd, cl_ord_id=cmd.seq)  # type: ignore[type-var]
        return sign_command(KEYS[cmd.account], cmd)  # type: ignore[type-var]

    def add(self, account: int) -> AddAccount:
        x, y = PUB[account]
        return AddAccount(*self.n(), account, x, y)

    def seal(self, cmds: Sequence[Command]) -> Block:
        """Submit ``cmds`` (signed as they are) as one block; the state is not advanced."""
        for c in cmds:
            self.builder.submit(c)
        b = self.builder.seal()
        self.blocks.append(b)
        self.pre.append(self.state.copy())
        return b

    def block(self, cmds: Sequence[Command]) -> BlockWitness:
        b = self.seal([self.signed(c) for c in cmds])
        w = self.state.advance(b, PARAMS)
        self.witnesses.append(w)
        return w


def _kinds(w: BlockWitness) -> list[str]:
    return ["+".join(k) for k in w.command_kinds]


@pytest.fixture(scope="module")
def mix() -> SignedChain:
    """Accounts 0 and 1 with keys; then rest, rest behind (PUT), rest, withdraw; then a fill,
    a cancel, a replace (move), a deposit."""
    c = SignedChain()
    mid = MARKET.market_id
    c.block([c.add(0), Deposit(*c.n(), 0, 10**12), c.add(1), Deposit(*c.n(), 1, 10**12)])
    a1, a2 = c.place(1, Side.SELL, 100_010, 2), c.place(1, Side.SELL, 100_020, 2)
    bid = c.place(0, Side.BUY, 99_000, 1)
    c.block([a1, a2, bid, Withdraw(*c.n(), 0, 1_000)])
    c.block(
        [
            c.place(0, Side.BUY, 100_010, 1, TimeInForce.IOC),
            CancelOrder(*c.n(), 1, mid, a2.seq),
            ReplaceOrder(*c.n(), 0, mid, bid.seq, 99_500, 1),
            Deposit(*c.n(), 1, 7),
        ]
    )
    return c


@pytest.fixture(scope="module")
def block_circuit() -> BlockCircuit:
    return BlockCircuit(MARKET, SIZE, wrapper_dir=CIRCUITS, cache_dir=CACHE)


@pytest.fixture(scope="module")
def compiled(block_circuit: BlockCircuit) -> CompiledCircuit:
    return block_circuit.compile()


def _compile(name: str) -> CompiledCircuit:
    return compile_circuit(CIRCUITS / f"{name}_test.circom", cache_dir=CACHE)


# --- the witness builder -----------------------------------------------------------------------


def test_mix_schedule_and_slots(mix: SignedChain) -> None:
    assert _kinds(mix.witnesses[1]) == ["REST_BEGIN", "REST_BEGIN+PUT", "REST_BEGIN", "WITHDRAW"]
    assert _kinds(mix.witnesses[2]) == [
        "FILL_BEGIN+END",
        "CANCEL_DETACH+CANCEL_RELINK",
        "RP_HEAD+RP_REST",
        "DEPOSIT",
    ]
    w = mix.witnesses[2]
    assert w.inputs["sigOn"] == [1, 0, 1, 0]  # Place, Replace signed; Cancel, Deposit not
    assert w.inputs["signer"][0] == list(PUB[0])  # type: ignore[index]
    assert mix.state.root == mix.com.root


def _rejects(cmds_for: object, error: type[Exception], match: str) -> None:
    """A fresh chain with funded, keyed accounts 0 and 1; the block from ``cmds_for(chain)``
    must fail witness generation with ``error``."""
    c = SignedChain()
    c.block([c.add(0), Deposit(*c.n(), 0, 10**12), c.add(1), Deposit(*c.n(), 1, 10**12)])
    b = c.seal(cmds_for(c))  # type: ignore[operator]
    with pytest.raises(error, match=match):
        c.state.copy().advance(b, PARAMS)


def test_witness_refuses_bad_signatures() -> None:
    def other_key(c: SignedChain) -> list[Command]:
        return [sign_command(KEYS[1], c.place(0, Side.BUY, 99_000, 1))]

    def other_price(c: SignedChain) -> list[Command]:
        o = sign_command(KEYS[0], c.place(0, Side.BUY, 99_000, 1))
        return [msgspec.structs.replace(o, price=99_001)]

    def other_qty(c: SignedChain) -> list[Command]:
        o = sign_command(KEYS[0], c.place(0, Side.BUY, 99_000, 1))
        return [msgspec.structs.replace(o, qty=2)]

    def missing(c: SignedChain) -> list[Command]:
        return [c.place(0, Side.BUY, 99_000, 1)]

    def garbage(c: SignedChain) -> list[Command]:
        w = Withdraw(*c.n(), 0, 5)
        return [msgspec.structs.replace(w, cl_ord_id=w.seq, sig=b"\x01" * 64)]

    _rejects(other_key, InvalidCommandSignatureError, "account 0")
    _rejects(other_price, InvalidCommandSignatureError, "does not verify")
    _rejects(other_qty, InvalidCommandSignatureError, "does not verify")
    _rejects(missing, SignatureEncodingError, "missing")
    _rejects(garbage, SignatureEncodingError, "Withdraw")


def test_unsigned_types_and_rejections_need_no_signature() -> None:
    c = SignedChain()
    c.block([c.add(0), Deposit(*c.n(), 0, 10**12)])
    o = c.place(0, Side.BUY, 99_000, 1)
    c.block([o])
    # a cancel and a deposit (unsigned types); a FOK that cannot fill (rejected): no sig
    b = c.seal(
        [
            CancelOrder(*c.n(), 0, MARKET.market_id, o.seq),
            Deposit(*c.n(), 0, 1),
            c.place(0, Side.SELL, 100_000, 1, TimeInForce.FOK),
        ]
    )
    w = c.state.advance(b, PARAMS)
    assert _kinds(w) == ["CANCEL_HEAD", "DEPOSIT", ""]  # the rejected FOK takes no step
    assert w.inputs["sigOn"] == [0, 0, 0, 0]


def test_an_accepted_ioc_that_trades_nothing_raises_the_nonce() -> None:
    # On a signed venue the engine accepts the IOC (raising the account's replay mark) and
    # cancels it at once: no book change, but an account change, so PLACE + END (not stepless),
    # and its signature is needed like any accepted signed command.
    c = SignedChain()
    c.block([c.add(0), Deposit(*c.n(), 0, 10**12)])
    ioc = c.place(0, Side.SELL, 100_000, 1, TimeInForce.IOC)
    w = c.block([ioc])
    assert _kinds(w) == ["PLACE+END"] and w.inputs["sigOn"][0] == 1  # type: ignore[index]
    assert c.engine.snapshot().accounts[0].nonce == ioc.seq == c.state.accounts.fields[0].nonce
    unsigned = c.place(0, Side.SELL, 100_000, 1, TimeInForce.IOC)
    b = c.seal([unsigned])
    with pytest.raises(SignatureEncodingError, match="missing"):
        c.state.copy().advance(b, PARAMS)


def test_a_replayed_signed_intent_is_refused() -> None:
    # The honest engine rejects the second copy of a signed Place (STALE_NONCE): no step, no
    # state change. An operator whose engine accepts it anyway cannot build a witness: the
    # account's replay mark already holds that client id.
    c = SignedChain()
    c.block([c.add(0), Deposit(*c.n(), 0, 10**12)])
    first = c.signed(c.place(0, Side.BUY, 99_000, 1))
    c.block([first])
    c.block([CancelOrder(*c.n(), 0, MARKET.market_id, first.seq)])  # its client id is free
    seq, ts = c.n()
    again = msgspec.structs.replace(first, seq=seq, ts=ts)  # same intent, same signature
    w = c.block([again])
    assert _kinds(w) == [""] and c.state.root == c.com.root
    cheat = SignedChain()  # the same blocks, then the replay mark switched off: accepted
    for b in c.blocks[:3]:
        for cmd in b.commands:
            cheat.builder.submit(cmd)
        assert cheat.builder.seal().header == b.header
    cheat.engine.signed_nonces = False
    cheat.builder.submit(again)
    forged = cheat.builder.seal()
    assert [type(e).__name__ for e in forged.events] == ["OrderAccepted"]
    state = c.pre[3].copy()
    with pytest.raises(ValueError, match="nonce"):
        state.advance(forged, PARAMS)


# --- the slot and the link on their own ---------------------------------------------------------


def test_templates_follow_house_rules() -> None:
    for name in ("cmdslot", "cmdlink"):
        text = (ROOT / "proofs" / "circuits" / f"{name}.circom").read_text()
        assert text.startswith("pragma circom 2.0.0;\n") and "component main" not in text
        templates = text.split("template ")[1:]
        assert len(templates) == 1, name  # one template per file
        assert "assert(" in templates[0].split("}")[0]
        lines = text.splitlines()
        for i, line in enumerate(lines):  # every hint is constrained on the next line
            if "<--" in line.split("//")[0]:
                target = line.split("<--")[0].strip()
                assert target in lines[i + 1] and "===" in lines[i + 1], line


def test_template_constraint_counts() -> None:
    for name in ("cmd_slot0", "cmd_slot1", "cmd_link4"):
        assert _compile(name).constraints == EXPECTED[name], name


def test_slot_proves_and_refuses(mix: SignedChain) -> None:
    slot = _compile("cmd_slot1")
    w = mix.witnesses[2]
    for i in range(4):  # Place (signed), Cancel, Replace (signed), Deposit
        slot.prove(*w.slot_inputs(i))
    inputs, public = w.slot_inputs(0)
    # the signature of another price: refused
    other = sign_command(KEYS[0], msgspec.structs.replace(mix.blocks[2].commands[0], price=1))
    s = command_signature(other)
    bad = {**inputs, "sig": [s.S, *s.R8]}
    with pytest.raises(UnsatisfiedWitnessError):
        slot.prove(bad, public)
    # another account's key (and its own valid signature of this intent): the view's key
    # hash changes with it, so the step's leaf check catches it (test below); here the
    # verifier accepts, and the output says whose key it was
    cmd1 = msgspec.structs.replace(mix.blocks[2].commands[0], sig=b"")
    s1 = command_signature(sign_command(KEYS[1], cmd1))
    forged = {**inputs, "signer": list(PUB[1]), "sig": [s1.S, *s1.R8]}
    pub1 = list(public)
    pub1[1 + CV_PKHASH] = hash2(*PUB[1])
    slot.prove(forged, pub1)
    # a cancel cannot claim a checked signature; sigOn off on a Place leaves CF_SIGNED 0
    c_in, c_pub = w.slot_inputs(1)
    f = 1 + CV_FLAGS  # the flags' place in the public signals (hash first)
    with pytest.raises(UnsatisfiedWitnessError):
        slot.prove({**c_in, "sigOn": 1}, [*c_pub[:f], c_pub[f] + SIGNED_BIT, *c_pub[f + 1 :]])
    off_pub = [*public[:f], public[f] - SIGNED_BIT, *public[f + 1 :]]
    slot.prove({**inputs, "sigOn": 0}, off_pub)
    # position: ts before the previous command's, or seq not firstSeq + index
    i2, p2 = w.slot_inputs(2)
    late = i2["cmd"][2] + 1  # type: ignore[index]
    with pytest.raises(UnsatisfiedWitnessError):
        slot.prove({**i2, "prevTs": late}, [*p2[:-1], late])
    with pytest.raises(UnsatisfiedWitnessError):
        slot.prove({**i2, "index": 3}, [*p2[:-2], 3, p2[-1]])


def test_unsigned_slot_needs_no_signature(mix: SignedChain) -> None:
    slot = _compile("cmd_slot0")
    inputs, public = mix.witnesses[2].slot_inputs(0)
    slot.prove({**inputs, "sig": [0, 0, 0]}, public)


def test_link_selects_the_accepted_command_of_that_rank() -> None:
    link = _compile("cmd_link4")
    # fields: rank among accepted commands, accepted flag, then the view; slot 1 is rejected
    accepted = [1, 0, 1, 1]
    ranks = [sum(accepted[:i]) for i in range(4)]
    slots = [[ranks[i], accepted[i], *(10 * i + f for f in range(5))] for i in range(4)]

    def inputs(begin: int, val: list[int]) -> dict[str, object]:
        return {"begin": begin, "val": val, "slots": slots}

    link.prove(inputs(1, slots[2]), [1])  # the command of rank 1 is slot 2
    link.prove(inputs(0, [0] * 7), [0])  # not a beginning step: nothing checked
    for bad in (
        [*slots[2][:6], slots[2][6] + 1],  # one field differs
        [1, 1, *slots[3][2:]],  # another slot's fields under rank 1
        [1, 1, *slots[1][2:]],  # the rejected slot (its rank is 1 too; Block passes val[1] = 1)
        [3, 1, *slots[3][2:]],  # no command of rank 3
    ):
        with pytest.raises(UnsatisfiedWitnessError):
            link.prove(inputs(1, bad), [1])


# --- signed blocks ------------------------------------------------------------------------------


def test_signed_block_constraints(compiled: CompiledCircuit) -> None:
    assert compiled.constraints == EXPECTED["block_4x18_signed"]


def test_signed_mix_proves_and_verifies(
    mix: SignedChain, block_circuit: BlockCircuit, compiled: CompiledCircuit
) -> None:
    vk = compiled.verifying_key
    proofs = [block_circuit.prove(mix.witnesses[i]) for i in (1, 2)]
    assert verify_block(mix.blocks[1].header, proofs[0], vk)
    assert verify_block(mix.blocks[2].header, proofs[1], vk)
    assert not verify_block(mix.blocks[2].header, proofs[0], vk)
    pub = mix.witnesses[2].public_signals
    for k in range(len(pub)):  # the correct signatures, a tampered public input
        bad = list(pub)
        bad[k] += 1
        assert not compiled.verify(proofs[1], bad)


def _forged(w: BlockWitness, slot: int, **changes: object) -> dict[str, object]:
    inputs = copy.deepcopy(w.inputs)
    for name, value in changes.items():
        arr = inputs[name]
        assert isinstance(arr, list)
        arr[slot] = value
    return inputs


def test_forged_signatures_do_not_prove(mix: SignedChain, compiled: CompiledCircuit) -> None:
    w, b = mix.witnesses[2], mix.blocks[2]
    place = b.commands[0]
    assert isinstance(place, PlaceOrder)
    # 1. signed by account 1's key (a valid signature of the same intent under that key),
    # its key hash carried by every step of the command: the taker's leaf holds account 0's key
    s1 = command_signature(sign_command(KEYS[1], msgspec.structs.replace(place, sig=b"")))
    inputs = _forged(w, 0, signer=list(PUB[1]), sig=[s1.S, *s1.R8])
    pk1 = hash2(*PUB[1])
    for i in range(w.steps_per_command[0]):
        cmd = list(inputs["cmd"][i])  # type: ignore[index]
        cmd[CV_PKHASH] = pk1
        inputs["cmd"][i] = cmd  # type: ignore[index]
    with pytest.raises(UnsatisfiedWitnessError):
        compiled.prove(inputs, w.public_signals)
    # 2. a signature over another price, and over another quantity
    for field, value in (("price", place.price - 1), ("qty", place.qty + 1)):
        s = command_signature(
            sign_command(KEYS[0], msgspec.structs.replace(place, **{field: value}))
        )
        with pytest.raises(UnsatisfiedWitnessError):
            compiled.prove(_forged(w, 0, sig=[s.S, *s.R8]), w.public_signals)
    # 3. no signature: the slot's check switched off (CF_SIGNED cleared in every step's view)
    inputs = _forged(w, 0, sigOn=0)
    n = w.steps_per_command[0]
    for i in range(n):
        cmd = list(inputs["cmd"][i])  # type: ignore[index]
        cmd[CV_FLAGS] -= SIGNED_BIT
        inputs["cmd"][i] = cmd  # type: ignore[index]
    assert w.steps[0].kind == StepKind.FILL_BEGIN  # a taker that begins with its fill
    with pytest.raises(UnsatisfiedWitnessError):
        compiled.prove(inputs, w.public_signals)
    # ... or left on with an empty signature
    with pytest.raises(UnsatisfiedWitnessError):
        compiled.prove(_forged(w, 0, sig=[0, 0, 0]), w.public_signals)
