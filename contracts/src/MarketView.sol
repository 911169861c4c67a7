// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity 0.8.37;

import {IChainHead, ICommitments} from "./interfaces/ICommitments.sol";
import {IMarketCommitments} from "./interfaces/IMarketCommitments.sol";

/// @title MarketView
/// @notice One market of a venue of several markets (MarketCommitments in validity mode,
/// OptimisticMarketCommitments in optimistic mode) as an ICommitments, which ProvenPriceFeed
/// (and through it ProvenOptions) and ProvenMargin read: each market of a venue of several
/// markets gets its own feed with no change to them. It holds nothing: every read is the
/// commitments' own.
contract MarketView is ICommitments {
    /// @notice The venue's chain of final blocks.
    IMarketCommitments public immutable commitments;
    /// @notice This market's index in the venue's genesis order.
    uint256 public immutable index;
    /// @notice This market's id.
    uint32 public immutable marketId;

    /// @param commitments_ the venue's commitments
    /// @param index_ the market's index (reverts with IMarketCommitments.UnknownMarket past M)
    constructor(IMarketCommitments commitments_, uint256 index_) {
        if (index_ >= commitments_.markets()) revert IMarketCommitments.UnknownMarket(index_);
        commitments = commitments_;
        index = index_;
        marketId = commitments_.marketIds(index_);
    }

    /// @inheritdoc IChainHead
    function genesisHeight() external view returns (uint32) {
        return commitments.genesisHeight();
    }

    /// @inheritdoc IChainHead
    function latestHeight() external view returns (uint32) {
        return commitments.latestHeight();
    }

    /// @inheritdoc IChainHead
    function isProven(uint32 height) external view returns (bool) {
        return commitments.isProven(height);
    }

    /// @inheritdoc ICommitments
    function getBlock(uint32 height) external view returns (ProvenBlock memory) {
        return commitments.getBlock(height, index);
    }
}
