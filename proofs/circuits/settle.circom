pragma circom 2.0.0;

include "bitify.circom";
include "comparators.circom";

// The settlement part of the block circuit: per market the block's settlement price (VWAP,
// rounded half up, or the carried mark), the TWAP accumulator and the public `settle` element;
// per block the public `meta` element. Python model and witness builder: proofs/commandtrace.py;
// the rules are matching.engine.ReferenceEngine.end_block and matching.types.MarketSummary.
//
// Conventions as in command.circom: hints (quotients, remainders) are private inputs pinned by
// range checks and an equation with a unique solution; names carry a Settle/Block prefix.

function SETTLE_PRICE_BITS() { return 40; }
function SETTLE_VOLUME_BITS() { return 64; }
function SETTLE_TRADES_BITS() { return 32; }
function SETTLE_NOTIONAL_BITS() { return 128; }
function SETTLE_TS_BITS() { return 64; }
function SETTLE_MS_BITS() { return 45; }      // (2^64 - 1) div 10^6 < 2^45
function SETTLE_HEIGHT_BITS() { return 32; }
function SETTLE_COUNT_BITS() { return 16; }
function SETTLE_SEQ_BITS() { return 48; }

// SettleBits(n): in < 2^n (Num2Bits, outputs unused). Cost n.
template SettleBits(n) {
    assert(n >= 1 && n <= 252);
    signal input in;

    component bits = Num2Bits(n);
    bits.in <== in;
}

// SettleMillis(): ms = ts div 10^6 for ts < 2^64, from the hints ms and rem: ts = ms * 10^6 +
// rem with ms < 2^45, rem < 10^6 (unique: both sides < 2^65). ts itself is range-checked here.
// Cost ≈ 64 + 45 + 20 + 21.
template SettleMillis() {
    assert(SETTLE_MS_BITS() == 45 && SETTLE_TS_BITS() == 64);
    signal input ts;
    signal input ms;    // hint
    signal input rem;   // hint

    component rTs = SettleBits(64);
    rTs.in <== ts;
    component rMs = SettleBits(45);
    rMs.in <== ms;
    component rRem = SettleBits(20);
    rRem.in <== rem;
    component lt = LessThan(20);
    lt.in[0] <== rem;
    lt.in[1] <== 1000000;
    lt.out === 1;
    ts === ms * 1000000 + rem;
}

// Settle(): one market's end of block (ReferenceEngine.end_block).
//   carried = (volume == 0); then notional == 0 and trades == 0 (no fill, nothing accumulated).
//   price   = (2 * notional + volume) div (2 * volume) (VWAP rounded half up) if volume > 0,
//             else the previous mark. Hints q, r: 2 * notional + volume = q * den + r with
//             den = 2 * volume + 2 * carried (2 when carried, so q = r = 0), q < 2^40, r < den.
//   cumPriceTimeOut = cumPriceTime + price * (closeTs div 10^6 - lastCloseTs div 10^6)
//             (milliseconds, both divisions by hints); closeTs >= lastCloseTs is enforced (the
//             engine refuses a close time that goes backwards).
//   settle  = pack(price 40, carried 1, volume 64, trades 32) (public input, BLOCK.md).
// Ranges: notional < 2^128, volume < 2^64, trades < 2^32, mark < 2^40 and both timestamps
// < 2^64 are all checked here (honest values: notional < 2^104, and volume < N * 2^48 for a
// block of N < 2^16 commands). cumPriceTime is a field element: the sum does not wrap before
// it reaches p - 2^85, i.e. never in practice (Python's hash_chain refuses values >= p anyway).
// Cost ≈ 750.
template Settle() {
    assert(SETTLE_PRICE_BITS() + 1 + SETTLE_VOLUME_BITS() + SETTLE_TRADES_BITS() <= 253);
    signal input notional;
    signal input volume;
    signal input trades;
    signal input mark;           // previous settlement price
    signal input cumPriceTime;   // previous accumulator
    signal input lastCloseTs;    // previous block's close time (ns)
    signal input closeTs;        // this block's close time (ns)
    signal input q;              // hint: VWAP quotient
    signal input r;              // hint: VWAP remainder
    signal input closeMs;        // hint: closeTs div 10^6
    signal input closeRem;       // hint: closeTs mod 10^6
    signal input lastMs;         // hint: lastCloseTs div 10^6
    signal input lastRem;        // hint: lastCloseTs mod 10^6
    signal output price;
    signal output carried;
    signal output cumPriceTimeOut;
    signal output settle;

    component rNotional = SettleBits(SETTLE_NOTIONAL_BITS());
    rNotional.in <== notional;
    component rVolume = SettleBits(SETTLE_VOLUME_BITS());
    rVolume.in <== volume;
    component rTrades = SettleBits(SETTLE_TRADES_BITS());
    rTrades.in <== trades;
    component rMark = SettleBits(SETTLE_PRICE_BITS());
    rMark.in <== mark;

    component noFill = IsZero();
    noFill.in <== volume;
    carried <== noFill.out;
    carried * notional === 0;
    carried * trades === 0;

    // VWAP, round half up: num = q * den + r, 0 <= r < den, q < 2^40 (num < 2^130, den < 2^66,
    // q * den + r < 2^107: no wrap, one solution).
    signal den <== 2 * volume + 2 * carried;
    component rQ = SettleBits(SETTLE_PRICE_BITS());
    rQ.in <== q;
    component rR = SettleBits(66);
    rR.in <== r;
    component rLess = LessThan(66);
    rLess.in[0] <== r;
    rLess.in[1] <== den;
    rLess.out === 1;
    2 * notional + volume === q * den + r;
    price <== q + carried * (mark - q);

    // TWAP accumulator in milliseconds.
    component closeDiv = SettleMillis();
    closeDiv.ts <== closeTs;
    closeDiv.ms <== closeMs;
    closeDiv.rem <== closeRem;
    component lastDiv = SettleMillis();
    lastDiv.ts <== lastCloseTs;
    lastDiv.ms <== lastMs;
    lastDiv.rem <== lastRem;
    component backwards = LessThan(64);
    backwards.in[0] <== closeTs;
    backwards.in[1] <== lastCloseTs;
    backwards.out === 0;
    cumPriceTimeOut <== cumPriceTime + price * (closeMs - lastMs);

    settle <== price + carried * (1 << 40) + volume * (1 << 41) + trades * (1 << 105);
}

// BlockMeta(): meta = pack(height 32, close_ts 64, command_count 16, first_seq 48), the block's
// public meta element (BLOCK.md). first_seq lets the contract check that sequence numbers
// continue from the previous block (they are order ids and time priorities; the state root
// does not commit to the last one). Each field is range-checked. Cost 160.
template BlockMeta() {
    assert(SETTLE_HEIGHT_BITS() + SETTLE_TS_BITS() + SETTLE_COUNT_BITS() + SETTLE_SEQ_BITS()
           <= 253);
    signal input height;
    signal input closeTs;
    signal input commandCount;
    signal input firstSeq;
    signal output meta;

    component rHeight = SettleBits(SETTLE_HEIGHT_BITS());
    rHeight.in <== height;
    component rClose = SettleBits(SETTLE_TS_BITS());
    rClose.in <== closeTs;
    component rCount = SettleBits(SETTLE_COUNT_BITS());
    rCount.in <== commandCount;
    component rSeq = SettleBits(SETTLE_SEQ_BITS());
    rSeq.in <== firstSeq;
    meta <== height + closeTs * (1 << 32) + commandCount * (1 << 96) + firstSeq * (1 << 112);
}
