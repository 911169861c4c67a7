pragma circom 2.0.0;

include "bitify.circom";
include "comparators.circom";
include "poseidon.circom";
include "eddsaposeidon.circom";
include "command.circom";

// The per-command work of the block circuit, done once per command in one of N slots instead of
// in every step (BLOCK.md, "Command slots and signatures"): the command's hash (chained by
// Block), its position (seq = firstSeq + index; ts ordered), PlaceValid, the hash of the key the
// command's own account leaf must carry, and (SIGNED = 1) the EdDSA-Poseidon signature over the
// command's intent (proofs/signing.py). Steps read the slot through `view` (CmdLink at the
// beginning step, then registers).

// The command view a step carries (indices into view[] / the step's cmd[]).
function CV_ACCOUNT() { return 0; }
function CV_CLORD() { return 1; }
function CV_PRICE() { return 2; }
function CV_QTY() { return 3; }
function CV_OID_AMOUNT() { return 4; }   // order id (Place: seq; Cancel, Replace) or amount
function CV_PKHASH() { return 5; }       // Poseidon of the signer key (AddAccount: of its key)
function CV_FLAGS() { return 6; }        // the CF_* bits below, packed
function CV_SEQ() { return 7; }          // the command's seq (= firstSeq + its slot index)
function CV_COUNT() { return 8; }

// Bits of view[CV_FLAGS] (computed once here, unpacked by the step: one constraint per bit).
function CF_TYPE() { return 0; }         // 3 bits: the type code 1..7
function CF_REP() { return 3; }          // type == ReplaceOrder
function CF_BUY() { return 4; }          // side == BUY
function CF_RESTS() { return 5; }        // a remainder rests: GTC limit, or a (moved) Replace
function CF_FOK() { return 6; }
function CF_POST_ONLY() { return 7; }
function CF_STP() { return 8; }          // 2 bits: stp mod 4 (= stp when the order is valid)
function CF_MARKET_OK() { return 10; }   // market == this market (MassCancel: or ALL_MARKETS, 0)
function CF_ORDER_OK() { return 11; }    // PlaceValid: Place valid / Replace qtyOk
function CF_MASS_ALL() { return 11; }     // MassCancel of ALL_MARKETS (the types share the bit)
function CF_PRICE_OK() { return 12; }    // PlaceValid priceOk
function CF_SIGNED() { return 13; }      // the signature was checked (SIGNED = 1)
function CF_LIQ() { return 14; }         // a PlaceOrder of order type LIQUIDATION (never signed)
function CF_COUNT() { return 15; }

// CmdSlot(SIGNED): one command slot. cmd = CommandHash's 17 inputs (type first, BC_* order of
// block.circom); cfg/mark as BlockStep's; index = the slot's position (a constant of Block);
// prevTs = the previous slot's ts (0 for the first): ts >= prevTs in every slot, padding too
// (it carries closeTs), so Block checks ts <= closeTs on the last slot only; active = the slot
// holds a command (Block checks the prefix). signer = (Ax, Ay), the key whose hash the
// command's account leaf must carry (AddAccount: its own key is used instead). sigOn: the
// command is an accepted PlaceOrder / ReplaceOrder / Withdraw (the step demands it for those
// kinds); with SIGNED = 1 it enables circomlib's EdDSAPoseidonVerifier over the intent, with
// SIGNED = 0 it is only a flag. sig = (S, R8x, R8y); a disabled verifier still needs an
// on-curve key and S < 2^253, so those slots carry a fixed valid signature (proofs.witness).
// Cost 2,020 (SIGNED = 0), 6,477 (SIGNED = 1: + verifier 4,217 + intent Poseidon 240).
template CmdSlot(SIGNED) {
    assert(SIGNED == 0 || SIGNED == 1);
    signal input cfg[8];
    signal input mark;
    signal input firstSeq;
    signal input index;
    signal input prevTs;
    signal input active;
    signal input cmd[17];
    signal input pvHints[4];
    signal input signer[2];
    signal input sigOn;
    signal input sig[3];
    signal output hash;
    signal output view[CV_COUNT()];

    component pk = CommandPack();
    pk.type <== cmd[0];
    pk.seq <== cmd[1];
    pk.ts <== cmd[2];
    pk.account <== cmd[3];
    pk.market <== cmd[4];
    pk.clOrdId <== cmd[5];
    pk.side <== cmd[6];
    pk.orderType <== cmd[7];
    pk.tif <== cmd[8];
    pk.price <== cmd[9];
    pk.qty <== cmd[10];
    pk.postOnly <== cmd[11];
    pk.stp <== cmd[12];
    pk.orderId <== cmd[13];
    pk.amount <== cmd[14];
    pk.pubkeyX <== cmd[15];
    pk.pubkeyY <== cmd[16];
    component ch = CommandHashPacked();
    ch.e1 <== pk.e1;
    ch.e2 <== pk.e2;
    ch.pubkeyX <== cmd[15];
    ch.pubkeyY <== cmd[16];
    for (var t = 0; t < 7; t++) {
        ch.isType[t] <== pk.isType[t];
    }
    hash <== ch.out;

    // position: seq and ts (both range-checked by CommandPack, prevTs by the previous slot)
    active * (active - 1) === 0;
    active * (cmd[1] - firstSeq - index) === 0;
    component tsBack = LessThan(64);
    tsBack.in[0] <== cmd[2];
    tsBack.in[1] <== prevTs;
    tsBack.out === 0;

    component pv = PlaceValid();
    pv.tickSize <== cfg[1];
    pv.lotSize <== cfg[2];
    pv.minPrice <== cfg[3];
    pv.maxPrice <== cfg[4];
    pv.maxQty <== cfg[5];
    pv.bandBps <== cfg[6];
    pv.mark <== mark;
    pv.side <== cmd[6];
    pv.orderType <== cmd[7];
    pv.tif <== cmd[8];
    pv.price <== cmd[9];
    pv.qty <== cmd[10];
    pv.postOnly <== cmd[11];
    pv.stp <== cmd[12];
    pv.priceQ <== pvHints[0];
    pv.priceR <== pvHints[1];
    pv.qtyQ <== pvHints[2];
    pv.qtyR <== pvHints[3];

    // the booleans steps need (side/tif/order type decoded here once, not per step)
    component isBuy = IsZero();
    isBuy.in <== cmd[6] - 1;
    component isGtc = IsZero();
    isGtc.in <== cmd[8] - 1;
    component isFok = IsZero();
    isFok.in <== cmd[8] - 4;
    component isLimit = IsZero();
    isLimit.in <== cmd[7] - 1;
    signal gtcLimit <== isGtc.out * isLimit.out;   // 0 for a Replace (its codes are 0)
    component mOk = IsZero();
    mOk.in <== cmd[4] - cfg[0];
    component mZero = IsZero();
    mZero.in <== cmd[4];
    signal mBoth <== mOk.out * mZero.out;
    signal massAll <== pk.isType[3] * (mZero.out - mBoth);
    signal liq <== pk.isType[0] * pv.isLiquidation;
    // a liquidation order carries no client id (so it never collides with an order's)
    component clZero = IsZero();
    clZero.in <== cmd[5];
    signal liqNamed <== liq * (1 - clZero.out);
    signal placeValid <== pk.isType[0] * pv.valid;
    signal placeOk <== placeValid * (1 - liqNamed);
    signal replaceOk <== pk.isType[2] * pv.qtyOk;

    // signer key: AddAccount registers its own key (pubkeyX/Y are 0 for the other types)
    var isAdd = pk.isType[6];
    signal keyX <== signer[0] + isAdd * (cmd[15] - signer[0]);
    signal keyY <== signer[1] + isAdd * (cmd[16] - signer[1]);
    component keyHash = Poseidon(2);
    keyHash.inputs[0] <== keyX;
    keyHash.inputs[1] <== keyY;

    // only a PlaceOrder, ReplaceOrder or Withdraw is signed (proofs/signing.py: why)
    sigOn * (sigOn - 1) === 0;
    sigOn * (1 - pk.isType[0] - pk.isType[2] - pk.isType[5]) === 0;
    sigOn * liq === 0;   // the venue's liquidation order carries no signature
    if (SIGNED == 1) {
        // intent = Poseidon(e1 without seq and ts, e2) (for these types pubkeyX = 0)
        component intent = Poseidon(2);
        intent.inputs[0] <== pk.e1 - cmd[1] * (1 << 4) - cmd[2] * (1 << 52);
        intent.inputs[1] <== pk.e2;
        component ver = EdDSAPoseidonVerifier();
        ver.enabled <== sigOn;
        ver.Ax <== signer[0];
        ver.Ay <== signer[1];
        ver.S <== sig[0];
        ver.R8x <== sig[1];
        ver.R8y <== sig[2];
        ver.M <== intent.out;
    }

    view[CV_ACCOUNT()] <== cmd[3];
    view[CV_CLORD()] <== cmd[5];
    view[CV_PRICE()] <== cmd[9];
    view[CV_QTY()] <== cmd[10];
    // at most one of the three is non-zero: the id of the order the command places or names
    signal placeSeq <== pk.isType[0] * cmd[1];
    view[CV_OID_AMOUNT()] <== cmd[13] + cmd[14] + placeSeq;
    view[CV_PKHASH()] <== keyHash.out;
    view[CV_SEQ()] <== cmd[1];
    // (the type code is 1..7 by CommandPack's one-hot selector, so it fits 3 bits)
    var flags = cmd[0] * (1 << CF_TYPE()) + pk.isType[2] * (1 << CF_REP());
    flags += isBuy.out * (1 << CF_BUY()) + (gtcLimit + pk.isType[2]) * (1 << CF_RESTS())
        + isFok.out * (1 << CF_FOK())
        + cmd[11] * (1 << CF_POST_ONLY()) + pk.stpLow * (1 << CF_STP())
        + (mOk.out + massAll) * (1 << CF_MARKET_OK())
        + (placeOk + replaceOk + massAll) * (1 << CF_ORDER_OK())
        + pv.priceOk * (1 << CF_PRICE_OK()) + sigOn * (1 << CF_SIGNED())
        + liq * (1 << CF_LIQ());
    view[CV_FLAGS()] <== flags;
}
