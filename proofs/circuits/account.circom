pragma circom 2.0.0;

include "bitify.circom";
include "comparators.circom";
include "merkle.circom";
include "pack.circom";
include "range.circom";

// The account half of the block circuit, for one market (M = 1). Python model and witness
// builder: proofs/accounttrace.py; the rules are matching/engine.py (_fill, _requirement, _equity,
// _margin_ok, _deposit, _withdraw, _add_account); the leaf is proofs.state.account_leaf.
//
// Conventions:
// * Signed integers are plain field elements inside the templates (-x is p - x). The committed
//   leaf stores them offset by half their range (v + 2^(w-1) in w bits), so an offset field that
//   passes its w-bit range check pins the signed value to [-2^(w-1), 2^(w-1)). Every product and
//   sum below stays far below p/2 in magnitude (bounds stated per template), so field arithmetic
//   equals integer arithmetic and a range check on a result is a range check on the integer.
// * Hints (quotients and remainders of divisions) are private INPUTS, computed by the Python
//   witness builder, not `<--` inside the templates: the block circuit gets them the same way,
//   and tests can feed a wrong hint to show the constraints reject it (groth16py cannot override a
//   `<--`). Each hint is pinned by a range check and an equation with a unique solution.
// * Template inputs marked "range-checked by the caller" must already be in range; AccountStep
//   does that for everything it passes down (leaf fields through Pack, op parameters directly).

// Widths of the committed account fields (proofs/state.py).
function ACC_MONEY_BITS() { return 128; }    // collateral, basis: signed, offset 2^127
function ACC_POSITION_BITS() { return 64; }  // signed, offset 2^63
function ACC_OPEN_BITS() { return 56; }      // open_buy, open_sell: QTY_BITS + 8
function ACC_PRICE_BITS() { return 40; }
function ACC_QTY_BITS() { return 48; }
function ACC_AMOUNT_BITS() { return 96; }    // engine MAX_AMOUNT = 2^96 - 1
function ACC_BPS_BITS() { return 14; }       // imf_bps <= 10000 < 2^14
function ACC_REQ_BITS() { return 110; }      // ceil(imf * mark * risk / 10^4) < 2^105
function ACC_NONCE_BITS() { return 64; }     // the replay mark: a client order id

// NonNegative(n): out = (in >= 0) for a signed in in [-2^n, 2^n) (fails outside). Cost n + 1.
template NonNegative(n) {
    assert(n >= 1 && n <= 251);
    signal input in;
    signal output out;

    component bits = Num2Bits(n + 1);
    bits.in <== in + (1 << n);
    out <== bits.out[n];
}

// AbsValue(n): abs = |in| and nonNeg = (in >= 0) for in in [-2^n, 2^n). Cost n + 2.
template AbsValue(n) {
    assert(n >= 1 && n <= 251);
    signal input in;
    signal output abs;
    signal output nonNeg;

    component sign = NonNegative(n);
    sign.in <== in;
    nonNeg <== sign.out;
    abs <== in * (2 * nonNeg - 1);
}

// AccountLeaf(): the account leaf of proofs.state.account_leaf for ONE market,
//   Poseidon(3)(pubkeyHash, pack(collateral 128, position 64, openBuy 56),
//               pack(openSell 56, basis 128, nonce 64))
// which is what pack_greedy makes of [collateral, position, open_buy, open_sell, basis, nonce]
// (248 bits fit in the first element, open_sell would make it 304). Inputs are the OFFSET
// encodings, each range-checked to its width. AccountLeafM(1, 1), below. Cost 496 +
// Poseidon(3) 261.
template AccountLeaf() {
    assert(AccLeafElems(1) == 2);  // one market: Poseidon(3) of the key and two elements
    signal input pubkeyHash;
    signal input collateral;
    signal input position;
    signal input openBuy;
    signal input openSell;
    signal input basis;
    signal input nonce;
    signal output out;

    component leaf = AccountLeafM(1, 1);
    leaf.pubkeyHash <== pubkeyHash;
    leaf.collateral <== collateral;
    leaf.position[0] <== position;
    leaf.openBuy[0] <== openBuy;
    leaf.openSell[0] <== openSell;
    leaf.basis[0] <== basis;
    leaf.nonce <== nonce;
    out <== leaf.out;
}

// ApplyFill(): one fill of qty lots at price on side isBuy (1 buy, 0 sell) applied to an
// account, exactly ReferenceEngine._fill:
//   same direction (flat, or position and side agree): position += s*q, basis += s*q*price;
//   otherwise close = min(q, |position|), released = floor(|basis| * close / |position|),
//     collateral += dir * (close * price - released), basis -= sign(basis) * released,
//     position += s*q, basis += s * (q - close) * price   (the flipped rest, if any)
// with s = +1 buy / -1 sell and dir = sign(position). Signed values are field elements.
// Inputs range-checked by the caller: position in [-2^63, 2^63), basis and collateral in
// [-2^127, 2^127), price < 2^40, qty < 2^48; isBuy is constrained boolean here.
// Hints: released, divRem with released * div + divRem = |basis| * close, 0 <= divRem < div,
// div = |position| (1 when flat, where close = 0 forces released = divRem = 0). released is
// range-checked to 128 bits and divRem to 64, so both sides stay below 2^192 < p: the integer
// quotient is the only solution. Outputs are not range-checked here (the new leaf's Pack does).
template ApplyFill() {
    assert(ACC_POSITION_BITS() == 64 && ACC_MONEY_BITS() == 128);
    signal input position;
    signal input basis;
    signal input collateral;
    signal input isBuy;
    signal input price;
    signal input qty;
    signal input released;
    signal input divRem;
    signal output newPosition;
    signal output newBasis;
    signal output newCollateral;
    signal output closeQty;     // the part of qty that closes the position (0 if it adds)

    isBuy * (isBuy - 1) === 0;

    component pos = AbsValue(63);
    pos.in <== position;
    component posZero = IsZero();
    posZero.in <== position;
    component bas = AbsValue(127);
    bas.in <== basis;

    // same = flat, or (position >= 0) == buy  <=>  neg XOR isBuy, neg = 1 - nonNeg.
    signal negBuy <== (1 - pos.nonNeg) * isBuy;
    signal xor <== (1 - pos.nonNeg) + isBuy - 2 * negBuy;
    signal same <== xor + posZero.out * (1 - xor);

    // close = same ? 0 : min(qty, |position|)
    component lt = LessThan(64);
    lt.in[0] <== qty;
    lt.in[1] <== pos.abs;
    signal minQ <== pos.abs + lt.out * (qty - pos.abs);
    signal close <== (1 - same) * minQ;
    closeQty <== close;

    // released = floor(|basis| * close / div)
    signal div <== pos.abs + posZero.out;
    component relRange = RangeCheck(128);
    relRange.in <== released;
    component remRange = RangeCheck(64);
    remRange.in <== divRem;
    component remLt = LessThan(64);
    remLt.in[0] <== divRem;
    remLt.in[1] <== div;
    remLt.out === 1;
    signal num <== bas.abs * close;
    released * div + divRem === num;

    // collateral += dir * (close * price - released), dir = sign(position)
    signal closeValue <== close * price;
    signal pnl <== (2 * pos.nonNeg - 1) * (closeValue - released);
    newCollateral <== collateral + pnl;

    // basis -= sign(basis) * released; then the rest (q - close) opens at price
    signal signedReleased <== (2 * bas.nonNeg - 1) * released;
    signal restValue <== (qty - close) * price;
    signal signedRest <== (2 * isBuy - 1) * restValue;
    newBasis <== basis - signedReleased + signedRest;

    signal buyQty <== isBuy * qty;
    newPosition <== position + 2 * buyQty - qty;
}

// Requirement(): initial margin of one market, ReferenceEngine._requirement:
//   risk = max(|position + openBuy|, |position - openSell|),
//   req  = ceil(imfMark * risk / 10000), imfMark = imf_bps * mark.
// Inputs range-checked by the caller: position in [-2^63, 2^63), openBuy and openSell
// < 2^57 (committed 56 bits, plus an order's qty), imfMark < 2^54.
// Hints: req, rem with req * 10000 = imfMark * risk + rem, 0 <= rem < 10000; req is
// range-checked to 110 bits so req * 10000 < 2^124 < p (unique). risk = 0 gives req = 0.
template Requirement() {
    assert(ACC_REQ_BITS() + 14 < 253);
    signal input position;
    signal input openBuy;
    signal input openSell;
    signal input imfMark;
    signal input req;
    signal input rem;

    component a = AbsValue(64);
    a.in <== position + openBuy;
    component b = AbsValue(64);
    b.in <== position - openSell;
    component lt = LessThan(64);
    lt.in[0] <== a.abs;
    lt.in[1] <== b.abs;
    signal risk <== a.abs + lt.out * (b.abs - a.abs);
    signal x <== imfMark * risk;

    component reqRange = RangeCheck(ACC_REQ_BITS());
    reqRange.in <== req;
    component remRange = RangeCheck(14);
    remRange.in <== rem;
    component remLt = LessThan(14);
    remLt.in[0] <== rem;
    remLt.in[1] <== 10000;
    remLt.out === 1;
    req * 10000 === x + rem;
}

// MarginOk(): ReferenceEngine._margin_ok for a new order of qty lots at price on side isBuy,
// one market: ok = 1 iff the requirement with the order does not exceed the requirement without
// it ("risk-reducing orders always allowed"), or equity - lockIn >= reqAfter, with
//   equity = collateral + (position != 0) * (position * mark - basis),
//   lockIn = max(0, s * (price - mark)) * qty   (s = +1 buy, -1 sell).
// Also outputs equity and reqBefore (for WITHDRAW). Inputs range-checked by the caller: mark,
// price < 2^40; imf < 2^14; qty < 2^48; isBuy boolean; account fields as in ApplyFill and
// Requirement. Hints: (reqBefore, remBefore) and (reqAfter, remAfter), see Requirement.
// |equity - lockIn - reqAfter| < 2^129, hence NonNegative(129).
// liquidate = 1 (boolean, checked by the caller, who passes mmf as imf and open quantities of
// 0): ok = 1 iff equity < reqBefore, the account is under maintenance margin
// (ReferenceEngine._liquidatable); the comparison reuses the same NonNegative.
template MarginOk() {
    assert(AccMarginBits(1) == 129);
    signal input mark;
    signal input imf;
    signal input position;
    signal input openBuy;
    signal input openSell;
    signal input collateral;
    signal input basis;
    signal input isBuy;
    signal input price;
    signal input qty;
    signal input reqBefore;
    signal input remBefore;
    signal input reqAfter;
    signal input remAfter;
    signal input liquidate;
    signal output ok;
    signal output equity;

    // MarginOkM(1), below: the same constraints.
    component m = MarginOkM(1);
    m.sel[0] <== 1;
    m.marks[0] <== mark;
    m.rates[0] <== imf;
    m.position[0] <== position;
    m.openBuy[0] <== openBuy;
    m.openSell[0] <== openSell;
    m.basis[0] <== basis;
    m.collateral <== collateral;
    m.mark <== mark;
    m.rate <== imf;
    m.tPosition <== position;
    m.tOpenBuy <== openBuy;
    m.tOpenSell <== openSell;
    m.isBuy <== isBuy;
    m.price <== price;
    m.qty <== qty;
    m.reqBefore[0] <== reqBefore;
    m.remBefore[0] <== remBefore;
    m.reqAfter <== reqAfter;
    m.remAfter <== remAfter;
    m.liquidate <== liquidate;
    ok <== m.ok;
    equity <== m.equity;
}

// --- several markets (M >= 1) -------------------------------------------------------------
// proofs.state lays an account leaf out as pack_greedy([collateral, (position, openBuy,
// openSell, basis) per market, nonce]) absorbed by a Poseidon(4)-wide chain (_absorb4). One
// market is the layout above; the templates below take M and reproduce M = 1 constraint for
// constraint (tests pin the counts).

// Width of field i of an M-market leaf, in layout order.
function AccLeafWidth(M, i) {
    if (i == 0) {
        return ACC_MONEY_BITS();
    }
    if (i == 4 * M + 1) {
        return ACC_NONCE_BITS();
    }
    var j = (i - 1) % 4;
    if (j == 0) {
        return ACC_POSITION_BITS();
    }
    if (j == 3) {
        return ACC_MONEY_BITS();
    }
    return ACC_OPEN_BITS();
}

// Number of packed elements pack_greedy makes of an M-market leaf (253 bits each).
function AccLeafElems(M) {
    var n = 1;
    var used = 0;
    for (var i = 0; i < 4 * M + 2; i++) {
        var w = AccLeafWidth(M, i);
        if (used + w > 253) {
            n++;
            used = 0;
        }
        used += w;
    }
    return n;
}

// Number of Poseidon calls of _absorb4 over L elements.
function Absorb4Calls(L) {
    if (L <= 4) {
        return 1;
    }
    return 1 + (L - 4 + 2) \ 3;
}

// Width of call c of _absorb4 over L elements: the first takes up to 4, each next the running
// hash and up to 3 more.
function Absorb4Width(L, c) {
    if (c == 0) {
        return L < 4 ? L : 4;
    }
    var left = L - 4 - 3 * (c - 1);
    return 1 + (left < 3 ? left : 3);
}

// Absorb4(L): proofs.state._absorb4 of L field elements.
template Absorb4(L) {
    assert(L >= 1);
    signal input in[L];
    signal output out;

    var C = Absorb4Calls(L);
    component h[C];
    var at = 0;
    for (var c = 0; c < C; c++) {
        var w = Absorb4Width(L, c);
        h[c] = Poseidon(w);
        var k = 0;
        if (c > 0) {
            h[c].inputs[0] <== h[c - 1].out;
            k = 1;
        }
        for (var i = k; i < w; i++) {
            h[c].inputs[i] <== in[at];
            at++;
        }
    }
    out <== h[C - 1].out;
}

// AccountLeafM(M, CHECKED): the leaf of an account with M markets, from the OFFSET encodings.
// CHECKED = 1 range-checks every field to its width (as AccountLeaf does); CHECKED = 0 packs
// them as given, for a caller that has range-checked each field already (AccountStepOpsM's new
// leaf: the markets it does not trade are the old leaf's, checked there).
template AccountLeafM(M, CHECKED) {
    assert(M >= 1);
    assert(CHECKED == 0 || CHECKED == 1);
    signal input pubkeyHash;
    signal input collateral;
    signal input position[M];
    signal input openBuy[M];
    signal input openSell[M];
    signal input basis[M];
    signal input nonce;
    signal output out;

    var F = 4 * M + 2;
    var E = AccLeafElems(M);
    signal f[F];
    f[0] <== collateral;
    for (var m = 0; m < M; m++) {
        f[4 * m + 1] <== position[m];
        f[4 * m + 2] <== openBuy[m];
        f[4 * m + 3] <== openSell[m];
        f[4 * m + 4] <== basis[m];
    }
    f[F - 1] <== nonce;

    component range[F];
    signal e[E];
    var k = 0;
    var used = 0;
    var acc = 0;
    for (var i = 0; i < F; i++) {
        var w = AccLeafWidth(M, i);
        if (used + w > 253) {
            e[k] <== acc;
            k++;
            used = 0;
            acc = 0;
        }
        if (CHECKED == 1) {
            range[i] = Num2Bits(w);
            range[i].in <== f[i];
        }
        acc += f[i] * (1 << used);
        used += w;
    }
    e[k] <== acc;

    component h = Absorb4(E + 1);
    h.in[0] <== pubkeyHash;
    for (var i = 0; i < E; i++) {
        h.in[i + 1] <== e[i];
    }
    out <== h.out;
}

// Bits of MarginOkM's signed comparisons: |equity| < 2^127 + M * (2^127 + 2^103), and the
// requirements (M * 2^110) and lock-in (2^88) are far smaller, so every sum it tests lies in
// [-2^n, 2^n) for n = 128 + ceil(log2(M + 1)): 129 for one market, as MarginOk had.
function AccMarginBits(M) {
    var b = 0;
    while ((1 << b) < M + 1) {
        b++;
    }
    return 128 + b;
}

// MarginOkM(M): MarginOk for an account with M markets, ReferenceEngine._margin_ok over all of
// them: the requirement is the sum of each market's Requirement, the equity adds every market's
// unrealised PnL at its own mark. The order's market (one-hot sel, constrained by the caller)
// is the only one whose requirement changes, so "the order does not raise the requirement" is
// its market's test alone, and the others enter the sums once. A liquidation (liquidate = 1,
// rates = each market's mmf) sums the maintenance margin, where no market's open orders count
// (ReferenceEngine._maintenance). The traded market's fields and rate are also passed as
// scalars (mark, rate, tPosition, tOpenBuy, tOpenSell): the caller's arrays hold the same values
// at sel. Outputs ok, equity and reqTotal (the requirement before the order, for WITHDRAW).
// Ranges as MarginOk's, per market.
template MarginOkM(M) {
    assert(M >= 1);
    var CMP = AccMarginBits(M);
    assert(ACC_PRICE_BITS() + ACC_BPS_BITS() + ACC_POSITION_BITS() + 2 <= ACC_REQ_BITS() + 14);
    signal input sel[M];
    signal input marks[M];
    signal input rates[M];
    signal input position[M];
    signal input openBuy[M];
    signal input openSell[M];
    signal input basis[M];
    signal input collateral;
    signal input mark;
    signal input rate;
    signal input tPosition;
    signal input tOpenBuy;
    signal input tOpenSell;
    signal input isBuy;
    signal input price;
    signal input qty;
    signal input reqBefore[M];
    signal input remBefore[M];
    signal input reqAfter;
    signal input remAfter;
    signal input liquidate;
    signal output ok;
    signal output equity;
    signal output reqTotal;

    // Every market's requirement before the order (open orders left out of a liquidation's).
    signal imfMark[M];
    signal keptBuy[M];
    signal keptSell[M];
    component before[M];
    component posZero[M];
    signal upnl[M];
    signal openUpnl[M];
    signal pickReq[M];
    var total = 0;
    var traded = 0;
    var pnl = 0;
    for (var m = 0; m < M; m++) {
        imfMark[m] <== rates[m] * marks[m];
        if (M == 1) {
            // the caller forces a liquidated market's open quantities to 0
            keptBuy[m] <== openBuy[m];
            keptSell[m] <== openSell[m];
            pickReq[m] <== reqBefore[m];
        } else {
            keptBuy[m] <== (1 - liquidate) * openBuy[m];
            keptSell[m] <== (1 - liquidate) * openSell[m];
            pickReq[m] <== sel[m] * reqBefore[m];
        }
        before[m] = Requirement();
        before[m].position <== position[m];
        before[m].openBuy <== keptBuy[m];
        before[m].openSell <== keptSell[m];
        before[m].imfMark <== imfMark[m];
        before[m].req <== reqBefore[m];
        before[m].rem <== remBefore[m];
        total += reqBefore[m];
        traded += pickReq[m];

        posZero[m] = IsZero();
        posZero[m].in <== position[m];
        upnl[m] <== position[m] * marks[m] - basis[m];
        openUpnl[m] <== (1 - posZero[m].out) * upnl[m];
        pnl += openUpnl[m];
    }
    reqTotal <== total;
    equity <== collateral + pnl;

    // The order's market with the order added.
    signal tImfMark;
    if (M == 1) {
        tImfMark <== imfMark[0];
    } else {
        tImfMark <== rate * mark;
    }
    signal buyQty <== isBuy * qty;
    component after = Requirement();
    after.position <== tPosition;
    after.openBuy <== tOpenBuy + buyQty;
    after.openSell <== tOpenSell + qty - buyQty;
    after.imfMark <== tImfMark;
    after.req <== reqAfter;
    after.rem <== remAfter;

    // increases = the order's market's requirement rises (the others' do not move)
    component increases = LessThan(ACC_REQ_BITS());
    increases.in[0] <== traded;
    increases.in[1] <== reqAfter;

    signal d <== (2 * isBuy - 1) * (price - mark);
    component dSign = NonNegative(ACC_PRICE_BITS());
    dSign.in <== d;
    signal dPos <== dSign.out * d;
    signal lockIn <== dPos * qty;

    // the requirement with the order: the others' before, the order's market's after
    var reqWith = total - traded + reqAfter;
    component covered = NonNegative(CMP);
    covered.in <== equity - lockIn - reqWith + liquidate * (lockIn + reqWith - total);
    signal okTrade <== 1 - increases.out * (1 - covered.out);
    ok <== okTrade + liquidate * (1 - covered.out - okTrade);
}

// Op codes of AccountStep (= proofs.accounttrace.AccountOp).
function ACC_OP_NOP() { return 0; }
function ACC_OP_ADD() { return 1; }
function ACC_OP_DEPOSIT() { return 2; }
function ACC_OP_WITHDRAW() { return 3; }
function ACC_OP_OPEN_ORDER() { return 4; }
function ACC_OP_RELEASE() { return 5; }
function ACC_OP_FILL() { return 6; }
function ACC_OP_COUNT() { return 7; }
// Block circuit only (AccountStepOps(A, 1)): write the caller's new fields over the old leaf;
// OPEN_WRITE also checks OPEN_ORDER's margin on the old leaf and raises the replay mark.
function ACC_OP_WRITE() { return 7; }
function ACC_OP_OPEN_WRITE() { return 8; }

// AccountStepOpsM(A, W, M): one account-leaf update slot of a depth-A accounts tree of a venue
// of M markets (AccountStep(A) is W = 0, M = 1; the block circuit uses W = 1, which adds ops 7
// WRITE and 8 OPEN_WRITE, below; AccountStepOps(A, W) is M = 1). The op trades one market,
// `market` (M > 1): the fields below are that market's, and the others' (other*) sit in both
// leaves unchanged and enter the margin sums (MarginOkM) at their own marks and rates.
// The witness supplies the account's old and new fields (offset-encoded, as committed), the
// op's parameters and the hints; the constraints pin the new fields to the op's rule:
//   NOP         root unchanged (the path is not checked; all-zero witness allowed)
//   ADD         old leaf = 0 (empty slot); new = zero balances under pubkeyHash
//   DEPOSIT     collateral += amount, 0 < amount < 2^96
//   WITHDRAW    collateral -= amount, 0 < amount < 2^96, amount <= collateral,
//               equity - amount >= requirement (ReferenceEngine._withdraw)
//   OPEN_ORDER  open_{side} += qty, qty > 0, MarginOk(...) = 1 on the OLD fields (the engine's
//               pre-trade check: the full order qty is reserved at acceptance; fills and
//               cancels of the order then release it)
//   RELEASE     open_{side} -= qty (cancel, STP, reduce, IOC remainder); must stay >= 0
//   FILL        ApplyFill on position, basis, collateral; open_{side} -= qty, qty > 0 (a fill
//               consumes the reserved open quantity of maker and taker alike)
//   WRITE       (W = 1 only) new fields = the caller's, old leaf must be in the tree: the block
//               circuit writes the taker's registers (fills applied with ApplyFill) once, at
//               the end of its command, and binds the new fields to them
//   OPEN_WRITE  (W = 1 only) OPEN_ORDER's checks (qty > 0, MarginOk on the old fields, the
//               replay mark) with the caller's new fields: the end of a command begun by
//               FILL_BEGIN, which reserved nothing (block.circom)
// liquidate = 1 (OPEN_ORDER / OPEN_WRITE only; AccountStep passes 0): a liquidation order
// (ReferenceEngine._liquidatable) instead of the pre-trade check: nothing open in the market,
// the order closes part or all of the position (opposite side, qty <= |position|: ApplyFill's
// closed quantity is the whole qty), and equity < maintenance, MarginOk's requirement at the
// rate mmf (open orders are 0). mmf must be bound to the market by the caller.
// flatAll = 1 (M > 1; the block circuit sets it at the end of a mass cancel of every market):
// the old leaf has nothing open in any market.
// Non-ADD ops keep pubkeyHash; it is an input so the block circuit can bind it to the
// AddAccount command (Poseidon(pubkey_x, pubkey_y)) once, for ADD only. mark and imf must be
// bound to the market by the caller.
// Replay mark: with bumpNonce = 1 (any op but NOP, ADD and WRITE; the block sets it once per
// accepted signed command on a signed venue) nonceIn > oldNonce and newNonce = nonceIn; else
// the nonce is kept (ADD: 0; WRITE: the caller's). nonceIn is range-checked here. The write is
// made on the account tree's tier (merkle.circom "Tiers"), which the block circuit chains from
// step to step and hashes to the root.
template AccountStepOpsM(A, W, M) {
    assert(A >= 1 && A <= 32);
    assert(M >= 1);
    assert(W == 0 || W == 1);
    signal input op;
    signal input oldTier[TierWidth(A)];
    signal input index;
    signal input siblings[TierSiblings(A)];
    signal input pubkeyHash;
    // offset-encoded fields: collateral + 2^127, position + 2^63, openBuy, openSell, basis + 2^127
    signal input oldCollateral;
    signal input oldPosition;
    signal input oldOpenBuy;
    signal input oldOpenSell;
    signal input oldBasis;
    signal input newCollateral;
    signal input newPosition;
    signal input newOpenBuy;
    signal input newOpenSell;
    signal input newBasis;
    signal input oldNonce;
    signal input newNonce;
    // M > 1: the order's market (an index), and the other markets' fields, offset-encoded
    // (slot `market` is not read; ADD needs every slot at the zero encoding); flatAll = 1:
    // the old leaf has nothing open in any market (M = 1: not read)
    signal input market;
    signal input flatAll;
    signal input otherPosition[M];
    signal input otherOpenBuy[M];
    signal input otherOpenSell[M];
    signal input otherBasis[M];
    // op parameters
    signal input isBuy;
    signal input price;
    signal input qty;
    signal input amount;
    signal input marks[M];
    signal input imfs[M];
    signal input bumpNonce;
    signal input nonceIn;
    signal input liquidate;
    signal input mmfs[M];
    // hints
    signal input released;
    signal input divRem;
    signal input reqBefore[M];
    signal input remBefore[M];
    signal input reqAfter;
    signal input remAfter;
    signal output newTier[TierWidth(A)];

    var MONEY_OFF = 1 << 127;
    var POS_OFF = 1 << 63;

    // One-hot op selector, pinned to op.
    signal sel[ACC_OP_COUNT() + 2 * W];
    var selSum = 0;
    var selIndex = 0;
    for (var i = 0; i < ACC_OP_COUNT() + 2 * W; i++) {
        sel[i] <-- op == i ? 1 : 0;
        sel[i] * (sel[i] - 1) === 0;
        selSum += sel[i];
        selIndex += i * sel[i];
    }
    selSum === 1;
    selIndex === op;
    signal isNop <== sel[ACC_OP_NOP()];
    signal isAdd <== sel[ACC_OP_ADD()];
    signal isDep <== sel[ACC_OP_DEPOSIT()];
    signal isWd <== sel[ACC_OP_WITHDRAW()];
    signal isOpen <== sel[ACC_OP_OPEN_ORDER()];
    signal isRel <== sel[ACC_OP_RELEASE()];
    signal isFill <== sel[ACC_OP_FILL()];
    // WRITE (W = 1 only): the new fields are the caller's, the rule below does not apply.
    var isWrite = W == 1 ? sel[ACC_OP_WRITE()] : 0;
    // OPEN_WRITE (W = 1 only): OPEN_ORDER's margin check and nonce rule, the caller's fields.
    var isOpenWrite = W == 1 ? sel[ACC_OP_OPEN_WRITE()] : 0;
    var isCaller = isWrite + isOpenWrite;

    // Op parameters in range.
    isBuy * (isBuy - 1) === 0;
    component priceRange = RangeCheck(ACC_PRICE_BITS());
    priceRange.in <== price;
    component qtyRange = RangeCheck(ACC_QTY_BITS());
    qtyRange.in <== qty;
    component amountRange = RangeCheck(ACC_AMOUNT_BITS());
    amountRange.in <== amount;
    // the margin rates: imf, or mmf for a liquidation (range-checked either way)
    liquidate * (liquidate - 1) === 0;
    component markRange[M];
    signal rates[M];
    component imfRange[M];
    for (var m = 0; m < M; m++) {
        markRange[m] = RangeCheck(ACC_PRICE_BITS());
        markRange[m].in <== marks[m];
        rates[m] <== imfs[m] + liquidate * (mmfs[m] - imfs[m]);
        imfRange[m] = RangeCheck(ACC_BPS_BITS());
        imfRange[m].in <== rates[m];
    }

    // The order's market: one-hot over the M markets (one market: always market 0, and the
    // market input is not read), its mark and rate, and each market's slot in the old and new
    // leaves: the order's market holds the old/new fields above, the others their own fields,
    // the same in both leaves.
    signal mSel[M];
    signal pickMark[M];
    signal pickRate[M];
    signal oldPosS[M];
    signal oldBuyS[M];
    signal oldSellS[M];
    signal oldBasisS[M];
    signal newPosS[M];
    signal newBuyS[M];
    signal newSellS[M];
    signal newBasisS[M];
    var mark = 0;
    var rate = 0;
    if (M == 1) {
        mSel[0] <== 1;
        mark = marks[0];
        rate = rates[0];
        oldPosS[0] <== oldPosition;
        oldBuyS[0] <== oldOpenBuy;
        oldSellS[0] <== oldOpenSell;
        oldBasisS[0] <== oldBasis;
        newPosS[0] <== newPosition;
        newBuyS[0] <== newOpenBuy;
        newSellS[0] <== newOpenSell;
        newBasisS[0] <== newBasis;
    } else {
        var selSumM = 0;
        var selIndexM = 0;
        for (var m = 0; m < M; m++) {
            mSel[m] <-- market == m ? 1 : 0;
            mSel[m] * (mSel[m] - 1) === 0;
            selSumM += mSel[m];
            selIndexM += m * mSel[m];
        }
        selSumM === 1;
        selIndexM === market;
        for (var m = 0; m < M; m++) {
            pickMark[m] <== mSel[m] * marks[m];
            pickRate[m] <== mSel[m] * rates[m];
            mark += pickMark[m];
            rate += pickRate[m];
            oldPosS[m] <== otherPosition[m] + mSel[m] * (oldPosition - otherPosition[m]);
            oldBuyS[m] <== otherOpenBuy[m] + mSel[m] * (oldOpenBuy - otherOpenBuy[m]);
            oldSellS[m] <== otherOpenSell[m] + mSel[m] * (oldOpenSell - otherOpenSell[m]);
            oldBasisS[m] <== otherBasis[m] + mSel[m] * (oldBasis - otherBasis[m]);
            newPosS[m] <== otherPosition[m] + mSel[m] * (newPosition - otherPosition[m]);
            newBuyS[m] <== otherOpenBuy[m] + mSel[m] * (newOpenBuy - otherOpenBuy[m]);
            newSellS[m] <== otherOpenSell[m] + mSel[m] * (newOpenSell - otherOpenSell[m]);
            newBasisS[m] <== otherBasis[m] + mSel[m] * (newBasis - otherBasis[m]);
        }
    }

    // Old leaf (range-checks every old field) and signed views of the order's market's.
    component oldLeaf = AccountLeafM(M, 1);
    oldLeaf.pubkeyHash <== pubkeyHash;
    oldLeaf.collateral <== oldCollateral;
    oldLeaf.position <== oldPosS;
    oldLeaf.openBuy <== oldBuyS;
    oldLeaf.openSell <== oldSellS;
    oldLeaf.basis <== oldBasisS;
    oldLeaf.nonce <== oldNonce;
    var coll = oldCollateral - MONEY_OFF;
    var pos = oldPosition - POS_OFF;
    var bas = oldBasis - MONEY_OFF;

    component fill = ApplyFill();
    fill.position <== pos;
    fill.basis <== bas;
    fill.collateral <== coll;
    fill.isBuy <== isBuy;
    fill.price <== price;
    fill.qty <== qty;
    fill.released <== released;
    fill.divRem <== divRem;

    component margin = MarginOkM(M);
    margin.sel <== mSel;
    margin.marks <== marks;
    margin.rates <== rates;
    for (var m = 0; m < M; m++) {
        margin.position[m] <== oldPosS[m] - POS_OFF;
        margin.openBuy[m] <== oldBuyS[m];
        margin.openSell[m] <== oldSellS[m];
        margin.basis[m] <== oldBasisS[m] - MONEY_OFF;
    }
    margin.mark <== mark;
    margin.rate <== rate;
    margin.liquidate <== liquidate;
    margin.tPosition <== pos;
    margin.tOpenBuy <== oldOpenBuy;
    margin.tOpenSell <== oldOpenSell;
    margin.collateral <== coll;
    margin.isBuy <== isBuy;
    margin.price <== price;
    margin.qty <== qty;
    margin.reqBefore <== reqBefore;
    margin.remBefore <== remBefore;
    margin.reqAfter <== reqAfter;
    margin.remAfter <== remAfter;

    // Positive quantities and amounts where the engine requires them.
    component qtyZero = IsZero();
    qtyZero.in <== qty;
    (isOpen + isOpenWrite + isFill) * qtyZero.out === 0;
    component amountZero = IsZero();
    amountZero.in <== amount;
    (isDep + isWd) * amountZero.out === 0;

    // OPEN_ORDER: the engine's pre-trade margin check on the old fields (a liquidation: the
    // maintenance test, and the order only closes a position the account holds alone).
    (isOpen + isOpenWrite) * (1 - margin.ok) === 0;
    liquidate * (1 - isOpen - isOpenWrite) === 0;
    liquidate * (oldOpenBuy + oldOpenSell) === 0;
    liquidate * (qty - fill.closeQty) === 0;

    // WITHDRAW: amount <= collateral and equity - amount >= requirement.
    component collCovers = NonNegative(ACC_MONEY_BITS());
    collCovers.in <== coll - amount;
    component equityCovers = NonNegative(AccMarginBits(M));
    equityCovers.in <== margin.equity - amount - margin.reqTotal;
    signal wdOk <== collCovers.out * equityCovers.out;
    isWd * (1 - wdOk) === 0;

    // New values by op (signed); ADD zeroes everything.
    signal collDelta <== (isDep - isWd) * amount;
    signal fillCollDelta <== isFill * (fill.newCollateral - coll);
    signal fillPosDelta <== isFill * (fill.newPosition - pos);
    signal fillBasisDelta <== isFill * (fill.newBasis - bas);
    signal openDelta <== (isOpen - isRel - isFill) * qty;
    signal buyDelta <== isBuy * openDelta;
    signal keep <== 1 - isAdd;
    signal nextColl <== keep * (coll + collDelta + fillCollDelta);
    signal nextPos <== keep * (pos + fillPosDelta);
    signal nextBasis <== keep * (bas + fillBasisDelta);
    signal nextBuy <== keep * (oldOpenBuy + buyDelta);
    signal nextSell <== keep * (oldOpenSell + openDelta - buyDelta);
    (1 - isCaller) * (newCollateral - nextColl - MONEY_OFF) === 0;
    (1 - isCaller) * (newPosition - nextPos - POS_OFF) === 0;
    (1 - isCaller) * (newBasis - nextBasis - MONEY_OFF) === 0;
    (1 - isCaller) * (newOpenBuy - nextBuy) === 0;
    (1 - isCaller) * (newOpenSell - nextSell) === 0;
    // ADD: every other market starts flat too (the order's market by the rule above)
    if (M > 1) {
        for (var m = 0; m < M; m++) {
            isAdd * (otherPosition[m] - POS_OFF) === 0;
            isAdd * otherOpenBuy[m] === 0;
            isAdd * otherOpenSell[m] === 0;
            isAdd * (otherBasis[m] - MONEY_OFF) === 0;
        }
        // a mass cancel of every market ends with nothing open in any market (the block
        // circuit sets flatAll; each field is range-checked by the old leaf, so the sum of
        // 2M of them cannot wrap and is 0 only when every one is)
        var openAll = 0;
        for (var m = 0; m < M; m++) {
            openAll += oldBuyS[m] + oldSellS[m];
        }
        flatAll * openAll === 0;
    }

    // Replay mark: raised to the command's client id, which must be above it.
    bumpNonce * (bumpNonce - 1) === 0;
    bumpNonce * (isNop + isAdd + isWrite) === 0;
    component nonceRange = RangeCheck(ACC_NONCE_BITS());
    nonceRange.in <== nonceIn;
    component nonceAbove = LessThan(ACC_NONCE_BITS());
    nonceAbove.in[0] <== oldNonce;
    nonceAbove.in[1] <== nonceIn;
    bumpNonce * (1 - nonceAbove.out) === 0;
    signal raised <== oldNonce + bumpNonce * (nonceIn - oldNonce);
    signal nextNonce <== keep * raised;
    (1 - isWrite) * (newNonce - nextNonce) === 0;

    // New leaf: the new fields range-checked here (open qty >= 0, no overflow); the other
    // markets' slots are the old leaf's, checked there.
    component newCollRange = RangeCheck(ACC_MONEY_BITS());
    newCollRange.in <== newCollateral;
    component newPosRange = RangeCheck(ACC_POSITION_BITS());
    newPosRange.in <== newPosition;
    component newBuyRange = RangeCheck(ACC_OPEN_BITS());
    newBuyRange.in <== newOpenBuy;
    component newSellRange = RangeCheck(ACC_OPEN_BITS());
    newSellRange.in <== newOpenSell;
    component newBasisRange = RangeCheck(ACC_MONEY_BITS());
    newBasisRange.in <== newBasis;
    component newNonceRange = RangeCheck(ACC_NONCE_BITS());
    newNonceRange.in <== newNonce;
    component newLeaf = AccountLeafM(M, 0);
    newLeaf.pubkeyHash <== pubkeyHash;
    newLeaf.collateral <== newCollateral;
    newLeaf.position <== newPosS;
    newLeaf.openBuy <== newBuyS;
    newLeaf.openSell <== newSellS;
    newLeaf.basis <== newBasisS;
    newLeaf.nonce <== newNonce;

    // ADD writes into an empty slot: the old leaf is 0, not the (unused) old fields' hash.
    signal oldLeafValue <== keep * oldLeaf.out;
    component update = MerkleTierUpdateIfEnabled(A);
    update.enabled <== 1 - isNop;
    update.oldTier <== oldTier;
    update.oldLeaf <== oldLeafValue;
    update.newLeaf <== newLeaf.out;
    update.index <== index;
    update.siblings <== siblings;
    newTier <== update.newTier;
}

// AccountStepOps(A, W): AccountStepOpsM(A, W, 1) with one market's scalar inputs.
template AccountStepOps(A, W) {
    assert(A >= 1 && A <= 32);
    assert(W == 0 || W == 1);
    signal input op;
    signal input oldTier[TierWidth(A)];
    signal input index;
    signal input siblings[TierSiblings(A)];
    signal input pubkeyHash;
    signal input oldCollateral;
    signal input oldPosition;
    signal input oldOpenBuy;
    signal input oldOpenSell;
    signal input oldBasis;
    signal input newCollateral;
    signal input newPosition;
    signal input newOpenBuy;
    signal input newOpenSell;
    signal input newBasis;
    signal input oldNonce;
    signal input newNonce;
    signal input isBuy;
    signal input price;
    signal input qty;
    signal input amount;
    signal input mark;
    signal input imf;
    signal input bumpNonce;
    signal input nonceIn;
    signal input liquidate;
    signal input mmf;
    signal input released;
    signal input divRem;
    signal input reqBefore;
    signal input remBefore;
    signal input reqAfter;
    signal input remAfter;
    signal output newTier[TierWidth(A)];

    // AccountStepOpsM(A, W, 1): the same constraints.
    component s = AccountStepOpsM(A, W, 1);
    s.op <== op;
    s.oldTier <== oldTier;
    s.index <== index;
    s.siblings <== siblings;
    s.pubkeyHash <== pubkeyHash;
    s.oldCollateral <== oldCollateral;
    s.oldPosition <== oldPosition;
    s.oldOpenBuy <== oldOpenBuy;
    s.oldOpenSell <== oldOpenSell;
    s.oldBasis <== oldBasis;
    s.newCollateral <== newCollateral;
    s.newPosition <== newPosition;
    s.newOpenBuy <== newOpenBuy;
    s.newOpenSell <== newOpenSell;
    s.newBasis <== newBasis;
    s.oldNonce <== oldNonce;
    s.newNonce <== newNonce;
    s.market <== 0;
    s.flatAll <== 0;
    s.otherPosition[0] <== 0;
    s.otherOpenBuy[0] <== 0;
    s.otherOpenSell[0] <== 0;
    s.otherBasis[0] <== 0;
    s.isBuy <== isBuy;
    s.price <== price;
    s.qty <== qty;
    s.amount <== amount;
    s.marks[0] <== mark;
    s.imfs[0] <== imf;
    s.bumpNonce <== bumpNonce;
    s.nonceIn <== nonceIn;
    s.liquidate <== liquidate;
    s.mmfs[0] <== mmf;
    s.released <== released;
    s.divRem <== divRem;
    s.reqBefore[0] <== reqBefore;
    s.remBefore[0] <== remBefore;
    s.reqAfter <== reqAfter;
    s.remAfter <== remAfter;
    newTier <== s.newTier;
}

// AccountStep(A): the seven ops above (AccountStepOps without WRITE; same constraints).
template AccountStep(A) {
    assert(A >= 1 && A <= 32);
    signal input op;
    signal input oldTier[TierWidth(A)];
    signal input index;
    signal input siblings[TierSiblings(A)];
    signal input pubkeyHash;
    signal input oldCollateral;
    signal input oldPosition;
    signal input oldOpenBuy;
    signal input oldOpenSell;
    signal input oldBasis;
    signal input newCollateral;
    signal input newPosition;
    signal input newOpenBuy;
    signal input newOpenSell;
    signal input newBasis;
    signal input oldNonce;
    signal input newNonce;
    signal input isBuy;
    signal input price;
    signal input qty;
    signal input amount;
    signal input mark;
    signal input imf;
    signal input bumpNonce;
    signal input nonceIn;
    signal input released;
    signal input divRem;
    signal input reqBefore;
    signal input remBefore;
    signal input reqAfter;
    signal input remAfter;
    signal output newTier[TierWidth(A)];

    component s = AccountStepOps(A, 0);
    s.op <== op;
    s.oldTier <== oldTier;
    s.index <== index;
    s.siblings <== siblings;
    s.pubkeyHash <== pubkeyHash;
    s.oldCollateral <== oldCollateral;
    s.oldPosition <== oldPosition;
    s.oldOpenBuy <== oldOpenBuy;
    s.oldOpenSell <== oldOpenSell;
    s.oldBasis <== oldBasis;
    s.newCollateral <== newCollateral;
    s.newPosition <== newPosition;
    s.newOpenBuy <== newOpenBuy;
    s.newOpenSell <== newOpenSell;
    s.newBasis <== newBasis;
    s.oldNonce <== oldNonce;
    s.newNonce <== newNonce;
    s.bumpNonce <== bumpNonce;
    s.nonceIn <== nonceIn;
    s.liquidate <== 0;
    s.mmf <== 0;
    s.isBuy <== isBuy;
    s.price <== price;
    s.qty <== qty;
    s.amount <== amount;
    s.mark <== mark;
    s.imf <== imf;
    s.released <== released;
    s.divRem <== divRem;
    s.reqBefore <== reqBefore;
    s.remBefore <== remBefore;
    s.reqAfter <== reqAfter;
    s.remAfter <== remAfter;
    newTier <== s.newTier;
}
