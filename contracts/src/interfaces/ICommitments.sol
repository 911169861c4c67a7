// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity >=0.8.4;

/// @title IChainHead
/// @notice Where a venue's chain of final blocks stands, whatever its number of markets: what
/// ICommitments (one market) and IMarketCommitments (several) share, declared once so that a
/// contract serving either through a common base implements each function once.
interface IChainHead {
    /// @notice Height of the state the contract starts from (0 for a new venue); the first
    /// block is one more.
    function genesisHeight() external view returns (uint32);

    /// @notice Height of the last final block (`genesisHeight()` while none is).
    function latestHeight() external view returns (uint32);

    /// @notice Whether the block at `height` is final.
    function isProven(uint32 height) external view returns (bool);
}

/// @title ICommitments
/// @notice The read side of a venue's chain of final blocks, whatever made them final: a
/// validity proof at submission (StateCommitments) or a challenge window that passed, a
/// challenge or an early proof (OptimisticCommitments). ProvenPriceFeed reads only this, so it
/// serves either mode unchanged.
/// @dev "Proven" in the names below means final: in validity mode the two are the same thing; in
/// optimistic mode a block is final once nobody can replace it any more (see
/// IOptimisticCommitments). Final blocks are contiguous heights
/// `genesisHeight() + 1 .. latestHeight()`, and a final block never changes.
interface ICommitments is IChainHead {
    /// @notice What the chain keeps of a final block: the block circuit's public inputs,
    /// unpacked (proofs/circuits/BLOCK.md, "Public inputs").
    /// @param postStateRoot state root after the block (accounts can be proven against it)
    /// @param cumPriceTime TWAP accumulator: sum of price * (close_ms - previous close_ms)
    /// @param closeTs close time in nanoseconds (the venue's clock)
    /// @param volume traded quantity in lots
    /// @param price settlement price (VWAP of the block's fills, or the previous price carried)
    /// @param carried true when the block had no fills and `price` is carried forward
    /// @param tradeCount number of fills
    /// @param firstSeq sequence number of the block's first command
    struct ProvenBlock {
        uint256 postStateRoot;
        uint256 cumPriceTime;
        uint64 closeTs;
        uint64 volume;
        uint40 price;
        bool carried;
        uint32 tradeCount;
        uint48 firstSeq;
    }

    /// @dev No final block at this height.
    error UnknownBlock(uint32 height);

    /// @notice The final block at `height`; reverts with UnknownBlock if there is none.
    function getBlock(uint32 height) external view returns (ProvenBlock memory);
}
