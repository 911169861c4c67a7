// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity 0.8.37;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IProvenOptions} from "./interfaces/IProvenOptions.sol";
import {ProvenPriceFeed} from "./ProvenPriceFeed.sol";

/// @title ProvenOptions
/// @notice Cash-settled calls and puts, European or American, on one ProvenPriceFeed and one
/// ERC-20 collateral token: writers lock the largest payout up front, holders are paid from it
/// at the proven expiry price (or, American, early at the latest proven price). No order book:
/// longs are ERC-1155 tokens (id = series id) that trade anywhere.
/// @dev Units, clocks and the pooled collateral model are described on IProvenOptions.
/// Invariant, per series: `collateral >= longs * collateralPerContract` until settlement and
/// `collateral >= longs * payoutPerContract` after it, so every long is always fully funded:
/// writes add exactly `collateralPerContract` per long, and early exercise, redemption and
/// withdrawal each take out at most what that bound leaves.
///
/// The collateral token must be a plain ERC-20: a fee-on-transfer or rebasing token would
/// break the accounting (the contract books what it asked for, not what arrived).
contract ProvenOptions is IProvenOptions, ERC1155, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice The proven prices the options settle on.
    ProvenPriceFeed public immutable feed;
    /// @notice The asset the feed prices (asked for in `getExpiryPrice`).
    address public immutable asset;
    /// @notice The ERC-20 all collateral and payouts are in.
    IERC20 public immutable collateralToken;
    /// @notice Contract size: collateral base units paid per price unit in the money, per option.
    uint256 public immutable multiplier;
    /// @notice Early exercise refuses a latest proven price older than this many seconds.
    uint256 public immutable maxPriceAge;

    uint256 private _seriesCount;
    mapping(uint256 seriesId => Series) private _series;
    mapping(uint256 seriesId => mapping(address writer => uint256)) private _shorts;

    /// @param feed_ the market's ProvenPriceFeed
    /// @param collateralToken_ the collateral ERC-20 (plain: no transfer fee, no rebasing)
    /// @param multiplier_ contract size, collateral base units per price unit (e.g. with prices
    /// in cents and a 6-decimal dollar token, 10_000 makes one option one unit of the asset)
    /// @param maxPriceAge_ the oldest latest proven price early exercise accepts, in seconds
    constructor(
        ProvenPriceFeed feed_,
        IERC20 collateralToken_,
        uint256 multiplier_,
        uint256 maxPriceAge_
    ) ERC1155("") {
        if (multiplier_ == 0) revert ZeroMultiplier();
        feed = feed_;
        asset = feed_.asset();
        collateralToken = collateralToken_;
        multiplier = multiplier_;
        maxPriceAge = maxPriceAge_;
    }

    /// @inheritdoc IProvenOptions
    function createSeries(bool isCall, bool american, uint256 strike, uint64 expiry, uint256 cap)
        external
        virtual
        returns (uint256 seriesId)
    {
        if (expiry <= block.timestamp) revert ExpiryInPast(expiry, block.timestamp);
        if (isCall ? cap <= strike : (strike == 0 || cap != 0)) {
            revert InvalidTerms(isCall, strike, cap);
        }
        uint256 perContract = (isCall ? cap - strike : strike) * multiplier;
        seriesId = ++_seriesCount;
        Series storage s = _series[seriesId];
        s.strike = strike;
        s.cap = cap;
        s.collateralPerContract = perContract;
        s.expiry = expiry;
        s.isCall = isCall;
        s.american = american;
        emit SeriesCreated(seriesId, msg.sender, isCall, american, strike, expiry, cap, perContract);
    }

    /// @inheritdoc IProvenOptions
    function write(uint256 seriesId, uint256 amount)
        external
        virtual
        nonReentrant
        returns (uint256 collateral)
    {
        Series storage s = _existing(seriesId);
        if (amount == 0) revert ZeroAmount();
        if (block.timestamp >= s.expiry) revert SeriesExpired(seriesId, s.expiry);
        if (s.writingClosed) revert WritingClosed(seriesId);
        collateral = amount * s.collateralPerContract;
        s.longs += amount;
        s.shorts += amount;
        s.collateral += collateral;
        _shorts[seriesId][msg.sender] += amount;
        emit Written(seriesId, msg.sender, amount, collateral);
        collateralToken.safeTransferFrom(msg.sender, address(this), collateral);
        // Last: minting calls onERC1155Received on a contract recipient.
        _mint(msg.sender, seriesId, amount, "");
    }

    /// @inheritdoc IProvenOptions
    function exerciseEarly(uint256 seriesId, uint256 amount)
        external
        virtual
        nonReentrant
        returns (uint256 payout)
    {
        Series storage s = _existing(seriesId);
        if (amount == 0) revert ZeroAmount();
        if (!s.american) revert NotAmerican(seriesId);
        if (block.timestamp >= s.expiry) revert SeriesExpired(seriesId, s.expiry);
        (uint80 roundId, int256 answer,, uint256 updatedAt,) = feed.latestRoundData();
        // A block that closed after the expiry proves, on the venue's clock, that it passed:
        // its price belongs to settlement, not to an exercise before expiry.
        if (updatedAt > s.expiry) revert SeriesExpired(seriesId, s.expiry);
        if (block.timestamp > updatedAt && block.timestamp - updatedAt > maxPriceAge) {
            revert StalePrice(updatedAt, block.timestamp, maxPriceAge);
        }
        uint256 price = SafeCast.toUint256(answer);
        uint256 perContract = _payoff(s, price);
        if (perContract == 0) revert OutOfTheMoney(seriesId, price, s.strike);
        payout = amount * perContract;
        _burn(msg.sender, seriesId, amount); // reverts unless the caller holds `amount` longs
        s.longs -= amount;
        s.collateral -= payout;
        s.writingClosed = true;
        emit ExercisedEarly(seriesId, msg.sender, amount, roundId, price, payout);
        collateralToken.safeTransfer(msg.sender, payout);
    }

    /// @inheritdoc IProvenOptions
    function settle(uint256 seriesId) external virtual returns (uint256 price) {
        Series storage s = _existing(seriesId);
        if (s.settled) revert AlreadySettled(seriesId);
        if (block.timestamp < s.expiry) revert NotExpired(seriesId, s.expiry);
        bool isFinalized;
        (price, isFinalized) = feed.getExpiryPrice(asset, s.expiry);
        if (!isFinalized) revert PriceNotFinal(seriesId, s.expiry);
        uint256 perContract = _payoff(s, price);
        s.settled = true;
        s.settlementPrice = price;
        s.payoutPerContract = perContract;
        emit Settled(seriesId, price, perContract);
    }

    /// @inheritdoc IProvenOptions
    function redeem(uint256 seriesId, uint256 amount)
        external
        virtual
        nonReentrant
        returns (uint256 payout)
    {
        Series storage s = _existing(seriesId);
        if (amount == 0) revert ZeroAmount();
        if (!s.settled) revert NotSettled(seriesId);
        payout = amount * s.payoutPerContract;
        _burn(msg.sender, seriesId, amount); // reverts unless the caller holds `amount` longs
        s.longs -= amount;
        s.collateral -= payout;
        emit Redeemed(seriesId, msg.sender, amount, payout);
        if (payout != 0) collateralToken.safeTransfer(msg.sender, payout);
    }

    /// @inheritdoc IProvenOptions
    function withdraw(uint256 seriesId) external virtual nonReentrant returns (uint256 amount) {
        Series storage s = _existing(seriesId);
        if (!s.settled) revert NotSettled(seriesId);
        uint256 mine = _shorts[seriesId][msg.sender];
        if (mine == 0) revert NothingToWithdraw(seriesId, msg.sender);
        uint256 writers = s.collateral - s.longs * s.payoutPerContract;
        // mine <= s.shorts, so this is at most `writers`, and exactly `writers` for the last one.
        amount = Math.mulDiv(writers, mine, s.shorts);
        _shorts[seriesId][msg.sender] = 0;
        s.shorts -= mine;
        s.collateral -= amount;
        emit Withdrawn(seriesId, msg.sender, mine, amount);
        if (amount != 0) collateralToken.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IProvenOptions
    function getSeries(uint256 seriesId) external view virtual returns (Series memory) {
        return _existing(seriesId);
    }

    /// @inheritdoc IProvenOptions
    function shortBalance(uint256 seriesId, address writer)
        external
        view
        virtual
        returns (uint256)
    {
        return _shorts[seriesId][writer];
    }

    /// @inheritdoc IProvenOptions
    function payoff(uint256 seriesId, uint256 price) external view virtual returns (uint256) {
        return _payoff(_existing(seriesId), price);
    }

    /// @inheritdoc IProvenOptions
    function seriesCount() external view virtual returns (uint256) {
        return _seriesCount;
    }

    /// @dev The series, or UnknownSeries: a created series always has a nonzero expiry.
    function _existing(uint256 seriesId) private view returns (Series storage s) {
        s = _series[seriesId];
        if (s.expiry == 0) revert UnknownSeries(seriesId);
    }

    /// @dev One option's payout at `price`; at most `collateralPerContract` (the call's payout
    /// stops growing at `cap`, the put's at price 0).
    function _payoff(Series storage s, uint256 price) private view returns (uint256) {
        if (s.isCall) {
            return price > s.strike ? (Math.min(price, s.cap) - s.strike) * multiplier : 0;
        }
        return price < s.strike ? (s.strike - price) * multiplier : 0;
    }
}
