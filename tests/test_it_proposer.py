"""The optimistic operator (``venue/proposer.py``) with real blocks, a real verifier key and
the embedded chain: a pass over a venue's stored blocks, the same live behind a running venue,
and ``provenbook publish --optimistic``. ``serve --optimistic`` on anvil is in
``tests/test_it_serve.py``.

What must hold: every block is proposed once, in order, and is the venue's block (the watcher
finds each one honest); nothing is final before its window unless proven; a resumed deployment
must be this venue's; a bond lost to a challenge stops the operator until told otherwise.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import msgspec
import pytest

from matching import Block, Deposit
from matching.block import BlockHeader
from matching.encoding import decoder
from oracle.chain import Chain, open_chain
from oracle.feed import PriceFeed
from oracle.optimistic import (
    CommittedBlock,
    Optimistic,
    advance_time,
    load_optimistic_deployment,
)
from venue.blockstore import BlockStore
from venue.node import VenueNode, stored_header
from venue.proposer import (
    DEFAULT_BOND,
    LiveProposer,
    Operator,
    ProposerError,
    propose_follow,
    propose_stored,
)
from venue.watch import WatchReport, watch_once

from .chain_helpers import CIRCUIT_CACHE, Proven, two_market_venue
from .test_coverage_proving import ACCOUNTS, TRADES, UNSIGNED

WINDOW = 600
_block = decoder(Block)


@pytest.fixture(autouse=True)
def _venue_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    # deploying needs the venue's verifying key, and proofs are checked against it
    monkeypatch.setenv("PROVENBOOK_CIRCUIT_CACHE", str(CIRCUIT_CACHE))


@pytest.fixture
def chain() -> Chain:
    with open_chain("embedded") as c:
        yield c  # type: ignore[misc]


def _claimed(opt: Optimistic, height: int) -> tuple[int, int, int]:
    b: CommittedBlock = opt.pending_block(height).block
    return b.post_state_root, b.price, b.volume


def _header_outcome(h: BlockHeader) -> tuple[int, int, int]:
    return h.post_state_root, h.markets[0].price, h.markets[0].volume


def test_a_pass_proposes_every_block_once_and_finalizes_after_the_window(
    proven: Proven, chain: Chain
) -> None:
    seen: list[tuple[int, int]] = []
    rep = propose_stored(
        proven.data, chain, challenge_window=WINDOW, per_tx=2, progress=lambda *d: seen.append(d)
    )
    assert rep.proposed == [1, 2, 3] and rep.finalized == [] and rep.proven_early == []
    assert seen == [(2, 3), (3, 3)]  # blocks 1 and 2 in one transaction, then block 3
    d = rep.deployment
    assert d is not None and d.challenge_window == WINDOW and d.bond == DEFAULT_BOND
    opt = Optimistic.of(chain, d)
    assert opt.bonded() and opt.operator() == chain.sender()
    for h in proven.headers:
        assert _claimed(opt, h.height) == _header_outcome(h)
    # a watcher replaying the venue finds every proposal to be the venue's block
    assert watch_once(proven.data, chain, d) == WatchReport(honest=[1, 2, 3])
    # again: nothing new to propose, nothing due, nothing final, no round on the feed
    again = propose_stored(proven.data, chain, deployment=d)
    assert again.proposed == again.finalized == [] and opt.latest_height() == 0
    advance_time(chain, WINDOW + 1)
    done = propose_stored(proven.data, chain, deployment=d)
    assert done.proposed == [] and done.finalized == [1, 2, 3]
    last = PriceFeed(chain, d.feed).latest_round()
    assert (last.round_id, last.answer) == (3, proven.headers[2].markets[0].price)


def test_prove_early_makes_blocks_final_at_once_and_a_file_resumes(
    proven: Proven, chain: Chain, tmp_path: Path
) -> None:
    dep_file = tmp_path / "optimistic.json"
    rep = propose_stored(
        proven.data, chain, deployment_file=dep_file, prove_early=True, challenge_window=WINDOW
    )
    # each proof lands when its block is next to be final: final at once, nothing left due
    assert rep.proposed == rep.proven_early == [1, 2, 3] and rep.finalized == []
    assert load_optimistic_deployment(dep_file) == rep.deployment
    opt = Optimistic.of(chain, rep.deployment)  # type: ignore[arg-type]
    assert opt.latest_height() == 3 and all(opt.pending_block(h).proven for h in (1, 2, 3))
    # the file resumes the same contracts: nothing to do
    again = propose_stored(proven.data, chain, deployment_file=dep_file, prove_early=True)
    assert again.deployment == rep.deployment
    assert again.proposed == again.proven_early == again.finalized == []


def test_a_deployment_of_another_venue_is_refused(
    proven: Proven, chain: Chain, tmp_path: Path
) -> None:
    """The proposed chain must be this venue's: a deployment that is ahead of the venue's data,
    or whose last proposal is not the venue's block at that height, is refused before anything
    is sent."""
    d = propose_stored(proven.data, chain, challenge_window=WINDOW).deployment
    assert d is not None
    # another venue, two blocks: accounts, then a deposit where proven's venue traded
    other = tmp_path / "other"
    node = VenueNode(other, UNSIGNED, engine="reference", fsync=False)
    for batch in (ACCOUNTS, [Deposit(0, 0, 1, 7)]):
        node.submit(batch)
        node.seal()
    node.close()
    with pytest.raises(ProposerError, match="ends at block 2"):
        propose_stored(other, chain, deployment=d)
    mine = propose_stored(other, chain, challenge_window=WINDOW).deployment
    assert mine is not None
    with pytest.raises(ProposerError, match="not this venue's"):
        propose_stored(proven.data, chain, deployment=mine)
    for dep in (d, mine):  # nothing was proposed by the refused passes
        assert Optimistic.of(chain, dep).latest_pending_height() in (2, 3)
    assert Optimistic.of(chain, mine).latest_pending_height() == 2
    wrong_chain = msgspec.structs.replace(d, chain_id=d.chain_id + 1)
    with pytest.raises(ProposerError, match="chain id"):
        propose_stored(proven.data, chain, deployment=wrong_chain)


def test_a_slashed_bond_stops_the_operator_until_a_new_one_is_posted(
    proven: Proven, chain: Chain
) -> None:
    h1, h2, _ = proven.headers
    first = propose_stored(proven.data, chain, challenge_window=WINDOW)
    d = first.deployment
    assert d is not None
    op = Operator(chain, d)
    # the deployment above proposed honest blocks; a second one where block 1 is wrong
    from oracle.optimistic import deploy_optimistic

    fresh = deploy_optimistic(
        chain, proven.vk, start=h1, operator=chain.sender(), bond=DEFAULT_BOND,
        challenge_window=WINDOW,
    )  # fmt: skip
    opt = Optimistic.of(chain, fresh)
    opt.post_bond()
    opt.propose(msgspec.structs.replace(h1, post_state_root=int(h1.post_state_root) ^ 1))
    challenger = chain.accounts[5]
    rep = watch_once(proven.data, chain, fresh, sender=challenger)
    assert rep.challenged == [(1, DEFAULT_BOND // 2)]
    assert op.opt.slash_count() == 0  # the other deployment is untouched
    with pytest.raises(ProposerError, match="slashed"):
        propose_stored(proven.data, chain, deployment=fresh)
    assert opt.latest_pending_height() == 1 and not opt.bonded()  # nothing was sent
    # told to: a new bond, and the blocks after the refuted one (now the proven block 1)
    again = propose_stored(proven.data, chain, deployment=fresh, post_bond=True)
    assert again.proposed == [2, 3] and opt.bonded()
    assert _claimed(opt, 2) == _header_outcome(h2)
    assert opt.pending_block(1).final  # proven by the challenge, so final at once


def test_follow_keeps_proposing_on_one_deployment(proven: Proven, chain: Chain) -> None:
    stop = threading.Event()
    stop.set()  # one pass, as after Ctrl-C
    rep = propose_follow(proven.data, chain, stop, poll=60, challenge_window=WINDOW)
    assert rep.proposed == [1, 2, 3] and rep.deployment is not None
    again = propose_follow(
        proven.data, chain, stop, poll=60, deployment=rep.deployment
    )  # the same contracts, nothing new
    assert again.proposed == [] and again.deployment == rep.deployment


def test_a_venue_without_blocks_deploys_nothing(chain: Chain, tmp_path: Path) -> None:
    node = VenueNode(tmp_path / "v", UNSIGNED, engine="reference", fsync=False)
    node.close()
    assert propose_stored(tmp_path / "v", chain).deployment is None
    from venue.node import NodeError

    with pytest.raises(NodeError):
        propose_stored(tmp_path / "nothing", chain)


def test_live_proposer_proposes_each_block_as_it_is_stored_and_resumes(
    chain: Chain, tmp_path: Path
) -> None:
    """Behind a running venue: blocks are proposed as the committer stores them, finalized
    by the proposer's own ticks once the window passes, proven early with a live proof; a
    restarted venue with the deployment file proposes only the blocks stored since."""
    data, dep_file = tmp_path / "venue", tmp_path / "optimistic.json"
    node = VenueNode(data, UNSIGNED, engine="reference", fsync=False)
    live = LiveProposer(
        node, chain, deployment_file=dep_file, challenge_window=WINDOW, finalize_every=0.05
    )
    try:
        assert live.start().deployment is None  # nothing stored: deployed at the first block
        node.submit(ACCOUNTS)
        node.seal()
        node.submit(TRADES)
        node.seal()
        node.flush()
        assert live.wait(2, 60), live.halted
        d = load_optimistic_deployment(dep_file)
        opt = Optimistic.of(chain, d)
        assert opt.latest_pending_height() == 2 and opt.latest_height() == 0
        stored = [node.blocks.get(h) for h in (1, 2)]
        assert all(stored)
        advance_time(chain, WINDOW + 1)
        assert live.wait(2, 60, final=True), live.halted
        assert opt.latest_height() == 2
    finally:
        live.close()
        node.close()
    # a restart: the block sealed while no proposer ran is proposed by the catch-up
    node = VenueNode(data, engine="reference", fsync=False)
    node.submit([Deposit(0, 0, 1, 5)])
    node.seal()
    node.flush()
    live = LiveProposer(node, chain, deployment_file=dep_file, finalize_every=0.05)
    try:
        caught = live.start()
        assert caught.deployment == d and caught.proposed == [3]
        assert watch_once(data, chain, d) == WatchReport(honest=[3])
    finally:
        live.close()
        node.close()
    assert live.halted is None


def test_live_proposer_halts_on_a_refusal_and_says_where(chain: Chain, tmp_path: Path) -> None:
    """The operator account is not the deployment's operator: the first proposal is refused,
    proposing halts there, and the venue goes on."""
    data = tmp_path / "venue"
    node = VenueNode(data, UNSIGNED, engine="reference", fsync=False)
    node.submit(ACCOUNTS)
    node.seal()
    node.flush()
    rep = propose_stored(data, chain, challenge_window=WINDOW)
    d = rep.deployment
    assert d is not None
    file = tmp_path / "d.json"
    d.save(file)
    live = LiveProposer(node, chain, deployment_file=file, sender=chain.accounts[7])
    try:
        live.start()
        node.submit(TRADES)
        node.seal()
        node.flush()
        assert not live.wait(2, 30)
        assert live.halted is not None and live.halted[0] == 2
        assert "NotOperator" in live.halted[1]
        assert node.height == 2  # the venue is not held up
    finally:
        live.close()
        node.close()


def test_publish_optimistic_from_the_command_line(
    proven: Proven, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from venue.cli import main

    data = tmp_path / "venue"
    shutil.copytree(proven.data, data)
    args = ["publish", str(data), "--chain", "embedded", "--optimistic"]
    assert main([*args, "--challenge-window", "60", "--blocks-per-tx", "2"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "OptimisticCommitments" in out and "proposed: 1..3" in out, out
    assert "final: none" in out and "no final block yet" in out
    assert main([*args, "--prove-early"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "proven early: 1..3" in out and f"answer {proven.headers[2].markets[0].price}" in out
    for bad in (["--batch", "2"], ["--blocks-per-tx", "0"], ["--follow", "--poll", "0"]):
        assert main([*args, *bad]) == 2
    assert main(["publish", str(data), "--chain", "embedded", "--prove-early"]) == 2
    assert main(["publish", str(tmp_path / "none"), "--chain", "embedded", "--optimistic"]) == 2


def test_the_demos_optimistic_stage(proven: Proven, chain: Chain) -> None:
    """``venue.demo_optimistic``: honest proposals, one a tick off refuted by the watcher with
    the stored proof, everything final after the window at the proven prices."""
    from venue.demo_optimistic import optimistic_stage

    r = optimistic_stage(proven.data, chain, 3, window=WINDOW)
    assert r.ok, r
    assert r.watch == WatchReport(honest=[1, 2], challenged=[(3, r.bond // 2)])
    assert r.forged_price == r.price + 1 and r.feed == (3, proven.headers[2].markets[0].price)


def test_live_proofs_make_proposed_blocks_final_at_once(
    proven: Proven, chain: Chain, tmp_path: Path
) -> None:
    """``serve --optimistic --prove --prove-early``: each live proof (``LiveProver.on_proof``)
    goes to ``submit_proof``, and its proposed block is final without waiting for the window."""
    data = tmp_path / "venue"
    shutil.copytree(proven.data, data)
    node = VenueNode(data, engine="reference", fsync=False)
    live = LiveProposer(node, chain, challenge_window=WINDOW, finalize_every=30)
    try:
        assert live.start().proposed == [1, 2, 3]
        for h in (1, 2, 3):
            block = _block.decode(node.blocks.get(h))  # type: ignore[arg-type]
            live.submit_proof(block, proven.proofs[h - 1])
        assert live.wait(3, 60, final=True), live.halted
        assert live.proven_early == [1, 2, 3]
        d = live.operator.deployment  # type: ignore[union-attr]
        assert PriceFeed(chain, d.feed).latest_round().round_id == 3
    finally:
        live.close()
        node.close()


def test_a_venue_of_two_markets_is_proposed_and_each_feed_answers_its_market(
    chain: Chain, tmp_path: Path
) -> None:
    """The operator on ``TWO_MARKET_GENESIS`` (blocks that each open one market): it deploys
    the optimistic contracts of several markets with the two-market key, every proposal is the
    venue's block for the watcher (post root and both markets' outcomes), and after the window
    each market's feed answers that market's last traded price."""
    n = two_market_venue(tmp_path)
    with BlockStore(tmp_path / "blocks", first_height=1, read_only=True) as store:
        headers = [stored_header(store, h) for h in range(1, n + 1)]
    assert all(h is not None and len(h.markets) == 2 for h in headers)
    rep = propose_stored(tmp_path, chain, challenge_window=WINDOW, per_tx=3)
    assert rep.proposed == list(range(1, n + 1))
    d = rep.deployment
    assert d is not None and [m.market_id for m in d.markets] == [1, 2]
    assert watch_once(tmp_path, chain, d) == WatchReport(honest=list(range(1, n + 1)))
    advance_time(chain, WINDOW + 1)
    assert propose_stored(tmp_path, chain, deployment=d).finalized == list(range(1, n + 1))
    answers = [PriceFeed(chain, m.feed).latest_round().answer for m in d.markets]
    assert answers == [traded_at(headers, i) for i in (0, 1)] == [100_010, 40_010]  # type: ignore[arg-type]


def traded_at(headers: list[BlockHeader], i: int) -> int:
    """The last settlement price of market index ``i`` that came from fills."""
    return next(h.markets[i].price for h in reversed(headers) if not h.markets[i].carried)
