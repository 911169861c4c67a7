// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity 0.8.37;

import {ICommitments} from "./interfaces/ICommitments.sol";

/// @title BlockInputs
/// @notice The block circuit's public inputs and their packing, in one place for every
/// contract that reads them (proofs/circuits/BLOCK.md, "Public inputs"; Python:
/// proofs.witness.public_signals).
/// @dev `x = (preStateRoot, postStateRoot, commandCommitment, meta, settle, cumPriceTime)` for
/// one market, `(..., meta, settle[M], cumPriceTime[M])` for M, with
/// `meta = pack(height 32, close_ts 64, command_count 16, first_seq 48)` and
/// `settle = pack(price 40, carried 1, volume 64, trade_count 32)`, first field in the lowest
/// bits. A proof that verifies fixes them all, and the circuit packs `meta` and `settle` within
/// their layouts, so a layout check only matters where nothing is verified yet.
library BlockInputs {
    uint256 internal constant PRE_ROOT = 0;
    uint256 internal constant POST_ROOT = 1;
    uint256 internal constant COMMANDS = 2;
    uint256 internal constant META = 3;
    uint256 internal constant SETTLE = 4;
    uint256 internal constant CUM_PRICE_TIME = 5;
    /// @dev Bits used by `meta` and by `settle`.
    uint256 internal constant META_BITS = 160;
    uint256 internal constant SETTLE_BITS = 137;

    /// @notice The index of the first packed input with bits outside its layout, or 6.
    function malformed(uint256[6] memory x) internal pure returns (uint256) {
        if (x[META] >> META_BITS != 0) return META;
        if (x[SETTLE] >> SETTLE_BITS != 0) return SETTLE;
        return 6;
    }

    function height(uint256[6] memory x) internal pure returns (uint32) {
        return uint32(x[META]);
    }

    function closeTs(uint256[6] memory x) internal pure returns (uint64) {
        return uint64(x[META] >> 32);
    }

    function commandCount(uint256[6] memory x) internal pure returns (uint16) {
        return uint16(x[META] >> 96);
    }

    function firstSeq(uint256[6] memory x) internal pure returns (uint48) {
        return uint48(x[META] >> 112);
    }

    /// @notice What a commitments contract stores of a block.
    function unpack(uint256[6] memory x) internal pure returns (ICommitments.ProvenBlock memory) {
        return toBlock(x[POST_ROOT], x[SETTLE], x[CUM_PRICE_TIME], closeTs(x), firstSeq(x));
    }

    /// @notice One market's record of a block, from its settle and TWAP accumulator (with M
    /// markets: inputs `4 + i` and `4 + M + i`) and the block's own fields.
    function toBlock(
        uint256 postStateRoot,
        uint256 settle,
        uint256 cumPriceTime,
        uint64 closeTs_,
        uint48 firstSeq_
    ) internal pure returns (ICommitments.ProvenBlock memory) {
        return ICommitments.ProvenBlock({
            postStateRoot: postStateRoot,
            cumPriceTime: cumPriceTime,
            closeTs: closeTs_,
            volume: uint64(settle >> 41),
            price: uint40(settle),
            carried: (settle >> 40) & 1 == 1,
            tradeCount: uint32(settle >> 105),
            firstSeq: firstSeq_
        });
    }

    /// @notice `meta` packed from its fields (the inverse of the four readers above).
    function packMeta(uint32 height_, uint64 closeTs_, uint16 commandCount_, uint48 firstSeq_)
        internal
        pure
        returns (uint256)
    {
        return uint256(height_) | (uint256(closeTs_) << 32) | (uint256(commandCount_) << 96)
            | (uint256(firstSeq_) << 112);
    }
}
