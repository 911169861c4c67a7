// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity 0.8.37;

import {ICommitments} from "./interfaces/ICommitments.sol";
import {MarketCommitments} from "./MarketCommitments.sol";

/// @title MarketView
/// @notice One market of a MarketCommitments venue as an ICommitments, which ProvenPriceFeed
/// (and through it ProvenOptions) and ProvenMargin read: each market of a venue of several
/// markets gets its own feed with no change to them. It holds nothing: every read is the
/// commitments' own.
contract MarketView is ICommitments {
    /// @notice The venue's chain of proven blocks.
    MarketCommitments public immutable commitments;
    /// @notice This market's index in the venue's genesis order.
    uint256 public immutable index;
    /// @notice This market's id.
    uint32 public immutable marketId;

    /// @param commitments_ the venue's commitments
    /// @param index_ the market's index (reverts with MarketCommitments.UnknownMarket past M)
    constructor(MarketCommitments commitments_, uint256 index_) {
        if (index_ >= commitments_.markets()) revert MarketCommitments.UnknownMarket(index_);
        commitments = commitments_;
        index = index_;
        marketId = commitments_.marketIds(index_);
    }

    /// @inheritdoc ICommitments
    function genesisHeight() external view returns (uint32) {
        return commitments.genesisHeight();
    }

    /// @inheritdoc ICommitments
    function latestHeight() external view returns (uint32) {
        return commitments.latestHeight();
    }

    /// @inheritdoc ICommitments
    function isProven(uint32 height) external view returns (bool) {
        return commitments.isProven(height);
    }

    /// @inheritdoc ICommitments
    function getBlock(uint32 height) external view returns (ProvenBlock memory) {
        return commitments.getBlock(height, index);
    }
}
