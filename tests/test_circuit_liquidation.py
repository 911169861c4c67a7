"""Liquidation orders in the block proof: the venue closes a position under maintenance margin
with an unsigned IOC order (``OrderType.LIQUIDATION``), and the circuit checks the engine's rule
(``ReferenceEngine._liquidatable``) where it checks an order's margin: nothing open in the
market, the order closes part or all of the position, equity below maintenance.

The venue is real (reference engine, commitment, block builder at the test size): account 1
buys 10 at 100,000 on exactly its initial margin (100,000), the market trades at 94,000, which
leaves it 40,000 of equity against 47,000 of maintenance; the keeper mass-cancels its resting
order, and a liquidation sells its 10 into account 0's bids of 4 at 93,000 and 3 at 92,000 (the
rest, 3, expires). An operator who liquidates a healthy account, more than the position, the
wrong side, or an account with a resting order has a block no proof verifies: each is sealed by
an engine whose rule was patched out, its witness built with the Python mirror patched out too,
and proving it must fail.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest

import proofs.accounttrace as accounttrace
from matching import (
    AddAccount,
    Deposit,
    MassCancel,
    OrderType,
    PlaceOrder,
    ReferenceEngine,
    Side,
    TimeInForce,
)
from matching.types import Command
from proofs.circom import UnsatisfiedWitnessError
from proofs.signing import is_signed_type
from proofs.verify import TEST_SIZE, TEST_SIZE_SIGNED, BlockCircuit, verify_block

from .test_circuit_block import CACHE, CIRCUITS, MARKET, Chain
from .test_circuit_signed import SignedChain

MID = MARKET.market_id


def liquidation(c: Chain, account: int, side: Side, qty: int, price: int = 90_000) -> PlaceOrder:
    """What the venue's keeper sends: unsigned, IOC, client id 0."""
    seq, ts = c.n()
    return PlaceOrder(
        seq, ts, account, MID, 0, side, OrderType.LIQUIDATION, TimeInForce.IOC, price, qty
    )


def under_water(c: Chain) -> None:
    """Blocks 1-4 of the module docstring's venue; account 1 is liquidatable after them."""
    add = c.add if isinstance(c, SignedChain) else (lambda a: AddAccount(*c.n(), a))
    c.block([add(0), Deposit(*c.n(), 0, 10**12), add(1), Deposit(*c.n(), 1, 100_000)])
    c.block(
        [
            add(2),
            Deposit(*c.n(), 2, 10**12),
            c.place(0, Side.SELL, 100_000, 10),
            c.place(1, Side.BUY, 100_000, 10, TimeInForce.IOC),
        ]
    )
    c.block(
        [
            c.place(1, Side.SELL, 200_000, 1),  # a resting order: never counted, but refused
            c.place(2, Side.SELL, 94_000, 1),
            c.place(0, Side.BUY, 94_000, 1, TimeInForce.IOC),
        ]
    )
    c.block([c.place(0, Side.BUY, 93_000, 4), c.place(0, Side.BUY, 92_000, 3)])


def _liquidated(c: Chain) -> list[Command]:
    return [
        MassCancel(*c.n(), 1, MID),  # what the keeper sends first
        liquidation(c, 1, Side.SELL, 10),
        liquidation(c, 0, Side.BUY, 9),  # account 0 is short 9 and healthy: refused
        liquidation(c, 1, Side.SELL, 3),  # after it, account 1 (long 3) is healthy: refused
    ]


def _liquidated_venue(c: Chain) -> Chain:
    under_water(c)
    c.block(_liquidated(c))
    return c


@pytest.fixture(scope="module")
def unsigned() -> Chain:
    return _liquidated_venue(Chain())


@pytest.fixture(scope="module")
def signed() -> SignedChain:
    return _liquidated_venue(SignedChain())  # type: ignore[return-value]


@pytest.fixture(scope="module")
def circuit() -> BlockCircuit:
    """The unsigned test circuit, its keys loaded once for the module."""
    c = BlockCircuit(MARKET, TEST_SIZE, wrapper_dir=CIRCUITS, cache_dir=CACHE)
    c.compile()
    return c


def _kinds(c: Chain) -> list[str]:
    return ["+".join(k) for k in c.witnesses[-1].command_kinds]


def test_the_liquidation_schedule(unsigned: Chain, signed: SignedChain) -> None:
    for c in (unsigned, signed):
        assert _kinds(c) == ["MC_BEGIN+MC_HEAD+MC_END", "FILL_BEGIN+FILL+END", "", ""]
        view = c.engine.account_view(1)
        assert view is not None
        assert (view.positions[0].position, view.positions[0].open_sell) == (3, 0)
        assert view.collateral == 100_000 - 4 * 7_000 - 3 * 8_000
        assert c.state.root == c.com.root
    # on a signed venue the liquidation needs no signature and leaves the replay mark
    sv = signed.engine.account_view(1)
    assert sv is not None and sv.nonce == signed.blocks[2].commands[0].cl_ord_id  # type: ignore[union-attr]
    liq = signed.blocks[-1].commands[1]
    assert not is_signed_type(liq) and liq.sig == b""  # type: ignore[union-attr]


def _proves(c: Chain, bc: BlockCircuit) -> None:
    proof = bc.prove(c.witnesses[-1])
    assert verify_block(c.blocks[-1].header, proof, bc.compile().verifying_key)
    assert not verify_block(c.blocks[-2].header, proof, bc.compile().verifying_key)


def test_a_liquidation_proves_and_verifies(unsigned: Chain, circuit: BlockCircuit) -> None:
    _proves(unsigned, circuit)


@pytest.mark.slow  # the default suite proves one live: the demo's margin call (signed venue)
def test_a_signed_venues_liquidation_proves_and_verifies(signed: SignedChain) -> None:
    _proves(signed, BlockCircuit(MARKET, TEST_SIZE_SIGNED, wrapper_dir=CIRCUITS, cache_dir=CACHE))


def test_a_liquidation_that_trades_nothing_takes_no_step() -> None:
    c = SignedChain()
    under_water(c)
    mark_before = c.engine.account_view(1).nonce  # type: ignore[union-attr]
    c.block([MassCancel(*c.n(), 1, MID), liquidation(c, 1, Side.SELL, 10, price=99_000)])
    assert _kinds(c) == ["MC_BEGIN+MC_HEAD+MC_END", ""]
    assert c.engine.account_view(1).nonce == mark_before  # type: ignore[union-attr]


@pytest.fixture
def rule_patched_out(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An operator's engine and witness builder that accept any liquidation order (the
    circuit is the only check left)."""
    monkeypatch.setattr(ReferenceEngine, "_liquidatable", lambda self, a, cmd: True)
    # (and a liquidation with a client id passes the engine's flag check)
    flags_ok = ReferenceEngine._flags_ok
    monkeypatch.setattr(
        ReferenceEngine, "_flags_ok",
        staticmethod(lambda cmd: flags_ok(msgspec.structs.replace(cmd, cl_ord_id=0))),
    )  # fmt: skip
    monkeypatch.setattr(accounttrace, "liquidatable", lambda f, is_buy, qty, m, others=(): True)
    yield


@pytest.mark.parametrize(
    "case",
    [
        "healthy account",
        # both refused by the closed-quantity equality: slow (a proof each)
        pytest.param("beyond the position", marks=pytest.mark.slow),
        pytest.param("wrong side", marks=pytest.mark.slow),
        "resting order",
        "with a client id",
    ],
)
def test_forbidden_liquidations_do_not_prove(
    case: str, rule_patched_out: None, circuit: BlockCircuit
) -> None:
    c = Chain()
    under_water(c)
    cancel = lambda: MassCancel(*c.n(), 1, MID)  # noqa: E731 (seqs are taken in order)
    block: list[Command] = {
        # account 0 is short 9 and far above maintenance; account 2 offers it 9 at 95,000
        "healthy account": lambda: [
            c.place(2, Side.SELL, 95_000, 9), liquidation(c, 0, Side.BUY, 9, 96_000)
        ],
        "beyond the position": lambda: [cancel(), liquidation(c, 1, Side.SELL, 12)],
        "wrong side": lambda: [
            cancel(), c.place(2, Side.SELL, 95_000, 5), liquidation(c, 1, Side.BUY, 5, 96_000)
        ],
        "resting order": lambda: [liquidation(c, 1, Side.SELL, 6)],
        "with a client id": lambda: [
            cancel(), msgspec.structs.replace(liquidation(c, 1, Side.SELL, 10), cl_ord_id=7)
        ],
    }[case]()  # fmt: skip
    w = c.block(block)
    assert any(k[:1] == ("FILL_BEGIN",) for k in w.command_kinds)  # the liquidation ran
    with pytest.raises(UnsatisfiedWitnessError):
        circuit.prove(w)
