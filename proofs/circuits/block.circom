pragma circom 2.0.0;

include "bitify.circom";
include "comparators.circom";
include "poseidon.circom";
include "hash_chain.circom";
include "pack.circom";
include "book.circom";
include "account.circom";
include "command.circom";
include "cmdslot.circom";
include "cmdlink.circom";
include "settle.circom";

// The v1 block circuit (one market; BlockM, at the end, for several): S steps over a block of
// at most N commands, then the settlement and both state roots (proofs/circuits/BLOCK.md,
// "Measured: the v1 block circuit"). Python witness builder and specification of the step
// schedule: proofs/witness.py.
//
// A full step is one BookStep(D) (one order-leaf write on the side isBid) + one
// AccountStepOps(A, 1) (one account-leaf write) + the taker's ApplyFill; an order-only step
// (ACC = 0) is the BookStep alone, and takes only the kinds whose account op is NOP (column
// "account op" below) and that do not begin a command (MC_BEGIN runs on a full step). Block lays them out with ratio R: step s is full iff s % R == 0 (R = 1:
// every step full; R = 2: full, order-only, ...). Every two-step pattern of the common commands
// is full + order-only (a passive add REST_BEGIN + PUT, a cancel CANCEL_DETACH +
// CANCEL_RELINK), so R = 2 drops the account slot from almost half the steps. The kinds are
// tied together by a one-hot step kind that the witness chooses and these constraints pin down.
// The per-command work (hash and chain, seq and ts, PlaceValid, the signer key and its
// signature) is done once per command in N command slots (CmdSlot, cmdslot.circom); a
// beginning step reads the next ACCEPTED command's slot through CmdLink (rejected commands are
// only chained: they change nothing, so they take no step), later steps of the command carry
// the slot's view in registers.
//
//   kind            begins  book op                       account op         then open
//   0  NOP          -       NOP                           NOP                no (between commands)
//   1  SKIP         no      NOP                           NOP                as before (filler)
//   2  PLACE        yes     NOP                           OPEN_ORDER taker   yes
//   3  FILL         no      FILL_HEAD opposite side       FILL maker         yes
//   4  END          no      NOP, or REDUCE(0) = read head WRITE taker regs   no
//   5  REST_BEGIN   yes     INSERT_HEAD / LINK own side   OPEN_ORDER taker   LINK ? yes : no
//   6  REST         no      INSERT_HEAD / LINK own side   WRITE taker regs   LINK ? yes : no
//   7  PUT          no      PUT own side                  NOP                no
//   8  CANCEL_HEAD  yes     REMOVE_HEAD                   RELEASE owner      no
//   9  CANCEL_DETACH yes    DETACH the order              RELEASE owner      yes
//   10 CANCEL_RELINK no     RELINK its predecessor        NOP                no
//   11 ADD          yes     NOP                           ADD                no
//   12 DEPOSIT      yes     NOP                           DEPOSIT            no
//   13 WITHDRAW     yes     NOP                           WITHDRAW           no
//   14 MC_BEGIN     yes     NOP                           NOP                yes
//   15 MC_HEAD      no      REMOVE_HEAD                   RELEASE owner      yes
//   16 MC_DETACH    no      DETACH                        RELEASE owner      yes
//   17 MC_RELINK    no      RELINK                        NOP                yes
//   18 MC_END       no      NOP                           WRITE = old fields no
//   19 RP_KEEP      yes     REDUCE the order (any slot)   RELEASE owner q    no
//   20 RP_HEAD      yes     REMOVE_HEAD                   RELEASE owner      yes, RP_PLACE/REST
//   21 RP_DETACH    yes     DETACH the order              RELEASE owner      yes
//   22 RP_RELINK    no      RELINK its predecessor        NOP                yes, RP_PLACE/REST
//   23 RP_PLACE     no      NOP                           OPEN_ORDER taker   yes
//   24 RP_REST      no      INSERT_HEAD / LINK own side   OPEN_ORDER taker   LINK ? yes : no
//   25 STP_MAKER    no      REMOVE_HEAD opposite (own)    NOP (taker regs)   yes
//   26 STP_BOTH     no      REMOVE_HEAD opposite (own)    WRITE taker regs   no
//   27 STP_DEC      no      REDUCE head / REMOVE_HEAD opp NOP (taker regs)   yes
//   28 FILL_BEGIN   yes     FILL_HEAD opposite side       FILL maker         yes
// (FILL_BEGIN: a PlaceOrder whose first match is a fill begins with it instead of PLACE + FILL.
// It opens no reservation: the taker's registers are its leaf fields (witness takerPre) with
// the order's quantity opened, and its final write (END, REST, STP_BOTH) is OPEN_WRITE, which
// checks the margin of OPEN_ORDER on the leaf, requires the leaf to be exactly those fields
// (no step in between writes the taker's leaf: a FILL's maker is another account, and the
// self-trade kinds change the registers only) and writes the registers. BLOCK.md "FILL_BEGIN".)
// (ReplaceOrder: RP_KEEP when the engine keeps priority (same price, qty not larger); else the
// order is removed (RP_HEAD | RP_DETACH + RP_RELINK, price/qty checked, "keeps" excluded) and
// re-enters as a GTC limit taker with the same order id and side, STP cancel-taker: RP_PLACE
// (margin after the release) + FILL.../END/REST, or RP_REST when it does not cross. Self-trade
// prevention on the taker's own crossing head: STP_MAKER removes it (CANCEL_MAKER), STP_BOTH
// removes it and ends the command (CANCEL_BOTH), STP_DEC reduces both by min (DECREMENT); the
// head's owner is the taker's account, whose fields are the registers, so its open quantity is
// released there and written by the command's final WRITE.)
// (MassCancel: every removed order is the account's; at MC_END the account's open_buy and
// open_sell are 0, which proves that every one of its orders was removed; a mass cancel of
// every market (CF_MASS_ALL) with M > 1: in every market, AccountStepOpsM's flatAll.)
//
// A rejected command is chained and changes nothing (BLOCK.md "Rejected commands"); so is an
// IOC/FOK order that trades nothing on an unsigned venue: neither takes a step. NOP pads
// between commands (the next command begins on a full step) and after the last; SKIP pads
// inside a command before a step that needs the account slot, and keeps every register.
// Registers (BR_* below) carry the heads, the one pending half-operation of the book (shared by
// both sides, with its side), the command index, the current command's view (CV_* of
// cmdslot.circom), the taker's remaining quantity and account fields, the block's notional,
// volume and trades, the open phase, and the three trees' tiers: each step writes a leaf under
// a tier node (the levels below it only), and Block hashes the tiers to the trees' roots once
// before the first step and once after the last (BLOCK.md "Tiers").

// Register layout (indices into r[]): fixed registers, then the three trees' tiers
// (merkle.circom "Tiers": the nodes TierLevels(depth) levels under each tree's root, which the
// steps write instead of the root; Block hashes them to the roots at the start and the end).
function BR_BID_HEAD() { return 0; }      // 3 signals: slot1, price, prio
function BR_ASK_HEAD() { return 3; }      // 3 signals
function BR_PEND() { return 6; }          // 7 signals (BookStep pend)
function BR_PEND_SIDE() { return 13; }
function BR_INDEX() { return 14; }
function BR_CMD() { return 15; }          // CV_COUNT() = 8: the command's view (cmdslot.circom)
function BR_REMAINING() { return 23; }
function BR_TAKER() { return 24; }        // 5 offset-encoded account fields of the taker
function BR_NOTIONAL() { return 29; }
function BR_VOLUME() { return 30; }
function BR_TRADES() { return 31; }
function BR_OPEN() { return 32; }
function BR_RP_BUY() { return 33; }      // replace: the moved order's side (1 buy)
function BR_RP_CL() { return 34; }       // replace: the moved order's client id
function BR_RP_PHASE() { return 35; }    // replace: 1 right after the removal (RP_PLACE/REST next)
function BR_MATCHES() { return 36; }     // makers the current command touched (FILL, STP_*)
function BR_NONCE() { return 37; }       // the taker's replay mark (with BR_TAKER's fields)
function BR_SNAP() { return 38; }        // 6: the taker's leaf fields before a FILL_BEGIN command
function BR_DEFER() { return 44; }       // 1: the command began with FILL_BEGIN (OPEN_WRITE at its end)
function BR_FIXED() { return 45; }
function BR_ACC_TIER(D, A) { return BR_FIXED(); }                          // TierWidth(A)
function BR_BID_TIER(D, A) { return BR_FIXED() + TierWidth(A); }           // TierWidth(D)
function BR_ASK_TIER(D, A) { return BR_FIXED() + TierWidth(A) + TierWidth(D); }
function BR_COUNT(D, A) { return BR_FIXED() + TierWidth(A) + 2 * TierWidth(D); }

// Command fields of a slot (CommandHash inputs, = proofs.commandtrace.COMMAND_INPUTS with the
// type first).
function BC_TYPE() { return 0; }
function BC_SEQ() { return 1; }
function BC_TS() { return 2; }
function BC_ACCOUNT() { return 3; }
function BC_MARKET() { return 4; }
function BC_CLORD() { return 5; }
function BC_SIDE() { return 6; }
function BC_ORDER_TYPE() { return 7; }
function BC_TIF() { return 8; }
function BC_PRICE() { return 9; }
function BC_QTY() { return 10; }
function BC_POST_ONLY() { return 11; }
function BC_STP() { return 12; }
function BC_ORDER_ID() { return 13; }
function BC_AMOUNT() { return 14; }
function BC_PUBKEY_X() { return 15; }
function BC_PUBKEY_Y() { return 16; }
function BC_COUNT() { return 17; }

// Step kinds (proofs.witness.StepKind).
function BK_NOP() { return 0; }
function BK_SKIP() { return 1; }
function BK_PLACE() { return 2; }
function BK_FILL() { return 3; }
function BK_END() { return 4; }
function BK_REST_BEGIN() { return 5; }
function BK_REST() { return 6; }
function BK_PUT() { return 7; }
function BK_CANCEL_HEAD() { return 8; }
function BK_CANCEL_DETACH() { return 9; }
function BK_CANCEL_RELINK() { return 10; }
function BK_ADD() { return 11; }
function BK_DEPOSIT() { return 12; }
function BK_WITHDRAW() { return 13; }
function BK_MC_BEGIN() { return 14; }
function BK_MC_HEAD() { return 15; }
function BK_MC_DETACH() { return 16; }
function BK_MC_RELINK() { return 17; }
function BK_MC_END() { return 18; }
function BK_RP_KEEP() { return 19; }
function BK_RP_HEAD() { return 20; }
function BK_RP_DETACH() { return 21; }
function BK_RP_RELINK() { return 22; }
function BK_RP_PLACE() { return 23; }
function BK_RP_REST() { return 24; }
function BK_STP_MAKER() { return 25; }
function BK_STP_BOTH() { return 26; }
function BK_STP_DEC() { return 27; }
function BK_FILL_BEGIN() { return 28; }
function BK_COUNT() { return 29; }

// BlockStep(D, A, NONCES, ACC): one step (table above); ACC = 0: an order-only step (no account
// slot; only kinds whose account op is NOP). cfg = the market (id, tick, lot, minPrice,
// maxPrice, maxQty, bandBps, imf, match limit, mmf), range-checked once by Block; mark is the pre-block mark
// (constant in a block). r = registers before, out = after. cmd = the command's view (CV_*): at
// a beginning step Block links it to the accepted command of rank r[BR_INDEX] (`begins`), later
// steps must repeat the registers' view. NONCES = 1 (signed venues): every accepted
// PlaceOrder, ReplaceOrder and Withdraw raises its account's replay mark to its client id,
// which must be above it (at the account write that opens the order, RP_KEEP's release, or the
// withdrawal: one per command), so a signed intent cannot be included twice.
template BlockStep(D, A, NONCES, ACC, M) {
    assert(M >= 1);
    assert(D >= 1 && D <= 24);
    assert(A >= 1 && A <= 32);
    assert(NONCES == 0 || NONCES == 1);
    assert(ACC == 0 || ACC == 1);
    signal input cfg[10];
    signal input mark;
    signal input r[BR_COUNT(D, A)];
    signal output out[BR_COUNT(D, A)];
    signal output begins;
    // --- witness
    signal input kind;
    signal input cmd[CV_COUNT()];
    signal input linkFlag;         // REST*: 1 LINK (PUT follows), 0 INSERT_HEAD
    signal input stpRead;          // END: the opposite head is the taker's own (cancel-taker)
    signal input stpReduce;        // STP_DEC: 1 REDUCE the head (taker exhausted), 0 REMOVE_HEAD
    signal input isBid;
    signal input bookIndex;
    signal input siblings[TierSiblings(D)];
    signal input oldOrder[10];
    signal input newOrder[10];
    signal input link[3];
    signal input q;
    signal input accIndex;
    signal input accSiblings[TierSiblings(A)];
    signal input pubkeyHash;
    signal input accOld[6];
    signal input accNew[6];
    signal input accIsBuy;
    signal input accPrice;
    signal input accQty;
    signal input accAmount;
    signal input accHints[6];      // released, divRem, reqBefore, remBefore, reqAfter, remAfter
    signal input takerHints[2];    // ApplyFill released, divRem of the taker's registers
    signal input takerPre[6];      // FILL_BEGIN: the taker's leaf fields (offset-encoded)
    // several markets (M > 1; not read when M = 1): the block's market index, every market's
    // pre-block mark and rates (the account's margin sums them), and the account write's
    // other markets (AccountStepOpsM: offset-encoded fields, requirement hints before the op)
    signal input market;
    signal input marks[M];
    signal input imfs[M];
    signal input mmfs[M];
    signal input accOther[M][4];
    signal input accReqs[M][2];

    var MONEY_OFF = 1 << 127;
    var POS_OFF = 1 << 63;
    var O_PRICE = 0;
    var O_QTY = 1;
    var O_PRIO = 2;
    var O_ACCOUNT = 3;
    var O_OID = 5;
    var O_CLORD = 6;

    // --- kind selector (one-hot, pinned to kind)
    signal k[BK_COUNT()];
    var kSum = 0;
    var kIdx = 0;
    for (var i = 0; i < BK_COUNT(); i++) {
        k[i] <-- kind == i ? 1 : 0;
        k[i] * (k[i] - 1) === 0;
        kSum += k[i];
        kIdx += i * k[i];
    }
    kSum === 1;
    kIdx === kind;
    var kNop = k[BK_NOP()];
    var kPlace = k[BK_PLACE()];
    var kFill = k[BK_FILL()];
    var kEnd = k[BK_END()];
    var kRestB = k[BK_REST_BEGIN()];
    var kRest = k[BK_REST()];
    var kPut = k[BK_PUT()];
    var kCh = k[BK_CANCEL_HEAD()];
    var kSkip = k[BK_SKIP()];
    var kCd = k[BK_CANCEL_DETACH()];
    var kCr = k[BK_CANCEL_RELINK()];
    var kAdd = k[BK_ADD()];
    var kDep = k[BK_DEPOSIT()];
    var kWd = k[BK_WITHDRAW()];
    var kMb = k[BK_MC_BEGIN()];
    var kMh = k[BK_MC_HEAD()];
    var kMd = k[BK_MC_DETACH()];
    var kMr = k[BK_MC_RELINK()];
    var kMe = k[BK_MC_END()];
    var kRk = k[BK_RP_KEEP()];
    var kRh = k[BK_RP_HEAD()];
    var kRd = k[BK_RP_DETACH()];
    var kRl = k[BK_RP_RELINK()];
    var kRp = k[BK_RP_PLACE()];
    var kRr = k[BK_RP_REST()];
    var kSm = k[BK_STP_MAKER()];
    var kSb = k[BK_STP_BOTH()];
    var kSd = k[BK_STP_DEC()];
    var kFb = k[BK_FILL_BEGIN()];
    var massK = kMb + kMh + kMd + kMr + kMe;
    var beginK = kPlace + kRestB + kCh + kCd + kAdd + kDep + kWd + kMb + kRk + kRh + kRd + kFb;
    var contK = kSkip + kFill + kEnd + kRest + kPut + kCr + kMh + kMd + kMr + kMe
        + kRl + kRp + kRr + kSm + kSb + kSd;
    var stpK = kSm + kSb + kSd;
    // taker-phase kinds shared by PlaceOrder and a moved ReplaceOrder
    var sharedK = kFill + kEnd + kRest + kPut + stpK;
    var placeK = kPlace + kRestB + sharedK + kRp + kRr + kFb;
    var cancelK = kCh + kCd + kCr;
    var repK = kRk + kRh + kRd + kRl + kRp + kRr;
    var restAny = kRestB + kRest + kRr;
    var loadK = kPlace + kRestB + kRp + kRr;
    var rmSetK = kRh + kRd;                  // the moved order's leaf is removed here
    var phaseK = kRh + kRl;                  // ... and its removal is complete here
    var relK = kCh + kCd + rmSetK;

    // --- phase: a command begins only after the previous one ended; continuation steps only
    // inside a command; NOP only between commands, SKIP only inside one (keeping its phase).
    linkFlag * (linkFlag - 1) === 0;
    linkFlag * (1 - restAny) === 0;
    stpRead * (stpRead - 1) === 0;
    stpRead * (1 - kEnd) === 0;
    stpReduce * (stpReduce - 1) === 0;
    stpReduce * (1 - kSd) === 0;
    (beginK + kNop) * r[BR_OPEN()] === 0;
    contK * (1 - r[BR_OPEN()]) === 0;
    out[BR_OPEN()] <== kPlace + kFill + kFb + linkFlag + kCd + kMb + kMh + kMd + kMr
        + kRh + kRd + kRl + kRp + kSm + kSd + kSkip;
    // replace: the removal (RP_HEAD / RP_RELINK) is followed by RP_PLACE or RP_REST (SKIPs
    // between them keep the phase), which only follow it (so a moved order is loaded exactly
    // once, from its removal)
    signal skipPhase <== kSkip * r[BR_RP_PHASE()];
    out[BR_RP_PHASE()] <== phaseK + skipPhase;
    r[BR_RP_PHASE()] * (1 - kRp - kRr - kSkip) === 0;
    (kRp + kRr) * (1 - r[BR_RP_PHASE()]) === 0;

    // --- the command: its view comes from its slot when it begins (Block's CmdLink, on
    // `begins`), later steps repeat it. Its seq is in the view (the slot checks it is
    // firstSeq + the slot's index).
    begins <== beginK;
    for (var j = 0; j < CV_COUNT(); j++) {
        contK * (cmd[j] - r[BR_CMD() + j]) === 0;
        out[BR_CMD() + j] <== cmd[j];
    }
    out[BR_INDEX()] <== r[BR_INDEX()] + beginK;
    var seq = cmd[CV_SEQ()];
    // the slot's booleans (unique: each bit boolean, the packing injective)
    signal f[CF_COUNT()];
    var fSum = 0;
    for (var i = 0; i < CF_COUNT(); i++) {
        f[i] <-- (cmd[CV_FLAGS()] >> i) & 1;
        f[i] * (f[i] - 1) === 0;
        fSum += f[i] * (1 << i);
    }
    fSum === cmd[CV_FLAGS()];
    var fLiq = f[CF_LIQ()];   // a liquidation order (PlaceOrder only: the slot sets it)
    var fStp = f[CF_STP()] + 2 * f[CF_STP() + 1];
    var fPost = f[CF_POST_ONLY()];

    // --- what the command must be for the kind (type: matching.types.CommandType; the slot
    // sets CF_REP exactly for type 3)
    var type = f[CF_TYPE()] + 2 * f[CF_TYPE() + 1] + 4 * f[CF_TYPE() + 2];
    var isRep = f[CF_REP()];
    (kPlace + kRestB + kFb) * (type - 1) === 0;
    sharedK * (type - 1 - 2 * isRep) === 0;
    repK * (1 - isRep) === 0;
    cancelK * (type - 2) === 0;
    massK * (type - 4) === 0;
    kDep * (type - 5) === 0;
    kWd * (type - 6) === 0;
    kAdd * (type - 7) === 0;
    // (MassCancel: this market or ALL_MARKETS, 0)
    (placeK + cancelK + kRk + kRh + kRd + kRl + massK) * (1 - f[CF_MARKET_OK()]) === 0;
    // PlaceValid: an accepted Place is valid, a Replace has a valid qty (below)
    (kPlace + kRestB + kFb) * (1 - f[CF_ORDER_OK()]) === 0;
    // an accepted PlaceOrder / ReplaceOrder / Withdraw had its signature checked in its slot,
    // except a liquidation order, the venue's (the slot never sets both flags)
    (kPlace + kRestB + kWd + kRk + kRh + kRd + kFb) * (1 - f[CF_SIGNED()] - fLiq) === 0;

    // --- REPLACE: the replaced order is the command's (owner, id: with relK below); its new
    // client id is the command's, or the old one when the command's is 0. Keeping priority
    // (RP_KEEP): same price, new qty = command qty <= old qty (REDUCE q = old - new >= 0), a
    // valid qty. Moving (RP_HEAD / RP_DETACH): valid qty, valid price if it changed, and not
    // "keeps" (same price => qty larger). The moved order's side and client id go to registers
    // (at its removal's first step, RP_HEAD or RP_DETACH, whose old leaf is the order).
    component clZero = IsZero();
    clZero.in <== cmd[CV_CLORD()];
    signal clKept <== clZero.out * oldOrder[O_CLORD];
    signal clEffNow <== cmd[CV_CLORD()] + clKept;
    (kRk + rmSetK) * (1 - f[CF_ORDER_OK()]) === 0;
    kRk * (oldOrder[O_PRICE] - cmd[CV_PRICE()]) === 0;
    kRk * (newOrder[O_QTY] - cmd[CV_QTY()]) === 0;
    kRk * (newOrder[O_CLORD] - clEffNow) === 0;
    kRk * (oldOrder[O_ACCOUNT] - cmd[CV_ACCOUNT()]) === 0;
    kRk * (oldOrder[O_OID] - cmd[CV_OID_AMOUNT()]) === 0;
    component samePrice = IsZero();
    samePrice.in <== cmd[CV_PRICE()] - oldOrder[O_PRICE];
    signal movedPrice <== rmSetK * (1 - samePrice.out);
    movedPrice * (1 - f[CF_PRICE_OK()]) === 0;
    signal movedSame <== rmSetK * samePrice.out;
    component qtyUp = LessThan(48);
    qtyUp.in[0] <== rmSetK * oldOrder[O_QTY];
    signal rmQty <== rmSetK * cmd[CV_QTY()];
    qtyUp.in[1] <== rmQty;
    movedSame * (1 - qtyUp.out) === 0;
    out[BR_RP_BUY()] <== r[BR_RP_BUY()] + rmSetK * (isBid - r[BR_RP_BUY()]);
    out[BR_RP_CL()] <== r[BR_RP_CL()] + rmSetK * (clEffNow - r[BR_RP_CL()]);

    // --- the taker: side, flags, the opposite head and whether it crosses the limit.
    // A moved replace takes the side of the removed order (register RP_BUY; a Replace has
    // side 0, so its CF_BUY is 0).
    signal sideBuy <== f[CF_BUY()] + isRep * r[BR_RP_BUY()];
    signal tIsBuy <== placeK * sideBuy;
    var rests = f[CF_RESTS()];   // a GTC limit order, or a moved replace (GTC limit)
    signal oppHead[3];
    for (var j = 0; j < 3; j++) {
        oppHead[j] <== r[BR_BID_HEAD() + j]
            + tIsBuy * (r[BR_ASK_HEAD() + j] - r[BR_BID_HEAD() + j]);
    }
    component oppEmpty = IsZero();
    oppEmpty.in <== oppHead[0];
    // buy: crosses iff head price <= limit; sell: iff head price >= limit. Inputs < 2^40 on
    // place kinds (validated limit, committed head price), 0 otherwise.
    signal lim <== placeK * cmd[CV_PRICE()];
    signal hp <== placeK * oppHead[1];
    signal cx <== hp + tIsBuy * (lim - hp);
    component below = LessThan(40);
    below.in[0] <== cx;
    below.in[1] <== lim + hp - cx;
    signal crosses <== (1 - below.out) * (1 - oppEmpty.out);

    // --- the book step, on the side isBid (bids 1, asks 0)
    (kFill + kFb + kEnd + stpK) * (isBid + tIsBuy - 1) === 0;
    (restAny + kPut) * (isBid - tIsBuy) === 0;
    r[BR_PEND()] * (isBid - r[BR_PEND_SIDE()]) === 0;
    out[BR_PEND_SIDE()] <== isBid;
    component bs = BookStep(D);
    bs.isBid <== isBid;
    var TD = TierWidth(D);
    var bidT = BR_BID_TIER(D, A);
    var askT = BR_ASK_TIER(D, A);
    signal selTier[TD];
    for (var j = 0; j < TD; j++) {
        selTier[j] <== r[askT + j] + isBid * (r[bidT + j] - r[askT + j]);
        bs.oldTier[j] <== selTier[j];
    }
    signal selHead[3];
    for (var j = 0; j < 3; j++) {
        selHead[j] <== r[BR_ASK_HEAD() + j] + isBid * (r[BR_BID_HEAD() + j] - r[BR_ASK_HEAD() + j]);
        bs.head[j] <== selHead[j];
    }
    for (var j = 0; j < 7; j++) {
        bs.pend[j] <== r[BR_PEND() + j];
    }
    signal decRed <== kSd * stpReduce;
    bs.op <== 7 * (kFill + kFb) + 8 * (stpRead + kRk + decRed) + restAny + linkFlag + 3 * kPut
        + 4 * (kCh + kMh + kRh + kSm + kSb + kSd - decRed) + 5 * (kCd + kMd + kRd)
        + 6 * (kCr + kMr + kRl);
    bs.index <== bookIndex;
    bs.siblings <== siblings;
    for (var i = 0; i < 10; i++) {
        bs.oldOrder[i] <== oldOrder[i];
        bs.newOrder[i] <== newOrder[i];
    }
    for (var j = 0; j < 3; j++) {
        bs.link[j] <== link[j];
    }
    bs.q <== q;
    // the written tier goes back to its side (the book step changed at most one node of it)
    for (var j = 0; j < TD; j++) {
        out[bidT + j] <== r[bidT + j] + isBid * (bs.newTier[j] - r[bidT + j]);
        out[askT + j] <== bs.newTier[j] - isBid * (bs.newTier[j] - r[askT + j]);
    }
    for (var j = 0; j < 3; j++) {
        out[BR_BID_HEAD() + j] <== r[BR_BID_HEAD() + j]
            + isBid * (bs.newHead[j] - r[BR_BID_HEAD() + j]);
        out[BR_ASK_HEAD() + j] <== r[BR_ASK_HEAD() + j]
            + (1 - isBid) * (bs.newHead[j] - r[BR_ASK_HEAD() + j]);
    }
    for (var j = 0; j < 7; j++) {
        out[BR_PEND() + j] <== bs.newPend[j];
    }

    // --- FILL: the head crosses, q = min(remaining, maker qty), maker is not the taker,
    // post-only orders never trade; block accumulators.
    (kFill + kFb) * (1 - crosses) === 0;
    signal remaining <== r[BR_REMAINING()];
    // STP_DEC: d = min(remaining, head qty): REDUCE the head by q and the taker ends at 0, or
    // REMOVE_HEAD (d = head qty <= remaining, by the range check of the new remaining)
    signal decT <== stpReduce * (q - oldOrder[O_QTY]);
    signal decQty <== kSd * (oldOrder[O_QTY] + decT);
    out[BR_REMAINING()] <== remaining - bs.fillQty - decQty
        + (loadK + kFb) * (cmd[CV_QTY()] - remaining);
    decRed * out[BR_REMAINING()] === 0;
    component remRange = Num2Bits(48);
    remRange.in <== out[BR_REMAINING()];
    out[BR_REMAINING()] * bs.fillRemaining === 0;
    component selfTrade = IsZero();
    selfTrade.in <== bs.fillAccount - cmd[CV_ACCOUNT()];
    (kFill + kFb) * selfTrade.out === 0;
    (kFill + kFb) * fPost === 0;
    out[BR_NOTIONAL()] <== r[BR_NOTIONAL()] + bs.fillPrice * bs.fillQty;
    out[BR_VOLUME()] <== r[BR_VOLUME()] + bs.fillQty;
    out[BR_TRADES()] <== r[BR_TRADES()] + kFill + kFb;

    // --- END: stop condition (remaining 0, opposite side empty, or its head does not cross),
    // or the STP read: the crossing head is the taker's own order and the mode cancels the
    // taker. A GTC limit remainder must rest instead (unless STP), a FOK order fills completely.
    component remZero = IsZero();
    remZero.in <== remaining;
    signal mustGo <== (1 - remZero.out) * crosses;
    // the venue's match limit (cfg[8], ReferenceEngine max_matches): once the command has
    // touched that many makers it touches no more; a remainder that still crosses is cancelled
    // (END, engine MATCH_LIMIT), one that does not rests or expires as usual
    component atLimit = IsZero();
    // (the count restarts at a command's first step, FILL_BEGIN being one and a match)
    signal keptMatches <== (1 - begins) * r[BR_MATCHES()];
    signal keptDefer <== (1 - begins) * r[BR_DEFER()];
    atLimit.in <== keptMatches - cfg[8];
    var matchK = kFill + kFb + kSm + kSb + kSd;
    matchK * atLimit.out === 0;
    out[BR_MATCHES()] <== keptMatches + matchK;
    stpRead * atLimit.out === 0;         // the engine cancels at the limit before any STP
    signal endLim <== kEnd * atLimit.out;
    signal endLimCross <== endLim * crosses;
    (kEnd - stpRead - endLimCross) * mustGo === 0;
    stpRead * fStp === 0;
    stpRead * q === 0;
    // STP on the opposite head (read, remove, reduce): it crosses, it is the taker's own
    // account's order, the taker has quantity left, the mode is the command's
    var stpAny = stpRead + stpK;
    stpAny * (1 - crosses) === 0;
    stpAny * (oldOrder[O_ACCOUNT] - cmd[CV_ACCOUNT()]) === 0;
    stpK * remZero.out === 0;
    stpK * fPost === 0;
    // an accepted FOK fills by trades alone (the engine's dry run): never decremented or
    // cancelled by its own order (CANCEL_MAKER only skips the own order, STP_MAKER is allowed)
    (kSb + kSd) * f[CF_FOK()] === 0;
    kSm * (fStp - 1) === 0;
    kSb * (fStp - 2) === 0;
    kSd * (fStp - 3) === 0;
    var headRead = stpRead + decRed;     // REDUCE steps that must be at the opposite head
    (stpRead + decRed) * (newOrder[O_CLORD] - oldOrder[O_CLORD]) === 0;
    headRead * (bookIndex + 1 - oppHead[0]) === 0;
    headRead * (oldOrder[O_PRICE] - oppHead[1]) === 0;
    headRead * (oldOrder[O_PRIO] - oppHead[2]) === 0;
    signal endRests <== kEnd * rests;
    signal endRestsRem <== endRests * remaining;
    endRestsRem * (1 - stpRead - endLimCross) === 0;
    signal endFok <== kEnd * f[CF_FOK()];
    endFok * remaining === 0;

    // --- REST: a GTC limit order that does not cross rests with the taker's fields
    restAny * (1 - rests) === 0;
    restAny * crosses === 0;
    var putLike = restAny - linkFlag + kPut;
    putLike * (newOrder[O_PRICE] - cmd[CV_PRICE()]) === 0;
    putLike * (newOrder[O_QTY] - out[BR_REMAINING()]) === 0;   // REST_BEGIN: the loaded qty
    putLike * (newOrder[O_PRIO] - seq) === 0;
    putLike * (newOrder[O_ACCOUNT] - cmd[CV_ACCOUNT()]) === 0;
    // a moved replace keeps its order id and takes the client id of its removal step
    var oidEff = cmd[CV_OID_AMOUNT()];   // Place: its seq; Replace: the order it moves
    signal clEff <== cmd[CV_CLORD()] + isRep * (r[BR_RP_CL()] - cmd[CV_CLORD()]);
    putLike * (newOrder[O_OID] - oidEff) === 0;
    putLike * (newOrder[O_CLORD] - clEff) === 0;
    linkFlag * (link[1] - cmd[CV_PRICE()]) === 0;
    linkFlag * (link[2] - seq) === 0;

    // --- CANCEL: the removed order is the command's (owner and order id)
    relK * (oldOrder[O_ACCOUNT] - cmd[CV_ACCOUNT()]) === 0;
    relK * (oldOrder[O_OID] - cmd[CV_OID_AMOUNT()]) === 0;
    (kMh + kMd) * (oldOrder[O_ACCOUNT] - cmd[CV_ACCOUNT()]) === 0;

    // --- the account step: an account-leaf write on full steps; an order-only step takes
    // only kinds whose account op is NOP (all positive coefficients of one-hot kinds)
    // a command begun by FILL_BEGIN opened no reservation: its final write (END, REST,
    // STP_BOTH) is OPEN_WRITE (8), the margin check of OPEN_ORDER on the untouched leaf, which
    // must be the fields FILL_BEGIN loaded, and the registers written
    var wK = kEnd + kRest + kSb;
    signal dw <== r[BR_DEFER()] * wK;
    var accOp = 4 * loadK + 6 * (kFill + kFb) + 7 * (kEnd + kRest + kMe + kSb) + dw
        + 5 * (relK + kMh + kMd + kRk) + kAdd + 2 * kDep + 3 * kWd;
    // the taker's collateral, position and basis after this step's fill (offset-encoded)
    var tFill[3];
    // the taker's registers this step starts from: FILL_BEGIN loads them from takerPre (its
    // leaf, which END's OPEN_WRITE checks against the tree) with the order's quantity opened;
    // the snapshot and the flag carry what that write needs
    signal fbBuyQty <== tIsBuy * cmd[CV_QTY()];
    var opened[5] = [
        takerPre[0], takerPre[1], takerPre[2] + fbBuyQty,
        takerPre[3] + cmd[CV_QTY()] - fbBuyQty, takerPre[4]
    ];
    signal base[5];
    for (var j = 0; j < 5; j++) {
        base[j] <== r[BR_TAKER() + j] + kFb * (opened[j] - r[BR_TAKER() + j]);
    }
    for (var j = 0; j < 6; j++) {
        out[BR_SNAP() + j] <== r[BR_SNAP() + j] + kFb * (takerPre[j] - r[BR_SNAP() + j]);
    }
    out[BR_DEFER()] <== keptDefer + kFb;
    var TA = TierWidth(A);
    var accT = BR_ACC_TIER(D, A);
    if (ACC == 0) {
        accOp === 0;
        // commands begin on full steps only, so only those link to a command slot
        beginK === 0;
        for (var j = 0; j < TA; j++) {
            out[accT + j] <== r[accT + j];
        }
        tFill[0] = base[0];
        tFill[1] = base[1];
        tFill[2] = base[4];
    } else {
        component acs = AccountStepOpsM(A, 1, M);
        acs.op <== accOp;
        for (var j = 0; j < TA; j++) {
            acs.oldTier[j] <== r[accT + j];
        }
        acs.index <== accIndex;
        acs.siblings <== accSiblings;
        acs.pubkeyHash <== pubkeyHash;
        acs.oldCollateral <== accOld[0];
        acs.oldPosition <== accOld[1];
        acs.oldOpenBuy <== accOld[2];
        acs.oldOpenSell <== accOld[3];
        acs.oldBasis <== accOld[4];
        acs.newCollateral <== accNew[0];
        acs.newPosition <== accNew[1];
        acs.newOpenBuy <== accNew[2];
        acs.newOpenSell <== accNew[3];
        acs.newBasis <== accNew[4];
        acs.oldNonce <== accOld[5];
        acs.newNonce <== accNew[5];
        // the replay mark: raised once per accepted signed command, to its client id (a
        // liquidation is not signed: the mark stays)
        acs.bumpNonce <== NONCES * (loadK + kWd + kRk + dw) * (1 - fLiq);
        acs.nonceIn <== cmd[CV_CLORD()];
        // a liquidation order's rule replaces the pre-trade check where that check is made:
        // PLACE's OPEN_ORDER, or the OPEN_WRITE ending a command begun by FILL_BEGIN
        acs.liquidate <== fLiq * (kPlace + dw);
        if (M == 1) {
            acs.mmfs[0] <== cfg[9];
            acs.marks[0] <== mark;
            acs.imfs[0] <== cfg[7];
            acs.reqBefore[0] <== accHints[2];
            acs.remBefore[0] <== accHints[3];
        } else {
            acs.mmfs <== mmfs;
            acs.marks <== marks;
            acs.imfs <== imfs;
            for (var m = 0; m < M; m++) {
                acs.reqBefore[m] <== accReqs[m][0];
                acs.remBefore[m] <== accReqs[m][1];
            }
        }
        acs.market <== market;
        // MC_END of a mass cancel of every market: nothing open left in any market (one
        // market: MC_END's check on this market's fields below is the same)
        if (M == 1) {
            acs.flatAll <== 0;
        } else {
            acs.flatAll <== kMe * f[CF_MASS_ALL()];
        }
        for (var m = 0; m < M; m++) {
            acs.otherPosition[m] <== accOther[m][0];
            acs.otherOpenBuy[m] <== accOther[m][1];
            acs.otherOpenSell[m] <== accOther[m][2];
            acs.otherBasis[m] <== accOther[m][3];
        }
        acs.isBuy <== accIsBuy;
        acs.price <== accPrice;
        acs.qty <== accQty;
        acs.amount <== accAmount;
        acs.released <== accHints[0];
        acs.divRem <== accHints[1];
        acs.reqAfter <== accHints[4];
        acs.remAfter <== accHints[5];
        for (var j = 0; j < TA; j++) {
            out[accT + j] <== acs.newTier[j];
        }
        (loadK + kEnd + kRest + relK + kAdd + kDep + kWd + kMh + kMd + kMe + kRk + kSb)
            * (accIndex - cmd[CV_ACCOUNT()]) === 0;
        (kFill + kFb) * (accIndex - oldOrder[O_ACCOUNT]) === 0;
        (loadK + dw) * (accIsBuy - tIsBuy) === 0;
        (kFill + kFb + relK + kMh + kMd + kRk) * (accIsBuy - isBid) === 0;
        (loadK + dw) * (accPrice - cmd[CV_PRICE()]) === 0;
        (kFill + kFb) * (accPrice - oldOrder[O_PRICE]) === 0;
        (loadK + dw) * (accQty - cmd[CV_QTY()]) === 0;
        (kFill + kFb) * (accQty - q) === 0;
        for (var j = 0; j < 6; j++) {
            dw * (accOld[j] - r[BR_SNAP() + j]) === 0;
        }
        (relK + kMh + kMd) * (accQty - oldOrder[O_QTY]) === 0;
        kRk * (accQty - q) === 0;
        // MC_END: the account is rewritten unchanged, with nothing open left in this market
        for (var j = 0; j < 6; j++) {
            kMe * (accNew[j] - accOld[j]) === 0;
        }
        kMe * accOld[2] === 0;
        kMe * accOld[3] === 0;
        (kDep + kWd) * (accAmount - cmd[CV_OID_AMOUNT()]) === 0;
        // the leaf's key: ADD writes the command's key; every write of the own account by a
        // signed command (PlaceOrder, ReplaceOrder, Withdraw) reads the key that signed it
        var ownSignedK = loadK + kEnd + kRest + kRh + kRd + kWd + kRk + kSb;
        (kAdd + ownSignedK) * (pubkeyHash - cmd[CV_PKHASH()]) === 0;

        // the taker's registers: loaded from OPEN_ORDER's result, each fill applied with
        // ApplyFill (qty 0 off FILL steps, which changes nothing), written once by END/REST
        // (fills are full steps, so order-only steps carry the fields over unchanged)
        component tf = ApplyFill();
        tf.position <== base[1] - POS_OFF;
        tf.basis <== base[4] - MONEY_OFF;
        tf.collateral <== base[0] - MONEY_OFF;
        tf.isBuy <== tIsBuy;
        tf.price <== bs.fillPrice;
        tf.qty <== bs.fillQty;
        tf.released <== takerHints[0];
        tf.divRem <== takerHints[1];
        tFill[0] = tf.newCollateral + MONEY_OFF;
        tFill[1] = tf.newPosition + POS_OFF;
        tFill[2] = tf.newBasis + MONEY_OFF;
    }
    signal buyFill <== tIsBuy * bs.fillQty;
    // STP: the own head's quantity released on the opposite side (removed: all of it;
    // decremented: d), and d off the taker's own reservation
    signal rmHeadQty <== (kSm + kSb) * oldOrder[O_QTY];
    var oppRel = rmHeadQty + decQty;
    signal buyOwnRel <== tIsBuy * decQty;
    signal buyOppRel <== tIsBuy * oppRel;
    var t1[5] = [
        tFill[0],
        tFill[1],
        base[2] - buyFill - buyOwnRel - oppRel + buyOppRel,
        base[3] - bs.fillQty + buyFill - decQty + buyOwnRel - buyOppRel,
        tFill[2]
    ];
    if (ACC == 0) {
        for (var j = 0; j < 5; j++) {
            out[BR_TAKER() + j] <== t1[j];
        }
        out[BR_NONCE()] <== r[BR_NONCE()];
    } else {
        for (var j = 0; j < 5; j++) {
            out[BR_TAKER() + j] <== t1[j] + loadK * (accNew[j] - t1[j]);
        }
        // WRITE (END, REST, STP_BOTH): new fields = registers after this step (= before it on
        // END/REST); END and STP_BOTH release the remainder they cancel.
        signal endRel <== (kEnd + kSb) * remaining;
        signal endRelBuy <== tIsBuy * endRel;
        wK * (accNew[0] - t1[0]) === 0;
        wK * (accNew[1] - t1[1]) === 0;
        wK * (accNew[2] - t1[2] + endRelBuy) === 0;
        wK * (accNew[3] - t1[3] + endRel - endRelBuy) === 0;
        wK * (accNew[4] - t1[4]) === 0;
        // the taker's replay mark: loaded with its fields (after the raise), written back as is
        // (FILL_BEGIN: the mark its OPEN_WRITE will set, the client id on a signed venue)
        signal fbNonce;
        if (NONCES == 1) {
            fbNonce <== cmd[CV_CLORD()] + fLiq * (takerPre[5] - cmd[CV_CLORD()]);
        } else {
            fbNonce <== takerPre[5];
        }
        signal fbMark <== kFb * (fbNonce - r[BR_NONCE()]);
        out[BR_NONCE()] <== r[BR_NONCE()] + loadK * (accNew[5] - r[BR_NONCE()]) + fbMark;
        wK * (accNew[5] - r[BR_NONCE()]) === 0;
    }
}

// BlockSideRoot(): proofs.state.side_root from a tree root and a range-checked head.
template BlockSideRoot() {
    assert(SLOT_BITS_PLUS_ONE() == 25);
    signal input tree;
    signal input head[3];
    signal output out;

    component h = Poseidon(2);
    h.inputs[0] <== tree;
    h.inputs[1] <== head[0] + head[1] * (1 << 25) + head[2] * (1 << 65);
    out <== h.out;
}

function SLOT_BITS_PLUS_ONE() { return 25; }

// BlockStateRoot(): proofs.state's state root for one market:
// chain(accRoot, chain(chain(bids, asks, pack(mark 40, closeTs 64), cumPriceTime), 1), height).
// mark and closeTs are range-checked here (Pack); heads must be range-checked by the caller.
// BlockStateRootM(1), below: the same constraints.
template BlockStateRoot() {
    assert(SLOT_BITS_PLUS_ONE() + 40 + 48 <= 253);
    signal input accRoot;
    signal input bidTree;
    signal input bidHead[3];
    signal input askTree;
    signal input askHead[3];
    signal input mark;
    signal input closeTs;
    signal input cumPriceTime;
    signal input height;
    signal output out;

    component r = BlockStateRootM(1);
    r.touched <== 0;
    r.accRoot <== accRoot;
    r.bidTree <== bidTree;
    r.bidHead <== bidHead;
    r.askTree <== askTree;
    r.askHead <== askHead;
    r.bidSide[0] <== 0;
    r.askSide[0] <== 0;
    r.marks[0] <== mark;
    r.closeTs[0] <== closeTs;
    r.cumPriceTime[0] <== cumPriceTime;
    r.height <== height;
    out <== r.out;
}

// BlockStateRootM(M): the state root of a venue of M markets of which a block opens one, the
// market at index `touched` (one-hot here; M = 1: market 0, the input is not read):
//   chain(accRoot, chain(market_0, ..., market_{M-1}, M), height),
//   market_m = chain(bids_m, asks_m, pack(marks[m] 40, closeTs[m] 64), cumPriceTime[m]).
// The touched market's side roots come from its trees and heads (the block's registers); every
// other market's from bidSide[m] and askSide[m], which the block keeps as they were (its books
// are not opened; slot `touched` of them is not read). Every mark and closeTs is range-checked
// (Pack), so each market's fields have one encoding; heads must be range-checked by the caller.
template BlockStateRootM(M) {
    assert(M >= 1);
    assert(SLOT_BITS_PLUS_ONE() + 40 + 48 <= 253);
    signal input touched;
    signal input accRoot;
    signal input bidTree;
    signal input bidHead[3];
    signal input askTree;
    signal input askHead[3];
    signal input bidSide[M];
    signal input askSide[M];
    signal input marks[M];
    signal input closeTs[M];
    signal input cumPriceTime[M];
    signal input height;
    signal output out;

    component bids = BlockSideRoot();
    bids.tree <== bidTree;
    component asks = BlockSideRoot();
    asks.tree <== askTree;
    for (var j = 0; j < 3; j++) {
        bids.head[j] <== bidHead[j];
        asks.head[j] <== askHead[j];
    }
    signal sel[M];
    signal bidRoot[M];
    signal askRoot[M];
    if (M == 1) {
        sel[0] <== 1;
        bidRoot[0] <== bids.out;
        askRoot[0] <== asks.out;
    } else {
        var selSum = 0;
        var selIndex = 0;
        for (var m = 0; m < M; m++) {
            sel[m] <-- touched == m ? 1 : 0;
            sel[m] * (sel[m] - 1) === 0;
            selSum += sel[m];
            selIndex += m * sel[m];
            bidRoot[m] <== bidSide[m] + sel[m] * (bids.out - bidSide[m]);
            askRoot[m] <== askSide[m] + sel[m] * (asks.out - askSide[m]);
        }
        selSum === 1;
        selIndex === touched;
    }
    component mp[M];
    component market[M];
    component markets = HashChain(M + 1);
    for (var m = 0; m < M; m++) {
        mp[m] = Pack(2, [40, 64]);
        mp[m].in[0] <== marks[m];
        mp[m].in[1] <== closeTs[m];
        market[m] = HashChain(4);
        market[m].in[0] <== bidRoot[m];
        market[m].in[1] <== askRoot[m];
        market[m].in[2] <== mp[m].out;
        market[m].in[3] <== cumPriceTime[m];
        markets.in[m] <== market[m].out;
    }
    markets.in[M] <== M;
    component state = HashChain(3);
    state.in[0] <== accRoot;
    state.in[1] <== markets.out;
    state.in[2] <== height;
    out <== state.out;
}

// Block(N, S, D, A, CFG, SIGNED, R): N command slots (CmdSlot(SIGNED): hash, chain, seq/ts,
// PlaceValid, signer key, and with SIGNED = 1 the signature of every accepted PlaceOrder,
// ReplaceOrder and Withdraw) and S chained BlockSteps (step s full iff s % R == 0, else
// order-only) over a block of at most N commands of the one market CFG = [id, tick, lot,
// minPrice, maxPrice, maxQty, bandBps, imf_bps, match limit, mmf_bps] (a compile-time constant: the proof is bound to its market, and the ranges PlaceValid expects are asserted at
// compile time instead of costing constraints), the settlement and both state roots.
// Public: preRoot, postRoot, cmdCommitment, meta, settle, cumPriceTime (BLOCK.md).
// BlockM(N, S, D, A, 1, [CFG], SIGNED, R), below: the same constraints.

template Block(N, S, D, A, CFG, SIGNED, R) {
    assert(SIGNED == 0 || SIGNED == 1);
    signal input preRoot;
    signal input postRoot;
    signal input cmdCommitment;
    signal input meta;
    signal input settle;
    signal input cumPriceTime;
    signal input accTier0[TierWidth(A)];
    signal input bidTier0[TierWidth(D)];
    signal input bidHead0;
    signal input askTier0[TierWidth(D)];
    signal input askHead0;
    signal input mark;
    signal input lastCloseTs;
    signal input cumPriceTime0;
    signal input height;
    signal input closeTs;
    signal input commandCount;
    signal input firstSeq;
    signal input settleHints[6];
    signal input active[N];
    signal input accepted[N];
    signal input slotCmd[N][BC_COUNT()];
    signal input pvHints[N][4];
    signal input signer[N][2];
    signal input sigOn[N];
    signal input sig[N][3];
    signal input kind[S];
    signal input cmd[S][CV_COUNT()];
    signal input linkFlag[S];
    signal input stpRead[S];
    signal input stpReduce[S];
    signal input isBid[S];
    signal input bookIndex[S];
    signal input siblings[S][TierSiblings(D)];
    signal input oldOrder[S][10];
    signal input newOrder[S][10];
    signal input link[S][3];
    signal input q[S];
    signal input accIndex[S];
    signal input accSiblings[S][TierSiblings(A)];
    signal input pubkeyHash[S];
    signal input accOld[S][6];
    signal input accNew[S][6];
    signal input accIsBuy[S];
    signal input accPrice[S];
    signal input accQty[S];
    signal input accAmount[S];
    signal input accHints[S][6];
    signal input takerHints[S][2];
    signal input takerPre[S][6];

    component b = BlockM(N, S, D, A, 1, [CFG], SIGNED, R);
    b.preRoot <== preRoot;
    b.postRoot <== postRoot;
    b.cmdCommitment <== cmdCommitment;
    b.meta <== meta;
    b.settle[0] <== settle;
    b.cumPriceTime[0] <== cumPriceTime;
    b.accTier0 <== accTier0;
    b.bidTier0 <== bidTier0;
    b.bidHead0 <== bidHead0;
    b.askTier0 <== askTier0;
    b.askHead0 <== askHead0;
    b.marks[0] <== mark;
    b.lastCloseTs[0] <== lastCloseTs;
    b.cumPriceTime0[0] <== cumPriceTime0;
    b.height <== height;
    b.closeTs <== closeTs;
    b.commandCount <== commandCount;
    b.firstSeq <== firstSeq;
    b.settleHints[0] <== settleHints;
    b.active <== active;
    b.accepted <== accepted;
    b.slotCmd <== slotCmd;
    b.pvHints <== pvHints;
    b.signer <== signer;
    b.sigOn <== sigOn;
    b.sig <== sig;
    b.kind <== kind;
    b.cmd <== cmd;
    b.linkFlag <== linkFlag;
    b.stpRead <== stpRead;
    b.stpReduce <== stpReduce;
    b.isBid <== isBid;
    b.bookIndex <== bookIndex;
    b.siblings <== siblings;
    b.oldOrder <== oldOrder;
    b.newOrder <== newOrder;
    b.link <== link;
    b.q <== q;
    b.accIndex <== accIndex;
    b.accSiblings <== accSiblings;
    b.pubkeyHash <== pubkeyHash;
    b.accOld <== accOld;
    b.accNew <== accNew;
    b.accIsBuy <== accIsBuy;
    b.accPrice <== accPrice;
    b.accQty <== accQty;
    b.accAmount <== accAmount;
    b.accHints <== accHints;
    b.takerHints <== takerHints;
    b.takerPre <== takerPre;
    // one market: its index, the other markets' side roots and fields are not read
    b.touched <== 0;
    b.bidSide[0] <== 0;
    b.askSide[0] <== 0;
    for (var s = 0; s < S; s++) {
        for (var j = 0; j < 4; j++) {
            b.accOther[s][0][j] <== 0;
        }
        b.accReqs[s][0][0] <== 0;
        b.accReqs[s][0][1] <== 0;
    }
}

// BlockM(N, S, D, A, M, CFGS, SIGNED, R): Block for a venue of M markets (CFGS[m] = market m's
// CFG, in genesis order) of which the block opens one, the market at index `touched` (a
// witness): its books are the registers' trees and heads, and every command the block executes
// must be for it (CmdSlot's market check against its cfg, which is CFGS[touched], selected
// linearly). The other markets' books are not opened: their side roots (bidSide, askSide) enter
// the pre- and post-state roots unchanged (BlockStateRootM). Every market settles: the touched
// one on the block's fills, the others with none (the price carried). The account writes see
// every market (AccountStepOpsM: the others' fields in accOther, kept; margin over all, at
// each market's pre-block mark). Public: preRoot, postRoot, cmdCommitment, meta, settle[M],
// cumPriceTime[M].
template BlockM(N, S, D, A, M, CFGS, SIGNED, R) {
    assert(M >= 1);
    assert(SIGNED == 0 || SIGNED == 1);
    assert(N >= 1 && N < (1 << 16));
    assert(R >= 1 && S >= R && S % R == 0);
    assert(D >= 1 && D <= 24);
    assert(A >= 1 && A <= 32);
    var cfgBits[10] = [16, 40, 48, 40, 40, 48, 64, 14, 16, 14];
    for (var m = 0; m < M; m++) {
        for (var i = 0; i < 10; i++) {
            assert(CFGS[m][i] >= 0 && CFGS[m][i] < (1 << cfgBits[i]));
        }
        assert(CFGS[m][8] >= 1);   // the match limit (65535: none, a step count is below it)
        assert(CFGS[m][1] >= 1 && CFGS[m][2] >= 1);
    }
    signal input preRoot;
    signal input postRoot;
    signal input cmdCommitment;
    signal input meta;
    signal input settle[M];
    signal input cumPriceTime[M];
    // pre-state (hashed into preRoot) and meta fields (packed into meta); the trees and heads
    // are the touched market's
    signal input touched;
    signal input accTier0[TierWidth(A)];
    signal input bidTier0[TierWidth(D)];
    signal input bidHead0;
    signal input askTier0[TierWidth(D)];
    signal input askHead0;
    signal input bidSide[M];       // the other markets' side roots (slot `touched` not read)
    signal input askSide[M];
    signal input marks[M];
    signal input lastCloseTs[M];
    signal input cumPriceTime0[M];
    signal input height;
    signal input closeTs;
    signal input commandCount;
    signal input firstSeq;
    signal input settleHints[M][6];   // per market: q, r, closeMs, closeRem, lastMs, lastRem
    // command slots
    signal input active[N];
    signal input accepted[N];      // active and executed (a rejected command only chains)
    signal input slotCmd[N][BC_COUNT()];
    signal input pvHints[N][4];
    signal input signer[N][2];     // (Ax, Ay): the key of the command's account
    signal input sigOn[N];
    signal input sig[N][3];        // (S, R8x, R8y); unused when SIGNED = 0
    // steps
    signal input kind[S];
    signal input cmd[S][CV_COUNT()];
    signal input linkFlag[S];
    signal input stpRead[S];
    signal input stpReduce[S];
    signal input isBid[S];
    signal input bookIndex[S];
    signal input siblings[S][TierSiblings(D)];
    signal input oldOrder[S][10];
    signal input newOrder[S][10];
    signal input link[S][3];
    signal input q[S];
    signal input accIndex[S];
    signal input accSiblings[S][TierSiblings(A)];
    signal input pubkeyHash[S];
    signal input accOld[S][6];
    signal input accNew[S][6];
    signal input accIsBuy[S];
    signal input accPrice[S];
    signal input accQty[S];
    signal input accAmount[S];
    signal input accHints[S][6];
    signal input takerHints[S][2];
    signal input takerPre[S][6];
    signal input accOther[S][M][4];
    signal input accReqs[S][M][2];

    // the touched market: its configuration and pre-block mark (one market: market 0)
    signal cfg[10];
    signal tsel[M];
    signal pickMark[M];
    var mark = 0;
    if (M == 1) {
        tsel[0] <== 1;
        for (var i = 0; i < 10; i++) {
            cfg[i] <== CFGS[0][i];
        }
        mark = marks[0];
    } else {
        var selSum = 0;
        var selIndex = 0;
        for (var m = 0; m < M; m++) {
            tsel[m] <-- touched == m ? 1 : 0;
            tsel[m] * (tsel[m] - 1) === 0;
            selSum += tsel[m];
            selIndex += m * tsel[m];
            pickMark[m] <== tsel[m] * marks[m];
            mark += pickMark[m];
        }
        selSum === 1;
        selIndex === touched;
        for (var i = 0; i < 10; i++) {
            var c = 0;
            for (var m = 0; m < M; m++) {
                c += tsel[m] * CFGS[m][i];
            }
            cfg[i] <== c;
        }
    }

    // meta
    component bm = BlockMeta();
    bm.height <== height;
    bm.closeTs <== closeTs;
    bm.commandCount <== commandCount;
    bm.firstSeq <== firstSeq;
    meta === bm.meta;

    // pre-state root
    component bh0 = Unpack(3, [25, 40, 48]);
    bh0.in <== bidHead0;
    component ah0 = Unpack(3, [25, 40, 48]);
    ah0.in <== askHead0;
    // the trees' roots from their tiers, once per block (the steps work on the tiers)
    component accRoot0 = TierRoot(TierLevels(A));
    accRoot0.tier <== accTier0;
    component bidRoot0 = TierRoot(TierLevels(D));
    bidRoot0.tier <== bidTier0;
    component askRoot0 = TierRoot(TierLevels(D));
    askRoot0.tier <== askTier0;
    component pre = BlockStateRootM(M);
    pre.touched <== touched;
    pre.bidSide <== bidSide;
    pre.askSide <== askSide;
    pre.accRoot <== accRoot0.root;
    pre.bidTree <== bidRoot0.root;
    pre.askTree <== askRoot0.root;
    for (var j = 0; j < 3; j++) {
        pre.bidHead[j] <== bh0.out[j];
        pre.askHead[j] <== ah0.out[j];
    }
    pre.marks <== marks;
    pre.closeTs <== lastCloseTs;
    pre.cumPriceTime <== cumPriceTime0;
    pre.height <== height - 1;
    preRoot === pre.out;

    // the command slots: the chain over the active prefix, each slot checked once
    component sl[N];
    component chain[N];
    signal acc[N + 1];
    acc[0] <== 0;
    var count = 0;
    for (var i = 0; i < N; i++) {
        sl[i] = CmdSlot(SIGNED);
        for (var j = 0; j < 8; j++) {
            sl[i].cfg[j] <== cfg[j];
        }
        sl[i].mark <== mark;
        sl[i].firstSeq <== firstSeq;
        sl[i].index <== i;
        if (i == 0) {
            sl[i].prevTs <== 0;
        } else {
            sl[i].prevTs <== slotCmd[i - 1][BC_TS()];
            active[i] * (1 - active[i - 1]) === 0;
        }
        sl[i].active <== active[i];
        for (var j = 0; j < BC_COUNT(); j++) {
            sl[i].cmd[j] <== slotCmd[i][j];
        }
        for (var j = 0; j < 4; j++) {
            sl[i].pvHints[j] <== pvHints[i][j];
        }
        sl[i].signer[0] <== signer[i][0];
        sl[i].signer[1] <== signer[i][1];
        sl[i].sigOn <== sigOn[i];
        for (var j = 0; j < 3; j++) {
            sl[i].sig[j] <== sig[i][j];
        }
        chain[i] = Poseidon(2);
        chain[i].inputs[0] <== acc[i];
        chain[i].inputs[1] <== sl[i].hash;
        acc[i + 1] <== acc[i] + active[i] * (chain[i].out - acc[i]);
        count += active[i];
        // boolean, so ranks are the accepted commands' order: with other values a prefix sum
        // could give a later slot a lower rank and reorder commands
        accepted[i] * (accepted[i] - 1) === 0;
        accepted[i] * (1 - active[i]) === 0;
    }
    cmdCommitment === acc[N];
    commandCount === count;
    // each slot's rank among the accepted commands: a beginning step links to the accepted
    // command whose rank is the number of commands begun before it
    var rank[N];
    var acceptedCount = 0;
    for (var i = 0; i < N; i++) {
        rank[i] = acceptedCount;
        acceptedCount += accepted[i];
    }
    // ts <= closeTs: slots are ordered by ts, padding included (closeTs: range-checked by BlockMeta)
    component tsLate = LessThan(64);
    tsLate.in[0] <== closeTs;
    tsLate.in[1] <== slotCmd[N - 1][BC_TS()];
    tsLate.out === 0;
    // ts >= the previous block's close, so no command is timed before the block it follows
    // (the engine's rule: end_block). Every market's lastCloseTs is that close (each block
    // settles every market at closeTs), range-checked by the pre-state's Pack; the slots are
    // ordered, so the first slot decides.
    component tsEarly = LessThan(64);
    tsEarly.in[0] <== slotCmd[0][BC_TS()];
    tsEarly.in[1] <== lastCloseTs[0];
    tsEarly.out === 0;

    // the steps; each beginning step reads its slot's view
    component st[S];
    component ln[S];
    for (var s = 0; s < S; s++) {
        st[s] = BlockStep(D, A, SIGNED, s % R == 0 ? 1 : 0, M);
        for (var i = 0; i < 10; i++) {
            st[s].cfg[i] <== cfg[i];
        }
        st[s].mark <== mark;
        st[s].market <== touched;
        st[s].marks <== marks;
        for (var m = 0; m < M; m++) {
            st[s].imfs[m] <== CFGS[m][7];
            st[s].mmfs[m] <== CFGS[m][9];
        }
        st[s].accOther <== accOther[s];
        st[s].accReqs <== accReqs[s];
        if (s == 0) {
            for (var i = 0; i < BR_COUNT(D, A); i++) {
                var v = 0;
                var at = BR_ACC_TIER(D, A);
                var bt = BR_BID_TIER(D, A);
                var kt = BR_ASK_TIER(D, A);
                if (i >= at && i < bt) { v = accTier0[i - at]; }
                if (i >= bt && i < kt) { v = bidTier0[i - bt]; }
                if (i >= kt) { v = askTier0[i - kt]; }
                if (i >= BR_BID_HEAD() && i < BR_BID_HEAD() + 3) { v = bh0.out[i - BR_BID_HEAD()]; }
                if (i >= BR_ASK_HEAD() && i < BR_ASK_HEAD() + 3) { v = ah0.out[i - BR_ASK_HEAD()]; }
                if (i == BR_TAKER() || i == BR_TAKER() + 4) { v = 1 << 127; }
                if (i == BR_TAKER() + 1) { v = 1 << 63; }
                st[s].r[i] <== v;
            }
        } else {
            for (var i = 0; i < BR_COUNT(D, A); i++) {
                st[s].r[i] <== st[s - 1].out[i];
            }
        }
        st[s].kind <== kind[s];
        for (var j = 0; j < CV_COUNT(); j++) {
            st[s].cmd[j] <== cmd[s][j];
        }
        st[s].linkFlag <== linkFlag[s];
        st[s].stpRead <== stpRead[s];
        st[s].stpReduce <== stpReduce[s];
        st[s].isBid <== isBid[s];
        st[s].bookIndex <== bookIndex[s];
        for (var i = 0; i < TierSiblings(D); i++) {
            st[s].siblings[i] <== siblings[s][i];
        }
        for (var i = 0; i < 10; i++) {
            st[s].oldOrder[i] <== oldOrder[s][i];
            st[s].newOrder[i] <== newOrder[s][i];
        }
        for (var j = 0; j < 3; j++) {
            st[s].link[j] <== link[s][j];
        }
        st[s].q <== q[s];
        st[s].accIndex <== accIndex[s];
        for (var i = 0; i < TierSiblings(A); i++) {
            st[s].accSiblings[i] <== accSiblings[s][i];
        }
        st[s].pubkeyHash <== pubkeyHash[s];
        for (var j = 0; j < 6; j++) {
            st[s].accOld[j] <== accOld[s][j];
            st[s].accNew[j] <== accNew[s][j];
        }
        st[s].accIsBuy <== accIsBuy[s];
        st[s].accPrice <== accPrice[s];
        st[s].accQty <== accQty[s];
        st[s].accAmount <== accAmount[s];
        for (var j = 0; j < 6; j++) {
            st[s].accHints[j] <== accHints[s][j];
        }
        st[s].takerHints[0] <== takerHints[s][0];
        st[s].takerHints[1] <== takerHints[s][1];
        for (var j = 0; j < 6; j++) {
            st[s].takerPre[j] <== takerPre[s][j];
        }
        // (rank, accepted, view): the accepted command of rank r[BR_INDEX]; an order-only
        // step begins nothing (BlockStep), so it has no link
        if (s % R == 0) {
            ln[s] = CmdLink(N, CV_COUNT() + 2);
            ln[s].begin <== st[s].begins;
            if (s == 0) {
                ln[s].val[0] <== 0;
            } else {
                ln[s].val[0] <== st[s - 1].out[BR_INDEX()];
            }
            ln[s].val[1] <== 1;
            for (var i = 0; i < N; i++) {
                ln[s].slots[i][0] <== rank[i];
                ln[s].slots[i][1] <== accepted[i];
            }
            for (var j = 0; j < CV_COUNT(); j++) {
                ln[s].val[2 + j] <== cmd[s][j];
                for (var i = 0; i < N; i++) {
                    ln[s].slots[i][2 + j] <== sl[i].view[j];
                }
            }
        }
    }
    // every command finished, nothing half-done, the commands are the public ones
    st[S - 1].out[BR_OPEN()] === 0;
    st[S - 1].out[BR_PEND()] === 0;
    st[S - 1].out[BR_RP_PHASE()] === 0;
    acceptedCount === st[S - 1].out[BR_INDEX()];
    // (commandCount <= N: it is the number of active slots)

    // settlement: every market, the touched one on the block's fills, the others on none
    component se[M];
    signal fills[M][3];
    for (var m = 0; m < M; m++) {
        for (var j = 0; j < 3; j++) {
            if (M == 1) {
                fills[m][j] <== st[S - 1].out[BR_NOTIONAL() + j];
            } else {
                fills[m][j] <== tsel[m] * st[S - 1].out[BR_NOTIONAL() + j];
            }
        }
        se[m] = Settle();
        se[m].notional <== fills[m][0];
        se[m].volume <== fills[m][1];
        se[m].trades <== fills[m][2];
        se[m].mark <== marks[m];
        se[m].cumPriceTime <== cumPriceTime0[m];
        se[m].lastCloseTs <== lastCloseTs[m];
        se[m].closeTs <== closeTs;
        se[m].q <== settleHints[m][0];
        se[m].r <== settleHints[m][1];
        se[m].closeMs <== settleHints[m][2];
        se[m].closeRem <== settleHints[m][3];
        se[m].lastMs <== settleHints[m][4];
        se[m].lastRem <== settleHints[m][5];
        settle[m] === se[m].settle;
        cumPriceTime[m] === se[m].cumPriceTimeOut;
    }

    // post-state root
    component accRoot1 = TierRoot(TierLevels(A));
    component bidRoot1 = TierRoot(TierLevels(D));
    component askRoot1 = TierRoot(TierLevels(D));
    for (var j = 0; j < TierWidth(A); j++) {
        accRoot1.tier[j] <== st[S - 1].out[BR_ACC_TIER(D, A) + j];
    }
    for (var j = 0; j < TierWidth(D); j++) {
        bidRoot1.tier[j] <== st[S - 1].out[BR_BID_TIER(D, A) + j];
        askRoot1.tier[j] <== st[S - 1].out[BR_ASK_TIER(D, A) + j];
    }
    component post = BlockStateRootM(M);
    post.touched <== touched;
    post.bidSide <== bidSide;
    post.askSide <== askSide;
    post.accRoot <== accRoot1.root;
    post.bidTree <== bidRoot1.root;
    post.askTree <== askRoot1.root;
    for (var j = 0; j < 3; j++) {
        post.bidHead[j] <== st[S - 1].out[BR_BID_HEAD() + j];
        post.askHead[j] <== st[S - 1].out[BR_ASK_HEAD() + j];
    }
    for (var m = 0; m < M; m++) {
        post.marks[m] <== se[m].price;
        post.closeTs[m] <== closeTs;
        post.cumPriceTime[m] <== se[m].cumPriceTimeOut;
    }
    post.height <== height;
    postRoot === post.out;
}
