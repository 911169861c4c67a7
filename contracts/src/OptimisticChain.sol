// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity 0.8.37;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {BlockInputs} from "./BlockInputs.sol";
import {IChainHead, ICommitments} from "./interfaces/ICommitments.sol";
import {IOptimisticChain} from "./interfaces/IOptimisticCommitments.sol";

/// @title OptimisticChain
/// @notice The optimistic mode of a ProvenBook venue of M markets, whatever its verifier and
/// read side: OptimisticCommitments (M = 1, an ICommitments) and OptimisticMarketCommitments
/// (M >= 2, an IMarketCommitments) add those. The model, and the data-availability assumption
/// it rests on, are on IOptimisticChain.
/// @dev Public inputs are the block circuit's 4 + 2M, packed as BlockInputs describes:
/// `(preStateRoot, postStateRoot, commandCommitment, meta, settle[M], cumPriceTime[M])`. A
/// block's stored fields determine its inputs exactly (its pre-state root is its parent's
/// post-state root, and `propose` refused any packed input with bits outside its layout), which
/// is what `proveEarly` and `challenge` compare against.
///
/// The proposed chain is heights `genesisHeight + 1 .. latestPendingHeight`, of which
/// `.. latestHeight` are final. Discarding the pending blocks after a refuted one only lowers
/// `latestPendingHeight`; their stale entries are unreachable and overwritten by the next
/// proposals (each proposal writes every field of its entry and every market's words).
///
/// ETH: the contract's balance is always the standing bond (when `bonded`) plus every account's
/// `credits` plus `burned`. Only `withdraw` sends ETH, after zeroing the credit
/// (checks-effects-interactions, and `nonReentrant`); everything else moves ETH by bookkeeping.
/// The verifier is called with STATICCALL (its `verifyProof` is a view), so it cannot re-enter.
abstract contract OptimisticChain is IOptimisticChain, ReentrancyGuard {
    /// @dev A stored block, less its markets' words: what every market's record shares, plus
    /// what a challenge must match.
    struct Entry {
        uint256 postStateRoot;
        uint256 commandCommitment;
        uint64 closeTs;
        uint48 firstSeq;
        uint16 commandCount;
        uint64 proposedAt;
        bool proven;
    }

    /// @dev One market's two public inputs, as proposed (or proven by a challenge).
    struct MarketWords {
        uint256 settle;
        uint256 cumPriceTime;
    }

    /// @dev BN254 scalar field: public inputs are its elements.
    uint256 internal constant FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @dev M, the venue's number of markets.
    uint256 internal immutable _markets;
    /// @inheritdoc IChainHead
    uint32 public immutable genesisHeight;
    /// @inheritdoc IOptimisticChain
    uint256 public immutable genesisStateRoot;
    /// @inheritdoc IOptimisticChain
    address public immutable operator;
    /// @inheritdoc IOptimisticChain
    uint256 public immutable bondAmount;
    /// @inheritdoc IOptimisticChain
    uint64 public immutable challengeWindow;
    /// @dev Sequence number of the first block's first command.
    uint64 private immutable _genesisSeq;

    /// @inheritdoc IChainHead
    uint32 public latestHeight;
    /// @inheritdoc IOptimisticChain
    uint32 public latestPendingHeight;
    /// @inheritdoc IOptimisticChain
    uint32 public slashCount;
    /// @inheritdoc IOptimisticChain
    bool public bonded;
    /// @inheritdoc IOptimisticChain
    uint256 public burned;
    /// @inheritdoc IOptimisticChain
    mapping(address account => uint256) public credits;

    mapping(uint32 height => Entry) private _entries;
    mapping(uint32 height => mapping(uint256 index => MarketWords)) private _words;

    /// @param markets_ M, the number of markets the verifier's circuit settles
    /// @param genesisHeight_ height of the starting state (the first block to propose is one more)
    /// @param genesisStateRoot_ the starting state root
    /// @param firstSeq_ sequence number of the first block's first command
    /// @param operator_ the only proposer
    /// @param bondAmount_ the standing bond in wei (> 0): what a fraud costs the operator
    /// @param challengeWindow_ seconds a proposal stays open to challenges (> 0)
    constructor(
        uint256 markets_,
        uint32 genesisHeight_,
        uint256 genesisStateRoot_,
        uint64 firstSeq_,
        address operator_,
        uint256 bondAmount_,
        uint64 challengeWindow_
    ) {
        if (operator_ == address(0) || bondAmount_ == 0 || challengeWindow_ == 0) {
            revert InvalidConfiguration();
        }
        _markets = markets_;
        genesisHeight = genesisHeight_;
        genesisStateRoot = genesisStateRoot_;
        operator = operator_;
        bondAmount = bondAmount_;
        challengeWindow = challengeWindow_;
        _genesisSeq = firstSeq_;
        latestHeight = genesisHeight_;
        latestPendingHeight = genesisHeight_;
    }

    // ----------------------------------------------------------------------------------------
    // Bond and payouts

    /// @inheritdoc IOptimisticChain
    function postBond() external payable {
        _onlyOperator();
        if (bonded) revert BondAlreadyPosted();
        if (msg.value != bondAmount) revert WrongBondAmount(bondAmount, msg.value);
        bonded = true;
        emit BondPosted(msg.sender, msg.value);
    }

    /// @inheritdoc IOptimisticChain
    function withdrawBond() external {
        _onlyOperator();
        if (!bonded) revert NotBonded();
        if (latestPendingHeight != latestHeight) {
            revert BlocksPending(latestHeight, latestPendingHeight);
        }
        bonded = false;
        credits[msg.sender] += bondAmount;
        emit BondWithdrawn(msg.sender, bondAmount);
    }

    /// @inheritdoc IOptimisticChain
    function withdraw() external nonReentrant returns (uint256 amount) {
        amount = credits[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        credits[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    // ----------------------------------------------------------------------------------------
    // The proposed chain

    /// @inheritdoc IOptimisticChain
    function propose(uint256[] calldata publicInputs) external returns (uint32 height) {
        _onlyOperator();
        if (!bonded) revert NotBonded();
        _checkLength(publicInputs);
        height = _propose(publicInputs);
    }

    /// @inheritdoc IOptimisticChain
    function proposeBlocks(uint256[] calldata publicInputs) external returns (uint32 height) {
        _onlyOperator();
        if (!bonded) revert NotBonded();
        uint256 n = 4 + 2 * _markets;
        uint256 len = publicInputs.length;
        if (len == 0 || len % n != 0) revert BadInputLength(n, len);
        for (uint256 i = 0; i < len; i += n) {
            height = _propose(publicInputs[i:i + n]);
        }
    }

    /// @dev `propose` after the caller's checks of sender, bond and length.
    function _propose(uint256[] calldata publicInputs) private returns (uint32 height) {
        _checkWellFormed(publicInputs);
        uint32 parent = latestPendingHeight;
        uint256 root = _postRoot(parent);
        if (publicInputs[BlockInputs.PRE_ROOT] != root) {
            revert PreStateRootMismatch(root, publicInputs[BlockInputs.PRE_ROOT]);
        }
        uint256 meta = publicInputs[BlockInputs.META];
        height = uint32(meta);
        if (height != parent + 1) revert HeightMismatch(parent + 1, height);
        uint64 seq = _nextSeq(parent);
        uint48 firstSeq = uint48(meta >> 112);
        if (firstSeq != seq) revert SequenceMismatch(seq, firstSeq);
        uint64 closeTs = uint64(meta >> 32);
        if (parent != genesisHeight && closeTs < _entries[parent].closeTs) {
            revert CloseTimeBeforeParent(_entries[parent].closeTs, closeTs);
        }

        Entry storage e = _entries[height];
        e.commandCommitment = publicInputs[BlockInputs.COMMANDS];
        e.closeTs = closeTs;
        e.firstSeq = firstSeq;
        e.commandCount = uint16(meta >> 96);
        _record(height, e, publicInputs, false);
        latestPendingHeight = height;
        emit Proposed(
            height,
            e.postStateRoot,
            publicInputs[BlockInputs.COMMANDS],
            closeTs,
            block.timestamp + challengeWindow
        );
    }

    /// @inheritdoc IOptimisticChain
    function finalize(uint32 height) external {
        _finalizeNext(height);
    }

    /// @inheritdoc IOptimisticChain
    function finalizeThrough(uint32 height) external {
        uint32 next = latestHeight + 1;
        if (height < next) revert FinalizeOutOfOrder(next, height);
        for (uint32 h = next; h <= height; h++) {
            _finalizeNext(h);
        }
    }

    /// @dev Finalize `height`, which must be the next unfinalized block, proven or past its
    /// window.
    function _finalizeNext(uint32 height) private {
        Entry storage e = _pending(height);
        if (height != latestHeight + 1) revert FinalizeOutOfOrder(latestHeight + 1, height);
        if (!e.proven) {
            uint256 deadline = _deadline(e);
            if (block.timestamp < deadline) revert ChallengeWindowOpen(height, deadline);
        }
        _finalize(height, e);
    }

    /// @inheritdoc IOptimisticChain
    function proveEarly(uint32 height, bytes calldata proof) external {
        Entry storage e = _pending(height);
        if (e.proven) revert BlockAlreadyProven(height);
        if (!_verify(proof, _inputs(height, e))) revert InvalidProof(height);
        e.proven = true;
        emit ProvenEarly(height, msg.sender);
        if (height == latestHeight + 1) _finalize(height, e);
    }

    /// @inheritdoc IOptimisticChain
    function challenge(uint32 height, uint256[] calldata publicInputs, bytes calldata proof)
        external
    {
        Entry storage e = _pending(height);
        if (e.proven) revert BlockAlreadyProven(height);
        uint256 deadline = _deadline(e);
        if (block.timestamp >= deadline) revert ChallengeWindowClosed(height, deadline);
        _checkLength(publicInputs);
        uint256[] memory claimed = _inputs(height, e);
        // The same block: same pre-state, same commands, same meta ...
        _sameInput(height, BlockInputs.PRE_ROOT, claimed, publicInputs);
        _sameInput(height, BlockInputs.COMMANDS, claimed, publicInputs);
        _sameInput(height, BlockInputs.META, claimed, publicInputs);
        // ... with another outcome: the post-state root, or any market's settle or TWAP
        // accumulator ...
        bool differs = publicInputs[BlockInputs.POST_ROOT] != claimed[BlockInputs.POST_ROOT];
        for (uint256 i = BlockInputs.SETTLE; i < claimed.length && !differs; i++) {
            differs = publicInputs[i] != claimed[i];
        }
        if (!differs) revert NoFraud(height);
        // ... that is the right one (a verifying proof fixes every input to a field element, and
        // the circuit packs settle within its layout; checked anyway, as `propose` does).
        _checkWellFormed(publicInputs);
        if (!_verify(proof, publicInputs)) revert InvalidProof(height);

        uint32 discarded = latestPendingHeight - height;
        _record(height, e, publicInputs, true); // commands, meta and their fields are the same
        latestPendingHeight = height;
        emit Challenged(
            height,
            msg.sender,
            claimed[BlockInputs.POST_ROOT],
            publicInputs[BlockInputs.POST_ROOT],
            discarded
        );

        uint256 reward;
        uint256 toBurn;
        if (bonded) {
            reward = bondAmount / 2;
            toBurn = bondAmount - reward;
            bonded = false;
            credits[msg.sender] += reward;
            burned += toBurn;
        }
        slashCount += 1;
        emit Slashed(operator, msg.sender, reward, toBurn);

        if (height == latestHeight + 1) _finalize(height, e);
    }

    // ----------------------------------------------------------------------------------------
    // Reads

    /// @inheritdoc IChainHead
    /// @dev The same as `isFinal`: in optimistic mode, what the read side calls proven is final.
    function isProven(uint32 height) external view returns (bool) {
        return isFinal(height);
    }

    /// @inheritdoc IOptimisticChain
    function isFinal(uint32 height) public view returns (bool) {
        return height > genesisHeight && height <= latestHeight;
    }

    /// @inheritdoc IOptimisticChain
    function stateRoot() external view returns (uint256) {
        return _postRoot(latestHeight);
    }

    /// @inheritdoc IOptimisticChain
    function pendingStateRoot() external view returns (uint256) {
        return _postRoot(latestPendingHeight);
    }

    /// @inheritdoc IOptimisticChain
    function nextSeq() external view returns (uint64) {
        return _nextSeq(latestPendingHeight);
    }

    // ----------------------------------------------------------------------------------------
    // For the read side of the contracts built on this one

    /// @dev Market `index`'s record of the final block at `height` (the index is the caller's
    /// to check), or ICommitments.UnknownBlock.
    function _finalBlock(uint32 height, uint256 index)
        internal
        view
        returns (ICommitments.ProvenBlock memory)
    {
        if (!isFinal(height)) revert ICommitments.UnknownBlock(height);
        return _block(height, _entries[height], index);
    }

    /// @dev Market `index`'s view of the block at `height` of the proposed chain, or
    /// ICommitments.UnknownBlock.
    function _pendingBlock(uint32 height, uint256 index)
        internal
        view
        returns (PendingBlock memory)
    {
        if (height <= genesisHeight || height > latestPendingHeight) {
            revert ICommitments.UnknownBlock(height);
        }
        Entry storage e = _entries[height];
        return PendingBlock({
            block: _block(height, e, index),
            commandCommitment: e.commandCommitment,
            proposedAt: e.proposedAt,
            challengeDeadline: uint64(_deadline(e)),
            proven: e.proven
        });
    }

    /// @dev Whether `proof` verifies against `publicInputs` (4 + 2M of them) under the venue's
    /// verifier.
    function _verify(bytes calldata proof, uint256[] memory publicInputs)
        internal
        view
        virtual
        returns (bool);

    // ----------------------------------------------------------------------------------------
    // Internals

    /// @dev One private function instead of a modifier body repeated in three functions.
    function _onlyOperator() private view {
        if (msg.sender != operator) revert NotOperator(msg.sender);
    }

    /// @dev BadInputLength unless there are 4 + 2M inputs.
    function _checkLength(uint256[] calldata x) private view {
        uint256 n = 4 + 2 * _markets;
        if (x.length != n) revert BadInputLength(n, x.length);
    }

    /// @dev MalformedPublicInput unless every input is a field element and `meta` and every
    /// `settle` fit their layouts.
    function _checkWellFormed(uint256[] calldata x) private view {
        for (uint256 i = 0; i < x.length; i++) {
            if (x[i] >= FIELD) revert MalformedPublicInput(i);
        }
        if (x[BlockInputs.META] >> BlockInputs.META_BITS != 0) {
            revert MalformedPublicInput(BlockInputs.META);
        }
        for (uint256 i = 0; i < _markets; i++) {
            uint256 j = BlockInputs.SETTLE + i;
            if (x[j] >> BlockInputs.SETTLE_BITS != 0) revert MalformedPublicInput(j);
        }
    }

    /// @dev Write a block's outcome (post-state root, every market's words) and when it was
    /// recorded; the entry's commands and meta fields are the caller's.
    function _record(uint32 height, Entry storage e, uint256[] calldata x, bool proven) private {
        uint256 m = _markets;
        e.postStateRoot = x[BlockInputs.POST_ROOT];
        e.proposedAt = uint64(block.timestamp);
        e.proven = proven;
        mapping(uint256 => MarketWords) storage words = _words[height];
        for (uint256 i = 0; i < m; i++) {
            words[i] = MarketWords({
                settle: x[BlockInputs.SETTLE + i], cumPriceTime: x[BlockInputs.SETTLE + m + i]
            });
        }
    }

    /// @dev The entry of a pending (proposed, not final, not discarded) block, or the reason
    /// there is none.
    function _pending(uint32 height) private view returns (Entry storage) {
        if (isFinal(height)) revert BlockAlreadyFinal(height);
        if (height <= latestHeight || height > latestPendingHeight) revert BlockNotPending(height);
        return _entries[height];
    }

    /// @dev Reverts with ChallengeInputMismatch unless the challenge's input `i` is the pending
    /// block's.
    function _sameInput(
        uint32 height,
        uint256 i,
        uint256[] memory claimed,
        uint256[] calldata challenged
    ) private pure {
        if (challenged[i] != claimed[i]) {
            revert ChallengeInputMismatch(height, i, claimed[i], challenged[i]);
        }
    }

    function _finalize(uint32 height, Entry storage e) private {
        latestHeight = height;
        emit Finalized(height, e.postStateRoot, e.proven);
    }

    function _deadline(Entry storage e) private view returns (uint256) {
        return uint256(e.proposedAt) + challengeWindow;
    }

    /// @dev Post-state root of the block at `height` of the proposed chain (or genesis).
    function _postRoot(uint32 height) private view returns (uint256) {
        return height == genesisHeight ? genesisStateRoot : _entries[height].postStateRoot;
    }

    /// @dev First sequence number of the block after `height` of the proposed chain.
    function _nextSeq(uint32 height) private view returns (uint64) {
        if (height == genesisHeight) return _genesisSeq;
        Entry storage e = _entries[height];
        return uint64(e.firstSeq) + e.commandCount;
    }

    function _block(uint32 height, Entry storage e, uint256 index)
        private
        view
        returns (ICommitments.ProvenBlock memory)
    {
        MarketWords storage w = _words[height][index];
        return
            BlockInputs.toBlock(e.postStateRoot, w.settle, w.cumPriceTime, e.closeTs, e.firstSeq);
    }

    /// @dev The 4 + 2M public inputs of the stored block at `height` (exact: `propose` refused
    /// any packed input with bits outside its layout, so packing the fields again gives it back).
    function _inputs(uint32 height, Entry storage e) private view returns (uint256[] memory x) {
        uint256 m = _markets;
        x = new uint256[](4 + 2 * m);
        x[BlockInputs.PRE_ROOT] = _postRoot(height - 1);
        x[BlockInputs.POST_ROOT] = e.postStateRoot;
        x[BlockInputs.COMMANDS] = e.commandCommitment;
        x[BlockInputs.META] = BlockInputs.packMeta(height, e.closeTs, e.commandCount, e.firstSeq);
        mapping(uint256 => MarketWords) storage words = _words[height];
        for (uint256 i = 0; i < m; i++) {
            x[BlockInputs.SETTLE + i] = words[i].settle;
            x[BlockInputs.SETTLE + m + i] = words[i].cumPriceTime;
        }
    }
}
