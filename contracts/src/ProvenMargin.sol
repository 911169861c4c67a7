// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity 0.8.37;

import {ICommitments} from "./interfaces/ICommitments.sol";
import {IPoseidon2, IPoseidon3, IPoseidon4} from "./interfaces/IPoseidon.sol";

/// @title ProvenMargin
/// @notice Margin checked against proven state. Anyone can open an account of a ProvenBook
/// venue against a final block's post-state root (the account's leaf fields, its path in the
/// accounts tree, and each market's part of the root, so the marks are proven too), read its
/// equity and maintenance requirement at those marks, and trigger its liquidation when it is
/// under maintenance margin at the latest final block.
/// @dev The state root layout is proofs/state.py's (its module docstring):
///   state_root   = chain(accounts_root, markets_root, height)
///   markets_root = chain(market_root(m1), ..., market_root(mk), k)
///   market_root  = chain(bids side root, asks side root, pack(mark 40, last_close_ts 64),
///                        cum_price_time)
///   account leaf = absorb4([pubkey hash, pack_greedy(collateral, per market: position,
///                  open_buy, open_sell, basis; nonce)])
/// with circomlib's Poseidon (the generated PoseidonT3/T4/T5), `chain` a left fold of
/// Poseidon(2), and a 4-ary accounts tree whose nodes are Poseidon(4) of their children.
/// Signed fields are offset by half their range before packing, as in Python; the Solidity
/// types (int64, uint56, int128...) are exactly the committed widths, so ABI decoding already
/// refuses a field outside its range. Equity and requirement follow matching/engine.py
/// (`_equity`, `_requirement`) with the maintenance rate in place of the initial one and
/// without the open orders: equity = collateral + sum(position * mark - basis); maintenance =
/// sum(ceil(bps * mark * |position| / 10000)).
/// A trigger is a proven, public record that the account was under maintenance at the latest
/// final block; the venue acts on it with a liquidation order its block proof checks. A
/// trigger opens an episode that only a proof of the account above maintenance at a later
/// final block closes (`clearLiquidation`), so a trigger cannot be pushed later by triggering
/// again. If the account is still under maintenance `liquidationGrace` final blocks after the
/// trigger, anyone can record that the venue is overdue (`reportOverdue`), a public, proven
/// flag for whoever relies on the venue's prices.
contract ProvenMargin {
    /// @notice An account's position in one market, as its leaf commits it.
    struct Position {
        int64 position;
        uint56 openBuy;
        uint56 openSell;
        int128 basis;
    }

    /// @notice One market's part of the state root: its side roots and its state.
    struct Market {
        uint256 bids;
        uint256 asks;
        uint40 mark;
        uint64 lastCloseTs;
        uint256 cumPriceTime;
    }

    /// @notice An account opened against the post-state root of the block at `height`
    /// (Python: `proofs.state.AccountOpening`). `siblings`: bottom-up, three per level.
    struct AccountProof {
        uint32 height;
        uint32 account;
        uint256 pubkeyHash;
        int128 collateral;
        Position[] positions;
        uint64 nonce;
        uint256[] siblings;
        Market[] markets;
    }

    uint256 private constant BPS = 10_000;
    uint256 private constant MAX_PACK_BITS = 253;

    /// @notice The venue's final blocks (validity or optimistic mode).
    ICommitments public immutable commitments;
    /// @notice circomlib Poseidon(2), Poseidon(3), Poseidon(4).
    IPoseidon2 public immutable poseidon2;
    IPoseidon3 public immutable poseidon3;
    IPoseidon4 public immutable poseidon4;
    /// @notice Bits of an account index (the accounts tree holds 2**accountDepth leaves).
    uint8 public immutable accountDepth;
    /// @notice Final blocks the venue has, after a trigger, to bring the account back above
    /// maintenance margin (by liquidating it) before it can be reported overdue.
    uint32 public immutable liquidationGrace;
    /// @notice Liquidations reported overdue so far (0 for a venue that always acted in time).
    uint32 public overdueCount;

    uint16[] private _maintenanceBps;

    /// @notice Trigger height of each account's open liquidation episode (0: none open).
    mapping(uint32 account => uint32 height) public liquidationHeight;
    /// @notice Trigger height of the last liquidation of each account reported overdue (0: none).
    mapping(uint32 account => uint32 height) public overdueTrigger;

    /// @notice `account` was proven under maintenance margin at the final block `height`.
    event LiquidationTriggered(
        uint32 indexed account,
        uint32 indexed height,
        int256 equity,
        uint256 maintenance,
        address indexed by
    );

    /// @notice `account`, triggered at `triggeredAt`, was proven above maintenance margin at the
    /// final block `height`: its episode is closed, a later trigger opens a new one.
    event LiquidationCleared(uint32 indexed account, uint32 triggeredAt, uint32 height);

    /// @notice `account`, triggered at `triggeredAt`, was still under maintenance margin at the
    /// final block `height`, at least `liquidationGrace` blocks later: the venue is overdue.
    event LiquidationOverdue(
        uint32 indexed account,
        uint32 triggeredAt,
        uint32 indexed height,
        int256 equity,
        uint256 maintenance,
        address indexed by
    );

    /// @notice A constructor parameter is out of range (a rate of 0 or above 100%, a depth
    /// outside 1..32, no market).
    error BadParameters();
    /// @notice The proof has positions or markets for another number of markets.
    error WrongMarketCount(uint256 expected, uint256 positions, uint256 markets);
    /// @notice The path does not have three siblings per level of the accounts tree.
    error WrongPathLength(uint256 expected, uint256 provided);
    /// @notice The account index does not fit the accounts tree.
    error AccountOutOfRange(uint32 account);
    /// @notice The proof does not open the proven state root of its block.
    error StateRootMismatch(uint32 height, uint256 proven, uint256 computed);
    /// @notice Liquidations are triggered on the latest final state only (an older state may
    /// have been cured since).
    error NotLatestBlock(uint32 height, uint32 latest);
    /// @notice The account's equity covers its maintenance requirement.
    error AccountHealthy(uint32 account, int256 equity, uint256 maintenance);
    /// @notice This account's liquidation was triggered at `height` and is not cleared yet.
    error AlreadyTriggered(uint32 account, uint32 height);
    /// @notice No liquidation of this account is open.
    error NotTriggered(uint32 account);
    /// @notice A trigger is cleared by a block after it only.
    error NotAfterTrigger(uint32 account, uint32 triggeredAt, uint32 height);
    /// @notice The account is still under maintenance margin at this block: nothing to clear.
    error StillUnderMaintenance(uint32 account, int256 equity, uint256 maintenance);
    /// @notice The proof's block is within the grace after the trigger (`due` is the first
    /// height at which the account can be reported overdue).
    error WithinGrace(uint32 account, uint32 triggeredAt, uint32 height, uint32 due);
    /// @notice This trigger of the account was already reported overdue.
    error AlreadyReported(uint32 account, uint32 triggeredAt);

    /// @param commitments_ the venue's StateCommitments or OptimisticCommitments
    /// @param hashers the deployed PoseidonT3, PoseidonT4 and PoseidonT5
    /// @param accountDepth_ the venue's account depth (`Genesis.account_depth`)
    /// @param maintenanceBps_ maintenance margin rate per market, in basis points, in genesis
    /// order; set it below the venue's initial rate (`imf_bps`), so that an order the venue
    /// accepted is not liquidatable at once
    /// @param liquidationGrace_ final blocks the venue has to act on a trigger (at least 1)
    constructor(
        ICommitments commitments_,
        address[3] memory hashers,
        uint8 accountDepth_,
        uint16[] memory maintenanceBps_,
        uint32 liquidationGrace_
    ) {
        if (
            accountDepth_ == 0 || accountDepth_ > 32 || maintenanceBps_.length == 0
                || liquidationGrace_ == 0
        ) {
            revert BadParameters();
        }
        for (uint256 i = 0; i < maintenanceBps_.length; ++i) {
            if (maintenanceBps_[i] == 0 || maintenanceBps_[i] > BPS) revert BadParameters();
        }
        commitments = commitments_;
        poseidon2 = IPoseidon2(hashers[0]);
        poseidon3 = IPoseidon3(hashers[1]);
        poseidon4 = IPoseidon4(hashers[2]);
        accountDepth = accountDepth_;
        _maintenanceBps = maintenanceBps_;
        liquidationGrace = liquidationGrace_;
    }

    /// @notice Maintenance margin rate of market `index` (genesis order), in basis points.
    function maintenanceBps(uint256 index) external view returns (uint16) {
        return _maintenanceBps[index];
    }

    /// @notice Number of markets the venue's state holds.
    function marketCount() external view returns (uint256) {
        return _maintenanceBps.length;
    }

    /// @notice The state root `proof` implies (equal to the proven one iff the proof is honest).
    function stateRootOf(AccountProof calldata proof) public view returns (uint256) {
        uint256 k = _maintenanceBps.length;
        if (proof.positions.length != k || proof.markets.length != k) {
            revert WrongMarketCount(k, proof.positions.length, proof.markets.length);
        }
        uint256 node = _leaf(proof);
        node = _accountsRoot(proof.account, node, proof.siblings);
        uint256 markets = _marketRoot(proof.markets[0]); // hash_chain folds from its first element
        for (uint256 i = 1; i < k; ++i) {
            markets = _h2(markets, _marketRoot(proof.markets[i]));
        }
        markets = _h2(markets, k);
        return _h2(_h2(node, markets), proof.height);
    }

    /// @notice Reverts unless `proof` opens the post-state root of its final block
    /// (`UnknownBlock` from the commitments when that block is not final).
    function verify(AccountProof calldata proof) public view {
        uint256 proven = commitments.getBlock(proof.height).postStateRoot;
        uint256 computed = stateRootOf(proof);
        if (computed != proven) revert StateRootMismatch(proof.height, proven, computed);
    }

    /// @notice The account's equity and maintenance requirement at its block's proven marks,
    /// after checking the proof (`verify`).
    function marginOf(AccountProof calldata proof)
        public
        view
        returns (int256 equity, uint256 maintenance)
    {
        verify(proof);
        equity = proof.collateral;
        for (uint256 i = 0; i < proof.positions.length; ++i) {
            Position calldata p = proof.positions[i];
            uint256 mark = proof.markets[i].mark;
            equity += int256(p.position) * int256(mark) - p.basis;
            uint256 size = p.position < 0 ? uint256(-int256(p.position)) : uint256(int256(p.position));
            maintenance += (_maintenanceBps[i] * mark * size + BPS - 1) / BPS;
        }
    }

    /// @notice Record that the account is under maintenance margin at the latest final block:
    /// reverts unless `proof` opens that block's state and equity < maintenance.
    /// @return equity the account's equity at the proven marks
    /// @return maintenance its maintenance requirement
    function triggerLiquidation(AccountProof calldata proof)
        external
        returns (int256 equity, uint256 maintenance)
    {
        uint32 latest = commitments.latestHeight();
        if (proof.height != latest) revert NotLatestBlock(proof.height, latest);
        if (liquidationHeight[proof.account] != 0) {
            revert AlreadyTriggered(proof.account, liquidationHeight[proof.account]);
        }
        (equity, maintenance) = marginOf(proof);
        if (equity >= int256(maintenance)) revert AccountHealthy(proof.account, equity, maintenance);
        liquidationHeight[proof.account] = proof.height;
        emit LiquidationTriggered(proof.account, proof.height, equity, maintenance, msg.sender);
    }

    /// @notice Close the account's liquidation episode: `proof` shows it at or above
    /// maintenance margin at a final block after its trigger (the venue liquidated it, or it
    /// recovered).
    function clearLiquidation(AccountProof calldata proof) external {
        uint32 triggeredAt = liquidationHeight[proof.account];
        if (triggeredAt == 0) revert NotTriggered(proof.account);
        if (proof.height <= triggeredAt) {
            revert NotAfterTrigger(proof.account, triggeredAt, proof.height);
        }
        (int256 equity, uint256 maintenance) = marginOf(proof);
        if (equity < int256(maintenance)) {
            revert StillUnderMaintenance(proof.account, equity, maintenance);
        }
        liquidationHeight[proof.account] = 0;
        emit LiquidationCleared(proof.account, triggeredAt, proof.height);
    }

    /// @notice Record that the venue did not act on the account's last trigger in time: the
    /// account is still under maintenance margin at a final block at least `liquidationGrace`
    /// blocks after its trigger. Once per episode.
    /// @dev It judges by state, not by commands: a liquidation that found no bid leaves the
    /// account under maintenance too, and is reported as well.
    /// @return equity the account's equity at the proven marks
    /// @return maintenance its maintenance requirement
    function reportOverdue(AccountProof calldata proof)
        external
        returns (int256 equity, uint256 maintenance)
    {
        uint32 triggeredAt = liquidationHeight[proof.account];
        if (triggeredAt == 0) revert NotTriggered(proof.account);
        if (overdueTrigger[proof.account] == triggeredAt) {
            revert AlreadyReported(proof.account, triggeredAt);
        }
        uint32 due = triggeredAt + liquidationGrace;
        if (proof.height < due) revert WithinGrace(proof.account, triggeredAt, proof.height, due);
        (equity, maintenance) = marginOf(proof);
        if (equity >= int256(maintenance)) revert AccountHealthy(proof.account, equity, maintenance);
        overdueTrigger[proof.account] = triggeredAt;
        overdueCount += 1;
        emit LiquidationOverdue(
            proof.account, triggeredAt, proof.height, equity, maintenance, msg.sender
        );
    }

    // --- the commitment's hashes ---------------------------------------------------------

    function _h2(uint256 a, uint256 b) private view returns (uint256) {
        return poseidon2.poseidon([a, b]);
    }

    function _marketRoot(Market calldata m) private view returns (uint256) {
        uint256 packed = uint256(m.mark) | (uint256(m.lastCloseTs) << 40);
        return _h2(_h2(_h2(m.bids, m.asks), packed), m.cumPriceTime);
    }

    function _accountsRoot(uint32 account, uint256 leaf, uint256[] calldata siblings)
        private
        view
        returns (uint256 node)
    {
        uint256 levels = (uint256(accountDepth) + 1) / 2;
        if (siblings.length != 3 * levels) revert WrongPathLength(3 * levels, siblings.length);
        if (uint256(account) >> accountDepth != 0) revert AccountOutOfRange(account);
        node = leaf;
        for (uint256 level = 0; level < levels; ++level) {
            uint256 pos = (uint256(account) >> (2 * level)) & 3;
            uint256[4] memory children;
            uint256 s = 3 * level;
            for (uint256 j = 0; j < 4; ++j) {
                if (j == pos) children[j] = node;
                else children[j] = siblings[s++];
            }
            node = poseidon4.poseidon(children);
        }
    }

    /// @dev `account_leaf`: the fields packed greedily into 253-bit elements, never splitting
    /// one, then absorbed four (then three) at a time.
    function _leaf(AccountProof calldata proof) private view returns (uint256) {
        uint256[] memory xs = new uint256[](3 + 4 * proof.positions.length);
        xs[0] = proof.pubkeyHash;
        Packer memory pk = Packer(xs, 1, 0, 0);
        _put(pk, uint256(int256(proof.collateral) + (1 << 127)), 128);
        for (uint256 i = 0; i < proof.positions.length; ++i) {
            Position calldata p = proof.positions[i];
            _put(pk, uint256(int256(p.position) + (1 << 63)), 64);
            _put(pk, p.openBuy, 56);
            _put(pk, p.openSell, 56);
            _put(pk, uint256(int256(p.basis) + (1 << 127)), 128);
        }
        _put(pk, proof.nonce, 64);
        xs[pk.count++] = pk.current;
        return _absorb4(xs, pk.count);
    }

    struct Packer {
        uint256[] out;
        uint256 count;
        uint256 current;
        uint256 used;
    }

    function _put(Packer memory pk, uint256 value, uint256 width) private pure {
        if (pk.used + width > MAX_PACK_BITS) {
            pk.out[pk.count++] = pk.current;
            pk.current = 0;
            pk.used = 0;
        }
        pk.current |= value << pk.used;
        pk.used += width;
    }

    function _absorb4(uint256[] memory xs, uint256 n) private view returns (uint256 acc) {
        acc = _hashN(xs, 0, n < 4 ? n : 4, 0, false);
        for (uint256 i = 4; i < n; i += 3) {
            acc = _hashN(xs, i, n - i < 3 ? n - i : 3, acc, true);
        }
    }

    /// @dev Poseidon of `xs[from .. from + count)`, preceded by `head` when `withHead`.
    function _hashN(uint256[] memory xs, uint256 from, uint256 count, uint256 head, bool withHead)
        private
        view
        returns (uint256)
    {
        uint256[4] memory v;
        uint256 n = 0;
        if (withHead) v[n++] = head;
        for (uint256 j = 0; j < count; ++j) v[n++] = xs[from + j];
        if (n == 2) return poseidon2.poseidon([v[0], v[1]]);
        if (n == 3) return poseidon3.poseidon([v[0], v[1], v[2]]);
        return poseidon4.poseidon(v);
    }
}
