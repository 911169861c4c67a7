// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity 0.8.37;

import {AggregatorV3Interface} from "./interfaces/AggregatorV3Interface.sol";
import {ICommitments} from "./interfaces/ICommitments.sol";

/// @title ProvenPriceFeed
/// @notice A market's proven settlement prices behind Chainlink's AggregatorV3Interface, so any
/// Chainlink consumer reads them unchanged: a round is a proven block (roundId = height),
/// `answer` its settlement price, `updatedAt` its close time. Also a TWAP between two rounds,
/// and expiry prices in the Opyn (`getExpiryPrice`) and Derive (`getSettlementPrice`) styles.
/// @dev Nothing here is trusted beyond the commitments it reads (ICommitments): every value read
/// is a public input of a final block, one whose validity proof verified (StateCommitments), or,
/// in optimistic mode (OptimisticCommitments), one whose challenge window passed unchallenged or
/// that was proven; pending optimistic blocks are never rounds here. Prices are integers in the
/// venue's price unit, so `decimals` is the number of decimals of that unit (set at deployment).
contract ProvenPriceFeed is AggregatorV3Interface {
    /// @notice The final blocks this feed reads (a StateCommitments or OptimisticCommitments).
    ICommitments public immutable commitments;
    /// @notice The asset this feed prices (what `getExpiryPrice` answers for).
    address public immutable asset;
    uint8 private immutable _decimals;
    string private _description;

    /// @notice The round has no proven block (not yet proven, or never a block).
    error RoundNotProven(uint80 roundId);
    /// @notice No block has been proven yet.
    error NoProvenRound();
    /// @notice No proven block closed at or before the time asked.
    error NoRoundBefore(uint256 timestamp);
    /// @notice A TWAP needs two proven rounds, the first one earlier in time.
    error BadTwapWindow(uint80 fromRoundId, uint80 toRoundId);
    /// @notice This feed prices another asset.
    error UnknownAsset(address asset);

    /// @param commitments_ the venue's StateCommitments (or OptimisticCommitments)
    /// @param asset_ the priced asset's token address (for Opyn-style expiry queries)
    /// @param decimals_ decimals of the venue's price unit
    /// @param description_ e.g. "BTC-USD / ProvenBook"
    constructor(
        ICommitments commitments_,
        address asset_,
        uint8 decimals_,
        string memory description_
    ) {
        commitments = commitments_;
        asset = asset_;
        _decimals = decimals_;
        _description = description_;
    }

    /// @inheritdoc AggregatorV3Interface
    function decimals() external view returns (uint8) {
        return _decimals;
    }

    /// @inheritdoc AggregatorV3Interface
    function description() external view returns (string memory) {
        return _description;
    }

    /// @inheritdoc AggregatorV3Interface
    function version() external pure returns (uint256) {
        return 1;
    }

    /// @inheritdoc AggregatorV3Interface
    /// @dev Reverts with RoundNotProven for a round that is not a proven block. `startedAt` is
    /// the previous proven block's close time (the block's own for the first one).
    function getRoundData(uint80 _roundId)
        public
        view
        returns (
            uint80 roundId,
            int256 answer,
            uint256 startedAt,
            uint256 updatedAt,
            uint80 answeredInRound
        )
    {
        ICommitments.ProvenBlock memory b = _round(_roundId);
        updatedAt = _seconds(b.closeTs);
        startedAt = commitments.isProven(uint32(_roundId - 1))
            ? _seconds(commitments.getBlock(uint32(_roundId - 1)).closeTs)
            : updatedAt;
        return (_roundId, int256(uint256(b.price)), startedAt, updatedAt, _roundId);
    }

    /// @inheritdoc AggregatorV3Interface
    /// @dev Reverts with NoProvenRound until the first block is proven.
    function latestRoundData()
        external
        view
        returns (
            uint80 roundId,
            int256 answer,
            uint256 startedAt,
            uint256 updatedAt,
            uint80 answeredInRound
        )
    {
        uint32 latest = commitments.latestHeight();
        if (latest == commitments.genesisHeight()) revert NoProvenRound();
        return getRoundData(latest);
    }

    /// @notice The round's block beyond the price: whether the price was carried, volume,
    /// trades and close time in nanoseconds.
    function getRoundDetails(uint80 roundId)
        external
        view
        returns (uint256 price, bool carried, uint256 volume, uint256 tradeCount, uint64 closeTs)
    {
        ICommitments.ProvenBlock memory b = _round(roundId);
        return (b.price, b.carried, b.volume, b.tradeCount, b.closeTs);
    }

    /// @notice Time-weighted average price over (close of `fromRoundId`, close of `toRoundId`],
    /// exact from the proven accumulator: each block's price weighted by the milliseconds since
    /// the previous block's close, rounded down.
    function twap(uint80 fromRoundId, uint80 toRoundId) public view returns (uint256) {
        if (
            fromRoundId >= toRoundId || toRoundId > type(uint32).max
                || !commitments.isProven(uint32(fromRoundId))
                || !commitments.isProven(uint32(toRoundId))
        ) revert BadTwapWindow(fromRoundId, toRoundId);
        ICommitments.ProvenBlock memory a = commitments.getBlock(uint32(fromRoundId));
        ICommitments.ProvenBlock memory b = commitments.getBlock(uint32(toRoundId));
        uint256 ms = b.closeTs / 1e6 - a.closeTs / 1e6;
        if (ms == 0) revert BadTwapWindow(fromRoundId, toRoundId);
        return (b.cumPriceTime - a.cumPriceTime) / ms;
    }

    /// @notice The last proven round whose block closed at or before `timestamp` (seconds);
    /// reverts with NoRoundBefore if there is none.
    /// @dev Binary search: close times never decrease with height (the circuit refuses a block
    /// that closes before its parent).
    function roundAt(uint256 timestamp) public view returns (uint80) {
        uint32 lo = commitments.genesisHeight() + 1;
        uint32 hi = commitments.latestHeight();
        if (hi < lo || _seconds(commitments.getBlock(lo).closeTs) > timestamp) {
            revert NoRoundBefore(timestamp);
        }
        while (lo < hi) {
            uint32 mid = hi - (hi - lo) / 2;
            if (_seconds(commitments.getBlock(mid).closeTs) <= timestamp) lo = mid;
            else hi = mid - 1;
        }
        return lo;
    }

    /// @notice Opyn-style expiry price: the proven price at `expiryTimestamp` (seconds), final
    /// once a block closing after the expiry's second is proven (no later block can then change
    /// what was the price at the expiry).
    function getExpiryPrice(address asset_, uint256 expiryTimestamp)
        external
        view
        returns (uint256 price, bool isFinalized)
    {
        if (asset_ != asset) revert UnknownAsset(asset_);
        return _expiryPrice(expiryTimestamp);
    }

    /// @notice Derive-style settlement price at `expiry` (seconds): settled once final.
    function getSettlementPrice(uint64 expiry) external view returns (bool settled, uint256 price) {
        (price, settled) = _expiryPrice(expiry);
    }

    function _expiryPrice(uint256 expiry) private view returns (uint256 price, bool isFinal) {
        ICommitments.ProvenBlock memory b = commitments.getBlock(uint32(roundAt(expiry)));
        uint32 latest = commitments.latestHeight();
        isFinal = _seconds(commitments.getBlock(latest).closeTs) > expiry;
        return (b.price, isFinal);
    }

    /// @dev The proven block of a round, or RoundNotProven.
    function _round(uint80 roundId) private view returns (ICommitments.ProvenBlock memory) {
        if (roundId > type(uint32).max || !commitments.isProven(uint32(roundId))) {
            revert RoundNotProven(roundId);
        }
        return commitments.getBlock(uint32(roundId));
    }

    function _seconds(uint64 closeTsNs) private pure returns (uint256) {
        return closeTsNs / 1e9;
    }
}
