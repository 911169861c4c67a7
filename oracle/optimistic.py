"""Optimistic mode on chain: a typed client for ``OptimisticCommitments`` (a venue of one
market) and ``OptimisticMarketCommitments`` (several).

Why a second mode: DESIGN §5's table. In validity mode (``oracle.publish``) a price is on chain
only once its block's proof verified, so its latency is the prover's. In optimistic mode the
operator proposes a block with no proof; its price is readable at once as *pending* and becomes
*final* after a challenge window, unless a challenger refutes it first with a validity proof of
the same block (same pre-state, commands and meta) with another outcome. The operator's
standing bond pays for a refuted block: half to the challenger, half locked in the contract.
The model, and the data-availability assumption it rests on (a challenger needs the block's
commands and pre-state), are in the contracts' NatSpec
(``contracts/src/interfaces/IOptimisticCommitments.sol``, ``IOptimisticChain``).

``deploy_optimistic`` deploys the verifier, the optimistic commitments and a
``ProvenPriceFeed`` on them (for several markets: ``BlockVerifierM``,
``OptimisticMarketCommitments``, and per market a ``MarketView`` with its feed, as validity
mode's ``oracle.deploy.deploy_venue``; the feeds read final blocks only, so
``oracle.feed.PriceFeed`` works unchanged); ``Optimistic`` proposes, finalizes, proves and
challenges blocks from their headers, and reads both the final and the pending chain, per
market. ``venue.watch`` is a challenger built on it (``provenbook watch``). Every
transaction returns an ``oracle.options.Tx`` (the value its event reports, the hash, the gas
used); reverts come back as ``oracle.reverts.ContractRevert`` with the custom error's name,
whichever contract raised it (the commitments, the verifier, the feed).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import groth16py
import msgspec

from matching.block import BlockHeader
from proofs.witness import public_signals

from .chain import Chain
from .client import ContractClient, Tx
from .deploy import Deployment, DeploymentError, deploy_markets, deploy_stack

__all__ = [
    "OPTIMISTIC",
    "OPTIMISTIC_MARKETS",
    "CommittedBlock",
    "Optimistic",
    "OptimisticDeployment",
    "PendingBlock",
    "advance_time",
    "deploy_optimistic",
    "finalize_unproven",
    "load_optimistic_deployment",
]

OPTIMISTIC = "OptimisticCommitments"
"""The optimistic commitments' artifact name (a venue of one market)."""
OPTIMISTIC_MARKETS = "OptimisticMarketCommitments"
"""The optimistic commitments' artifact name for a venue of several markets."""
_ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


class OptimisticDeployment(Deployment, frozen=True, kw_only=True):
    """Where an optimistic venue's contracts are, its starting state and its security terms.

    ``bond`` is the operator's standing bond in wei, ``challenge_window`` in seconds.
    """

    operator: str
    bond: int
    challenge_window: int


def load_optimistic_deployment(path: str | os.PathLike[str]) -> OptimisticDeployment:
    """Read a file written by ``OptimisticDeployment.save``; DeploymentError if it is not one."""
    return OptimisticDeployment.load(path)


class CommittedBlock(msgspec.Struct, frozen=True, kw_only=True):
    """A block as the contract stores it (``ICommitments.ProvenBlock``): what the feed reads
    once it is final. ``close_ts`` is in nanoseconds, ``price`` in the venue's price unit."""

    post_state_root: int
    cum_price_time: int
    close_ts: int
    volume: int
    price: int
    carried: bool
    trade_count: int
    first_seq: int


class PendingBlock(msgspec.Struct, frozen=True, kw_only=True):
    """A block of the proposed chain and how far it is from final.

    ``proposed_at``: when its current content was recorded (the proposal, or the challenge
    that replaced it), unix seconds; ``challenge_deadline``: challenges are accepted before it,
    ``finalize`` from it on; ``proven``: a validity proof of it verified (``prove_early`` or a
    challenge); ``final``: the feed serves it.
    """

    height: int
    block: CommittedBlock
    command_commitment: int
    proposed_at: int
    challenge_deadline: int
    proven: bool
    final: bool


def _committed(raw: Sequence[Any]) -> CommittedBlock:
    post, cum, close, volume, price, carried, trades, first_seq = raw
    return CommittedBlock(
        post_state_root=int(post),
        cum_price_time=int(cum),
        close_ts=int(close),
        volume=int(volume),
        price=int(price),
        carried=bool(carried),
        trade_count=int(trades),
        first_seq=int(first_seq),
    )


def deploy_optimistic(
    chain: Chain,
    vk: groth16py.VerifyingKey,
    *,
    start: BlockHeader,
    operator: str,
    bond: int,
    challenge_window: int,
    asset: str = _ZERO_ADDRESS,
    decimals: int = 0,
    description: str = "",
    sender: str | None = None,
    descriptions: Sequence[str] = (),
) -> OptimisticDeployment:
    """Deploy verifier, ``OptimisticCommitments`` and a ``ProvenPriceFeed`` on it, starting
    from ``start``'s pre-state (as ``oracle.deploy.deploy_venue`` does for validity mode).

    A venue of several markets (``start`` settles M >= 2, ``vk`` is its ``BlockM`` key) gets
    ``BlockVerifierM``, ``OptimisticMarketCommitments``, and per market a ``MarketView`` with a
    ``ProvenPriceFeed`` on it (``descriptions``: one per market; ``description`` is unused).

    ``operator`` is the only proposer; it must post the ``bond`` (wei, > 0) with
    ``Optimistic.post_bond`` before proposing. ``challenge_window`` (seconds, > 0) is how long
    a proposal stays open to challenges: long enough for a watcher to replay the block and
    prove it, short enough for the price consumers who wait for finality.
    """
    if bond <= 0 or challenge_window <= 0:
        raise DeploymentError("the bond and the challenge window must be positive")
    operator = chain.w3.to_checksum_address(operator)
    extra = (operator, bond, challenge_window)
    if len(start.markets) > 1:
        base = deploy_markets(
            chain, vk, start=start, commitments=OPTIMISTIC_MARKETS, extra=extra, asset=asset,
            decimals=decimals, descriptions=descriptions, sender=sender,
        )  # fmt: skip
    else:
        base = deploy_stack(
            chain, vk, start=start, commitments=OPTIMISTIC, extra=extra, asset=asset,
            decimals=decimals, description=description, sender=sender,
        )  # fmt: skip
    return OptimisticDeployment(
        **msgspec.structs.asdict(base),
        operator=operator,
        bond=bond,
        challenge_window=challenge_window,
    )


class Optimistic(ContractClient):
    """A deployed ``OptimisticCommitments`` at ``address`` (``markets`` = 1), or
    ``OptimisticMarketCommitments`` of ``markets`` >= 2, used through ``chain``;
    ``Optimistic.of`` picks from a deployment.

    ``sender`` on every transaction defaults to the chain's first account; ``propose``,
    ``post_bond`` and ``withdraw_bond`` must come from the operator. ``gas`` on the calls that
    verify a proof skips the estimate (on the embedded chain an estimate runs the verification
    twice more). Reads of a block take the market's index in genesis order (``market``, 0 for
    the first); a block's other fields are the same for every market.
    """

    ARTIFACT = OPTIMISTIC
    # A revert can come from a callee: the verifier (BadProofLength, InputOutOfField,
    # InsufficientGas).
    CALLEES = ("BlockVerifier", "ProvenPriceFeed")

    def __init__(self, chain: Chain, address: str, *, markets: int = 1) -> None:
        if markets < 1:
            raise ValueError(f"a venue has at least one market, not {markets}")
        if markets == 1:
            super().__init__(chain, address)
        else:
            super().__init__(
                chain, address, artifact=OPTIMISTIC_MARKETS,
                callees=("BlockVerifierM", "MarketView", "ProvenPriceFeed"),
            )  # fmt: skip
        self.markets = markets

    @classmethod
    def of(cls, chain: Chain, deployment: Deployment) -> Optimistic:
        """The client of ``deployment``'s commitments (``deploy_optimistic``'s result)."""
        return cls(chain, deployment.commitments, markets=max(len(deployment.markets), 1))

    def _market_args(self, height: int, market: int) -> tuple[int, ...]:
        if not 0 <= market < self.markets:
            raise ValueError(f"market index {market} outside 0..{self.markets - 1}")
        return (height,) if self.markets == 1 else (height, market)

    # ----------------------------------------------------------------------------------------
    # Reads

    def operator(self) -> str:
        return str(self._call(self.contract.functions.operator()))

    def bond_amount(self) -> int:
        """The standing bond the operator must have posted to propose (wei)."""
        return int(self._call(self.contract.functions.bondAmount()))

    def challenge_window(self) -> int:
        return int(self._call(self.contract.functions.challengeWindow()))

    def bonded(self) -> bool:
        """Whether the operator's bond is standing (False after a slash until it posts anew)."""
        return bool(self._call(self.contract.functions.bonded()))

    def slash_count(self) -> int:
        """Successful challenges so far."""
        return int(self._call(self.contract.functions.slashCount()))

    def burned(self) -> int:
        """Wei locked in the contract for good by slashing."""
        return int(self._call(self.contract.functions.burned()))

    def credit(self, account: str) -> int:
        """Wei ``account`` may ``withdraw`` (challenge rewards, a withdrawn bond)."""
        return int(self._call(self.contract.functions.credits(account)))

    def genesis_height(self) -> int:
        return int(self._call(self.contract.functions.genesisHeight()))

    def latest_height(self) -> int:
        """Height of the last final block (what the feed's latest round is)."""
        return int(self._call(self.contract.functions.latestHeight()))

    def latest_pending_height(self) -> int:
        """Height of the last proposed block, pending or final."""
        return int(self._call(self.contract.functions.latestPendingHeight()))

    def state_root(self) -> int:
        """Post-state root of the last final block."""
        return int(self._call(self.contract.functions.stateRoot()))

    def pending_state_root(self) -> int:
        """Post-state root of the last proposed block (the next proposal's pre-state root)."""
        return int(self._call(self.contract.functions.pendingStateRoot()))

    def next_seq(self) -> int:
        """First sequence number the next proposal must carry."""
        return int(self._call(self.contract.functions.nextSeq()))

    def is_final(self, height: int) -> bool:
        return bool(self._call(self.contract.functions.isFinal(height)))

    def block(self, height: int, market: int = 0) -> CommittedBlock:
        """Market ``market``'s record of the final block at ``height``; ContractRevert
        ``UnknownBlock`` if it is not final."""
        args = self._market_args(height, market)
        return _committed(self._call(self.contract.functions.getBlock(*args)))

    def pending_block(self, height: int, market: int = 0) -> PendingBlock:
        """Market ``market``'s view of the block at ``height`` of the proposed chain (pending
        or final); ContractRevert ``UnknownBlock`` if none (never proposed, or discarded by a
        challenge)."""
        args = self._market_args(height, market)
        raw = self._call(self.contract.functions.getPendingBlock(*args))
        block, commands, proposed_at, deadline, proven = raw
        return PendingBlock(
            height=height,
            block=_committed(block),
            command_commitment=int(commands),
            proposed_at=int(proposed_at),
            challenge_deadline=int(deadline),
            proven=bool(proven),
            final=self.is_final(height),
        )

    # ----------------------------------------------------------------------------------------
    # Transactions

    def post_bond(self, *, sender: str | None = None) -> Tx:
        """Post the standing bond (value: the wei posted; the exact ``bond_amount`` is sent).
        Refusals: ``NotOperator``, ``BondAlreadyPosted``."""
        fn = self.contract.functions.postBond()
        return self._send(fn, sender, "BondPosted", "amount", value=self.bond_amount())

    def withdraw_bond(self, *, sender: str | None = None) -> Tx:
        """Take the bond back once every proposed block is final (value: the wei credited;
        then ``withdraw``). Refusals: ``NotOperator``, ``NotBonded``, ``BlocksPending``."""
        fn = self.contract.functions.withdrawBond()
        return self._send(fn, sender, "BondWithdrawn", "amount")

    def withdraw(self, *, sender: str | None = None) -> Tx:
        """Send ``sender`` everything credited to it (value: the wei sent). Refusal:
        ``NothingToWithdraw``."""
        return self._send(self.contract.functions.withdraw(), sender, "Withdrawn", "amount")

    def propose(self, header: BlockHeader, *, sender: str | None = None) -> Tx:
        """Propose ``header``'s block with no proof (value: its height); pending at once.

        Refusals: ``NotOperator``, ``NotBonded``, ``BadInputLength``, ``PreStateRootMismatch``,
        ``HeightMismatch``, ``SequenceMismatch``, ``CloseTimeBeforeParent``,
        ``MalformedPublicInput``. A header the circuit cannot express raises
        ``proofs.witness.UnsupportedInCircuit``.
        """
        return self.propose_inputs(public_signals(header), sender=sender)

    def propose_inputs(self, inputs: Sequence[int], *, sender: str | None = None) -> Tx:
        """``propose`` from the 4 + 2M public inputs themselves (what a header gives, or not)."""
        fn = self.contract.functions.propose(list(inputs))
        return self._send(fn, sender, "Proposed", "height")

    def propose_blocks(
        self, headers: Sequence[BlockHeader], *, sender: str | None = None
    ) -> tuple[list[int], Tx]:
        """Propose consecutive blocks in one transaction (the heights proposed, and the
        transaction: its value is the last height). ``propose``'s refusals, for any one of
        them: then none is proposed."""
        inputs = [x for h in headers for x in public_signals(h)]
        fn = self.contract.functions.proposeBlocks(inputs)
        return self._send_each(fn, sender, "Proposed", "height")

    def finalize_through(self, height: int, *, sender: str | None = None) -> tuple[list[int], Tx]:
        """Make every block up to ``height`` final in one transaction (the heights, and the
        transaction). ``finalize``'s refusals, for any one of them: then none is final."""
        fn = self.contract.functions.finalizeThrough(height)
        return self._send_each(fn, sender, "Finalized", "height")

    def finalize(self, height: int, *, sender: str | None = None) -> Tx:
        """Make the next unfinalized block final (value: its height). Refusals:
        ``ChallengeWindowOpen``, ``FinalizeOutOfOrder``, ``BlockAlreadyFinal``,
        ``BlockNotPending``."""
        fn = self.contract.functions.finalize(height)
        return self._send(fn, sender, "Finalized", "height")

    def prove_early(
        self, height: int, proof: bytes, *, sender: str | None = None, gas: int | None = None
    ) -> Tx:
        """Prove the pending block at ``height`` with the proof of exactly its inputs (value:
        its height); final at once if the blocks before it are. Refusals: ``InvalidProof``,
        ``BlockAlreadyProven``, ``BlockAlreadyFinal``, ``BlockNotPending``."""
        fn = self.contract.functions.proveEarly(height, bytes(proof))
        return self._send(fn, sender, "ProvenEarly", "height", gas=gas)

    def challenge(
        self,
        height: int,
        header: BlockHeader,
        proof: bytes,
        *,
        sender: str | None = None,
        gas: int | None = None,
    ) -> Tx:
        """Refute the pending block at ``height`` with ``header``'s proven block (value: the
        challenger's reward in wei, credited; then ``withdraw``).

        ``header`` must be the same block (pre-state, commands, meta) with another outcome.
        Refusals: ``BadInputLength``, ``ChallengeInputMismatch`` (not the same block),
        ``NoFraud`` (the same outcome), ``MalformedPublicInput``, ``InvalidProof``,
        ``ChallengeWindowClosed``, ``BlockAlreadyProven``, ``BlockAlreadyFinal``,
        ``BlockNotPending``.
        """
        return self.challenge_inputs(height, public_signals(header), proof, sender=sender, gas=gas)

    def challenge_inputs(
        self,
        height: int,
        inputs: Sequence[int],
        proof: bytes,
        *,
        sender: str | None = None,
        gas: int | None = None,
    ) -> Tx:
        """``challenge`` from the 4 + 2M public inputs themselves."""
        fn = self.contract.functions.challenge(height, list(inputs), bytes(proof))
        return self._send(fn, sender, "Slashed", "reward", gas=gas)


def advance_time(chain: Chain, seconds: int) -> None:
    """Move a development chain's clock ``seconds`` forward: the embedded chain's next block,
    or anvil's (``evm_increaseTime`` and a mined block); e.g. past a challenge window."""
    if chain.kind == "embedded":
        chain.w3.testing.timeTravel(int(chain.w3.eth.get_block("pending")["timestamp"]) + seconds)
    else:
        chain.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def finalize_unproven(
    chain: Chain,
    vk: groth16py.VerifyingKey,
    headers: Sequence[BlockHeader],
    *,
    bond: int = 10**18,
    challenge_window: int = 60,
) -> OptimisticDeployment:
    """On a development chain: an optimistic venue at ``headers[0]``'s pre-state whose blocks
    ``headers`` are all final without a proof (proposed by the chain's first account, the
    clock moved past the window, finalized). For what reads final state (the price feed,
    ``ProvenMargin``) without the cost of proving."""
    dep = deploy_optimistic(
        chain, vk, start=headers[0], operator=chain.sender(), bond=bond,
        challenge_window=challenge_window,
    )  # fmt: skip
    opt = Optimistic.of(chain, dep)
    opt.post_bond()
    for h in headers:
        opt.propose(h)
    advance_time(chain, challenge_window + 1)
    for h in headers:
        opt.finalize(h.height)
    return dep
