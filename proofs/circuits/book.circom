pragma circom 2.0.0;

include "bitify.circom";
include "comparators.circom";
include "poseidon.circom";
include "merkle.circom";
include "pack.circom";

// The order-book half of the block circuit: one side of one market's book (a sorted linked list
// in a depth-D slot tree, plus the head register) goes through a sequence of steps; each step is
// one legal linked-list operation that keeps the list sorted by priority key, and fills only
// ever take the head. The Python specification of every step is proofs/booktrace.py
// (BookSide.step); read its module docstring for the argument why these checks suffice.
//
// Order record, as the 10 signals oldOrder[] / newOrder[] (indices below), hashed exactly like
// proofs.state.order_leaf: Poseidon(2)(pack(price 40, qty 48, prio 48, account 20,
// nextSlot1 25), pack(orderId 48, clOrdId 64, side 2, nextPrice 40, nextPrio 48)).
//   0 price  1 qty  2 prio  3 account  4 nextSlot1  5 orderId  6 clOrdId  7 side
//   8 nextPrice  9 nextPrio
// A link (head register, next pointer) is (slot1 = slot + 1, price, prio); slot1 0 is "none".
//
// Step codes (op), one slot write each:
//   0 NOP          nothing changes (padding; only with no pending half-operation)
//   1 INSERT_HEAD  empty slot index := new order whose next is the old head;
//                  key(new) < key(head) unless the side is empty; head := new
//   2 LINK         first half of INSERT_AFTER(P): P.next := X = link, with
//                  key(P) < key(X) and (P.next empty or key(X) < key(P.next));
//                  pending := (INSERT, X, N = P's old next)
//   3 PUT          second half: empty slot X.slot := new order with X's key and next N
//   4 REMOVE_HEAD  head leaf := empty; head := its next
//   5 DETACH       first half of REMOVE_AFTER(P): any non-empty leaf X := empty;
//                  pending := (REMOVE, X = (slot1, key), N = X's next)
//   6 RELINK       second half: P with P.next = X: P.next := N. (X the head: no leaf points
//                  at it, so no RELINK exists and the block is unsatisfiable.) The removal
//                  empties X first so that its account write (the release) is the first
//                  step of a cancel and the order-only half the second (BLOCK.md layout).
//   7 FILL_HEAD    head leaf qty -= q, 1 <= q <= qty; at 0 the leaf is emptied and
//                  head := its next. Outputs fill price/qty/account/orderId/remaining.
//   8 REDUCE       any leaf: qty -= q (0 <= q < qty), clOrdId may change (STP decrement,
//                  replace keeping priority); key and next unchanged
// Key of an order: price * 2^48 + prio for asks, (MAX_PRICE - price) * 2^48 + prio for bids,
// MAX_PRICE = 2^40 - 1, so a smaller key is a better order and keys compare as 88-bit numbers.

// OrderLeaf(): the leaf hash of an order record; range-checks every field (Pack), which makes
// the record the unique preimage of its two packed elements. 383 + 240 constraints.
template OrderLeaf() {
    signal input f[10];
    signal output out;

    var w1[5] = [40, 48, 48, 20, 25];
    var w2[5] = [48, 64, 2, 40, 48];
    component p1 = Pack(5, w1);
    component p2 = Pack(5, w2);
    for (var i = 0; i < 5; i++) {
        p1.in[i] <== f[i];
        p2.in[i] <== f[5 + i];
    }
    component h = Poseidon(2);
    h.inputs[0] <== p1.out;
    h.inputs[1] <== p2.out;
    out <== h.out;
}

// BookKey(): the 88-bit priority key of (price, prio) on the side isBid. price < 2^40 and
// prio < 2^48 must already be range-checked (they come from Pack/Unpack'ed fields).
template BookKey() {
    signal input isBid;
    signal input price;
    signal input prio;
    signal output out;

    // isBid = 1: MAX_PRICE - price; isBid = 0: price.
    signal keyPrice <== price + isBid * ((1 << 40) - 1 - 2 * price);
    out <== keyPrice * (1 << 48) + prio;
}

// BookStep(D): one step (module comment), on the slot tree's tier (merkle.circom "Tiers":
// the write hashes only the levels under it; the caller holds the tier and hashes it to the
// side's tree root). Preconditions for the caller: isBid is the side's
// constant (1 bids, 0 asks), head[] and pend[] are range-checked (they are outputs of the
// previous BookStep, or unpacked from the committed side root) and pend is all-zero before the
// first step; after the last step pend[0] must be 0 (no half-done INSERT/REMOVE).
// pend = (mode, X slot1, X price, X prio, N slot1, N price, N prio); mode 1 INSERT, 2 REMOVE.
template BookStep(D) {
    // slot1 = slot + 1 lives in 25 bits (proofs.state SLOT_BITS + 1).
    assert(D >= 1 && D <= 24);
    signal input oldTier[TierWidth(D)];
    signal input head[3];
    signal input pend[7];
    signal input isBid;
    signal input op;
    signal input index;
    signal input siblings[TierSiblings(D)];
    signal input oldOrder[10];
    signal input newOrder[10];
    signal input link[3];
    signal input q;
    signal output newTier[TierWidth(D)];
    signal output newHead[3];
    signal output newPend[7];
    signal output fillPrice;
    signal output fillQty;
    signal output fillAccount;
    signal output fillOrderId;
    signal output fillRemaining;

    var PRICE = 0;
    var QTY = 1;
    var PRIO = 2;
    var ACCOUNT = 3;
    var NEXT = 4;
    var OID = 5;
    var CLORD = 6;
    var SIDE = 7;
    var NEXT_PRICE = 8;
    var NEXT_PRIO = 9;
    var NOP = 0;
    var IH = 1;
    var LK = 2;
    var PT = 3;
    var RH = 4;
    var DT = 5;
    var RL = 6;
    var FH = 7;
    var RD = 8;

    isBid * (isBid - 1) === 0;

    // --- selector: f[k] = (op == k), one-hot, constrained right below the hint.
    signal f[9];
    var sumF = 0;
    var sumK = 0;
    for (var k = 0; k < 9; k++) {
        f[k] <-- op == k ? 1 : 0;
        f[k] * (f[k] - 1) === 0;
        sumF += f[k];
        sumK += k * f[k];
    }
    sumF === 1;
    sumK === op;

    // --- the one slot write
    component oldHash = OrderLeaf();
    component newHash = OrderLeaf();
    for (var i = 0; i < 10; i++) {
        oldHash.f[i] <== oldOrder[i];
        newHash.f[i] <== newOrder[i];
    }
    component newQtyZero = IsZero();
    newQtyZero.in <== newOrder[QTY];
    signal fillGone <== f[FH] * newQtyZero.out;
    // A resting order always has qty >= 1 (FILL_HEAD empties the leaf at 0).
    (f[IH] + f[PT] + f[RD]) * newQtyZero.out === 0;
    signal oldLeaf <== (1 - f[IH] - f[PT]) * oldHash.out;
    signal newLeaf <== (1 - f[RH] - f[DT] - fillGone) * newHash.out;
    component mu = MerkleTierUpdateIfEnabled(D);
    mu.enabled <== 1 - f[NOP];
    mu.oldTier <== oldTier;
    mu.oldLeaf <== oldLeaf;
    mu.newLeaf <== newLeaf;
    mu.index <== index;
    mu.siblings <== siblings;
    newTier <== mu.newTier;

    // --- pending half-operations: PUT needs INSERT, RELINK needs REMOVE, all else none.
    f[PT] * (pend[0] - 1) === 0;
    f[RL] * (pend[0] - 2) === 0;
    (1 - f[PT] - f[RL]) * pend[0] === 0;

    // --- what a write may change
    var keep = f[LK] + f[RL] + f[FH] + f[RD];
    keep * (newOrder[PRICE] - oldOrder[PRICE]) === 0;
    keep * (newOrder[PRIO] - oldOrder[PRIO]) === 0;
    keep * (newOrder[ACCOUNT] - oldOrder[ACCOUNT]) === 0;
    keep * (newOrder[OID] - oldOrder[OID]) === 0;
    keep * (newOrder[SIDE] - oldOrder[SIDE]) === 0;
    (f[LK] + f[RL]) * (newOrder[QTY] - oldOrder[QTY]) === 0;
    (f[FH] + f[RD]) * (newOrder[QTY] + q - oldOrder[QTY]) === 0;
    (f[LK] + f[RL] + f[FH]) * (newOrder[CLORD] - oldOrder[CLORD]) === 0;
    // q >= 0 (so REDUCE never adds quantity); FILL_HEAD fills at least 1 lot. q <= qty follows
    // from newOrder[QTY] = oldOrder[QTY] - q being range-checked to 48 bits.
    component qRange = Num2Bits(48);
    qRange.in <== q;
    component qZero = IsZero();
    qZero.in <== q;
    f[FH] * qZero.out === 0;
    // New orders belong to this side.
    (f[IH] + f[PT]) * (newOrder[SIDE] + isBid - 2) === 0;

    // --- next pointers (fields NX[j] hold link component j: slot1, price, prio)
    var NX[3] = [NEXT, NEXT_PRICE, NEXT_PRIO];
    for (var j = 0; j < 3; j++) {
        (f[FH] + f[RD]) * (newOrder[NX[j]] - oldOrder[NX[j]]) === 0;
        f[LK] * (newOrder[NX[j]] - link[j]) === 0;
        f[IH] * (newOrder[NX[j]] - head[j]) === 0;
        (f[PT] + f[RL]) * (newOrder[NX[j]] - pend[4 + j]) === 0;
        f[RL] * (oldOrder[NX[j]] - pend[1 + j]) === 0;
    }

    // --- which slot: the head's for REMOVE_HEAD/FILL_HEAD, X's for PUT, with the key the
    // link promised. (INSERT_HEAD: any empty slot; LINK/DETACH/RELINK/REDUCE: any order.)
    var atHead = f[RH] + f[FH];
    atHead * (index + 1 - head[0]) === 0;
    atHead * (oldOrder[PRICE] - head[1]) === 0;
    atHead * (oldOrder[PRIO] - head[2]) === 0;
    f[PT] * (index + 1 - pend[1]) === 0;
    f[PT] * (newOrder[PRICE] - pend[2]) === 0;
    f[PT] * (newOrder[PRIO] - pend[3]) === 0;

    // --- sortedness: LINK: key(P) < key(X) and (P.next empty or key(X) < key(P.next));
    // INSERT_HEAD: head empty or key(new) < key(head). Two shared 88-bit comparators.
    signal midPrice <== newOrder[PRICE] + f[LK] * (link[1] - newOrder[PRICE]);
    signal midPrio <== newOrder[PRIO] + f[LK] * (link[2] - newOrder[PRIO]);
    signal hiSlot <== oldOrder[NEXT] + f[IH] * (head[0] - oldOrder[NEXT]);
    signal hiPrice <== oldOrder[NEXT_PRICE] + f[IH] * (head[1] - oldOrder[NEXT_PRICE]);
    signal hiPrio <== oldOrder[NEXT_PRIO] + f[IH] * (head[2] - oldOrder[NEXT_PRIO]);
    component keyLo = BookKey();
    keyLo.isBid <== isBid;
    keyLo.price <== oldOrder[PRICE];
    keyLo.prio <== oldOrder[PRIO];
    component keyMid = BookKey();
    keyMid.isBid <== isBid;
    keyMid.price <== midPrice;
    keyMid.prio <== midPrio;
    component keyHi = BookKey();
    keyHi.isBid <== isBid;
    keyHi.price <== hiPrice;
    keyHi.prio <== hiPrio;
    component ltLo = LessThan(88);
    ltLo.in[0] <== keyLo.out;
    ltLo.in[1] <== keyMid.out;
    f[LK] * (1 - ltLo.out) === 0;
    component ltHi = LessThan(88);
    ltHi.in[0] <== keyMid.out;
    ltHi.in[1] <== keyHi.out;
    component hiEmpty = IsZero();
    hiEmpty.in <== hiSlot;
    signal needHi <== (f[IH] + f[LK]) * (1 - hiEmpty.out);
    needHi * (1 - ltHi.out) === 0;

    // --- registers after the step
    signal toNew[3];
    signal toNext[3];
    var newLink[3] = [index + 1, newOrder[PRICE], newOrder[PRIO]];
    for (var j = 0; j < 3; j++) {
        toNew[j] <== f[IH] * (newLink[j] - head[j]);
        toNext[j] <== (f[RH] + fillGone) * (oldOrder[NX[j]] - head[j]);
        newHead[j] <== head[j] + toNew[j] + toNext[j];
    }
    signal pendX[3];
    newPend[0] <== f[LK] + 2 * f[DT];
    var xLink[3] = [index + 1, oldOrder[PRICE], oldOrder[PRIO]];
    for (var j = 0; j < 3; j++) {
        pendX[j] <== f[LK] * link[j];
        newPend[1 + j] <== pendX[j] + f[DT] * xLink[j];
        newPend[4 + j] <== (f[LK] + f[DT]) * oldOrder[NX[j]];
    }

    // --- the fill, for the block circuit (trades, volume, VWAP, crossing); 0 unless FILL_HEAD
    fillPrice <== f[FH] * oldOrder[PRICE];
    fillQty <== f[FH] * q;
    fillAccount <== f[FH] * oldOrder[ACCOUNT];
    fillOrderId <== f[FH] * oldOrder[OID];
    fillRemaining <== f[FH] * newOrder[QTY];
}

// BookSteps(D, S): S chained BookSteps on one side. Public interface: the tree root and the
// head packed as in proofs.state.side_root (slot1 25 | price 40 | prio 48, lowest bits first),
// before and after. The steps work on the tree's tier (merkle.circom "Tiers"): tier0 must hash
// to oldRoot, the last step's tier gives newRoot. The head is unpacked (range-checked) once;
// later heads are outputs of steps, so they stay in range. No half-done INSERT/REMOVE may be
// left after the last step.
template BookSteps(D, S) {
    assert(D >= 1 && D <= 24);
    assert(S >= 1);
    signal input oldRoot;
    signal input oldHead;
    signal input isBid;
    signal input tier0[TierWidth(D)];
    signal input op[S];
    signal input index[S];
    signal input siblings[S][TierSiblings(D)];
    signal input oldOrder[S][10];
    signal input newOrder[S][10];
    signal input link[S][3];
    signal input q[S];
    signal output newRoot;
    signal output newHead;

    var hw[3] = [25, 40, 48];
    component head0 = Unpack(3, hw);
    head0.in <== oldHead;
    component root0 = TierRoot(TierLevels(D));
    root0.tier <== tier0;
    root0.root === oldRoot;
    component step[S];
    for (var s = 0; s < S; s++) {
        step[s] = BookStep(D);
        step[s].isBid <== isBid;
        for (var i = 0; i < TierWidth(D); i++) {
            step[s].oldTier[i] <== s == 0 ? tier0[i] : step[s - 1].newTier[i];
        }
        for (var j = 0; j < 3; j++) {
            step[s].head[j] <== s == 0 ? head0.out[j] : step[s - 1].newHead[j];
        }
        for (var j = 0; j < 7; j++) {
            step[s].pend[j] <== s == 0 ? 0 : step[s - 1].newPend[j];
        }
        step[s].op <== op[s];
        step[s].index <== index[s];
        for (var i = 0; i < TierSiblings(D); i++) {
            step[s].siblings[i] <== siblings[s][i];
        }
        for (var i = 0; i < 10; i++) {
            step[s].oldOrder[i] <== oldOrder[s][i];
            step[s].newOrder[i] <== newOrder[s][i];
        }
        for (var j = 0; j < 3; j++) {
            step[s].link[j] <== link[s][j];
        }
        step[s].q <== q[s];
    }
    step[S - 1].newPend[0] === 0;
    component root1 = TierRoot(TierLevels(D));
    root1.tier <== step[S - 1].newTier;
    newRoot <== root1.root;
    newHead <== step[S - 1].newHead[0] + step[S - 1].newHead[1] * (1 << 25)
        + step[S - 1].newHead[2] * (1 << 65);
}
