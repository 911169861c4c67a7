// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity >=0.8.4;

import {IChainHead, ICommitments} from "./ICommitments.sol";

/// @title IMarketCommitments
/// @notice The read side of the chain of final blocks of a venue of M >= 2 markets, whatever
/// made them final (MarketCommitments: a proof at submission; OptimisticMarketCommitments: a
/// challenge window, a challenge or an early proof). Every block settles every market; a
/// MarketView serves one market of it as an ICommitments, so ProvenPriceFeed reads it unchanged.
interface IMarketCommitments is IChainHead {
    /// @dev No market at this index.
    error UnknownMarket(uint256 index);
    /// @dev At deployment: the verifier proves another number of markets than the ids given.
    error MarketCountMismatch(uint256 verifierMarkets, uint256 marketIds);

    /// @notice M, the venue's number of markets.
    function markets() external view returns (uint256);

    /// @notice The id of the market at `index`, in genesis order (the order of the public
    /// inputs).
    function marketIds(uint256 index) external view returns (uint32);

    /// @notice Market `index`'s record of the final block at `height`; reverts with
    /// ICommitments.UnknownBlock if there is none, UnknownMarket for an index >= M.
    function getBlock(uint32 height, uint256 index)
        external
        view
        returns (ICommitments.ProvenBlock memory);
}
