// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity >=0.8.4;

/// @title Errors of ProvenOptions
/// @notice Every refusal of ProvenOptions, with the values that caused it.
interface IProvenOptionsErrors {
    /// @dev No series has this id (ids start at 1).
    error UnknownSeries(uint256 seriesId);
    /// @dev An amount of option contracts must be positive.
    error ZeroAmount();
    /// @dev The contract size (collateral units per price unit per contract) must be positive.
    error ZeroMultiplier();
    /// @dev A new series must expire after the current block's timestamp.
    /// @param expiry the requested expiry (unix seconds)
    /// @param nowTs the current block's timestamp
    error ExpiryInPast(uint64 expiry, uint256 nowTs);
    /// @dev The series' terms are not a fully collateralisable option: a call needs
    /// `cap > strike`; a put needs `strike > 0` and `cap == 0`.
    error InvalidTerms(bool isCall, uint256 strike, uint256 cap);
    /// @dev The series has expired: the block's timestamp reached its expiry, or (early
    /// exercise) the latest proven price is from after it.
    error SeriesExpired(uint256 seriesId, uint64 expiry);
    /// @dev Settlement waits until the block's timestamp reaches the expiry.
    error NotExpired(uint256 seriesId, uint64 expiry);
    /// @dev An American series takes no new writers once one of its options was exercised
    /// early, so that every short of the series has the same history (see `write`).
    error WritingClosed(uint256 seriesId);
    /// @dev Early exercise is for American series only.
    error NotAmerican(uint256 seriesId);
    /// @dev The feed's expiry price is not final yet: no block closing after the expiry's
    /// second has been proven.
    error PriceNotFinal(uint256 seriesId, uint64 expiry);
    /// @dev The series' settlement price is already fixed.
    error AlreadySettled(uint256 seriesId);
    /// @dev Redeeming and withdrawing wait for `settle`.
    error NotSettled(uint256 seriesId);
    /// @dev Early exercise of an option that would pay nothing at the latest proven price.
    error OutOfTheMoney(uint256 seriesId, uint256 price, uint256 strike);
    /// @dev The latest proven price is older than `maxPriceAge` seconds.
    /// @param updatedAt close time (unix seconds) of the latest proven block
    /// @param nowTs the current block's timestamp
    /// @param maxPriceAge the oldest price early exercise accepts, in seconds
    error StalePrice(uint256 updatedAt, uint256 nowTs, uint256 maxPriceAge);
    /// @dev The caller has no short position left in the series.
    error NothingToWithdraw(uint256 seriesId, address writer);
}

/// @title Events of ProvenOptions
/// @notice Each fires once per state change, right after it. Long positions also move by the
/// ERC-1155 `TransferSingle` events of their mint (on `write`) and burn (on `exerciseEarly`
/// and `redeem`).
interface IProvenOptionsEvents {
    /// @notice A series was created; emitted exactly once per series id.
    event SeriesCreated(
        uint256 indexed seriesId,
        address indexed creator,
        bool isCall,
        bool american,
        uint256 strike,
        uint64 expiry,
        uint256 cap,
        uint256 collateralPerContract
    );
    /// @notice `writer` locked `collateral` and wrote `amount` options (longs minted to them).
    event Written(
        uint256 indexed seriesId, address indexed writer, uint256 amount, uint256 collateral
    );
    /// @notice `holder` exercised `amount` American options before expiry against the proven
    /// price of round `roundId`, and was paid `payout` from the series' pooled collateral.
    event ExercisedEarly(
        uint256 indexed seriesId,
        address indexed holder,
        uint256 amount,
        uint80 roundId,
        uint256 price,
        uint256 payout
    );
    /// @notice The series' settlement price was fixed; emitted at most once per series.
    event Settled(uint256 indexed seriesId, uint256 price, uint256 payoutPerContract);
    /// @notice `holder` redeemed `amount` longs after settlement for `payout` (0 when out of
    /// the money).
    event Redeemed(uint256 indexed seriesId, address indexed holder, uint256 amount, uint256 payout);
    /// @notice `writer` closed `shorts` short contracts after settlement and took back `amount`
    /// of the series' remaining collateral.
    event Withdrawn(
        uint256 indexed seriesId, address indexed writer, uint256 shorts, uint256 amount
    );
}

/// @title ProvenOptions
/// @notice Cash-settled calls and puts, European or American, written against fully locked
/// ERC-20 collateral and settled on a ProvenPriceFeed's proven prices (no external oracle).
///
/// Units. Prices (strike, cap, feed prices) are integers in the feed's price unit. The contract
/// size `multiplier` is in collateral base units per price unit, so one option pays
///   call: (min(price, cap) - strike) * multiplier   if price > strike, else 0
///   put:  (strike - price) * multiplier             if price < strike, else 0
/// and each contract is collateralised by its largest payout: `(cap - strike) * multiplier` for
/// a call (a cash-settled call is unbounded, so a call series carries a cap: it is a call
/// spread), `strike * multiplier` for a put. Payouts are exact integers; nothing is rounded.
///
/// Time. "Expired" is the chain's clock: a series expires when `block.timestamp` reaches its
/// `expiry` (unix seconds); before that an American option can be exercised early, from then on
/// the series can be settled. The settlement price is the venue's proven clock: the feed's
/// `getExpiryPrice(asset, expiry)`, the price of the last proven block that closed at or before
/// the expiry second, which is final once a block closing after it is proven.
///
/// Collateral is pooled per series. Early exercise pays from the pool, so it reduces every
/// writer's share alike; after settlement, holders are owed exactly `payoutPerContract` per
/// long, and writers share what is left pro rata to their shorts.
interface IProvenOptions is IProvenOptionsErrors, IProvenOptionsEvents {
    /// @notice A series and its pooled accounting.
    /// @param strike strike price (feed price unit)
    /// @param cap calls: the price above which the payout stops growing; puts: 0
    /// @param collateralPerContract collateral locked per option written (its largest payout)
    /// @param longs open long contracts: written, less exercised early and redeemed
    /// @param shorts open short contracts: written, less withdrawn
    /// @param collateral collateral the contract holds for the series
    /// @param settlementPrice the expiry price, once settled
    /// @param payoutPerContract what one long is paid at settlement, once settled
    /// @param expiry expiry (unix seconds, compared with `block.timestamp`)
    /// @param isCall call (true) or put (false)
    /// @param american whether early exercise is allowed before expiry
    /// @param settled whether `settle` fixed the settlement price
    /// @param writingClosed whether an early exercise closed the series to new writers
    struct Series {
        uint256 strike;
        uint256 cap;
        uint256 collateralPerContract;
        uint256 longs;
        uint256 shorts;
        uint256 collateral;
        uint256 settlementPrice;
        uint256 payoutPerContract;
        uint64 expiry;
        bool isCall;
        bool american;
        bool settled;
        bool writingClosed;
    }

    /// @notice Create a series; anyone may. Identical terms may be created twice: each series
    /// is its own collateral pool.
    /// @dev Reverts with ExpiryInPast unless `expiry > block.timestamp`, InvalidTerms for a call
    /// without `cap > strike` or a put without `strike > 0 && cap == 0`.
    /// @param isCall call (true) or put (false)
    /// @param american whether holders may exercise early, before expiry
    /// @param strike strike price, in the feed's price unit
    /// @param expiry expiry, unix seconds
    /// @param cap for a call, the price above which the payout stops growing; 0 for a put
    /// @return seriesId the new series' id (also its ERC-1155 token id); ids count from 1
    function createSeries(bool isCall, bool american, uint256 strike, uint64 expiry, uint256 cap)
        external
        returns (uint256 seriesId);

    /// @notice Write `amount` options: lock `amount * collateralPerContract` of the collateral
    /// token (the caller must have approved it), record `amount` shorts for the caller and mint
    /// them `amount` longs (ERC-1155, token id = series id) to keep or transfer.
    /// @dev Reverts with UnknownSeries, ZeroAmount, SeriesExpired at or after expiry, and
    /// WritingClosed for an American series after its first early exercise: from then on its
    /// shorts have paid for that exercise, and a new writer would share a loss it did not
    /// take on (create a new series instead).
    /// @return collateral the collateral locked
    function write(uint256 seriesId, uint256 amount) external returns (uint256 collateral);

    /// @notice Exercise `amount` American longs before expiry against the latest proven price
    /// (`latestRoundData`), for `amount * payoff(seriesId, price)` paid from the series' pool.
    /// @dev Reverts with NotAmerican, SeriesExpired at or after expiry or when the latest
    /// proven block closed after the expiry, StalePrice when that block closed more than
    /// `maxPriceAge` seconds before `block.timestamp`, OutOfTheMoney when the payoff is 0, and
    /// ERC1155InsufficientBalance when the caller holds fewer longs. Closes the series to new
    /// writers (see `write`).
    /// @return payout the collateral paid to the caller
    function exerciseEarly(uint256 seriesId, uint256 amount) external returns (uint256 payout);

    /// @notice Fix the series' settlement price from the feed's final expiry price; anyone may,
    /// once.
    /// @dev Reverts with NotExpired before expiry, PriceNotFinal until a block closing after the
    /// expiry second is proven, AlreadySettled the second time; the feed's NoRoundBefore when
    /// no proven block closed at or before the expiry.
    /// @return price the settlement price
    function settle(uint256 seriesId) external returns (uint256 price);

    /// @notice Burn `amount` of the caller's longs of a settled series for
    /// `amount * payoutPerContract` (0 when it expired out of the money).
    /// @dev Reverts with ZeroAmount, NotSettled, ERC1155InsufficientBalance.
    /// @return payout the collateral paid to the caller
    function redeem(uint256 seriesId, uint256 amount) external returns (uint256 payout);

    /// @notice Close all of the caller's shorts of a settled series and take back their share
    /// of the writers' collateral, `collateral - longs * payoutPerContract`.
    /// @dev The share is `floor(writersCollateral * shorts / openShorts)`. Rounding down leaves
    /// the remainder to the writers who withdraw later, and the last one receives exactly what
    /// is left, so no collateral is stranded and every holder's payout stays fully funded.
    /// Reverts with NotSettled, NothingToWithdraw.
    /// @return amount the collateral paid to the caller
    function withdraw(uint256 seriesId) external returns (uint256 amount);

    /// @notice The series' terms and accounting; reverts with UnknownSeries.
    function getSeries(uint256 seriesId) external view returns (Series memory);

    /// @notice The open short contracts `writer` holds in the series.
    function shortBalance(uint256 seriesId, address writer) external view returns (uint256);

    /// @notice What one option of the series pays at `price` (collateral base units).
    function payoff(uint256 seriesId, uint256 price) external view returns (uint256);

    /// @notice Number of series created (the last series id).
    function seriesCount() external view returns (uint256);
}
