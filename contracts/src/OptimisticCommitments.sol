// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity 0.8.37;

import {IBlockVerifier} from "./interfaces/IBlockVerifier.sol";
import {ICommitments} from "./interfaces/ICommitments.sol";
import {IOptimisticCommitments} from "./interfaces/IOptimisticCommitments.sol";
import {OptimisticChain} from "./OptimisticChain.sol";

/// @title OptimisticCommitments
/// @notice The optimistic mode of a ProvenBook venue of one market: OptimisticChain on the
/// one-market block circuit's verifier (six public inputs), read as an ICommitments, so a
/// ProvenPriceFeed (and through it ProvenOptions) and ProvenMargin read its final blocks
/// directly. The model, and the data-availability assumption it rests on, are on
/// IOptimisticChain.
contract OptimisticCommitments is IOptimisticCommitments, OptimisticChain {
    /// @notice The verifier of the block circuit this venue proves with.
    IBlockVerifier public immutable verifier;
    /// @notice The venue's market.
    uint32 public immutable marketId;

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
    )
        OptimisticChain(
            1,
            genesisHeight_,
            genesisStateRoot_,
            firstSeq_,
            operator_,
            bondAmount_,
            challengeWindow_
        )
    {
        verifier = verifier_;
        marketId = marketId_;
    }

    /// @inheritdoc ICommitments
    function getBlock(uint32 height) external view returns (ProvenBlock memory) {
        return _finalBlock(height, 0);
    }

    /// @inheritdoc IOptimisticCommitments
    function getPendingBlock(uint32 height) external view returns (PendingBlock memory) {
        return _pendingBlock(height, 0);
    }

    /// @dev The one-market verifier takes a fixed array; `_checkLength` made it six.
    function _verify(bytes calldata proof, uint256[] memory publicInputs)
        internal
        view
        override
        returns (bool)
    {
        uint256[6] memory x;
        for (uint256 i = 0; i < 6; i++) {
            x[i] = publicInputs[i];
        }
        return verifier.verifyProof(proof, x);
    }
}
