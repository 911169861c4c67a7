// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity 0.8.37;

import {BlockInputs} from "./BlockInputs.sol";
import {IBatchVerifier} from "./interfaces/IBatchVerifier.sol";
import {IBlockVerifier} from "./interfaces/IBlockVerifier.sol";
import {ICommitments} from "./interfaces/ICommitments.sol";

/// @title StateCommitments
/// @notice The chain of proven blocks of one ProvenBook venue (v1: one market). A block is
/// accepted only if its pre-state root is the last accepted post-state root, its height and
/// first sequence number follow the last accepted block's, and its Groth16 validity proof
/// verifies against its public inputs. Anyone may submit: the proof, not the sender, is what
/// is trusted (validity mode). With a batch verifier, K consecutive blocks can also be
/// accepted with one proof of the batch circuit (`submitBatch`), which pays the pairing once.
/// @dev The public inputs are the circuit's own, read through BlockInputs. The state root
/// commits to height, marks, close time and the TWAP accumulator, so a proof that verifies
/// fixes every field read here. The read side (`ProvenBlock`, `getBlock`,
/// `isProven`, `latestHeight`, `genesisHeight`, `UnknownBlock`) is ICommitments, which
/// OptimisticCommitments implements too, so one ProvenPriceFeed serves either mode.
contract StateCommitments is ICommitments {
    using BlockInputs for uint256[6];

    /// @notice The verifier of the block circuit this venue proves with.
    IBlockVerifier public immutable verifier;
    /// @notice The verifier of the batch circuit (K blocks of the same block circuit), or
    /// address(0) when this venue takes single blocks only.
    IBatchVerifier public immutable batchVerifier;
    /// @notice The venue's market (the v1 circuit proves one market).
    uint32 public immutable marketId;
    /// @notice Height of the state this contract starts from (0 for a new venue).
    uint32 public immutable genesisHeight;
    /// @notice State root this contract starts from.
    uint256 public immutable genesisStateRoot;

    /// @notice Height of the last accepted block (`genesisHeight` while none is).
    uint32 public latestHeight;
    /// @notice Post-state root of the last accepted block (the next block's pre-state root).
    uint256 public stateRoot;
    /// @notice Sequence number the next block's first command must carry.
    uint64 public nextSeq;

    mapping(uint32 height => ProvenBlock) private _blocks;

    /// @notice A block was proven and accepted.
    event BlockProven(
        uint32 indexed height,
        uint256 postStateRoot,
        uint256 commandCommitment,
        uint256 price,
        bool carried,
        uint256 volume,
        uint256 tradeCount,
        uint64 closeTs
    );

    /// @notice The block does not start from the last accepted state.
    error PreStateRootMismatch(uint256 expected, uint256 provided);
    /// @notice The block is not the next height.
    error HeightMismatch(uint32 expected, uint32 provided);
    /// @notice The block's first command does not follow the last accepted block's commands.
    error SequenceMismatch(uint64 expected, uint64 provided);
    /// @notice A packed public input has bits outside its layout.
    error MalformedPublicInput(uint256 index);
    /// @notice The validity proof does not verify against the block's public inputs.
    error InvalidProof(uint32 height);
    /// @notice This venue has no batch verifier.
    error BatchesDisabled();
    /// @notice A batch's public inputs are not 5K + 1 for the batch verifier's K (submitBatch),
    /// or not 6 per proof (submitBlocks).
    error BadBatchLength(uint256 expected, uint256 provided);
    /// @notice At deployment: the batch verifier proves blocks of this many markets, not one.
    error BatchVerifierMarkets(uint256 markets);
    /// @notice The batch proof does not verify against the batch's public inputs.
    error InvalidBatchProof(uint32 firstHeight, uint32 lastHeight);
    /// @notice At least one of the blocks' proofs does not verify against its public inputs.
    error InvalidProofs(uint32 firstHeight, uint32 lastHeight);

    /// @param verifier_ the block circuit's verifier
    /// @param marketId_ the venue's market
    /// @param genesisHeight_ height of the starting state (the first block to submit is one more)
    /// @param genesisStateRoot_ the starting state root
    /// @param firstSeq_ sequence number of the first block's first command
    /// @param batchVerifier_ the batch circuit's verifier, or address(0) for none
    constructor(
        IBlockVerifier verifier_,
        uint32 marketId_,
        uint32 genesisHeight_,
        uint256 genesisStateRoot_,
        uint64 firstSeq_,
        IBatchVerifier batchVerifier_
    ) {
        if (address(batchVerifier_) != address(0) && batchVerifier_.markets() != 1) {
            revert BatchVerifierMarkets(batchVerifier_.markets());
        }
        verifier = verifier_;
        batchVerifier = batchVerifier_;
        marketId = marketId_;
        genesisHeight = genesisHeight_;
        genesisStateRoot = genesisStateRoot_;
        latestHeight = genesisHeight_;
        stateRoot = genesisStateRoot_;
        nextSeq = firstSeq_;
    }

    /// @notice Accept the next block with its validity proof.
    /// @param publicInputs (preStateRoot, postStateRoot, commandCommitment, meta, settle,
    /// cumPriceTime): the block circuit's public inputs, computed from the block header
    /// @param proof the Groth16 proof (256 bytes)
    /// @return height the accepted block's height
    function submitBlock(uint256[6] calldata publicInputs, bytes calldata proof)
        external
        returns (uint32 height)
    {
        uint256[6] memory x = publicInputs;
        height = _check(x);
        if (!verifier.verifyProof(proof, publicInputs)) revert InvalidProof(height);
        _accept(x, height);
    }

    /// @notice Accept the next K blocks with one proof of the batch circuit.
    /// @param publicInputs the batch circuit's 5K + 1 public inputs: root_0, then per block
    /// (commandCommitment, meta, settle, cumPriceTime, root_{k+1}), computed from the headers
    /// (proofs/batch.py); block k's pre-state root is root_k and its post-state root root_{k+1}
    /// @param proof the Groth16 proof of the batch (256 bytes)
    /// @return lastHeight the height of the batch's last block
    /// @dev Each block passes submitBlock's checks and is recorded (with its BlockProven event)
    /// in order; the one proof is verified last, and a refusal reverts the whole batch.
    function submitBatch(uint256[] calldata publicInputs, bytes calldata proof)
        external
        returns (uint32 lastHeight)
    {
        if (address(batchVerifier) == address(0)) revert BatchesDisabled();
        uint256 k = batchVerifier.blocks();
        if (publicInputs.length != 5 * k + 1) revert BadBatchLength(5 * k + 1, publicInputs.length);
        uint32 first = latestHeight + 1;
        for (uint256 i = 0; i < k; i++) {
            uint256 o = 5 * i;
            uint256[6] memory x = [
                publicInputs[o], publicInputs[o + 5], publicInputs[o + 1], publicInputs[o + 2],
                publicInputs[o + 3], publicInputs[o + 4]
            ];
            lastHeight = _check(x);
            _accept(x, lastHeight);
        }
        if (!batchVerifier.verifyProof(proof, publicInputs)) {
            revert InvalidBatchProof(first, lastHeight);
        }
    }

    /// @notice Accept the next K blocks, each with its own block proof, in one transaction.
    /// @param publicInputs the K blocks' public inputs one block after the other, each six as
    /// submitBlock takes them
    /// @param proofs the K proofs of 256 bytes, in the same order
    /// @return lastHeight the height of the last block
    /// @dev The proofs are the ones submitBlock takes, so nothing is proved again: what is
    /// shared is the transaction and the pairing check (K + 3 pairs instead of 4K, see
    /// Groth16Verifier._verifyMany). Each block passes submitBlock's checks and is recorded
    /// with its BlockProven event in order; the proofs are verified last, and if any does not
    /// verify the whole call reverts with InvalidProofs.
    function submitBlocks(uint256[] calldata publicInputs, bytes calldata proofs)
        external
        returns (uint32 lastHeight)
    {
        uint256 k = proofs.length / 256;
        if (k == 0 || publicInputs.length != 6 * k) revert BadBatchLength(6 * k, publicInputs.length);
        uint32 first = latestHeight + 1;
        for (uint256 i = 0; i < k; i++) {
            uint256 o = 6 * i;
            uint256[6] memory x = [
                publicInputs[o], publicInputs[o + 1], publicInputs[o + 2], publicInputs[o + 3],
                publicInputs[o + 4], publicInputs[o + 5]
            ];
            lastHeight = _check(x);
            _accept(x, lastHeight);
        }
        if (!verifier.verifyProofs(proofs, publicInputs)) revert InvalidProofs(first, lastHeight);
    }

    /// @dev submitBlock's checks of one block against the chain head; returns its height.
    function _check(uint256[6] memory x) private view returns (uint32 height) {
        uint256 bad = x.malformed();
        if (bad < 6) revert MalformedPublicInput(bad);
        uint256 preRoot = x[BlockInputs.PRE_ROOT];
        if (preRoot != stateRoot) revert PreStateRootMismatch(stateRoot, preRoot);
        height = x.height();
        if (height != latestHeight + 1) revert HeightMismatch(latestHeight + 1, height);
        uint64 firstSeq = x.firstSeq();
        if (firstSeq != nextSeq) revert SequenceMismatch(nextSeq, firstSeq);
    }

    /// @dev Record a checked block as the new chain head.
    function _accept(uint256[6] memory x, uint32 height) private {
        ProvenBlock memory b = x.unpack();
        _blocks[height] = b;
        latestHeight = height;
        stateRoot = b.postStateRoot;
        nextSeq = uint64(b.firstSeq) + x.commandCount();
        emit BlockProven(
            height,
            b.postStateRoot,
            x[BlockInputs.COMMANDS],
            b.price,
            b.carried,
            b.volume,
            b.tradeCount,
            b.closeTs
        );
    }

    /// @notice The accepted block at `height`; reverts with UnknownBlock if there is none.
    function getBlock(uint32 height) external view returns (ProvenBlock memory) {
        if (!isProven(height)) revert UnknownBlock(height);
        return _blocks[height];
    }

    /// @notice Whether a block at `height` has been proven and accepted here.
    function isProven(uint32 height) public view returns (bool) {
        return height > genesisHeight && height <= latestHeight;
    }
}
