// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity >=0.8.4;

import {IChainHead, ICommitments} from "./ICommitments.sol";
import {IMarketCommitments} from "./IMarketCommitments.sol";

/// @title Errors of the optimistic mode
/// @notice Every refusal of OptimisticCommitments and OptimisticMarketCommitments, with the
/// values that caused it.
interface IOptimisticCommitmentsErrors {
    /// @dev A constructor argument that would make the contract insecure or useless: a zero
    /// operator, bond or challenge window.
    error InvalidConfiguration();
    /// @dev Only the operator proposes blocks and posts or withdraws the bond.
    error NotOperator(address caller);
    /// @dev The operator has no standing bond: never posted, slashed, or withdrawn.
    error NotBonded();
    /// @dev The standing bond is already posted (it is one fixed amount, not a balance).
    error BondAlreadyPosted();
    /// @dev A bond must be exactly `bondAmount`.
    error WrongBondAmount(uint256 expected, uint256 sent);
    /// @dev The bond cannot be withdrawn while a block is not final: it secures every one.
    error BlocksPending(uint32 latestFinal, uint32 latestPending);
    /// @dev The block does not start from the proposed chain's last post-state root.
    error PreStateRootMismatch(uint256 expected, uint256 provided);
    /// @dev The block is not the next height of the proposed chain.
    error HeightMismatch(uint32 expected, uint32 provided);
    /// @dev The block's first command does not follow the previous block's commands.
    error SequenceMismatch(uint64 expected, uint64 provided);
    /// @dev The block closes before its parent (the circuit would refuse it, so nobody could
    /// challenge it, and the feed's time search needs close times that never decrease).
    error CloseTimeBeforeParent(uint64 parentCloseTs, uint64 closeTs);
    /// @dev A public input is not a scalar field element, or a packed one has bits outside its
    /// layout.
    error MalformedPublicInput(uint256 index);
    /// @dev The block circuit takes 4 + 2M public inputs (M markets), not `provided`.
    error BadInputLength(uint256 expected, uint256 provided);
    /// @dev The validity proof does not verify against the public inputs it was given for.
    error InvalidProof(uint32 height);
    /// @dev No block awaits finality at this height (never proposed, or discarded).
    error BlockNotPending(uint32 height);
    /// @dev The block at this height is already final.
    error BlockAlreadyFinal(uint32 height);
    /// @dev The pending block is already proven (by `proveEarly` or a challenge): it cannot be
    /// challenged or proven again, and it is final as soon as the blocks before it are.
    error BlockAlreadyProven(uint32 height);
    /// @dev Blocks become final in height order; `expected` is the next one.
    error FinalizeOutOfOrder(uint32 expected, uint32 provided);
    /// @dev The challenge window of an unproven block is still open until `deadline`.
    error ChallengeWindowOpen(uint32 height, uint256 deadline);
    /// @dev The challenge window closed at `deadline`: the block can only be finalized now.
    error ChallengeWindowClosed(uint32 height, uint256 deadline);
    /// @dev A challenge must prove the same block, i.e. the same pre-state root, command
    /// commitment and meta (height, close time, command count, first sequence number) as the
    /// pending one; public input `index` differs.
    error ChallengeInputMismatch(uint32 height, uint256 index, uint256 expected, uint256 provided);
    /// @dev The challenge's post-state root, and every market's settle and TWAP accumulator,
    /// equal the pending block's: it proves the block honest, not fraudulent (`proveEarly`
    /// does that).
    error NoFraud(uint32 height);
    /// @dev The account has no ETH to withdraw.
    error NothingToWithdraw(address account);
}

/// @title Events of the optimistic mode
/// @notice Each is emitted right after the state change it reports.
interface IOptimisticCommitmentsEvents {
    /// @notice The operator posted its standing bond of `amount` wei.
    event BondPosted(address indexed operator, uint256 amount);
    /// @notice The operator withdrew its standing bond (credited to it, see `withdraw`).
    event BondWithdrawn(address indexed operator, uint256 amount);
    /// @notice A block was proposed and is pending; unless challenged or proven it can be
    /// finalized from `challengeDeadline` (unix seconds) on. Its prices are in
    /// `getPendingBlock`.
    event Proposed(
        uint32 indexed height,
        uint256 postStateRoot,
        uint256 commandCommitment,
        uint64 closeTs,
        uint256 challengeDeadline
    );
    /// @notice A pending block was proven with a validity proof of exactly its public inputs.
    /// Followed by `Finalized` when every block before it is final.
    event ProvenEarly(uint32 indexed height, address indexed prover);
    /// @notice A pending block was shown fraudulent: it claimed `claimedPostStateRoot`, the
    /// challenger proved `provenPostStateRoot` (or another settle or TWAP accumulator of some
    /// market) for the same pre-state and commands. The proven block replaced it, and the
    /// `discarded` pending blocks after it were dropped. Followed by `Slashed`, then
    /// `Finalized` when every block before it is final.
    event Challenged(
        uint32 indexed height,
        address indexed challenger,
        uint256 claimedPostStateRoot,
        uint256 provenPostStateRoot,
        uint32 discarded
    );
    /// @notice Emitted once per successful challenge: the operator's standing bond was taken,
    /// `reward` credited to the challenger and `burned` locked in the contract for good (both 0
    /// when no bond was standing, e.g. a second fraud found before a new bond was posted).
    event Slashed(
        address indexed operator, address indexed challenger, uint256 reward, uint256 burned
    );
    /// @notice The block became final: its readers (the price feeds) see it from now on.
    /// `proven` tells whether a validity proof backs it (proveEarly or a challenge) or only the
    /// challenge window that passed.
    event Finalized(uint32 indexed height, uint256 postStateRoot, bool proven);
    /// @notice `account` withdrew `amount` wei it was credited (a reward or its bond).
    event Withdrawn(address indexed account, uint256 amount);
}

/// @title IOptimisticChain
/// @notice The optimistic mode of a ProvenBook venue (DESIGN.md §5, "Modes"), of one market
/// (IOptimisticCommitments) or several (IOptimisticMarketCommitments): the operator proposes
/// blocks without proofs; each is readable at once as pending and becomes final after a
/// challenge window, unless someone proves it fraudulent first.
///
/// Security. The operator posts a standing bond (one fixed amount, `bondAmount`, covering every
/// pending block) before it may propose. A challenger refutes a pending block with a validity
/// proof of the same block (same pre-state root, command commitment, height, close time,
/// command count and first sequence number) whose post-state root, or any market's settlement
/// data or TWAP accumulator, differ: the block circuit is a function of the pre-state and the
/// commands, so two different outputs cannot both be right, and the proven one is. The proven
/// block then replaces the fraudulent one, every later pending block is discarded (each builds
/// on the fraudulent state), and the whole bond is slashed: half (rounded down) to the
/// challenger, the rest locked in the contract for good, so a fraud costs the operator at
/// least half its bond even if it front-runs the challenge itself. A slashed operator proposes
/// again only after posting a new bond.
///
/// Finality. A pending block is final once every block before it is final and either its
/// window (`challengeWindow` seconds from its proposal) has passed (`finalize`, anyone) or a
/// validity proof of it verified (`proveEarly`, anyone; or a challenge). Final blocks are what
/// the read side (ICommitments, or IMarketCommitments through one MarketView per market)
/// serves, so a ProvenPriceFeed on it only ever reports final prices; consumers who accept
/// optimistic finality read `getPendingBlock`.
///
/// Data availability (the assumption optimistic mode rests on). A challenger needs the block's
/// commands and its pre-state to prove it: the venue publishes its blocks (`provenbook replay`
/// rebuilds the state from them). A block whose commands are withheld, or that no proof can
/// exist for (a command commitment with no known preimage, more commands than the circuit
/// holds, commands timed outside the block), cannot be challenged and becomes final after its
/// window whatever it claims. Watchers should treat such a block as an attack; this is why the
/// validity mode (no block without a proof) exists beside this one.
///
/// Public inputs are the block circuit's, 4 + 2M of them: (preStateRoot, postStateRoot,
/// commandCommitment, meta, settle[M], cumPriceTime[M]), packed as BlockInputs describes.
interface IOptimisticChain is
    IChainHead,
    IOptimisticCommitmentsErrors,
    IOptimisticCommitmentsEvents
{
    /// @notice A block of the proposed chain (pending or final), for one market, and how far it
    /// is from final.
    /// @param block the block's fields for the market, as the read side serves them once final
    /// @param commandCommitment the block's command commitment (what a challenger must prove)
    /// @param proposedAt when the current content was recorded (unix seconds): the proposal,
    /// or the challenge that replaced it
    /// @param challengeDeadline `proposedAt + challengeWindow`: challenges are accepted before
    /// it, `finalize` from it on
    /// @param proven whether a validity proof of the block verified (proveEarly or challenge)
    struct PendingBlock {
        ICommitments.ProvenBlock block;
        uint256 commandCommitment;
        uint64 proposedAt;
        uint64 challengeDeadline;
        bool proven;
    }

    /// @notice The only address that proposes blocks (fixed at deployment).
    function operator() external view returns (address);

    /// @notice The standing bond, in wei, the operator must have posted to propose.
    function bondAmount() external view returns (uint256);

    /// @notice Seconds after a proposal during which it can be challenged.
    function challengeWindow() external view returns (uint64);

    /// @notice Whether the operator's standing bond is posted (and so whether it may propose).
    function bonded() external view returns (bool);

    /// @notice Number of successful challenges so far.
    function slashCount() external view returns (uint32);

    /// @notice Wei locked in the contract for good by slashing (the part not paid to
    /// challengers).
    function burned() external view returns (uint256);

    /// @notice Wei `account` may withdraw (challenge rewards, a withdrawn bond).
    function credits(address account) external view returns (uint256);

    /// @notice Height of the last proposed block not discarded (final or pending);
    /// `latestHeight()` while nothing is pending.
    function latestPendingHeight() external view returns (uint32);

    /// @notice State root this contract starts from.
    function genesisStateRoot() external view returns (uint256);

    /// @notice Post-state root of the last final block (`genesisStateRoot` while none is).
    function stateRoot() external view returns (uint256);

    /// @notice Post-state root of the last proposed block: the next proposal's pre-state root.
    function pendingStateRoot() external view returns (uint256);

    /// @notice Sequence number the next proposal's first command must carry.
    function nextSeq() external view returns (uint64);

    /// @notice Whether the block at `height` is final (`isProven` says the same, for the read
    /// side).
    function isFinal(uint32 height) external view returns (bool);

    /// @notice Post the standing bond: exactly `bondAmount` wei, operator only, when none is
    /// standing.
    function postBond() external payable;

    /// @notice Take the standing bond back (credited, see `withdraw`); operator only, when every
    /// proposed block is final. The operator cannot propose again until it posts a new bond.
    function withdrawBond() external;

    /// @notice Propose the next block without a proof: pending at once, final after the
    /// challenge window. Operator only, with a standing bond.
    /// @dev Checks what the contract can without a proof: there are 4 + 2M inputs, each a field
    /// element, and the packed ones fit their layout; the block starts from
    /// `pendingStateRoot()`, is height `latestPendingHeight() + 1`, starts at `nextSeq()`, and
    /// closes no earlier than its parent.
    /// @param publicInputs (preStateRoot, postStateRoot, commandCommitment, meta, settle[M],
    /// cumPriceTime[M]): the block circuit's public inputs, computed from the block header
    /// @return height the proposed block's height
    function propose(uint256[] calldata publicInputs) external returns (uint32 height);

    /// @notice Propose K consecutive blocks in one transaction, each as `propose` would, in
    /// order: a refusal of any one refuses them all. Operator only, with a standing bond.
    /// @dev Saves the transaction's base cost on every block but the first, for an operator
    /// whose blocks come faster than its transactions land.
    /// @param publicInputs the K blocks' 4 + 2M inputs each, one after the other (K >= 1)
    /// @return height the last proposed block's height
    function proposeBlocks(uint256[] calldata publicInputs) external returns (uint32 height);

    /// @notice Make the next unfinalized block final: once its challenge window has passed, or
    /// at once if it is proven. Anyone may call.
    function finalize(uint32 height) external;

    /// @notice Make every block up to `height` final, in order, as `finalize` would each: a
    /// block still in its window (and not proven) refuses them all. Anyone may call.
    /// @param height the last block to finalize (above `latestHeight()`)
    function finalizeThrough(uint32 height) external;

    /// @notice Prove a pending block with a validity proof of exactly its public inputs: it is
    /// final at once if every block before it is, else as soon as they are (`finalize` then
    /// needs no window). Anyone may call.
    /// @param proof the Groth16 proof (256 bytes)
    function proveEarly(uint32 height, bytes calldata proof) external;

    /// @notice Refute the pending block at `height`, before its challenge window closes, with a
    /// validity proof of the same block with other outputs (see the notice above). The proven
    /// block replaces it, later pending blocks are discarded and the bond is slashed: half to
    /// the caller (credited, see `withdraw`), the rest burned (locked here).
    /// @param publicInputs the proven block's public inputs (same order as `propose`)
    /// @param proof their Groth16 proof (256 bytes)
    function challenge(uint32 height, uint256[] calldata publicInputs, bytes calldata proof)
        external;

    /// @notice Send the caller all the wei credited to it (pull payment).
    /// @return amount the wei sent
    function withdraw() external returns (uint256 amount);
}

/// @title IOptimisticCommitments
/// @notice The optimistic mode of a venue of one market (six public inputs), read as an
/// ICommitments.
interface IOptimisticCommitments is ICommitments, IOptimisticChain {
    /// @notice The block at `height` of the proposed chain, pending or final; reverts with
    /// UnknownBlock if none (never proposed, or discarded).
    function getPendingBlock(uint32 height) external view returns (PendingBlock memory);
}

/// @title IOptimisticMarketCommitments
/// @notice The optimistic mode of a venue of M >= 2 markets (the block circuit `BlockM`, 4 + 2M
/// public inputs), read as an IMarketCommitments: one MarketView per market serves a feed.
interface IOptimisticMarketCommitments is IMarketCommitments, IOptimisticChain {
    /// @notice Market `index`'s view of the block at `height` of the proposed chain, pending or
    /// final; reverts with ICommitments.UnknownBlock if none (never proposed, or discarded),
    /// UnknownMarket for an index >= M.
    function getPendingBlock(uint32 height, uint256 index)
        external
        view
        returns (PendingBlock memory);
}
