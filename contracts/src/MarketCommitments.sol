// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity 0.8.37;

import {BlockInputs} from "./BlockInputs.sol";
import {IChainHead, ICommitments} from "./interfaces/ICommitments.sol";
import {IMarketCommitments} from "./interfaces/IMarketCommitments.sol";
import {IBatchVerifier} from "./interfaces/IBatchVerifier.sol";
import {IBlockVerifierM} from "./interfaces/IBlockVerifierM.sol";

/// @title MarketCommitments
/// @notice The chain of proven blocks of a ProvenBook venue of M >= 2 markets (validity mode):
/// StateCommitments for the circuit `BlockM`, whose block settles every market. A block is
/// accepted only if its pre-state root is the last accepted post-state root, its height and
/// first sequence number follow, and its Groth16 proof verifies against its 4 + 2M public
/// inputs (IBlockVerifierM). Each market is read through its own MarketView, an ICommitments,
/// so one ProvenPriceFeed per market serves it unchanged. K consecutive blocks may also be
/// accepted with one proof of the batch circuit (`submitBatch`), which pays the pairing once.
/// @dev Per block it stores the post-state root once and two words per market (the TWAP
/// accumulator; price, volume, trade count, carried flag with the block's close time and first
/// sequence number packed into one word).
contract MarketCommitments is IMarketCommitments {
    /// @notice The verifier of the venue's block circuit.
    IBlockVerifierM public immutable verifier;
    /// @notice The verifier of the batch circuit (K blocks of the same block circuit), or
    /// address(0) when this venue takes single blocks only.
    IBatchVerifier public immutable batchVerifier;
    /// @inheritdoc IMarketCommitments
    uint256 public immutable markets;
    /// @inheritdoc IChainHead
    uint32 public immutable genesisHeight;
    /// @notice State root this contract starts from.
    uint256 public immutable genesisStateRoot;

    /// @inheritdoc IChainHead
    uint32 public latestHeight;
    /// @notice Post-state root of the last accepted block (the next block's pre-state root).
    uint256 public stateRoot;
    /// @notice Sequence number the next block's first command must carry.
    uint64 public nextSeq;

    /// @inheritdoc IMarketCommitments
    uint32[] public marketIds;

    struct Settlement {
        uint256 cumPriceTime;
        uint64 closeTs;
        uint64 volume;
        uint40 price;
        bool carried;
        uint32 tradeCount;
        uint48 firstSeq;
    }

    mapping(uint32 height => uint256) private _postStateRoots;
    mapping(uint32 height => mapping(uint256 index => Settlement)) private _settlements;

    /// @notice A block was proven and accepted (one MarketSettled per market follows).
    event BlockProven(
        uint32 indexed height, uint256 postStateRoot, uint256 commandCommitment, uint64 closeTs
    );
    /// @notice A market's settlement in an accepted block.
    event MarketSettled(
        uint32 indexed height,
        uint32 indexed marketId,
        uint256 price,
        bool carried,
        uint256 volume,
        uint256 tradeCount
    );

    /// @notice The block does not start from the last accepted state.
    error PreStateRootMismatch(uint256 expected, uint256 provided);
    /// @notice The block is not the next height.
    error HeightMismatch(uint32 expected, uint32 provided);
    /// @notice The block's first command does not follow the last accepted block's commands.
    error SequenceMismatch(uint64 expected, uint64 provided);
    /// @notice A packed public input has bits outside its layout.
    error MalformedPublicInput(uint256 index);
    /// @notice The public inputs are not 4 + 2M per block (submitBlocks: per proof), or not
    /// K(3 + 2M) + 1 for a batch.
    error BadInputLength(uint256 expected, uint256 provided);
    /// @notice This venue was deployed without a batch verifier.
    error BatchesDisabled();
    /// @notice The batch proof does not verify against the batch's public inputs.
    error InvalidBatchProof(uint32 firstHeight, uint32 lastHeight);
    /// @notice The validity proof does not verify against the block's public inputs.
    error InvalidProof(uint32 height);
    /// @notice At least one of the blocks' proofs does not verify against its public inputs.
    error InvalidProofs(uint32 firstHeight, uint32 lastHeight);

    /// @param verifier_ the block circuit's verifier
    /// @param marketIds_ the venue's markets, in genesis order (as many as the verifier's)
    /// @param genesisHeight_ height of the starting state (the first block to submit is one more)
    /// @param genesisStateRoot_ the starting state root
    /// @param firstSeq_ sequence number of the first block's first command
    /// @param batchVerifier_ the batch circuit's verifier (of the same M), or address(0)
    constructor(
        IBlockVerifierM verifier_,
        uint32[] memory marketIds_,
        uint32 genesisHeight_,
        uint256 genesisStateRoot_,
        uint64 firstSeq_,
        IBatchVerifier batchVerifier_
    ) {
        uint256 m = verifier_.markets();
        if (m != marketIds_.length) revert MarketCountMismatch(m, marketIds_.length);
        if (address(batchVerifier_) != address(0) && batchVerifier_.markets() != m) {
            revert MarketCountMismatch(batchVerifier_.markets(), m);
        }
        verifier = verifier_;
        batchVerifier = batchVerifier_;
        markets = m;
        marketIds = marketIds_;
        genesisHeight = genesisHeight_;
        genesisStateRoot = genesisStateRoot_;
        latestHeight = genesisHeight_;
        stateRoot = genesisStateRoot_;
        nextSeq = firstSeq_;
    }

    /// @notice Accept the next block with its validity proof.
    /// @param publicInputs (preStateRoot, postStateRoot, commandCommitment, meta, settle[M],
    /// cumPriceTime[M]): the block circuit's public inputs, computed from the block header
    /// @param proof the Groth16 proof (256 bytes)
    /// @return height the accepted block's height
    function submitBlock(uint256[] calldata publicInputs, bytes calldata proof)
        external
        returns (uint32 height)
    {
        uint256 n = 4 + 2 * markets;
        if (publicInputs.length != n) revert BadInputLength(n, publicInputs.length);
        uint256[] memory x = publicInputs;
        height = _check(x);
        if (!verifier.verifyProof(proof, publicInputs)) revert InvalidProof(height);
        _accept(x, height);
    }

    /// @notice Accept the next K blocks with one proof of the batch circuit.
    /// @param publicInputs the batch circuit's K(3 + 2M) + 1 public inputs: root_0, then per
    /// block (commandCommitment, meta, settle[M], cumPriceTime[M], root_{k+1}), computed from
    /// the headers (proofs/batch.py); block k's pre-state root is root_k and its post-state
    /// root root_{k+1}
    /// @param proof the Groth16 proof of the batch (256 bytes)
    /// @return lastHeight the height of the batch's last block
    /// @dev Each block passes submitBlock's checks and is recorded (with its events) in order;
    /// the one proof is verified last, and a refusal reverts the whole batch.
    function submitBatch(uint256[] calldata publicInputs, bytes calldata proof)
        external
        returns (uint32 lastHeight)
    {
        if (address(batchVerifier) == address(0)) revert BatchesDisabled();
        uint256 k = batchVerifier.blocks();
        uint256 w = 3 + 2 * markets; // a block's inputs after root_0
        if (publicInputs.length != w * k + 1) revert BadInputLength(w * k + 1, publicInputs.length);
        uint32 first = latestHeight + 1;
        uint256[] memory x = new uint256[](w + 1);
        for (uint256 i = 0; i < k; i++) {
            uint256 o = w * i;
            x[BlockInputs.PRE_ROOT] = publicInputs[o];
            x[BlockInputs.POST_ROOT] = publicInputs[o + w];
            for (uint256 j = 1; j < w; j++) {
                x[j + 1] = publicInputs[o + j]; // commands, meta, settle[M], cumPriceTime[M]
            }
            lastHeight = _check(x);
            _accept(x, lastHeight);
        }
        if (!batchVerifier.verifyProof(proof, publicInputs)) {
            revert InvalidBatchProof(first, lastHeight);
        }
    }

    /// @notice Accept the next K blocks, each with its own proof, in one transaction: the
    /// checks of submitBlock for each in order, then one pairing check of K + 3 pairs for all
    /// proofs (IBlockVerifierM.verifyProofs); any failure reverts the whole call.
    /// @param publicInputs the K blocks' public inputs one block after the other
    /// @param proofs the K proofs of 256 bytes, in the same order
    /// @return lastHeight the height of the last block
    function submitBlocks(uint256[] calldata publicInputs, bytes calldata proofs)
        external
        returns (uint32 lastHeight)
    {
        uint256 n = 4 + 2 * markets;
        uint256 k = proofs.length / 256;
        if (k == 0 || publicInputs.length != n * k) {
            revert BadInputLength(n * k, publicInputs.length);
        }
        uint32 first = latestHeight + 1;
        for (uint256 i = 0; i < k; i++) {
            uint256[] memory x = publicInputs[n * i:n * (i + 1)];
            lastHeight = _check(x);
            _accept(x, lastHeight);
        }
        if (!verifier.verifyProofs(proofs, publicInputs)) revert InvalidProofs(first, lastHeight);
    }

    /// @dev submitBlock's checks of one block against the chain head; returns its height.
    function _check(uint256[] memory x) private view returns (uint32 height) {
        uint256 meta = x[BlockInputs.META];
        if (meta >> BlockInputs.META_BITS != 0) revert MalformedPublicInput(BlockInputs.META);
        for (uint256 i = 0; i < markets; i++) {
            if (x[4 + i] >> BlockInputs.SETTLE_BITS != 0) revert MalformedPublicInput(4 + i);
        }
        uint256 preRoot = x[BlockInputs.PRE_ROOT];
        if (preRoot != stateRoot) revert PreStateRootMismatch(stateRoot, preRoot);
        height = uint32(meta);
        if (height != latestHeight + 1) revert HeightMismatch(latestHeight + 1, height);
        uint64 firstSeq = uint48(meta >> 112);
        if (firstSeq != nextSeq) revert SequenceMismatch(nextSeq, firstSeq);
    }

    /// @dev Record a checked block as the new chain head (layouts: BlockInputs).
    function _accept(uint256[] memory x, uint32 height) private {
        uint256 meta = x[BlockInputs.META];
        uint64 closeTs = uint64(meta >> 32);
        uint48 firstSeq = uint48(meta >> 112);
        uint256 post = x[BlockInputs.POST_ROOT];
        _postStateRoots[height] = post;
        latestHeight = height;
        stateRoot = post;
        nextSeq = uint64(firstSeq) + uint16(meta >> 96);
        emit BlockProven(height, post, x[BlockInputs.COMMANDS], closeTs);
        uint256 m = markets;
        for (uint256 i = 0; i < m; i++) {
            uint256 settle = x[4 + i];
            Settlement memory s = Settlement({
                cumPriceTime: x[4 + m + i],
                closeTs: closeTs,
                volume: uint64(settle >> 41),
                price: uint40(settle),
                carried: (settle >> 40) & 1 == 1,
                tradeCount: uint32(settle >> 105),
                firstSeq: firstSeq
            });
            _settlements[height][i] = s;
            emit MarketSettled(height, marketIds[i], s.price, s.carried, s.volume, s.tradeCount);
        }
    }

    /// @inheritdoc IMarketCommitments
    function getBlock(uint32 height, uint256 index)
        external
        view
        returns (ICommitments.ProvenBlock memory)
    {
        if (index >= markets) revert UnknownMarket(index);
        if (!isProven(height)) revert ICommitments.UnknownBlock(height);
        Settlement storage s = _settlements[height][index];
        return ICommitments.ProvenBlock({
            postStateRoot: _postStateRoots[height],
            cumPriceTime: s.cumPriceTime,
            closeTs: s.closeTs,
            volume: s.volume,
            price: s.price,
            carried: s.carried,
            tradeCount: s.tradeCount,
            firstSeq: s.firstSeq
        });
    }

    /// @inheritdoc IChainHead
    function isProven(uint32 height) public view returns (bool) {
        return height > genesisHeight && height <= latestHeight;
    }
}
