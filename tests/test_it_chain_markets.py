"""A venue of two markets on chain (in-process EVM): ``BlockVerifierM``, ``MarketCommitments``
and one ``MarketView`` + ``ProvenPriceFeed`` per market, fed with real proofs of real
two-market blocks (``BlockM(4, 18, 4, 4, 2)``, the keys of tests/test_circuit_block_markets.py).

Each feed answers its own market's proven price; a block whose public inputs were tampered
with (another market's settlement, a wrong pre-state root, a swapped proof) is refused with
the contract's error and changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from matching.block import Block
from matching.types import AddAccount, Deposit, Side, TimeInForce
from oracle.chain import Chain, open_chain
from oracle.deploy import Deployment, DeploymentError, deploy_venue
from oracle.feed import PriceFeed
from oracle.publish import BlockRejected, Publisher, publish_group
from oracle.reverts import ContractRevert
from proofs.batch import BatchCircuit
from proofs.verify import TEST_SIZE, BlockCircuit
from proofs.witness import public_signals

from .test_circuit_block_markets import CACHE, CIRCUITS, MATCHES, TwoMarkets
from .test_coverage_accounttrace import TWO

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def proven() -> list[tuple[Block, bytes]]:
    """Six two-market blocks with their proofs: accounts (two blocks); asks in market 2; a
    sweep in market 2; a trade in market 1; a bid in market 2."""
    circuit = BlockCircuit(
        TWO, TEST_SIZE, wrapper_dir=CIRCUITS, cache_dir=CACHE, max_matches=MATCHES
    )
    v = TwoMarkets()
    blocks = [
        v.block([AddAccount(*v.n(), a) for a in range(3)] + [Deposit(*v.n(), 0, 10**7)]),
        v.block([Deposit(*v.n(), a, 10**7) for a in (1, 2)]),
        v.block([v.place(1, 2, Side.SELL, 40_010, 2), v.place(2, 2, Side.SELL, 40_020, 2)]),
        v.block([v.place(0, 2, Side.BUY, 40_020, 3, TimeInForce.IOC)]),
        v.block(
            [
                v.place(1, 1, Side.SELL, 100_000, 2),
                v.place(0, 1, Side.BUY, 100_000, 1, TimeInForce.IOC),
            ]
        ),
        v.block([v.place(2, 2, Side.BUY, 39_000, 1)]),
    ]
    return [(b, circuit.prove(w)) for b, w in blocks]


@pytest.fixture(scope="module")
def chain() -> Chain:
    with open_chain("embedded") as c:
        yield c  # type: ignore[misc]


def _deploy(chain: Chain, first: Block) -> tuple[Deployment, Publisher]:
    vk = BlockCircuit(
        TWO, TEST_SIZE, wrapper_dir=CIRCUITS, cache_dir=CACHE, max_matches=MATCHES
    ).verifying_key
    d = deploy_venue(chain, vk, start=first.header, descriptions=["PB1 / test", "PB2 / test"])
    return d, Publisher(chain, d)


def test_each_market_has_its_own_proven_feed(
    chain: Chain, proven: list[tuple[Block, bytes]]
) -> None:
    d, pub = _deploy(chain, proven[0][0])
    assert [m.market_id for m in d.markets] == [1, 2] and d.feed == d.markets[0].feed
    # one block alone, then the rest in one transaction (one pairing check for all)
    pub.publish(proven[0][0].header, proven[0][1])
    done = publish_group(pub, [(b.header, p) for b, p in proven[1:]])
    assert [x.height for x in done] == [2, 3, 4, 5, 6] and pub.latest_height == 6
    feeds = [PriceFeed(chain, m.feed) for m in d.markets]
    assert [f.description() for f in feeds] == ["PB1 / test", "PB2 / test"]
    for b, _ in proven:
        h = b.header.height
        for i, f in enumerate(feeds):
            want = b.header.markets[i]
            assert f.round(h).answer == want.price
            got = f.details(h)
            assert (got.carried, got.volume, got.trade_count) == (
                want.carried, want.volume, want.trade_count,
            )  # fmt: skip
    # the sweep traded in market 2 only: market 1's price was carried, market 2's was not
    sweep = proven[3][0].header.markets
    assert feeds[0].details(4).carried and not feeds[1].details(4).carried
    assert feeds[1].round(4).answer == sweep[1].price != sweep[0].price
    assert feeds[0].latest_round().answer == proven[4][0].header.markets[0].price


def test_tampered_blocks_are_refused_on_chain(
    chain: Chain, proven: list[tuple[Block, bytes]]
) -> None:
    _, pub = _deploy(chain, proven[0][0])
    publish_group(pub, [(b.header, p) for b, p in proven[:3]])
    b, proof = proven[3]  # the sweep in market 2
    # market 1's settlement, carried, moved by one tick
    h = b.header
    moved = msgspec.structs.replace(h.markets[0], price=h.markets[0].price + 1)
    for header, name in (
        (msgspec.structs.replace(h, markets=(moved, h.markets[1])), "InvalidProof"),
        (msgspec.structs.replace(h, pre_state_root=h.post_state_root), "PreStateRootMismatch"),
    ):
        with pytest.raises(BlockRejected) as e:
            pub.publish(header, proof)
        assert isinstance(e.value.revert, ContractRevert) and e.value.revert.name == name
    with pytest.raises(BlockRejected, match="InvalidProof"):
        pub.publish(h, proven[4][1])  # another block's proof
    # the raw call: one input short, or an input outside the field
    x = public_signals(h)
    fn = pub.contract.functions.submitBlock
    with pytest.raises(ContractRevert, match="BadInputLength"):
        pub._transact(fn(x[:-1], proof), None)
    bad = [*x[:-1], 1 << 255]
    with pytest.raises(ContractRevert, match="InputOutOfField"):
        pub._transact(fn(bad, proof), None)
    assert pub.latest_height == 3
    pub.publish(h, proof)  # the honest block still lands
    assert pub.latest_height == 4
    with pytest.raises(ValueError, match="one market"):
        pub.publish_batch([h], proof)


def test_the_key_must_match_the_markets(chain: Chain, proven: list[tuple[Block, bytes]]) -> None:
    one = BlockCircuit(TWO[0], TEST_SIZE, cache_dir=CACHE, wrapper_dir=CIRCUITS).verifying_key
    with pytest.raises(DeploymentError, match="2 markets"):
        deploy_venue(chain, one, start=proven[0][0].header)
    vk = BlockCircuit(
        TWO, TEST_SIZE, wrapper_dir=CIRCUITS, cache_dir=CACHE, max_matches=MATCHES
    ).verifying_key
    with pytest.raises(DeploymentError, match="one market"):
        deploy_venue(chain, vk, start=proven[0][0].header, batch_vk=vk)
    with pytest.raises(DeploymentError, match="descriptions"):
        deploy_venue(chain, vk, start=proven[0][0].header, descriptions=["only one"])
    two = BlockCircuit(TWO, TEST_SIZE, wrapper_dir=CIRCUITS, cache_dir=CACHE)
    with pytest.raises(ValueError, match="one market; this venue has 2"):
        BatchCircuit(two, 2)  # `provenbook publish --batch` says so and exits 2
