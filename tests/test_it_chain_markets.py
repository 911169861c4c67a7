"""A venue of two markets on chain (in-process EVM): ``BlockVerifierM``, ``MarketCommitments``
and one ``MarketView`` + ``ProvenPriceFeed`` per market, fed with real proofs of real
two-market blocks (``BlockM(4, 18, 4, 4, 2)``, the keys of tests/test_circuit_block_markets.py);
and the same venue in optimistic mode (``OptimisticMarketCommitments``), where a proposal that
misstates one market's settlement is refuted by the honest block's proof and each market's
view serves final blocks only.

Each feed answers its own market's proven price; a block whose public inputs were tampered
with (another market's settlement, a wrong pre-state root, a swapped proof) is refused with
the contract's error and changes nothing. What reads the feeds and views is unchanged: options
settle on the second market's feed at that market's price, and ``ProvenMargin`` reading one
market's view opens an account holding positions in both markets, against both marks.

The blocks close two seconds apart, ahead of the chain's clock (the options need an expiry
between two blocks' close times; ``tests/chain_helpers.py`` ``SlowClock`` says why 4e9 s).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from matching.block import Block, BlockHeader
from matching.types import AddAccount, Deposit, Side, TimeInForce
from oracle.artifacts import load_artifact
from oracle.chain import Chain, ChainError, open_chain
from oracle.deploy import Deployment, DeploymentError, deploy_venue
from oracle.feed import PriceFeed
from oracle.margin import MarginFigures, deploy_margin, margin_of
from oracle.optimistic import Optimistic, advance_time, deploy_optimistic
from oracle.options import Options
from oracle.publish import BlockRejected, Publisher, publish_group
from oracle.reverts import ContractRevert, decode_revert
from oracle.token import Token
from proofs.batch import BatchCircuit, BatchError, batch_public_signals, verify_batch
from proofs.circom import UnsatisfiedWitnessError, circuit_stats
from proofs.state import AccountOpening
from proofs.verify import TEST_SIZE, BlockCircuit, CircuitSize
from proofs.witness import BlockWitness, public_signals

from .chain_helpers import refused
from .test_circuit_block_markets import CACHE, CIRCUITS, MATCHES, TwoMarkets
from .test_coverage_accounttrace import TWO

ROOT = Path(__file__).resolve().parents[1]
START_NS = 4_000_000_000 * 10**9
"""The first command's time: October 2096, ahead of any chain's clock."""
MULT = 10_000
"""Options contract size: collateral base units per price unit."""


class Proven(msgspec.Struct, frozen=True):
    blocks: list[tuple[Block, bytes]]
    """The blocks with their proofs, from height 1."""
    openings: dict[int, AccountOpening]
    """Each account opened at the last block."""


@pytest.fixture(scope="module")
def proven() -> Proven:
    """Six two-market blocks with their proofs: accounts (two blocks); asks in market 2; a
    sweep in market 2; a trade in market 1; a bid in market 2. Then every account opened at
    the last block (account 0 is long in both markets)."""
    circuit = BlockCircuit(
        TWO, TEST_SIZE, wrapper_dir=CIRCUITS, cache_dir=CACHE, max_matches=MATCHES
    )
    v = TwoMarkets()
    v.ts = START_NS
    batches = [  # made one at a time: each command takes its time when it is made
        lambda: [AddAccount(*v.n(), a) for a in range(3)] + [Deposit(*v.n(), 0, 10**7)],
        lambda: [Deposit(*v.n(), a, 10**7) for a in (1, 2)],
        lambda: [v.place(1, 2, Side.SELL, 40_010, 2), v.place(2, 2, Side.SELL, 40_020, 2)],
        lambda: [v.place(0, 2, Side.BUY, 40_020, 3, TimeInForce.IOC)],
        lambda: [v.place(1, 1, Side.SELL, 100_000, 2),
                 v.place(0, 1, Side.BUY, 100_000, 1, TimeInForce.IOC)],
        lambda: [v.place(2, 2, Side.BUY, 39_000, 1)],
    ]  # fmt: skip
    blocks = []
    for make in batches:
        blocks.append(v.block(make()))
        v.ts += 2 * 10**9  # the next block closes two seconds later
    return Proven(
        [(b, circuit.prove(w)) for b, w in blocks], {a: v.com.open_account(a) for a in range(3)}
    )


@pytest.fixture(scope="module")
def blocks(proven: Proven) -> list[tuple[Block, bytes]]:
    return proven.blocks


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
    chain: Chain, blocks: list[tuple[Block, bytes]]
) -> None:
    d, pub = _deploy(chain, blocks[0][0])
    assert [m.market_id for m in d.markets] == [1, 2] and d.feed == d.markets[0].feed
    # one block alone, then the rest in one transaction (one pairing check for all)
    pub.publish(blocks[0][0].header, blocks[0][1])
    done = publish_group(pub, [(b.header, p) for b, p in blocks[1:]])
    assert [x.height for x in done] == [2, 3, 4, 5, 6] and pub.latest_height == 6
    feeds = [PriceFeed(chain, m.feed) for m in d.markets]
    assert [f.description() for f in feeds] == ["PB1 / test", "PB2 / test"]
    for b, _ in blocks:
        h = b.header.height
        for i, f in enumerate(feeds):
            want = b.header.markets[i]
            assert f.round(h).answer == want.price
            got = f.details(h)
            assert (got.carried, got.volume, got.trade_count) == (
                want.carried, want.volume, want.trade_count,
            )  # fmt: skip
    # the sweep traded in market 2 only: market 1's price was carried, market 2's was not
    sweep = blocks[3][0].header.markets
    assert feeds[0].details(4).carried and not feeds[1].details(4).carried
    assert feeds[1].round(4).answer == sweep[1].price != sweep[0].price
    assert feeds[0].latest_round().answer == blocks[4][0].header.markets[0].price


def test_tampered_blocks_are_refused_on_chain(
    chain: Chain, blocks: list[tuple[Block, bytes]]
) -> None:
    _, pub = _deploy(chain, blocks[0][0])
    publish_group(pub, [(b.header, p) for b, p in blocks[:3]])
    b, proof = blocks[3]  # the sweep in market 2
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
        pub.publish(h, blocks[4][1])  # another block's proof
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
    with pytest.raises(BlockRejected, match="BatchesDisabled"):
        pub.publish_batch([h], proof)  # deployed without a batch verifier


def test_the_key_must_match_the_markets(chain: Chain, blocks: list[tuple[Block, bytes]]) -> None:
    one = BlockCircuit(TWO[0], TEST_SIZE, cache_dir=CACHE, wrapper_dir=CIRCUITS).verifying_key
    with pytest.raises(DeploymentError, match="2 markets"):
        deploy_venue(chain, one, start=blocks[0][0].header)
    vk = BlockCircuit(
        TWO, TEST_SIZE, wrapper_dir=CIRCUITS, cache_dir=CACHE, max_matches=MATCHES
    ).verifying_key
    with pytest.raises(DeploymentError, match="not a batch circuit of 2 markets"):
        deploy_venue(chain, vk, start=blocks[0][0].header, batch_vk=vk)  # a block key
    with pytest.raises(DeploymentError, match="descriptions"):
        deploy_venue(chain, vk, start=blocks[0][0].header, descriptions=["only one"])


def test_options_settle_on_the_second_markets_feed(chain: Chain, proven: Proven) -> None:
    """A European call on market 2's feed, expiring in the second the sweep closed, settles at
    market 2's price once a later block is proven, never at market 1's."""
    blocks = proven.blocks
    d, pub = _deploy(chain, blocks[0][0])
    token = Token.deploy_test_collateral(chain)
    opt = Options.deploy(
        chain, d.markets[1].feed, token.address, multiplier=MULT, max_price_age=600
    )
    writer, holder = chain.accounts[1:3]
    for who in (writer, holder):
        token.mint(who, 10**15)
        token.approve(opt.address, 2**256 - 1, sender=who)
    sweep = blocks[3][0].header  # market 2 traded, market 1 carried its price
    p1, p2 = (m.price for m in sweep.markets)
    t4 = sweep.close_ts // 10**9
    assert p1 != p2 and not sweep.markets[1].carried
    call = opt.create_series(
        is_call=True, american=False, strike=p2 - 10, expiry=t4, cap=p2 + 90
    ).value
    assert opt.write(call, 2, sender=writer).value == 2 * 100 * MULT
    opt.transfer_longs(call, holder, 2, sender=writer)
    publish_group(pub, [(b.header, p) for b, p in blocks[:4]])
    chain.w3.testing.timeTravel(t4 + 2)  # type: ignore[attr-defined]  # expired on chain
    with pytest.raises(ContractRevert, match="PriceNotFinal"):
        opt.settle(call)  # only a block closing after t4 fixes the price at t4
    assert blocks[4][0].header.close_ts // 10**9 > t4
    pub.publish(blocks[4][0].header, blocks[4][1])
    assert opt.settle(call).value == p2
    assert opt.redeem(call, 2, sender=holder).value == 2 * 10 * MULT
    assert opt.withdraw(call, sender=writer).value == 2 * 90 * MULT


def test_margin_on_one_markets_view_sums_both_markets(chain: Chain, proven: Proven) -> None:
    """``ProvenMargin`` reads the state root through market 2's view; account 0 is long in both
    markets, so its requirement is each position at its own market's mark and rate."""
    blocks = proven.blocks
    d, pub = _deploy(chain, blocks[0][0])
    rates = [c.mmf_bps for c in TWO]
    margin = deploy_margin(chain, d.markets[1].view, account_depth=4, maintenance_bps=rates)
    o = proven.openings[0]
    assert o.height == 6 and o.state_root() == blocks[5][0].header.post_state_root
    with pytest.raises(ContractRevert, match="UnknownBlock"):
        margin.verify(o)  # block 6 is not on chain yet
    publish_group(pub, [(b.header, p) for b, p in blocks])
    margin.verify(o)
    assert [p[0] for p in o.positions] == [1, 3]  # long 1 in market 1, 3 in market 2
    marks = [m[2] for m in o.markets]
    assert marks == [blocks[4][0].header.markets[0].price, blocks[3][0].header.markets[1].price]
    want = MarginFigures(
        equity=10**7 + sum(p[0] * k - p[3] for p, k in zip(o.positions, marks, strict=True)),
        maintenance=-(-500 * marks[0] // 10**4) - (-1_200 * marks[1] * 3 // 10**4),
    )
    assert margin.margin_of(o) == margin_of(o, rates) == want
    r = msgspec.structs.replace
    moved = (*o.markets[0][:2], marks[0] + 1, *o.markets[0][3:])
    for bad in (
        r(o, markets=(moved, o.markets[1])),  # market 1's mark, though read through market 2
        r(o, markets=o.markets[::-1], positions=o.positions[::-1]),  # the markets swapped
    ):
        assert bad.state_root() != o.state_root()
        with pytest.raises(ContractRevert, match="StateRootMismatch"):
            margin.margin_of(bad)
    with pytest.raises(ContractRevert, match="AccountHealthy"):
        margin.trigger_liquidation(o)


# --------------------------------------------------------------------------------------------
# Optimistic mode

BOND = 10**18 + 1
"""Odd on purpose: the challenger gets half rounded down."""
WINDOW = 3600
PROOF_GAS = 1_000_000
"""Explicit gas for calls that verify a proof and must succeed (skips the estimate)."""


def _moved(h: BlockHeader, market: int, **kw: int) -> BlockHeader:
    """``h`` with fields of one market's settlement changed."""
    ms = list(h.markets)
    ms[market] = msgspec.structs.replace(ms[market], **kw)
    return msgspec.structs.replace(h, markets=tuple(ms))


def _refused(name: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> tuple[Any, ...]:
    with pytest.raises(ContractRevert) as info:
        fn(*args, **kw)
    assert info.value.name == name, info.value
    return info.value.values


def test_optimistic_mode_of_two_markets(chain: Chain, blocks: list[tuple[Block, bytes]]) -> None:
    """Proposals are pending at once for both markets and final after the window; a proposal
    that moves only market 2's carried price is refuted by the honest block's proof (its
    successor discarded, the bond slashed), and each market's feed then answers exactly what
    validity mode answers."""
    vk = BlockCircuit(
        TWO, TEST_SIZE, wrapper_dir=CIRCUITS, cache_dir=CACHE, max_matches=MATCHES
    ).verifying_key
    heads = [b.header for b, _ in blocks]
    op, challenger = chain.accounts[1:3]
    d = deploy_optimistic(
        chain, vk, start=heads[0], operator=op, bond=BOND, challenge_window=WINDOW,
        descriptions=["PB1 / opt", "PB2 / opt"],
    )  # fmt: skip
    opt = Optimistic.of(chain, d)
    assert opt.markets == 2 and [m.market_id for m in d.markets] == [1, 2]
    feeds = [PriceFeed(chain, m.feed) for m in d.markets]
    assert [f.description() for f in feeds] == ["PB1 / opt", "PB2 / opt"]
    opt.post_bond(sender=op)

    # malformed proposals change nothing: one input short, market 2's settle out of its layout
    x = public_signals(heads[0])
    assert len(x) == 8
    assert _refused("BadInputLength", opt.propose_inputs, x[:-1], sender=op) == (8, 7)
    bad = list(x)
    bad[5] |= 1 << 140  # settle[1]
    assert _refused("MalformedPublicInput", opt.propose_inputs, bad, sender=op) == (5,)
    assert opt.latest_pending_height() == 0

    # honest blocks 1..4 are pending at once, per market; nothing is final yet
    for h in heads[:4]:
        assert opt.propose(h, sender=op).value == h.height
    sweep = heads[3]  # market 2 traded, market 1 carried its price
    for i in (0, 1):
        p = opt.pending_block(4, market=i)
        assert p.block.price == sweep.markets[i].price and not p.final
        assert p.block.carried == sweep.markets[i].carried
        assert p.block.cum_price_time == sweep.markets[i].cum_price_time
    with pytest.raises(ValueError, match="market index 2"):
        opt.pending_block(4, market=2)
    beyond = opt.contract.functions.getPendingBlock(4, 2)  # past the client's own check
    assert _refused("UnknownMarket", opt._call, beyond) == (2,)
    assert _refused("UnknownBlock", opt.block, 1, 1) == (1,)
    # block 1 proven early is final at once, and both feeds see it
    assert opt.prove_early(1, blocks[0][1], gas=PROOF_GAS).value == 1
    assert opt.is_final(1) and feeds[1].latest_round().round_id == 1

    # fraud: block 5 (a trade in market 1) proposed with market 2's carried price one tick up,
    # and block 6 on top of it (its post-state root is honest, so the chain accepts it)
    h5 = heads[4]
    fraud = _moved(h5, 1, price=h5.markets[1].price + 1)
    opt.propose(fraud, sender=op)
    opt.propose(heads[5], sender=op)
    assert opt.pending_block(5, market=1).block.price == h5.markets[1].price + 1
    proof5 = blocks[4][1]
    # challenges that prove no fraud, or another block, change nothing
    assert _refused("NoFraud", opt.challenge, 5, fraud, proof5, sender=challenger) == (5,)
    other = msgspec.structs.replace(h5, command_commitment=h5.command_commitment ^ 1)
    assert _refused("ChallengeInputMismatch", opt.challenge, 5, other, proof5)[1] == 2
    assert _refused("InvalidProof", opt.challenge, 5, h5, blocks[3][1]) == (5,)
    short = public_signals(h5)[:6]
    assert _refused("BadInputLength", opt.challenge_inputs, 5, short, proof5) == (8, 6)
    assert opt.latest_pending_height() == 6 and opt.slash_count() == 0
    # the honest proof refutes it: replaced, block 6 discarded, half the bond to the challenger
    tx = opt.challenge(5, h5, proof5, sender=challenger, gas=PROOF_GAS)
    assert tx.value == BOND // 2 and opt.credit(challenger) == BOND // 2
    assert opt.latest_pending_height() == 5 and not opt.bonded() and opt.slash_count() == 1
    assert opt.pending_block(5, market=1).block.price == h5.markets[1].price
    assert opt.pending_block(5, market=1).proven
    assert _refused("NotBonded", opt.propose, heads[5], sender=op) == ()

    # after the window blocks 2..4 are final in order, then the proven block 5 at once
    advance_time(chain, WINDOW + 1)
    for height in (2, 3, 4, 5):
        assert opt.finalize(height).value == height
    assert opt.state_root() == h5.post_state_root
    for i, f in enumerate(feeds):
        for h in heads[:5]:
            assert f.round(h.height).answer == h.markets[i].price
            assert f.details(h.height).carried == h.markets[i].carried
    assert feeds[1].round(5).answer == h5.markets[1].price != fraud.markets[1].price
    # the last input counts too: block 6 with only market 2's TWAP accumulator moved is
    # refuted, and, its parent final, final at once
    opt.post_bond(sender=op)
    h6 = heads[5]
    opt.propose(_moved(h6, 1, cum_price_time=h6.markets[1].cum_price_time + 1), sender=op)
    opt.challenge(6, h6, blocks[5][1], sender=challenger, gas=PROOF_GAS)
    assert opt.slash_count() == 2 and opt.is_final(6)
    assert opt.block(6, 1).cum_price_time == h6.markets[1].cum_price_time
    # the key must be the venue's: a one-market key cannot verify two markets
    one = BlockCircuit(TWO[0], TEST_SIZE, cache_dir=CACHE, wrapper_dir=CIRCUITS).verifying_key
    with pytest.raises(DeploymentError, match="2 markets"):
        deploy_optimistic(
            chain, one, start=heads[0], operator=op, bond=BOND, challenge_window=WINDOW
        )


@pytest.mark.parametrize("index", range(8))
def test_each_public_input_of_a_two_market_proposal(
    chain: Chain, blocks: list[tuple[Block, bytes]], index: int
) -> None:
    """Block 5 proposed with public input ``index`` one off: the proposal is refused when the
    chain can tell (pre-state root, meta), refuted by the honest proof when it is an outcome
    (post-state root, either market's settle or TWAP accumulator), and unchallengeable when it
    is the command commitment (the honest proof is of other commands: the data-availability
    assumption of IOptimisticChain)."""
    vk = BlockCircuit(
        TWO, TEST_SIZE, wrapper_dir=CIRCUITS, cache_dir=CACHE, max_matches=MATCHES
    ).verifying_key
    snapshot = chain.w3.testing.snapshot()  # type: ignore[attr-defined]
    try:
        heads = [b.header for b, _ in blocks]
        op = chain.accounts[1]
        d = deploy_optimistic(
            chain, vk, start=heads[4], operator=op, bond=BOND, challenge_window=WINDOW
        )
        opt = Optimistic.of(chain, d)
        opt.post_bond(sender=op)
        honest = public_signals(heads[4])
        x = list(honest)
        x[index] += 1
        if index in (0, 3):  # the pre-state root, meta (the height moves)
            name = "PreStateRootMismatch" if index == 0 else "HeightMismatch"
            assert _refused(name, opt.propose_inputs, x, sender=op)
            return
        opt.propose_inputs(x, sender=op)
        if index == 2:
            got = _refused("ChallengeInputMismatch", opt.challenge, 5, heads[4], blocks[4][1])
            assert got[1] == 2
            return
        opt.challenge(5, heads[4], blocks[4][1], gas=PROOF_GAS)
        assert opt.slash_count() == 1 and opt.is_final(5)
        assert [opt.block(5, i).price for i in (0, 1)] == [m.price for m in heads[4].markets]
    finally:
        chain.w3.testing.revert(snapshot)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------
# Batches of two-market blocks

SMALL = CircuitSize(2, 6, 4, 4)
"""A block circuit small enough that a batch of two two-market blocks costs ~96k constraints:
2 commands, 6 positions (a resting order takes 2, a taker with one fill 4)."""


class SmallBatch(msgspec.Struct, frozen=True):
    circuit: BatchCircuit
    blocks: list[Block]
    """The batch's two blocks: an ask resting in market 2, then a bid that takes it."""
    proof: bytes
    witnesses: list[BlockWitness]
    """Theirs, then the next block's (a bid resting in market 1), which is not in the batch."""


@pytest.fixture(scope="module")
def small_batch() -> SmallBatch:
    """Two blocks of a two-market venue proved as one batch of ``BlockBatchM(2, 2, 6, …)``,
    after two blocks that open the accounts (witnessed at the test size, not proved)."""
    block = BlockCircuit(TWO, SMALL, wrapper_dir=CIRCUITS, cache_dir=CACHE, max_matches=MATCHES)
    v = TwoMarkets()
    v.ts = START_NS
    v.block([AddAccount(*v.n(), a) for a in range(2)] + [Deposit(*v.n(), 0, 10**7)])
    v.block([Deposit(*v.n(), 1, 10**7)])
    out = []
    for cmd in (
        v.place(1, 2, Side.SELL, 40_010, 2),
        v.place(0, 2, Side.BUY, 40_020, 1, TimeInForce.IOC),
        v.place(0, 1, Side.BUY, 99_000, 1),
    ):
        v.builder.submit(cmd)
        b = v.builder.seal()
        out.append((b, v.state.advance(b, block.params)))
        v.ts += 2 * 10**9
    circuit = BatchCircuit(block, 2)
    ws = [w for _, w in out]
    return SmallBatch(circuit, [b for b, _ in out[:2]], circuit.prove(ws[:2]), ws)


def test_a_batch_of_two_market_blocks_proves_and_lands_on_chain(
    chain: Chain, small_batch: SmallBatch
) -> None:
    b = small_batch
    heads = [x.header for x in b.blocks]
    vk = b.circuit.verifying_key
    # the batch's public signals: root_0, then per block cmd, meta, settle[2], cum[2], root
    one, two = (public_signals(h) for h in heads)
    assert batch_public_signals(heads) == [one[0], *one[2:], one[1], *two[2:], two[1]]
    assert b.circuit.public_inputs == 15 == len(batch_public_signals(heads))
    assert verify_batch(heads, b.proof, vk)
    # exactly two block circuits: the chain costs no constraint of its own
    block = circuit_stats(b.circuit.block.write_wrapper(), cache_dir=CACHE)
    assert b.circuit.compile().stats.constraints == 2 * block.constraints
    # the proof binds every market's settlement and the order of the blocks
    moved = _moved(heads[0], 0, price=heads[0].markets[0].price + 1)  # market 1, carried
    for bad in ([moved, heads[1]], heads[::-1], [heads[0], _moved(heads[1], 1, volume=2)]):
        assert not verify_batch(bad, b.proof, vk)

    # on chain: one transaction lands both blocks, each market's feed reads its price
    block_vk = b.circuit.block.verifying_key
    d = deploy_venue(chain, block_vk, start=heads[0], batch_vk=vk)
    assert d.batch_blocks == 2
    pub = Publisher(chain, d)
    x = batch_public_signals(heads)
    call = pub.contract.functions.submitBatch
    assert refused(pub, call([x[0] + 1, *x[1:]], b.proof)) == "PreStateRootMismatch"
    assert refused(pub, call(x[:-1], b.proof)) == "BadInputLength"
    bad = list(x)
    bad[3] += 1  # block 1's settle of market 1: another price
    assert refused(pub, call(bad, b.proof)) == "InvalidBatchProof"
    with pytest.raises(BlockRejected, match="InvalidBatchProof"):
        pub.publish_batch([moved, heads[1]], b.proof)
    done = pub.publish_batch(heads, b.proof)
    assert (done.first, done.last, pub.latest_height) == (heads[0].height, heads[1].height, 4)
    print(f"\nsubmitBatch, K = 2, two markets: {done.gas_used} gas ({done.gas_per_block} a block)")
    feeds = [PriceFeed(chain, m.feed) for m in d.markets]
    for h in heads:
        for i, f in enumerate(feeds):
            assert f.round(h.height).answer == h.markets[i].price
    assert not feeds[1].details(4).carried and feeds[0].details(4).carried
    # a venue of one market refuses this batch verifier, and the one without batches says so
    one_market = load_artifact("StateCommitments")
    with pytest.raises(ChainError, match="constructor reverted") as info:
        chain.deploy(one_market, d.verifier, 1, 0, 0, 1, d.batch_verifier)
    data = bytes.fromhex(str(info.value.__cause__.data)[2:])  # type: ignore[union-attr]
    assert decode_revert(one_market.abi, data).values == (2,)  # BatchVerifierMarkets(2)
    assert decode_revert(one_market.abi, data).name == "BatchVerifierMarkets"
    plain = Publisher(chain, deploy_venue(chain, block_vk, start=heads[0]))
    assert refused(plain, plain.contract.functions.submitBatch(x, b.proof)) == "BatchesDisabled"


def test_two_market_blocks_that_do_not_follow_each_other_cannot_be_proved_as_a_batch(
    small_batch: SmallBatch,
) -> None:
    """A witness of ``BlockBatchM`` that claims blocks 3 and 5 are a chain: block 5's own
    inputs in the second slot, under a public root that is block 3's post-state root. Block
    5's pre-state hashes to another root, so the witness fails in the circuit."""
    b = small_batch
    w3, _, w5 = b.witnesses
    with pytest.raises(BatchError, match="does not start from"):
        b.circuit.inputs([w3, w5])
    inputs, public = b.circuit.inputs(b.witnesses[:2])
    for name, values in inputs.items():
        if name != "pub":
            values[1] = w5.inputs[name]  # type: ignore[index]
    five = w5.public_signals
    public = [*public[:8], *five[2:], five[1]]  # root_0, block 3's seven, then block 5's
    assert len(public) == b.circuit.public_inputs
    inputs["pub"] = public
    with pytest.raises(UnsatisfiedWitnessError):
        b.circuit.compile().prove(inputs, public)
