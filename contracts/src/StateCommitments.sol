// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity 0.8.37;

import {BlockInputs} from "./BlockInputs.sol";
import {IBlockVerifier} from "./interfaces/IBlockVerifier.sol";
import {ICommitments} from "./interfaces/ICommitments.sol";

/// @title StateCommitments
/// @notice The chain of proven blocks of one ProvenBook venue (v1: one market). A block is
/// accepted only if its pre-state root is the last accepted post-state root, its height and
/// first sequence number follow the last accepted block's, and its Groth16 validity proof
/// verifies against its public inputs. Anyone may submit: the proof, not the sender, is what
/// is trusted (validity mode).
/// @dev The public inputs are the circuit's own, read through BlockInputs. The state root
/// commits to height, marks, close time and the TWAP accumulator, so a proof that verifies
/// fixes every field read here. The read side (`ProvenBlock`, `getBlock`,
/// `isProven`, `latestHeight`, `genesisHeight`, `UnknownBlock`) is ICommitments, which
/// OptimisticCommitments implements too, so one ProvenPriceFeed serves either mode.
contract StateCommitments is ICommitments {
    using BlockInputs for uint256[6];

    /// @notice The verifier of the block circuit this venue proves with.
    IBlockVerifier public immutable verifier;
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

    /// @param verifier_ the block circuit's verifier
    /// @param marketId_ the venue's market
    /// @param genesisHeight_ height of the starting state (the first block to submit is one more)
    /// @param genesisStateRoot_ the starting state root
    /// @param firstSeq_ sequence number of the first block's first command
    constructor(
        IBlockVerifier verifier_,
        uint32 marketId_,
        uint32 genesisHeight_,
        uint256 genesisStateRoot_,
        uint64 firstSeq_
    ) {
        verifier = verifier_;
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
        uint256 bad = publicInputs.malformed();
        if (bad < 6) revert MalformedPublicInput(bad);
        uint256 preRoot = publicInputs[BlockInputs.PRE_ROOT];
        if (preRoot != stateRoot) revert PreStateRootMismatch(stateRoot, preRoot);
        height = publicInputs.height();
        if (height != latestHeight + 1) revert HeightMismatch(latestHeight + 1, height);
        uint64 firstSeq = publicInputs.firstSeq();
        if (firstSeq != nextSeq) revert SequenceMismatch(nextSeq, firstSeq);
        if (!verifier.verifyProof(proof, publicInputs)) revert InvalidProof(height);

        ProvenBlock memory b = publicInputs.unpack();
        _blocks[height] = b;
        latestHeight = height;
        stateRoot = b.postStateRoot;
        nextSeq = firstSeq + publicInputs.commandCount();
        emit BlockProven(
            height,
            b.postStateRoot,
            publicInputs[BlockInputs.COMMANDS],
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
