"""Optimistic mode on chain: ``OptimisticCommitments`` with the real proven blocks.

DESIGN §5's second mode: the operator proposes blocks without proofs, each pending at once and
final after a challenge window; a challenger refutes a fraudulent one with a validity proof of
the same block (same pre-state, commands, meta) with another outcome, which replaces it,
discards every later pending block and slashes the operator's standing bond (half to the
challenger, the rest burned). The three proven blocks of the session fixture are the honest
blocks and their proofs are the only proofs used: the verifier is the real ``BlockVerifier``
with the real key, never a stand-in. A ``ProvenPriceFeed`` on the optimistic commitments must
show only final blocks, and then exactly what validity mode shows.

One embedded deployment (operator bonded, nothing proposed) serves the module; every test runs
from that state and is rolled back (``evm_snapshot``/``evm_revert``). Proof verifications are
the slow part on the embedded chain, so refusals that cheaper checks decide come first, and
calls that must succeed pass an explicit gas limit (no estimate: one verification, not three).
"""

from __future__ import annotations

import dataclasses
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from eth_utils import to_checksum_address
from web3.logs import DISCARD

from matching import Block
from matching.block import BlockHeader
from matching.encoding import decoder, encode
from oracle.artifacts import load_artifact
from oracle.chain import Chain, ChainError, open_chain
from oracle.deploy import DeploymentError, deploy_venue
from oracle.feed import PriceFeed
from oracle.optimistic import (
    OPTIMISTIC,
    CommittedBlock,
    Optimistic,
    OptimisticDeployment,
    deploy_optimistic,
    load_optimistic_deployment,
)
from oracle.reverts import ContractRevert, decode_revert, raising_reverts, revert_data
from proofs.poseidon import FIELD_MODULUS
from proofs.witness import public_signals
from venue.blockstore import BlockStore
from venue.watch import WatchError, WatchReport, watch_follow, watch_once

from .chain_helpers import CIRCUIT_CACHE, Proven
from .test_coverage_proving import UNSIGNED

BOND = 10**18 + 1
"""Odd on purpose: the challenger gets half rounded down, the burned rest is one wei more."""
WINDOW = 3600
"""The challenge window (seconds)."""
PROOF_GAS = 1_000_000
"""Explicit gas for calls that verify a proof and must succeed (~300k needed)."""
PRE, POST, CMDS, META, SETTLE, CUM = range(6)
_block = decoder(Block)


@dataclasses.dataclass
class Venue:
    """An optimistic venue on a chain: operator bonded, a feed on the commitments, and a
    challenger and a bystander with funds."""

    chain: Chain
    proven: Proven
    dep: OptimisticDeployment
    opt: Optimistic
    feed: PriceFeed
    operator: str
    challenger: str
    other: str

    def header(self, height: int) -> BlockHeader:
        return self.proven.headers[height - 1]

    def proof(self, height: int) -> bytes:
        return self.proven.proofs[height - 1]

    def propose(self, *heights: int) -> None:
        for h in heights:
            assert self.opt.propose(self.header(h), sender=self.operator).value == h

    def next_ts(self) -> int:
        """The timestamp the next transaction's block will have (embedded chain)."""
        return int(self.chain.w3.eth.get_block("pending")["timestamp"])

    def travel_to(self, ts: int) -> None:
        """The next transaction lands at unix time ``ts`` (embedded chain)."""
        assert self.chain.kind == "embedded"
        self.chain.w3.testing.timeTravel(ts)
        assert self.next_ts() == ts

    def pass_window(self) -> None:
        """Move the chain's clock past every challenge window open now."""
        if self.chain.kind == "embedded":
            self.travel_to(self.next_ts() + WINDOW + 1)
        else:
            make = self.chain.w3.provider.make_request
            make("evm_increaseTime", [WINDOW + 1])  # type: ignore[arg-type]
            make("evm_mine", [])  # type: ignore[arg-type]

    def eth(self, who: str) -> int:
        return int(self.chain.w3.eth.get_balance(to_checksum_address(who)))

    def fee(self, tx_hash: str) -> int:
        """Wei a transaction cost its sender in gas."""
        r = self.chain.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        return int(r["gasUsed"]) * int(r["effectiveGasPrice"])

    def state(self) -> tuple[Any, ...]:
        """Everything a refused call must leave as it was."""
        o = self.opt
        pending = o.latest_pending_height()
        return (
            o.latest_height(), pending, [o.pending_block(h) for h in range(1, pending + 1)],
            o.bonded(), o.slash_count(), o.burned(), o.credit(self.challenger),
            o.credit(self.operator), self.eth(o.address),
        )  # fmt: skip


def _venue(chain: Chain, proven: Proven) -> Venue:
    operator, challenger, other = chain.accounts[1:4]
    dep = deploy_optimistic(
        chain,
        proven.vk,
        start=proven.headers[0],
        operator=operator,
        bond=BOND,
        challenge_window=WINDOW,
        decimals=2,
        description="PB1 / ProvenBook (optimistic)",
    )
    opt = Optimistic(chain, dep.commitments)
    assert opt.post_bond(sender=operator).value == BOND
    return Venue(chain, proven, dep, opt, PriceFeed(chain, dep.feed), operator, challenger, other)


@pytest.fixture(scope="module")
def base(proven: Proven) -> Iterator[Venue]:
    with open_chain("embedded") as chain:
        yield _venue(chain, proven)


@pytest.fixture
def v(base: Venue) -> Iterator[Venue]:
    """The module's venue, rolled back after the test."""
    snapshot = base.chain.w3.testing.snapshot()
    try:
        yield base
    finally:
        base.chain.w3.testing.revert(snapshot)


def _answers(feed: PriceFeed, proven: Proven) -> dict[str, Any]:
    """Everything the feed says about the three blocks once they are final."""
    ts = [h.close_ts // 10**9 for h in proven.headers]
    return {
        "latest": feed.latest_round(),
        "rounds": [feed.round(h) for h in (1, 2, 3)],
        "details": [feed.details(h) for h in (1, 2, 3)],
        "twap": [feed.twap(1, 2), feed.twap(1, 3), feed.twap(2, 3)],
        "settlement": [feed.settlement_price(t) for t in ts],
        "round_at": [feed.round_at(t) for t in ts],
    }


def _validity_answers(chain: Chain, proven: Proven) -> dict[str, Any]:
    """The same three blocks in validity mode (StateCommitments), proven on submission."""
    d = deploy_venue(chain, proven.vk, start=proven.headers[0], decimals=2)
    sc = chain.w3.eth.contract(address=d.commitments, abi=load_artifact("StateCommitments").abi)
    for h, p in zip(proven.headers, proven.proofs, strict=True):
        chain.transact(sc.functions.submitBlock(public_signals(h), p), gas=PROOF_GAS)
    return _answers(PriceFeed(chain, d.feed), proven)


@pytest.fixture(scope="module")
def validity_answers(proven: Proven) -> dict[str, Any]:
    with open_chain("embedded") as chain:
        return _validity_answers(chain, proven)


def _refused(name: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> tuple[Any, ...]:
    """Call ``fn``, which must revert with the custom error ``name``; its arguments."""
    with pytest.raises(ContractRevert) as info:
        fn(*args, **kw)
    assert info.value.name == name, info.value
    return info.value.values


def _with(h: BlockHeader, **kw: Any) -> BlockHeader:
    return msgspec.structs.replace(h, **kw)


def _committed(h: BlockHeader) -> CommittedBlock:
    s = h.markets[0]
    return CommittedBlock(
        post_state_root=int(h.post_state_root), cum_price_time=s.cum_price_time,
        close_ts=h.close_ts, volume=s.volume, price=s.price, carried=s.carried,
        trade_count=s.trade_count, first_seq=h.first_seq,
    )  # fmt: skip


def _flipped(proof: bytes, byte: int = 40) -> bytes:
    bad = bytearray(proof)
    bad[byte] ^= 1
    return bytes(bad)


def _events(v: Venue, tx_hash: str, name: str) -> list[Any]:
    receipt = v.chain.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
    logs = getattr(v.opt.contract.events, name)().process_receipt(receipt, errors=DISCARD)
    return [dict(e["args"]) for e in logs]


# --------------------------------------------------------------------------------------------
# Honest operation


def test_honest_blocks_are_pending_at_once_and_final_after_the_window(
    v: Venue, validity_answers: dict[str, Any]
) -> None:
    opt, feed = v.opt, v.feed
    assert (opt.operator(), opt.bond_amount(), opt.challenge_window()) == (v.operator, BOND, WINDOW)
    assert opt.bonded() and v.eth(opt.address) == BOND
    assert (opt.genesis_height(), opt.latest_height(), opt.latest_pending_height()) == (0, 0, 0)
    assert opt.pending_state_root() == opt.state_root() == v.header(1).pre_state_root

    proposed_at = []
    for h in (1, 2, 3):
        proposed_at.append(v.next_ts())
        v.propose(h)
        p = opt.pending_block(h)
        # pending at once: the price and every field readable, nothing final
        assert p.block == _committed(v.header(h)) and p.block.price == v.header(h).markets[0].price
        assert p.command_commitment == v.header(h).command_commitment
        assert (p.proposed_at, p.challenge_deadline) == (proposed_at[-1], proposed_at[-1] + WINDOW)
        assert not p.proven and not p.final and not opt.is_final(h)
        assert _refused("UnknownBlock", opt.block, h) == (h,)
    h3 = v.header(3)
    assert (opt.latest_height(), opt.latest_pending_height()) == (0, 3)
    assert opt.pending_state_root() == h3.post_state_root
    assert opt.state_root() == v.header(1).pre_state_root
    assert opt.next_seq() == h3.first_seq + h3.command_count
    # the feed serves final blocks only
    assert _refused("NoProvenRound", feed.latest_round) == ()
    assert _refused("RoundNotProven", feed.round, 1) == (1,)

    # finalize: not before the window, in order, once
    deadline = proposed_at[0] + WINDOW
    assert _refused("ChallengeWindowOpen", opt.finalize, 1) == (1, deadline)
    v.travel_to(deadline - 1)
    assert _refused("ChallengeWindowOpen", opt.finalize, 1) == (1, deadline)
    assert _refused("FinalizeOutOfOrder", opt.finalize, 2) == (1, 2)
    v.travel_to(deadline)
    assert opt.finalize(1).value == 1  # at the deadline itself
    assert opt.is_final(1) and opt.block(1) == _committed(v.header(1))
    assert opt.state_root() == v.header(1).post_state_root
    latest = feed.latest_round()
    assert (latest.round_id, latest.answer) == (1, v.header(1).markets[0].price)
    assert _refused("BlockAlreadyFinal", opt.finalize, 1) == (1,)
    v.pass_window()
    assert _refused("FinalizeOutOfOrder", opt.finalize, 3) == (2, 3)
    assert opt.finalize(2).value == 2 and opt.finalize(3).value == 3
    assert _refused("BlockAlreadyFinal", opt.finalize, 2) == (2,)
    assert _refused("BlockNotPending", opt.finalize, 4) == (4,)
    assert _refused("BlockNotPending", opt.finalize, 0) == (0,)
    assert opt.pending_block(3).final and opt.latest_height() == opt.latest_pending_height() == 3

    # final: the feed answers exactly as it does in validity mode
    assert _answers(feed, v.proven) == validity_answers
    assert validity_answers["latest"].answer == h3.markets[0].price
    # nothing moved: the bond still stands, nobody was paid
    assert opt.bonded() and opt.slash_count() == 0 and opt.burned() == 0
    assert v.eth(opt.address) == BOND


def test_proposals_are_the_bonded_operators_and_must_extend_the_chain(v: Venue) -> None:
    opt, op = v.opt, v.operator
    h1, h2 = v.header(1), v.header(2)
    before = v.state()
    assert _refused("NotOperator", opt.propose, h1, sender=v.other) == (v.other.lower(),)
    # the pre-state root, height and sequence number must follow the proposed chain
    assert _refused("PreStateRootMismatch", opt.propose, h2, sender=op) == (
        h1.pre_state_root, h2.pre_state_root,
    )  # fmt: skip
    assert _refused("HeightMismatch", opt.propose, _with(h1, height=2), sender=op) == (1, 2)
    bad_seq = _with(h1, first_seq=h1.first_seq + 1)
    assert _refused("SequenceMismatch", opt.propose, bad_seq, sender=op) == (
        h1.first_seq, h1.first_seq + 1,
    )  # fmt: skip
    # inputs no proof could have: outside the field, or bits outside a packed layout
    out = _with(h1, post_state_root=FIELD_MODULUS)
    assert _refused("MalformedPublicInput", opt.propose, out, sender=op) == (POST,)
    inputs = public_signals(h1)
    inputs[SETTLE] |= 1 << 140
    assert _refused("MalformedPublicInput", opt.propose_inputs, inputs, sender=op) == (SETTLE,)
    assert v.state() == before

    v.propose(1)
    early = _with(h2, close_ts=h1.close_ts - 1)
    assert _refused("CloseTimeBeforeParent", opt.propose, early, sender=op) == (
        h1.close_ts, h1.close_ts - 1,
    )  # fmt: skip

    # the bond: exact, once, the operator's; withdrawn only when nothing is pending
    assert _refused("BondAlreadyPosted", opt.post_bond, sender=op) == ()
    assert _refused("NotOperator", opt.post_bond, sender=v.other) == (v.other.lower(),)
    assert _refused("BlocksPending", opt.withdraw_bond, sender=op) == (0, 1)
    assert _refused("NotOperator", opt.withdraw_bond, sender=v.other) == (v.other.lower(),)
    v.pass_window()
    opt.finalize(1)
    assert opt.withdraw_bond(sender=op).value == BOND
    assert not opt.bonded() and opt.credit(op) == BOND
    start = v.eth(op)
    assert _refused("NotBonded", opt.propose, h2, sender=op) == ()
    assert _refused("NotBonded", opt.withdraw_bond, sender=op) == ()
    w = opt.withdraw(sender=op)
    assert w.value == BOND and v.eth(op) == start + BOND - v.fee(w.tx_hash)
    assert v.eth(opt.address) == 0 and opt.credit(op) == 0
    assert _refused("NothingToWithdraw", opt.withdraw, sender=op) == (op.lower(),)
    abi = load_artifact(OPTIMISTIC).abi
    for wrong in (BOND - 1, BOND + 1):
        fn = opt.contract.functions.postBond()
        with pytest.raises(ContractRevert) as info:
            raising_reverts(abi, lambda: v.chain.transact(fn, sender=op, value=wrong))  # noqa: B023
        assert (info.value.name, info.value.values) == ("WrongBondAmount", (BOND, wrong))
    opt.post_bond(sender=op)
    v.propose(2)
    assert opt.latest_pending_height() == 2


def test_several_blocks_proposed_and_finalized_in_one_transaction(v: Venue) -> None:
    """``proposeBlocks`` and ``finalizeThrough``: each block checked as alone, all or none."""
    opt, op = v.opt, v.operator
    h1, h2, h3 = v.proven.headers
    before = v.state()
    # one block wrong among three: none is proposed
    wrong = _with(h3, first_seq=h3.first_seq + 1)
    assert _refused("SequenceMismatch", opt.propose_blocks, [h1, h2, wrong], sender=op) == (
        h3.first_seq, h3.first_seq + 1,
    )  # fmt: skip
    assert _refused("NotOperator", opt.propose_blocks, [h1, h2], sender=v.other)
    fn = opt.contract.functions.proposeBlocks
    abi = load_artifact(OPTIMISTIC).abi
    for inputs in ([], public_signals(h1)[:-1], [*public_signals(h1), 0]):
        with pytest.raises(ContractRevert) as info:
            raising_reverts(abi, lambda: v.chain.transact(fn(inputs), sender=op))  # noqa: B023
        assert (info.value.name, info.value.values) == ("BadInputLength", (6, len(inputs)))
    assert v.state() == before
    heights, tx = opt.propose_blocks([h1, h2, h3], sender=op)
    assert heights == [1, 2, 3] and tx.value == 3
    assert [opt.pending_block(h).block for h in (1, 2, 3)] == [_committed(h) for h in (h1, h2, h3)]
    # finalizing: every block must be due, from the next one on
    assert _refused("ChallengeWindowOpen", opt.finalize_through, 2)[0] == 1
    opt.prove_early(1, v.proof(1), gas=PROOF_GAS)  # final at once
    assert _refused("FinalizeOutOfOrder", opt.finalize_through, 1) == (2, 1)
    assert _refused("ChallengeWindowOpen", opt.finalize_through, 3)[0] == 2
    v.pass_window()
    assert _refused("BlockNotPending", opt.finalize_through, 4) == (4,)  # all or none
    assert opt.latest_height() == 1
    assert opt.finalize_through(3)[0] == [2, 3] and opt.latest_height() == 3
    assert v.feed.latest_round().answer == h3.markets[0].price


def test_prove_early_makes_a_pending_block_final_at_once(v: Venue) -> None:
    opt = v.opt
    v.propose(1, 2)
    before = v.state()
    assert _refused("InvalidProof", opt.prove_early, 1, v.proof(2)) == (1,)  # another block's
    assert _refused("BadProofLength", opt.prove_early, 1, v.proof(1)[:-1]) == (255,)
    assert v.state() == before
    done = opt.prove_early(1, v.proof(1), sender=v.other, gas=PROOF_GAS)
    assert done.value == 1
    assert _events(v, done.tx_hash, "Finalized")[0]["proven"] is True
    p = opt.pending_block(1)
    assert p.proven and p.final and v.next_ts() < p.challenge_deadline  # no window waited
    assert v.feed.latest_round().answer == v.header(1).markets[0].price
    assert _refused("BlockAlreadyFinal", opt.prove_early, 1, v.proof(1)) == (1,)
    assert _refused("BlockNotPending", opt.prove_early, 3, v.proof(3)) == (3,)
    assert not opt.is_final(2)  # block 2 still waits for its window
    assert opt.bonded() and opt.credit(v.other) == 0


# --------------------------------------------------------------------------------------------
# Fraud


def test_a_fraudulent_post_root_is_slashed_replaced_and_its_successors_discarded(
    v: Venue,
) -> None:
    opt, op, ch = v.opt, v.operator, v.challenger
    h1, h2, h3 = v.header(1), v.header(2), v.header(3)
    fraud = int(h1.post_state_root) ^ 1
    opt.propose(_with(h1, post_state_root=fraud), sender=op)
    # the operator builds on its own fraudulent state: it alone knows that state
    opt.propose(_with(h2, pre_state_root=fraud), sender=op)
    opt.propose(_with(h3, pre_state_root=h2.post_state_root), sender=op)
    assert opt.latest_pending_height() == 3 and opt.pending_block(1).block.post_state_root == fraud
    contract_eth, challenger_eth = v.eth(opt.address), v.eth(ch)
    assert contract_eth == BOND

    got = opt.challenge(1, h1, v.proof(1), sender=ch, gas=PROOF_GAS)
    assert got.value == BOND // 2  # the reward, credited
    (challenged,) = _events(v, got.tx_hash, "Challenged")
    assert challenged == {
        "height": 1, "challenger": ch, "claimedPostStateRoot": fraud,
        "provenPostStateRoot": h1.post_state_root, "discarded": 2,
    }  # fmt: skip
    (slashed,) = _events(v, got.tx_hash, "Slashed")
    assert slashed == {
        "operator": op, "challenger": ch, "reward": BOND // 2, "burned": BOND - BOND // 2,
    }  # fmt: skip
    # the proven block replaced the fraudulent one, final at once (its parent is genesis)
    p = opt.pending_block(1)
    assert p.block == _committed(h1) and p.proven and p.final
    assert opt.latest_height() == opt.latest_pending_height() == 1
    assert opt.block(1).post_state_root == h1.post_state_root
    assert v.feed.latest_round().answer == h1.markets[0].price
    # every later pending block is gone: they built on the fraudulent state
    for h in (2, 3):
        assert _refused("UnknownBlock", opt.pending_block, h) == (h,)
        assert _refused("BlockNotPending", opt.finalize, h) == (h,)
    assert opt.pending_state_root() == h1.post_state_root
    assert opt.next_seq() == h2.first_seq
    # the bond: half (rounded down) to the challenger, the rest burned (locked here for good)
    assert not opt.bonded() and opt.slash_count() == 1
    assert opt.credit(ch) == BOND // 2 and opt.burned() == BOND - BOND // 2
    assert opt.credit(op) == 0 and v.eth(opt.address) == contract_eth
    assert v.eth(ch) == challenger_eth - v.fee(got.tx_hash)
    w = opt.withdraw(sender=ch)
    assert w.value == BOND // 2
    assert v.eth(ch) == challenger_eth - v.fee(got.tx_hash) - v.fee(w.tx_hash) + BOND // 2
    assert v.eth(opt.address) == opt.burned() == BOND - BOND // 2
    assert _refused("NothingToWithdraw", opt.withdraw, sender=ch) == (ch.lower(),)
    assert _refused("BlockAlreadyFinal", opt.challenge, 1, h1, v.proof(1), sender=ch) == (1,)

    # the slashed operator proposes again only with a new bond; the honest chain continues
    # from the proven block
    assert _refused("NotBonded", opt.propose, h2, sender=op) == ()
    opt.post_bond(sender=op)
    v.propose(2, 3)
    v.pass_window()
    opt.finalize(2)
    opt.finalize(3)
    assert v.feed.latest_round().answer == h3.markets[0].price
    assert v.eth(opt.address) == BOND + opt.burned()


def test_a_price_one_tick_off_is_refuted_while_its_parent_is_still_pending(v: Venue) -> None:
    """A proven block is final only once the blocks before it are: the challenge of block 2
    proves block 2, not block 1."""
    opt, ch = v.opt, v.challenger
    h2 = v.header(2)
    s = h2.markets[0]
    assert not s.carried and s.volume > 0
    tick = UNSIGNED.markets[0].tick_size
    wrong = _with(h2, markets=(msgspec.structs.replace(s, price=s.price + tick),))
    v.propose(1)
    opt.propose(wrong, sender=v.operator)
    v.propose(3)  # honest, yet it follows a refuted block: discarded with it
    assert opt.pending_block(2).block.price == s.price + tick
    deadline1 = opt.pending_block(1).challenge_deadline

    # the same pre-state, commands and meta: only the settle input differs
    got = opt.challenge(2, h2, v.proof(2), sender=ch, gas=PROOF_GAS)
    assert got.value == BOND // 2
    assert _events(v, got.tx_hash, "Challenged")[0]["discarded"] == 1
    p = opt.pending_block(2)
    assert p.block == _committed(h2) and p.proven and not p.final
    assert (opt.latest_height(), opt.latest_pending_height()) == (0, 2)
    assert _refused("NoProvenRound", v.feed.latest_round) == ()
    assert _refused("BlockAlreadyProven", opt.challenge, 2, h2, v.proof(2), sender=ch) == (2,)
    assert _refused("BlockAlreadyProven", opt.prove_early, 2, v.proof(2)) == (2,)
    assert _refused("FinalizeOutOfOrder", opt.finalize, 2) == (1, 2)

    v.travel_to(deadline1)
    opt.finalize(1)
    assert v.next_ts() < p.challenge_deadline  # proven: final without its own window
    opt.finalize(2)
    assert v.feed.latest_round().answer == s.price and v.feed.round(2).answer == s.price
    assert opt.credit(ch) == BOND // 2 and opt.burned() == BOND - BOND // 2


def test_challenges_that_prove_no_fraud_are_refused_and_change_nothing(v: Venue) -> None:
    opt, ch = v.opt, v.challenger
    h1, h2, h3 = v.header(1), v.header(2), v.header(3)
    v.propose(1, 2)
    fraud3 = _with(h3, post_state_root=int(h3.post_state_root) ^ 1)
    opt.propose(fraud3, sender=v.operator)
    before = v.state()

    # its own inputs: the block is honest
    assert _refused("NoFraud", opt.challenge, 1, h1, v.proof(1), sender=ch) == (1,)
    # not the same block: other commands, another height, close time or pre-state
    other = {
        CMDS: _with(h1, command_commitment=7),
        META: _with(h1, height=2),
        PRE: h2,
    }
    for index, header in other.items():
        want = public_signals(h1)[index]
        got = public_signals(header)[index]
        assert _refused("ChallengeInputMismatch", opt.challenge, 1, header, v.proof(1)) == (
            1, index, want, got,
        )  # fmt: skip
    late_close = _with(h1, close_ts=h1.close_ts + 1)
    assert _refused("ChallengeInputMismatch", opt.challenge, 1, late_close, v.proof(1))[1] == META
    # a fraudulent block, but the proof does not verify
    assert _refused("InvalidProof", opt.challenge, 3, h3, _flipped(v.proof(3))) == (3,)
    assert _refused("InvalidProof", opt.challenge, 3, h3, v.proof(2)) == (3,)
    assert _refused("BadProofLength", opt.challenge, 3, h3, v.proof(3)[:-1]) == (255,)
    # no pending block there
    for height in (0, 4):
        assert _refused("BlockNotPending", opt.challenge, height, h1, v.proof(1)) == (height,)
    assert v.state() == before

    # too late: the window of block 3 closed, so even its fraud stands (the window is the
    # security assumption of this mode) and anyone can finalize it
    deadline3 = opt.pending_block(3).challenge_deadline
    v.travel_to(deadline3)
    assert _refused("ChallengeWindowClosed", opt.challenge, 3, h3, v.proof(3), sender=ch) == (
        3, deadline3,
    )  # fmt: skip
    assert v.state() == before
    for h in (1, 2, 3):
        opt.finalize(h)
    assert opt.block(3).post_state_root == fraud3.post_state_root
    assert _refused("BlockAlreadyFinal", opt.challenge, 3, h3, v.proof(3)) == (3,)
    assert opt.bonded() and opt.slash_count() == 0


def test_constructor_and_deployment_file(proven: Proven, base: Venue, tmp_path: Path) -> None:
    base.dep.save(tmp_path / "optimistic.json")
    assert load_optimistic_deployment(tmp_path / "optimistic.json") == base.dep
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(DeploymentError):
        load_optimistic_deployment(tmp_path / "bad.json")
    h1 = proven.headers[0]
    with pytest.raises(DeploymentError, match="positive"):
        deploy_optimistic(
            base.chain, proven.vk, start=h1, operator=base.operator, bond=0, challenge_window=1
        )
    # the contract refuses them too: a zero operator, bond or window
    art = load_artifact(OPTIMISTIC)
    args = [base.dep.verifier, 1, 0, int(h1.pre_state_root), h1.first_seq]
    for operator, bond, window in (
        ("0x" + "00" * 20, BOND, WINDOW),
        (base.operator, 0, WINDOW),
        (base.operator, BOND, 0),
    ):
        with pytest.raises(ChainError) as info:
            base.chain.deploy(art, *args, operator, bond, window)
        data = revert_data(info.value)
        assert data is not None
        assert decode_revert(art.abi, data).name == "InvalidConfiguration"


# --------------------------------------------------------------------------------------------
# Watchers (venue/watch.py)


def test_a_watcher_refutes_a_wrong_proposal_from_the_venues_blocks(
    v: Venue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The watcher replays the venue's blocks, leaves honest proposals alone and refutes the
    first wrong one with the venue's stored proof; its successor is discarded."""
    monkeypatch.setenv("PROVENBOOK_CIRCUIT_CACHE", str(CIRCUIT_CACHE))  # the venue's keys
    opt, op = v.opt, v.operator
    _, h2, h3 = v.proven.headers
    assert watch_once(v.proven.data, v.chain, v.dep) == WatchReport()  # nothing pending
    v.propose(1)
    s2 = h2.markets[0]
    wrong = _with(h2, markets=(msgspec.structs.replace(s2, volume=s2.volume + 1),))
    opt.propose(wrong, sender=op)
    opt.propose(h3, sender=op)  # on top of it: its pre-state root is block 2's, unchanged
    rep = watch_once(v.proven.data, v.chain, v.dep, sender=v.challenger)
    assert rep == WatchReport(honest=[1], challenged=[(2, BOND // 2)]), rep
    assert opt.latest_pending_height() == 2 and opt.pending_block(2).proven
    assert opt.pending_block(2).block == _committed(h2) and opt.credit(v.challenger) == BOND // 2
    # the next round finds nothing wrong (block 3, discarded, is not pending any more)
    again = watch_once(v.proven.data, v.chain, v.dep, sender=v.challenger)
    assert again == WatchReport(honest=[1, 2]), again
    stop = threading.Event()
    stop.set()  # `watch --follow` after Ctrl-C: the round under way ends, and its report is all
    assert watch_follow(v.proven.data, v.chain, v.dep, stop, poll=60) == again


def test_a_watcher_raises_alarms_for_what_it_cannot_refute(v: Venue, tmp_path: Path) -> None:
    """Proposals no proof can refute are alarms, not silence: other commands than the venue's
    block, and a block the venue's data does not hold."""
    opt, op = v.opt, v.operator
    h1, _, h3 = v.proven.headers
    other = _with(h1, command_commitment=h1.command_commitment ^ 1)
    snapshot = v.chain.w3.testing.snapshot()
    opt.propose(other, sender=op)
    rep = watch_once(v.proven.data, v.chain, v.dep)
    assert rep == WatchReport(
        alarms=[(1, "unprovable proposal: another command commitment than the venue's block")]
    ), rep
    assert opt.slash_count() == 0
    v.chain.w3.testing.revert(snapshot)
    # a fourth block the venue never stored, proposed after the three honest ones
    v.propose(1, 2, 3)
    extra = _with(
        h3, height=4, pre_state_root=h3.post_state_root, first_seq=h3.first_seq + h3.command_count
    )
    opt.propose(extra, sender=op)
    rep = watch_once(v.proven.data, v.chain, v.dep)
    assert rep == WatchReport(
        honest=[1, 2, 3], alarms=[(4, "the venue's data holds no such block (withheld?)")]
    ), rep
    # a copy of the venue that does not replay is refused: the watcher judges nothing with it
    bad = _copy_blocks(v.proven.data, tmp_path / "venue", bad_root_at=2)
    with pytest.raises(WatchError, match="does not replay"):
        watch_once(bad, v.chain, v.dep)


def _copy_blocks(data: Path, to: Path, bad_root_at: int = 0) -> Path:
    """A copy of the venue's genesis and blocks, without their proofs; the block at
    ``bad_root_at`` with a stored post-state root that its commands do not give."""
    to.mkdir()
    shutil.copy(data / "genesis.msgpack", to)
    with (
        BlockStore(data / "blocks", first_height=1, read_only=True) as src,
        BlockStore(to / "blocks", first_height=1, fsync=False) as writer,
    ):
        for h in range(1, src.last_height + 1):
            b = _block.decode(src.get(h))  # type: ignore[arg-type]
            if h == bad_root_at:
                b = msgspec.structs.replace(b, header=_with(b.header, post_state_root=1))
            writer.put(h, encode(b))
    return to


def test_a_watcher_without_stored_proofs_proves_the_block_it_refutes(
    v: Venue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVENBOOK_CIRCUIT_CACHE", str(CIRCUIT_CACHE))
    copy = _copy_blocks(v.proven.data, tmp_path / "watcher")
    h1 = v.proven.headers[0]
    v.opt.propose(_with(h1, post_state_root=int(h1.post_state_root) ^ 1), sender=v.operator)
    rep = watch_once(copy, v.chain, v.dep, sender=v.challenger, workers=1)
    assert rep == WatchReport(challenged=[(1, BOND // 2)], proved=1), rep
    assert v.opt.pending_block(1).block == _committed(h1) and v.opt.pending_block(1).proven


# --------------------------------------------------------------------------------------------
# anvil


@pytest.mark.skipif(shutil.which("npm") is None, reason="anvil comes from npm")
def test_the_same_on_anvil_with_gas(proven: Proven) -> None:
    with open_chain("anvil") as chain:
        v = _venue(chain, proven)
        opt, op = v.opt, v.operator
        h1, h2, _ = proven.headers
        gas: dict[str, int] = {}
        # honest: propose, prove block 1 early, finalize the rest after the window
        for h in (1, 2, 3):
            tx = opt.propose(v.header(h), sender=op)
            gas.setdefault("propose", tx.gas_used)
        gas["proveEarly"] = opt.prove_early(1, v.proof(1)).gas_used
        assert _refused("ChallengeWindowOpen", opt.finalize, 2)[0] == 2
        v.pass_window()
        gas["finalize"] = opt.finalize(2).gas_used
        opt.finalize(3)
        assert _answers(v.feed, proven) == _validity_answers(chain, proven)

        # fraud: a second venue, block 1 with a wrong post root and one block on top of it
        w = _venue(chain, proven)
        fraud = int(h1.post_state_root) ^ 1
        w.opt.propose(_with(h1, post_state_root=fraud), sender=op)
        w.opt.propose(_with(h2, pre_state_root=fraud), sender=op)
        ch = w.challenger
        start = w.eth(ch)
        tx = w.opt.challenge(1, h1, v.proof(1), sender=ch)
        gas["challenge"] = tx.gas_used
        gas["withdraw"] = (wd := w.opt.withdraw(sender=ch)).gas_used
        assert w.eth(ch) == start + BOND // 2 - w.fee(tx.tx_hash) - w.fee(wd.tx_hash)
        assert w.opt.latest_pending_height() == w.opt.latest_height() == 1
        assert w.feed.latest_round().answer == h1.markets[0].price
        print(f"\nOptimisticCommitments gas on anvil: {gas}")
        assert 100_000 < gas["propose"] < 250_000, gas
        assert gas["finalize"] < 60_000, gas
        assert all(200_000 < gas[k] < 600_000 for k in ("proveEarly", "challenge")), gas


@pytest.mark.skipif(shutil.which("npm") is None, reason="anvil comes from npm")
def test_provenbook_watch_refutes_and_raises_alarms(
    proven: Proven,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``provenbook watch DIR --chain URL --deployment FILE``: exit 0 when every proposal is
    the venue's block or it refuted the wrong one, 1 on an alarm, 2 on bad arguments."""
    from venue.cli import main

    monkeypatch.setenv("PROVENBOOK_CIRCUIT_CACHE", str(CIRCUIT_CACHE))
    h1, h2, _ = proven.headers
    with open_chain("anvil") as chain:
        v = _venue(chain, proven)
        dep = tmp_path / "optimistic.json"
        v.dep.save(dep)
        args = ["watch", str(proven.data), "--chain", chain.url, "--deployment", str(dep)]
        assert main([*args[:2], "--chain", "embedded", "--deployment", str(dep)]) == 2
        assert main(args) == 0
        v.opt.propose(_with(h1, post_state_root=int(h1.post_state_root) ^ 1), sender=v.operator)
        capsys.readouterr()
        assert main(args) == 0
        assert "block 1 refuted" in " ".join(capsys.readouterr().out.split())
        assert v.opt.slash_count() == 1 and v.opt.pending_block(1).block == _committed(h1)
        # the operator bonds again and proposes other commands than the venue's block 2
        v.opt.post_bond(sender=v.operator)
        v.opt.propose(_with(h2, command_commitment=h2.command_commitment ^ 1), sender=v.operator)
        assert main(args) == 1
        out = " ".join(capsys.readouterr().out.split())
        assert "ALARM block 2" in out and "another command commitment" in out
