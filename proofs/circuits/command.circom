pragma circom 2.0.0;

include "bitify.circom";
include "comparators.circom";
include "poseidon.circom";

// The command part of the block circuit: command hashes, the command chain, and the business
// validity of a PlaceOrder. Python model and witness builder: proofs/commandtrace.py; the hash
// is proofs.state.command_hash, the chain PoseidonState.command_commitment, the validity rules
// matching/engine.py (_check_qty, _check_price, _flags_ok).
//
// Conventions (the same as account.circom):
// * Signed integers are plain field elements (-x is p - x). command_hash packs them offset by
//   half their range (v + 2^(w-1) in w bits); the w-bit range check of the offset value pins the
//   signed value to [-2^(w-1), 2^(w-1)).
// * Hints (quotients and remainders) are private INPUTS computed by the Python witness builder,
//   each pinned by range checks and an equation with a unique solution, so tests can feed a wrong
//   hint. The one `<--` (the type selector) is constrained on the next lines.
// * Inputs marked "range-checked by the caller" must already be in range; CommandHash range-
//   checks every command field, so a block step feeds the same signals to both templates.
// Template and function names carry a Cmd/Command prefix: the block circuit includes this file
// next to book.circom and account.circom, and circom has one global namespace.

// Field widths of proofs.state.COMMAND_FIELD_WIDTHS (signed ones include the sign bit).
function CMD_TYPE_BITS() { return 4; }
function CMD_SEQ_BITS() { return 48; }
function CMD_TS_BITS() { return 64; }
function CMD_ACCOUNT_BITS() { return 20; }
function CMD_MARKET_BITS() { return 16; }
function CMD_CL_ORD_ID_BITS() { return 64; }
function CMD_CODE_BITS() { return 4; }
function CMD_PRICE_BITS() { return 41; }    // signed: offset 2^40
function CMD_QTY_BITS() { return 49; }      // signed: offset 2^48
function CMD_AMOUNT_BITS() { return 128; }  // signed: offset 2^127
function CMD_NUM_TYPES() { return 7; }      // matching.types.CommandType 1..7

// CmdRange(n): in < 2^n. Num2Bits without the unused outputs. Cost n + 1 (n after O2).
template CmdRange(n) {
    assert(n >= 1 && n <= 252);
    signal input in;

    component bits = Num2Bits(n);
    bits.in <== in;
}

// CommandPack(): the packed elements e1, e2 (below) and isType of a command, which CommandHash
// (further down) hashes and a block's command slot also signs (proofs/signing.py: the intent is
// Poseidon(e1 with seq and ts zeroed, e2)). CommandHash(): out = proofs.state.command_hash(cmd)
// for a command given as its type code (CommandType 1..7) and the union of all command fields; fields the type does not have must be 0
// (pubkeys included), so each command has exactly one encoding. Every field is range-checked to
// its wire width, which makes the packing injective. isType[t - 1] = (type == t).
//
// What command_hash does per type (pack_greedy over the tag and the fields in declaration order;
// a greedy element closes when the next field would pass 253 bits):
//   1 PlaceOrder    e1 = tag|seq|ts|account|market|cl_ord_id|side|order_type|tif   (228 bits)
//                   e2 = price|qty|post_only|stp                                   ( 95 bits)
//                   -> Poseidon(e1, e2)
//   2 CancelOrder   e1 = tag|seq|ts|account|market|order_id (200 bits) -> e1 itself
//   3 ReplaceOrder  e1 = tag|seq|ts|account|market|order_id|price (241 bits)
//                   e2 = qty|cl_ord_id (113 bits)                   -> Poseidon(e1, e2)
//   4 MassCancel    e1 = tag|seq|ts|account|market (152 bits)       -> e1 itself
//   5 Deposit     e1 = tag|seq|ts|account (136), e2 = amount (128)             -> Poseidon(e1, e2)
//   6 Withdraw    e1 = tag|seq|ts|account (136), e2 = amount|cl_ord_id (192)   -> Poseidon(e1, e2)
//                 (cl_ord_id: the withdrawal's nonce, matching.types.Withdraw)
//   7 AddAccount    e1 = tag|seq|ts|account, then pubkey_x, pubkey_y
//                   -> Poseidon(Poseidon(e1, pubkey_x), pubkey_y)
// All types share the bit decompositions; e1 and e2 are linear combinations of the fields plus
// three products with selectors (absent fields are 0, so most terms need no selector), and the
// two Poseidon permutations are shared: h1 = Poseidon(e1, e2 + pubkeyX), h2 = Poseidon(h1,
// pubkeyY); out selects e1, h1 or h2 by type. Cost ≈ 2 × 240 + one constraint per field bit.
template CommandPack() {
    // The layouts above fit one element each (253 bits max, proofs.poseidon.MAX_PACK_BITS).
    assert(CMD_TYPE_BITS() + CMD_SEQ_BITS() + CMD_TS_BITS() + CMD_ACCOUNT_BITS()
           + CMD_MARKET_BITS() + CMD_CL_ORD_ID_BITS() + 3 * CMD_CODE_BITS() == 228);
    assert(CMD_TYPE_BITS() + CMD_SEQ_BITS() + CMD_TS_BITS() + CMD_ACCOUNT_BITS()
           + CMD_MARKET_BITS() + CMD_SEQ_BITS() + CMD_PRICE_BITS() == 241);
    signal input type;
    signal input seq;
    signal input ts;
    signal input account;
    signal input market;
    signal input clOrdId;
    signal input side;
    signal input orderType;
    signal input tif;
    signal input price;     // signed
    signal input qty;       // signed
    signal input postOnly;
    signal input stp;
    signal input orderId;
    signal input amount;    // signed
    signal input pubkeyX;
    signal input pubkeyY;
    signal output isType[7];
    signal output e1;
    signal output e2;
    signal output stpLow;   // stp mod 4 (from its range check's bits)

    // One-hot type selector: isType boolean, exactly one set, and type = sum t * isType[t - 1]
    // (so type is in 1..7).
    var typeSum = 0;
    var oneSum = 0;
    for (var t = 0; t < 7; t++) {
        isType[t] <-- (type == t + 1) ? 1 : 0;
        isType[t] * (isType[t] - 1) === 0;
        typeSum += (t + 1) * isType[t];
        oneSum += isType[t];
    }
    oneSum === 1;
    typeSum === type;
    signal isPlace <== isType[0];
    signal isReplace <== isType[2];

    // Range checks: signed fields offset by half their range.
    var priceOff = price + (1 << 40);
    var qtyOff = qty + (1 << 48);
    var amountOff = amount + (1 << 127);
    component rSeq = CmdRange(CMD_SEQ_BITS());
    rSeq.in <== seq;
    component rTs = CmdRange(CMD_TS_BITS());
    rTs.in <== ts;
    component rAccount = CmdRange(CMD_ACCOUNT_BITS());
    rAccount.in <== account;
    component rMarket = CmdRange(CMD_MARKET_BITS());
    rMarket.in <== market;
    component rClOrdId = CmdRange(CMD_CL_ORD_ID_BITS());
    rClOrdId.in <== clOrdId;
    component rSide = CmdRange(CMD_CODE_BITS());
    rSide.in <== side;
    component rOrderType = CmdRange(CMD_CODE_BITS());
    rOrderType.in <== orderType;
    component rTif = CmdRange(CMD_CODE_BITS());
    rTif.in <== tif;
    component rPrice = CmdRange(CMD_PRICE_BITS());
    rPrice.in <== priceOff;
    component rQty = CmdRange(CMD_QTY_BITS());
    rQty.in <== qtyOff;
    component rPostOnly = CmdRange(1);
    rPostOnly.in <== postOnly;
    component rStp = Num2Bits(CMD_CODE_BITS());
    rStp.in <== stp;
    stpLow <== rStp.out[0] + 2 * rStp.out[1];
    component rOrderId = CmdRange(CMD_SEQ_BITS());
    rOrderId.in <== orderId;
    component rAmount = CmdRange(CMD_AMOUNT_BITS());
    rAmount.in <== amountOff;

    // Fields a type does not have are 0 (raw value, also for signed fields).
    var hasMarket = isType[0] + isType[1] + isType[2] + isType[3];
    var hasPriceQty = isType[0] + isType[2];
    var hasOrderId = isType[1] + isType[2];
    var hasAmount = isType[4] + isType[5];
    var notPlace = 1 - isPlace;
    market * (1 - hasMarket) === 0;
    clOrdId * (1 - hasPriceQty - isType[5]) === 0;
    side * notPlace === 0;
    orderType * notPlace === 0;
    tif * notPlace === 0;
    price * (1 - hasPriceQty) === 0;
    qty * (1 - hasPriceQty) === 0;
    postOnly * notPlace === 0;
    stp * notPlace === 0;
    orderId * (1 - hasOrderId) === 0;
    amount * (1 - hasAmount) === 0;
    pubkeyX * (1 - isType[6]) === 0;
    pubkeyY * (1 - isType[6]) === 0;

    // Selector products for the fields that sit at different places in Place and Replace
    // (price, qty and cl_ord_id are 0 in every other type, so x - isReplace * x = isPlace * x).
    signal placeClOrdId <== isPlace * clOrdId;
    signal replacePrice <== isReplace * price;
    signal replaceQty <== isReplace * qty;
    signal withdrawClOrdId <== isType[5] * clOrdId;

    // e1: tag | seq | ts | account (all types) | market (1-4) | then per type.
    e1 <== type + seq * (1 << 4) + ts * (1 << 52) + account * (1 << 116)
        + market * (1 << 136)
        + orderId * (1 << 152)                                   // 2, 3
        + placeClOrdId * (1 << 152) + side * (1 << 216)          // 1
        + orderType * (1 << 220) + tif * (1 << 224)              // 1
        + (replacePrice + isReplace * (1 << 40)) * (1 << 200);   // 3: price offset
    // e2: Place: price | qty | post_only | stp; Replace: qty | cl_ord_id; Deposit: amount;
    // Withdraw: amount | cl_ord_id; the others have none (0).
    e2 <== (price - replacePrice + isPlace * (1 << 40))
        + (qty - replaceQty + isPlace * (1 << 48)) * (1 << 41)
        + postOnly * (1 << 90) + stp * (1 << 91)
        + (replaceQty + isReplace * (1 << 48))
        + (clOrdId - placeClOrdId - withdrawClOrdId) * (1 << 49)
        + amount + hasAmount * (1 << 127) + withdrawClOrdId * (1 << 128);

}

// CommandHashPacked(): the Poseidon part of CommandHash from CommandPack's outputs (both
// permutations computed, the type's result selected; see CommandHash).
template CommandHashPacked() {
    assert(CMD_NUM_TYPES() == 7);
    signal input e1;
    signal input e2;
    signal input pubkeyX;
    signal input pubkeyY;
    signal input isType[7];
    signal output out;

    component h1 = Poseidon(2);
    h1.inputs[0] <== e1;
    h1.inputs[1] <== e2 + pubkeyX;   // pubkeyX = 0 unless AddAccount, whose e2 = 0
    component h2 = Poseidon(2);
    h2.inputs[0] <== h1.out;
    h2.inputs[1] <== pubkeyY;

    signal single <== (isType[1] + isType[3]) * e1;
    signal double <== (isType[0] + isType[2] + isType[4] + isType[5]) * h1.out;
    signal triple <== isType[6] * h2.out;
    out <== single + double + triple;
}

// CommandHash() = CommandPack + CommandHashPacked (the interface the tests and Python model use).
template CommandHash() {
    assert(CMD_NUM_TYPES() == 7);
    signal input type;
    signal input seq;
    signal input ts;
    signal input account;
    signal input market;
    signal input clOrdId;
    signal input side;
    signal input orderType;
    signal input tif;
    signal input price;     // signed
    signal input qty;       // signed
    signal input postOnly;
    signal input stp;
    signal input orderId;
    signal input amount;    // signed
    signal input pubkeyX;
    signal input pubkeyY;
    signal output isType[7];
    signal output out;

    component p = CommandPack();
    p.type <== type;
    p.seq <== seq;
    p.ts <== ts;
    p.account <== account;
    p.market <== market;
    p.clOrdId <== clOrdId;
    p.side <== side;
    p.orderType <== orderType;
    p.tif <== tif;
    p.price <== price;
    p.qty <== qty;
    p.postOnly <== postOnly;
    p.stp <== stp;
    p.orderId <== orderId;
    p.amount <== amount;
    p.pubkeyX <== pubkeyX;
    p.pubkeyY <== pubkeyY;
    component h = CommandHashPacked();
    h.e1 <== p.e1;
    h.e2 <== p.e2;
    h.pubkeyX <== pubkeyX;
    h.pubkeyY <== pubkeyY;
    for (var t = 0; t < 7; t++) {
        h.isType[t] <== p.isType[t];
        isType[t] <== p.isType[t];
    }
    out <== h.out;
}

// CommandChain(n): out = c_n with c_0 = 0, c_i = Poseidon(c_{i-1}, h[i-1]) for active slots and
// c_i = c_{i-1} for padding, = PoseidonState.command_commitment of the active commands. active
// must be a prefix (1...1 0...0), so padding cannot sit between commands; count = number of
// active slots (the command_count of the public meta). Cost n × 240 + 3n.
template CommandChain(n) {
    assert(n >= 1 && n < (1 << 16));
    signal input h[n];
    signal input active[n];
    signal output out;
    signal output count;

    signal acc[n + 1];
    component hash[n];
    acc[0] <== 0;
    var total = 0;
    for (var i = 0; i < n; i++) {
        active[i] * (active[i] - 1) === 0;
        if (i > 0) {
            active[i] * (1 - active[i - 1]) === 0;
        }
        hash[i] = Poseidon(2);
        hash[i].inputs[0] <== acc[i];
        hash[i].inputs[1] <== h[i];
        acc[i + 1] <== acc[i] + active[i] * (hash[i].out - acc[i]);
        total += active[i];
    }
    out <== acc[n];
    count <== total;
}

// CmdDivides(n): out = (num mod den == 0) for num < 2^n and 1 <= den < 2^n (range-checked by
// the caller), from the hints q = num div den, r = num mod den: num = q * den + r with q, r < 2^n
// and r < den (unique: both sides < 2^(2n+1) < p). Cost 3n + 5.
template CmdDivides(n) {
    assert(n >= 1 && n <= 120);
    signal input num;
    signal input den;
    signal input q;   // hint
    signal input r;   // hint
    signal output out;

    component rq = CmdRange(n);
    rq.in <== q;
    component rr = CmdRange(n);
    rr.in <== r;
    component lt = LessThan(n);
    lt.in[0] <== r;
    lt.in[1] <== den;
    lt.out === 1;
    num === q * den + r;
    component zero = IsZero();
    zero.in <== r;
    out <== zero.out;
}

// PlaceValid(): the engine's order checks for a PlaceOrder in market (tick, lot, minPrice,
// maxPrice, maxQty, bandBps) with the current mark (the last settlement price):
//   qtyOk   = _check_qty:   0 < qty <= maxQty and qty % lot == 0
//   priceOk = _check_price: 0 < price, price % tick == 0, minPrice <= price <= maxPrice, and
//             |price - mark| * 10000 <= bandBps * mark unless bandBps == 0
//   flagsOk = _flags_ok:    side in {1, 2}, stp in {0..3}, tif in {GTC, IOC, FOK}; a MARKET order
//             is not GTC and not post-only; a LIMIT post-only order is GTC; a LIQUIDATION
//             order is IOC and not post-only; no other order type
//   valid   = all three. (ReplaceOrder uses qtyOk and priceOk.)
// Each output is a boolean computed for every input, so the block circuit can require valid == 1
// for an accepted order (and, later, prove a rejection's reason).
// Range-checked by the caller: the market configuration as matching.engine validates it
// (1 <= tick < 2^40, 1 <= lot < 2^48, minPrice, maxPrice, mark < 2^40, maxQty < 2^48) and
// bandBps < 2^64; the command fields as CommandHash checks them (|price| <= 2^40, |qty| <= 2^48,
// codes < 16, postOnly boolean).
// Hints: priceQ/priceR = p div/mod tick and qtyQ/qtyR = q div/mod lot, where p = price if
// price > 0 else 0 and q = qty if qty > 0 else 0 (a non-positive value fails anyway).
template PlaceValid() {
    assert(CMD_PRICE_BITS() == 41 && CMD_QTY_BITS() == 49);
    signal input tickSize;
    signal input lotSize;
    signal input minPrice;
    signal input maxPrice;
    signal input maxQty;
    signal input bandBps;
    signal input mark;
    signal input side;
    signal input orderType;
    signal input tif;
    signal input price;     // signed
    signal input qty;       // signed
    signal input postOnly;
    signal input stp;
    signal input priceQ;    // hint
    signal input priceR;    // hint
    signal input qtyQ;      // hint
    signal input qtyR;      // hint
    signal output qtyOk;
    signal output priceOk;
    signal output flagsOk;
    signal output valid;
    signal output isLiquidation;   // orderType == 3 (matching.types.OrderType.LIQUIDATION)

    // --- quantity ---
    component qtyPos = LessThan(49);            // 2^48 < qty + 2^48  <=>  qty > 0
    qtyPos.in[0] <== 1 << 48;
    qtyPos.in[1] <== qty + (1 << 48);
    signal q <== qtyPos.out * qty;              // qty if positive, else 0: in [0, 2^48)
    component qtyBig = LessThan(48);            // maxQty < q
    qtyBig.in[0] <== maxQty;
    qtyBig.in[1] <== q;
    component onLot = CmdDivides(48);
    onLot.num <== q;
    onLot.den <== lotSize;
    onLot.q <== qtyQ;
    onLot.r <== qtyR;
    signal qtyPart <== qtyPos.out * (1 - qtyBig.out);
    qtyOk <== qtyPart * onLot.out;

    // --- price ---
    component pricePos = LessThan(41);          // price > 0
    pricePos.in[0] <== 1 << 40;
    pricePos.in[1] <== price + (1 << 40);
    signal p <== pricePos.out * price;          // in [0, 2^40)
    component onTick = CmdDivides(40);
    onTick.num <== p;
    onTick.den <== tickSize;
    onTick.q <== priceQ;
    onTick.r <== priceR;
    component belowMin = LessThan(40);
    belowMin.in[0] <== p;
    belowMin.in[1] <== minPrice;
    component aboveMax = LessThan(40);
    aboveMax.in[0] <== maxPrice;
    aboveMax.in[1] <== p;
    // Band: |p - mark| * 10000 <= bandBps * mark (< 2^54 and < 2^104), or bandBps == 0.
    component belowMark = LessThan(40);
    belowMark.in[0] <== p;
    belowMark.in[1] <== mark;
    signal dist <== (p - mark) * (1 - 2 * belowMark.out);
    signal allowed <== bandBps * mark;
    component outOfBand = LessThan(105);
    outOfBand.in[0] <== allowed;
    outOfBand.in[1] <== dist * 10000;
    component bandOff = IsZero();
    bandOff.in <== bandBps;
    signal bandOk <== 1 - (1 - bandOff.out) * outOfBand.out;
    signal pr1 <== pricePos.out * onTick.out;
    signal pr2 <== pr1 * (1 - belowMin.out);
    signal pr3 <== pr2 * (1 - aboveMax.out);
    priceOk <== pr3 * bandOk;

    // --- flags ---
    signal sideProd <== (side - 1) * (side - 2);
    component sideOk = IsZero();
    sideOk.in <== sideProd;
    component stpOk = LessThan(4);
    stpOk.in[0] <== stp;
    stpOk.in[1] <== 4;
    component isGtc = IsZero();
    isGtc.in <== tif - 1;
    component isIoc = IsZero();
    isIoc.in <== tif - 3;
    component isFok = IsZero();
    isFok.in <== tif - 4;
    component isLimit = IsZero();
    isLimit.in <== orderType - 1;
    component isMarket = IsZero();
    isMarket.in <== orderType - 2;
    signal marketNoPost <== isMarket.out * (1 - postOnly);
    signal marketOk <== marketNoPost * (1 - isGtc.out);
    signal postNotGtc <== postOnly * (1 - isGtc.out);
    signal limitOk <== isLimit.out * (1 - postNotGtc);
    // a liquidation order is IOC and not post-only (ReferenceEngine._flags_ok)
    component isLiq = IsZero();
    isLiq.in <== orderType - 3;
    isLiquidation <== isLiq.out;
    signal liqNoPost <== isLiq.out * (1 - postOnly);
    signal liqOk <== liqNoPost * isIoc.out;
    signal fl1 <== sideOk.out * stpOk.out;
    signal fl2 <== fl1 * (isGtc.out + isIoc.out + isFok.out);
    flagsOk <== fl2 * (marketOk + limitOk + liqOk);

    signal qp <== qtyOk * priceOk;
    valid <== qp * flagsOk;
}
