// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity 0.8.37;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {BlockInputs} from "./BlockInputs.sol";
import {IBlockVerifier} from "./interfaces/IBlockVerifier.sol";
import {ICommitments} from "./interfaces/ICommitments.sol";
import {IOptimisticCommitments} from "./interfaces/IOptimisticCommitments.sol";

/// @title OptimisticCommitments
/// @notice The optimistic mode of a ProvenBook venue (v1: one market): the operator proposes
/// blocks without proofs, readable at once as pending and final after a challenge window; a
/// validity proof of the same block with another outcome refutes a pending block and slashes
/// the operator's standing bond. The model, and the data-availability assumption it rests on,
/// are on IOptimisticCommitments.
/// @dev Public inputs are the block circuit's, packed as StateCommitments reads them:
/// `meta = pack(height 32, close_ts 64, command_count 16, first_seq 48)` and
/// `settle = pack(price 40, carried 1, volume 64, trade_count 32)`, first field in the lowest
/// bits. A block's stored fields determine its six public inputs exactly (its pre-state root is
/// its parent's post-state root), which is what `proveEarly` and `challenge` compare against.
///
/// The proposed chain is heights `genesisHeight + 1 .. latestPendingHeight`, of which
/// `.. latestHeight` are final. Discarding the pending blocks after a refuted one only lowers
/// `latestPendingHeight`; their stale entries are unreachable and overwritten by the next
/// proposals (each proposal writes every field of its entry).
///
/// ETH: the contract's balance is always the standing bond (when `bonded`) plus every account's
/// `credits` plus `burned`. Only `withdraw` sends ETH, after zeroing the credit
/// (checks-effects-interactions, and `nonReentrant`); everything else moves ETH by bookkeeping.
/// The verifier is called with STATICCALL (`verifyProof` is a view), so it cannot re-enter.
contract OptimisticCommitments is IOptimisticCommitments, ReentrancyGuard {
    /// @dev A stored block: what ICommitments serves, plus what a challenge must match.
    struct Entry {
        ProvenBlock block;
        uint256 commandCommitment;
        uint64 proposedAt;
        uint16 commandCount;
        bool proven;
    }

    using BlockInputs for uint256[6];
    /// @dev BN254 scalar field: public inputs are its elements.
    uint256 internal constant FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @notice The verifier of the block circuit this venue proves with.
    IBlockVerifier public immutable verifier;
    /// @notice The venue's market (the v1 circuit proves one market).
    uint32 public immutable marketId;
    /// @inheritdoc ICommitments
    uint32 public immutable genesisHeight;
    /// @notice State root this contract starts from.
    uint256 public immutable genesisStateRoot;
    /// @inheritdoc IOptimisticCommitments
    address public immutable operator;
    /// @inheritdoc IOptimisticCommitments
    uint256 public immutable bondAmount;
    /// @inheritdoc IOptimisticCommitments
    uint64 public immutable challengeWindow;
    /// @dev Sequence number of the first block's first command.
    uint64 private immutable _genesisSeq;

    /// @inheritdoc ICommitments
    uint32 public latestHeight;
    /// @inheritdoc IOptimisticCommitments
    uint32 public latestPendingHeight;
    /// @inheritdoc IOptimisticCommitments
    uint32 public slashCount;
    /// @inheritdoc IOptimisticCommitments
    bool public bonded;
    /// @inheritdoc IOptimisticCommitments
    uint256 public burned;
    /// @inheritdoc IOptimisticCommitments
    mapping(address account => uint256) public credits;

    mapping(uint32 height => Entry) private _entries;

    /// @param verifier_ the block circuit's verifier
    /// @param marketId_ the venue's market
    /// @param genesisHeight_ height of the starting state (the first block to propose is one more)
    /// @param genesisStateRoot_ the starting state root
    /// @param firstSeq_ sequence number of the first block's first command
    /// @param operator_ the only proposer
    /// @param bondAmount_ the standing bond in wei (> 0): what a fraud costs the operator
    /// @param challengeWindow_ seconds a proposal stays open to challenges (> 0)
    constructor(
        IBlockVerifier verifier_,
        uint32 marketId_,
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
        verifier = verifier_;
        marketId = marketId_;
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

    /// @inheritdoc IOptimisticCommitments
    function postBond() external payable {
        _onlyOperator();
        if (bonded) revert BondAlreadyPosted();
        if (msg.value != bondAmount) revert WrongBondAmount(bondAmount, msg.value);
        bonded = true;
        emit BondPosted(msg.sender, msg.value);
    }

    /// @inheritdoc IOptimisticCommitments
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

    /// @inheritdoc IOptimisticCommitments
    function withdraw() external nonReentrant returns (uint256 amount) {
        amount = credits[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        credits[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    // ----------------------------------------------------------------------------------------
    // The proposed chain

    /// @inheritdoc IOptimisticCommitments
    function propose(uint256[6] calldata publicInputs) external returns (uint32 height) {
        _onlyOperator();
        if (!bonded) revert NotBonded();
        for (uint256 i = 0; i < 6; i++) {
            if (publicInputs[i] >= FIELD) revert MalformedPublicInput(i);
        }
        uint256 bad = publicInputs.malformed();
        if (bad < 6) revert MalformedPublicInput(bad);
        uint32 parent = latestPendingHeight;
        uint256 root = _postRoot(parent);
        if (publicInputs[BlockInputs.PRE_ROOT] != root) {
            revert PreStateRootMismatch(root, publicInputs[BlockInputs.PRE_ROOT]);
        }
        height = publicInputs.height();
        if (height != parent + 1) revert HeightMismatch(parent + 1, height);
        uint64 seq = _nextSeq(parent);
        uint64 firstSeq = publicInputs.firstSeq();
        if (firstSeq != seq) revert SequenceMismatch(seq, firstSeq);
        uint64 closeTs = publicInputs.closeTs();
        if (parent != genesisHeight && closeTs < _entries[parent].block.closeTs) {
            revert CloseTimeBeforeParent(_entries[parent].block.closeTs, closeTs);
        }

        Entry storage e = _entries[height];
        e.block = publicInputs.unpack();
        e.commandCommitment = publicInputs[BlockInputs.COMMANDS];
        e.proposedAt = uint64(block.timestamp);
        e.commandCount = publicInputs.commandCount();
        e.proven = false;
        latestPendingHeight = height;
        emit Proposed(
            height,
            e.block.postStateRoot,
            publicInputs[BlockInputs.COMMANDS],
            e.block.price,
            closeTs,
            block.timestamp + challengeWindow
        );
    }

    /// @inheritdoc IOptimisticCommitments
    function finalize(uint32 height) external {
        Entry storage e = _pending(height);
        if (height != latestHeight + 1) revert FinalizeOutOfOrder(latestHeight + 1, height);
        if (!e.proven) {
            uint256 deadline = _deadline(e);
            if (block.timestamp < deadline) revert ChallengeWindowOpen(height, deadline);
        }
        _finalize(height, e);
    }

    /// @inheritdoc IOptimisticCommitments
    function proveEarly(uint32 height, bytes calldata proof) external {
        Entry storage e = _pending(height);
        if (e.proven) revert BlockAlreadyProven(height);
        if (!verifier.verifyProof(proof, _inputs(height, e))) revert InvalidProof(height);
        e.proven = true;
        emit ProvenEarly(height, msg.sender);
        if (height == latestHeight + 1) _finalize(height, e);
    }

    /// @inheritdoc IOptimisticCommitments
    function challenge(uint32 height, uint256[6] calldata publicInputs, bytes calldata proof)
        external
    {
        Entry storage e = _pending(height);
        if (e.proven) revert BlockAlreadyProven(height);
        uint256 deadline = _deadline(e);
        if (block.timestamp >= deadline) revert ChallengeWindowClosed(height, deadline);
        uint256[6] memory claimed = _inputs(height, e);
        // The same block: same pre-state, same commands, same meta ...
        _sameInput(height, BlockInputs.PRE_ROOT, claimed, publicInputs);
        _sameInput(height, BlockInputs.COMMANDS, claimed, publicInputs);
        _sameInput(height, BlockInputs.META, claimed, publicInputs);
        // ... with another outcome ...
        if (
            publicInputs[BlockInputs.POST_ROOT] == claimed[BlockInputs.POST_ROOT]
                && publicInputs[BlockInputs.SETTLE] == claimed[BlockInputs.SETTLE]
                && publicInputs[BlockInputs.CUM_PRICE_TIME] == claimed[BlockInputs.CUM_PRICE_TIME]
        ) revert NoFraud(height);
        // ... that is the right one (a verifying proof fixes every input to a field element, and
        // the circuit packs settle within its layout; checked anyway, as `propose` does).
        uint256 bad = publicInputs.malformed();
        if (bad < 6) revert MalformedPublicInput(bad);
        if (!verifier.verifyProof(proof, publicInputs)) revert InvalidProof(height);

        uint32 discarded = latestPendingHeight - height;
        e.block = publicInputs.unpack(); // commands and command count are the same
        e.proposedAt = uint64(block.timestamp);
        e.proven = true;
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

    /// @inheritdoc ICommitments
    function getBlock(uint32 height) external view returns (ProvenBlock memory) {
        if (!isFinal(height)) revert UnknownBlock(height);
        return _entries[height].block;
    }

    /// @inheritdoc ICommitments
    /// @dev The same as `isFinal`: in optimistic mode, what ICommitments calls proven is final.
    function isProven(uint32 height) external view returns (bool) {
        return isFinal(height);
    }

    /// @inheritdoc IOptimisticCommitments
    function isFinal(uint32 height) public view returns (bool) {
        return height > genesisHeight && height <= latestHeight;
    }

    /// @inheritdoc IOptimisticCommitments
    function getPendingBlock(uint32 height) external view returns (PendingBlock memory) {
        if (height <= genesisHeight || height > latestPendingHeight) revert UnknownBlock(height);
        Entry storage e = _entries[height];
        return PendingBlock({
            block: e.block,
            commandCommitment: e.commandCommitment,
            proposedAt: e.proposedAt,
            challengeDeadline: uint64(_deadline(e)),
            proven: e.proven
        });
    }

    /// @inheritdoc IOptimisticCommitments
    function stateRoot() external view returns (uint256) {
        return _postRoot(latestHeight);
    }

    /// @inheritdoc IOptimisticCommitments
    function pendingStateRoot() external view returns (uint256) {
        return _postRoot(latestPendingHeight);
    }

    /// @inheritdoc IOptimisticCommitments
    function nextSeq() external view returns (uint64) {
        return _nextSeq(latestPendingHeight);
    }

    // ----------------------------------------------------------------------------------------
    // Internals

    /// @dev One private function instead of a modifier body repeated in three functions.
    function _onlyOperator() private view {
        if (msg.sender != operator) revert NotOperator(msg.sender);
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
        uint256[6] memory claimed,
        uint256[6] calldata challenged
    ) private pure {
        if (challenged[i] != claimed[i]) {
            revert ChallengeInputMismatch(height, i, claimed[i], challenged[i]);
        }
    }

    function _finalize(uint32 height, Entry storage e) private {
        latestHeight = height;
        emit Finalized(height, e.block.postStateRoot, e.block.price, e.proven);
    }

    function _deadline(Entry storage e) private view returns (uint256) {
        return uint256(e.proposedAt) + challengeWindow;
    }

    /// @dev Post-state root of the block at `height` of the proposed chain (or genesis).
    function _postRoot(uint32 height) private view returns (uint256) {
        return height == genesisHeight ? genesisStateRoot : _entries[height].block.postStateRoot;
    }

    /// @dev First sequence number of the block after `height` of the proposed chain.
    function _nextSeq(uint32 height) private view returns (uint64) {
        if (height == genesisHeight) return _genesisSeq;
        Entry storage e = _entries[height];
        return uint64(e.block.firstSeq) + e.commandCount;
    }

    /// @dev The six public inputs of the stored block at `height` (exact: `propose` refused any
    /// packed input with bits outside its layout, so packing the fields again gives it back).
    function _inputs(uint32 height, Entry storage e) private view returns (uint256[6] memory) {
        return BlockInputs.pack(
            e.block, _postRoot(height - 1), height, e.commandCommitment, e.commandCount
        );
    }
}
