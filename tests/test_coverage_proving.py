"""Proving a venue's stored blocks: real circuit (test size), real prover pool, real store."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import pytest

from matching import AddAccount, Deposit, MassCancel, OrderType, PlaceOrder, Side, TimeInForce
from venue.blockstore import BlockStore
from venue.demo import PROVABLE_GENESIS
from venue.node import Genesis, VenueNode
from venue.proving import PROOF_KIND, prove_blocks, verify_stored
from venue.replay import replay

if TYPE_CHECKING:  # chain_helpers imports this module's venue
    from .chain_helpers import Proven

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def shared_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVENBOOK_CIRCUIT_CACHE", str(ROOT / ".cache" / "circuits"))


class Clock:
    t = 10**18

    def __call__(self) -> int:
        self.t += 1_000_000
        return self.t


def place(account: int, side: Side, price: int, qty: int, tif: TimeInForce = TimeInForce.GTC):
    return PlaceOrder(0, 0, account, 1, 0, side, OrderType.LIMIT, tif, price, qty)


#: The demo venue without signatures: these tests sequence unsigned commands directly
UNSIGNED = msgspec.structs.replace(PROVABLE_GENESIS, signed=False)
#: UNSIGNED without the limits that make every block fit: a block can outgrow S
UNBOUNDED = msgspec.structs.replace(
    UNSIGNED, block_steps=0, step_reserve=0, max_matches=0, max_open_orders=0
)


def venue(path: Path, *batches: list, genesis: Genesis = UNSIGNED) -> None:
    node = VenueNode(path, genesis, engine="reference", fsync=False, clock=Clock())
    for batch in batches:
        node.submit(batch)
    node.seal()
    node.close()


ACCOUNTS = [AddAccount(0, 0, 1), Deposit(0, 0, 1, 10**9), AddAccount(0, 0, 2),
            Deposit(0, 0, 2, 10**9)]  # fmt: skip
TRADES = [
    place(1, Side.SELL, 100_010, 5),
    place(1, Side.SELL, 100_020, 5),
    place(2, Side.BUY, 100_015, 7, TimeInForce.IOC),  # sweeps the best ask, the rest expires
    place(2, Side.BUY, 99_990, 3),
]


def test_prove_store_verify_and_replay_with_proofs(proven: Proven, tmp_path: Path) -> None:
    # the shared venue's three blocks, proved and stored by prove_blocks (chain_helpers)
    data = tmp_path / "venue"
    shutil.copytree(proven.data, data)
    assert verify_stored(data) == [(1, True), (2, True), (3, True)]
    r = replay(data, proofs=True)
    assert r.ok and r.proofs_verified == 3 and r.blocks == 3

    # a tampered proof stored for block 2 is reported like a root mismatch
    store = BlockStore(data / "blocks", first_height=1)
    good = store.get_proof(2)
    assert good is not None and good.kind == PROOF_KIND
    bad = bytearray(good.payload)
    bad[40] ^= 1
    store.put_proof(2, PROOF_KIND, bytes(bad))
    store.close()
    assert verify_stored(data) == [(1, True), (2, False), (3, True)]
    r = replay(data, proofs=True)
    assert not r.ok and r.mismatch.height == 2 and r.mismatch.field == "proof"


def test_block_outside_the_circuit_is_reported_and_nothing_after_it_proved(
    tmp_path: Path,
) -> None:
    # Ten resting bids, then one block whose mass cancel needs more steps than the test-size
    # circuit has (12): it is reported, and nothing from it on is proved.
    bids = [place(1, Side.BUY, 99_000 + i, 1) for i in range(10)]
    crowded = [
        MassCancel(0, 0, 1, 1),
        Deposit(0, 0, 2, 5),
        Deposit(0, 0, 2, 5),
        Deposit(0, 0, 2, 5),
    ]
    venue(tmp_path, ACCOUNTS, bids, crowded, TRADES, genesis=UNBOUNDED)
    # 4-command blocks: accounts | 4 bids | 4 bids | 2 bids + mass cancel + deposit | ...
    # blocks 1-3 already carry (placeholder) proofs, so only witnesses are built, none proved
    store = BlockStore(tmp_path / "blocks", first_height=1)
    for h in range(1, 4):
        store.put_proof(h, PROOF_KIND, b"placeholder")
    store.close()
    report = prove_blocks(tmp_path, workers=1)
    assert report.unsupported is not None and report.unsupported[0] == 4
    assert "step" in report.unsupported[1].lower()
    assert report.proven == [] and not report.failed


def test_venue_that_does_not_fit_the_circuit_is_refused(tmp_path: Path) -> None:
    from venue.workload import default_markets

    VenueNode(tmp_path, Genesis(default_markets(), account_depth=8, order_depth=10)).close()
    with pytest.raises(ValueError, match="depths"):
        prove_blocks(tmp_path)


def test_circuit_signedness_follows_the_venue() -> None:
    from proofs.verify import TEST_SIZE, TEST_SIZE_SIGNED
    from venue.proving import circuit_for

    assert PROVABLE_GENESIS.signed
    assert circuit_for(PROVABLE_GENESIS).size == TEST_SIZE_SIGNED
    assert circuit_for(UNSIGNED).size == TEST_SIZE
    assert circuit_for(PROVABLE_GENESIS, TEST_SIZE_SIGNED).params.signed
    # a signed venue's orders need a signed circuit, an unsigned venue's an unsigned one
    with pytest.raises(ValueError, match=r"venue is signed.*unsigned"):
        circuit_for(PROVABLE_GENESIS, TEST_SIZE)
    with pytest.raises(ValueError, match=r"venue is unsigned.*signed"):
        circuit_for(UNSIGNED, TEST_SIZE_SIGNED)


def test_a_venue_that_declares_another_size_is_proved_at_that_size(tmp_path: Path) -> None:
    """A venue that does not fit the test size but cuts its blocks by positions gets the
    circuit its genesis declares (compiled on first use); one that does not cut by positions
    is refused as before (``test_venue_that_does_not_fit_the_circuit_is_refused``)."""
    from proofs.verify import PRODUCTION_SIZE, TEST_SIZE_SIGNED
    from venue.demo import PRODUCTION_GENESIS
    from venue.proving import circuit_for, genesis_size
    from venue.serve import load_genesis

    assert genesis_size(PRODUCTION_GENESIS) == PRODUCTION_SIZE
    assert circuit_for(PRODUCTION_GENESIS).size == PRODUCTION_SIZE
    assert load_genesis("production") is PRODUCTION_GENESIS
    assert load_genesis("demo") is PROVABLE_GENESIS
    # the venue opens at that size (its largest command fits an empty block)
    VenueNode(tmp_path / "production", PRODUCTION_GENESIS).close()
    # the test size still wins for a venue that fits it
    assert genesis_size(PROVABLE_GENESIS) == TEST_SIZE_SIGNED
    smaller = msgspec.structs.replace(PROVABLE_GENESIS, block_commands=3, block_steps=16)
    assert circuit_for(smaller).size == TEST_SIZE_SIGNED
    # the declared size follows the venue: an unsigned one gets the unsigned circuit
    unsigned = msgspec.structs.replace(PRODUCTION_GENESIS, signed=False)
    assert circuit_for(unsigned).size == dataclasses.replace(PRODUCTION_SIZE, signed=False)


def test_a_venue_of_two_markets_is_cut_one_market_per_block_and_proved(tmp_path: Path) -> None:
    """A venue of two markets that cuts its blocks for the circuit (``one_market_blocks``):
    its builder closes a block before a command for the other market, it refuses a mass
    cancel of every market (nothing of that batch is sequenced), and every stored block is
    proved, verified from its header, replayed with its proof and published on chain, where
    each market has its own price feed."""
    from matching import ALL_MARKETS, Block
    from matching.block import book_markets
    from matching.encoding import decoder
    from oracle.chain import open_chain
    from oracle.feed import PriceFeed
    from venue.demo_markets import TWO_MARKET_GENESIS
    from venue.node import InvalidCommand
    from venue.onchain import publish_stored
    from venue.proving import circuit_for

    from .test_coverage_accounttrace import TWO

    two = msgspec.structs.replace(UNSIGNED, markets=TWO)
    assert two == TWO_MARKET_GENESIS  # the demo's: one set of keys for both
    assert two.one_market_blocks and not UNSIGNED.one_market_blocks
    assert not msgspec.structs.replace(UNBOUNDED, markets=TWO).one_market_blocks
    assert circuit_for(two).markets == TWO

    def at(market: int, cmd: PlaceOrder) -> PlaceOrder:
        return msgspec.structs.replace(cmd, market=market)

    node = VenueNode(tmp_path, two, engine="reference", fsync=False, clock=Clock())
    node.submit(ACCOUNTS)
    # both markets in one batch: the builder cuts between them
    node.submit([at(1, TRADES[0]), at(2, place(1, Side.SELL, 40_010, 2)), at(1, TRADES[2])])
    height = node.height
    with pytest.raises(InvalidCommand, match="every market"):
        node.submit([Deposit(0, 0, 2, 5), MassCancel(0, 0, 1, ALL_MARKETS)])
    assert node.height == height and node.engine.open_orders(1, ALL_MARKETS) == 1
    node.submit([MassCancel(0, 0, 1, 2), at(2, place(2, Side.BUY, 39_990, 1)), Deposit(0, 0, 2, 5)])
    node.seal()
    node.close()
    store = BlockStore(tmp_path / "blocks", first_height=1, read_only=True)
    blocks = [store.get(h) for h in range(1, store.last_height + 1)]
    store.close()
    decoded = [decoder(Block).decode(b) for b in blocks if b is not None]
    touched = [sorted(book_markets(b.events)) for b in decoded]
    assert all(len(t) <= 1 for t in touched) and [1] in touched and [2] in touched, touched
    report = prove_blocks(tmp_path, workers=1)
    n = len(decoded)
    assert report.proven == list(range(1, n + 1)) and not report.failed, report
    assert verify_stored(tmp_path) == [(h, True) for h in range(1, n + 1)]
    r = replay(tmp_path, proofs=True)
    assert r.ok and r.proofs_verified == n
    # published as a venue publishes: one feed per market, each its market's proven price
    with open_chain("embedded") as chain:
        pub = publish_stored(tmp_path, chain, deployment_file=tmp_path / "chain.json")
        assert pub.deployment is not None and [x.height for x in pub.published] == list(
            range(1, n + 1)
        )
        feeds = [PriceFeed(chain, m.feed) for m in pub.deployment.markets]
        assert [f.description() for f in feeds] == [f"{m.symbol} / ProvenBook" for m in TWO]
        for i, f in enumerate(feeds):
            assert f.latest_round().answer == decoded[-1].header.markets[i].price
