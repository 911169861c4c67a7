// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity 0.8.37;

import {IBlockVerifierM} from "./interfaces/IBlockVerifierM.sol";
import {ICommitments} from "./interfaces/ICommitments.sol";
import {IMarketCommitments} from "./interfaces/IMarketCommitments.sol";
import {IOptimisticMarketCommitments} from "./interfaces/IOptimisticCommitments.sol";
import {OptimisticChain} from "./OptimisticChain.sol";

/// @title OptimisticMarketCommitments
/// @notice The optimistic mode of a ProvenBook venue of M >= 2 markets: OptimisticChain on the
/// verifier of the block circuit `BlockM` (4 + 2M public inputs, every market settled by every
/// block), read as an IMarketCommitments. One MarketView per market serves an unchanged
/// ProvenPriceFeed (and ProvenOptions, ProvenMargin) that market's final prices. A challenge
/// refutes a block whose post-state root or any one market's settlement or TWAP accumulator is
/// not the proven one. The model, and the data-availability assumption it rests on, are on
/// IOptimisticChain.
contract OptimisticMarketCommitments is IOptimisticMarketCommitments, OptimisticChain {
    /// @notice The verifier of the venue's block circuit.
    IBlockVerifierM public immutable verifier;

    /// @inheritdoc IMarketCommitments
    uint32[] public marketIds;

    /// @param verifier_ the block circuit's verifier (BlockVerifierM, M >= 2)
    /// @param marketIds_ the venue's markets, in genesis order (as many as the verifier's)
    /// @param genesisHeight_ height of the starting state (the first block to propose is one more)
    /// @param genesisStateRoot_ the starting state root
    /// @param firstSeq_ sequence number of the first block's first command
    /// @param operator_ the only proposer
    /// @param bondAmount_ the standing bond in wei (> 0): what a fraud costs the operator
    /// @param challengeWindow_ seconds a proposal stays open to challenges (> 0)
    constructor(
        IBlockVerifierM verifier_,
        uint32[] memory marketIds_,
        uint32 genesisHeight_,
        uint256 genesisStateRoot_,
        uint64 firstSeq_,
        address operator_,
        uint256 bondAmount_,
        uint64 challengeWindow_
    )
        OptimisticChain(
            verifier_.markets(),
            genesisHeight_,
            genesisStateRoot_,
            firstSeq_,
            operator_,
            bondAmount_,
            challengeWindow_
        )
    {
        uint256 m = verifier_.markets();
        if (m != marketIds_.length) revert MarketCountMismatch(m, marketIds_.length);
        verifier = verifier_;
        marketIds = marketIds_;
    }

    /// @inheritdoc IMarketCommitments
    function markets() external view returns (uint256) {
        return _markets;
    }

    /// @inheritdoc IMarketCommitments
    function getBlock(uint32 height, uint256 index)
        external
        view
        returns (ICommitments.ProvenBlock memory)
    {
        _checkIndex(index);
        return _finalBlock(height, index);
    }

    /// @inheritdoc IOptimisticMarketCommitments
    function getPendingBlock(uint32 height, uint256 index)
        external
        view
        returns (PendingBlock memory)
    {
        _checkIndex(index);
        return _pendingBlock(height, index);
    }

    function _checkIndex(uint256 index) private view {
        if (index >= _markets) revert UnknownMarket(index);
    }

    function _verify(bytes calldata proof, uint256[] memory publicInputs)
        internal
        view
        override
        returns (bool)
    {
        return verifier.verifyProof(proof, publicInputs);
    }
}
