pragma circom 2.0.0;

include "bitify.circom";
include "poseidon.circom";

// Quaternary Merkle paths over circomlib Poseidon(4), the tree of proofs.merkle.SparseMerkleTree.
// A tree of 2^depth leaves has MerkleLevels(depth) = ceil(depth / 2) levels; siblings are
// bottom-up, three per level in child order without the running node; the running node's
// position at level l is bits 2l, 2l + 1 of the leaf index (an odd depth pads a zero top bit).
// A level costs one Poseidon(4) (297) and 6 constraints to place the node among its siblings,
// against two levels of Poseidon(2) (2 x 241) in a binary tree.

function MerkleLevels(depth) {
    return (depth + 1) \ 2;
}

function MerkleSiblings(depth) {
    return 3 * ((depth + 1) \ 2);
}

// OneHot4(): e[j] = (b0 + 2 b1 == j) for boolean b0, b1; one constraint.
template OneHot4() {
    signal input b0;
    signal input b1;
    signal output e[4];

    signal both <== b0 * b1;
    e[0] <== 1 - b0 - b1 + both;
    e[1] <== b0 - both;
    e[2] <== b1 - both;
    e[3] <== both;
}

// MerklePlace(): the one-hot of position b0 + 2 b1 (b0, b1 boolean) and the two sibling-only
// terms of the children muxes, so an update's old and new paths share them.
template MerklePlace() {
    signal input b0;
    signal input b1;
    signal input sib[3];
    signal output e[4];
    signal output t1;
    signal output t2;

    component oh = OneHot4();
    oh.b0 <== b0;
    oh.b1 <== b1;
    e <== oh.e;
    // child 1 is sib[0] at position 0; child 2 is sib[1] at positions 0, 1
    t1 <== e[0] * (sib[0] - sib[1]);
    t2 <== (1 - b1) * (sib[1] - sib[2]);
}

// MerkleHashLevel(): Poseidon(4) of the children with node at the MerklePlace position:
// pos 0: (n, s0, s1, s2); 1: (s0, n, s1, s2); 2: (s0, s1, n, s2); 3: (s0, s1, s2, n).
template MerkleHashLevel() {
    signal input node;
    signal input sib[3];
    signal input e[4];
    signal input t1;
    signal input t2;
    signal output out;

    signal d[4];
    d[0] <== e[0] * (node - sib[0]);
    d[1] <== e[1] * (node - sib[1]);
    d[2] <== e[2] * (node - sib[2]);
    d[3] <== e[3] * (node - sib[2]);
    component h = Poseidon(4);
    h.inputs[0] <== sib[0] + d[0];
    h.inputs[1] <== sib[1] + t1 + d[1];
    h.inputs[2] <== sib[2] + t2 + d[2];
    h.inputs[3] <== sib[2] + d[3];
    out <== h.out;
}

// MerkleIndexBits(depth): the index's depth bits (Num2Bits, so index < 2^depth), padded with
// a zero bit to 2 * MerkleLevels(depth).
template MerkleIndexBits(depth) {
    assert(depth >= 1 && depth <= 252);
    signal input index;
    signal output bits[2 * MerkleLevels(depth)];

    component n2b = Num2Bits(depth);
    n2b.in <== index;
    for (var i = 0; i < depth; i++) {
        bits[i] <== n2b.out[i];
    }
    if (depth % 2 == 1) {
        bits[depth] <== 0;
    }
}

// MerklePathsBits(B, P): the B lowest levels of P paths at one index with shared siblings,
// the index given as its 2 B lowest bits (boolean, checked by the caller); root[p] is the node B
// levels above leaf[p] (the tree's root when B = MerkleLevels(depth); leaf[p] itself at B = 0).
template MerklePathsBits(B, P) {
    assert(B >= 0 && P >= 1);
    signal input leaf[P];
    signal input bits[2 * B];
    signal input siblings[3 * B];
    signal output root[P];

    component place[B];
    component h[B][P];
    signal node[B + 1][P];
    for (var p = 0; p < P; p++) {
        node[0][p] <== leaf[p];
    }
    for (var l = 0; l < B; l++) {
        place[l] = MerklePlace();
        place[l].b0 <== bits[2 * l];
        place[l].b1 <== bits[2 * l + 1];
        for (var k = 0; k < 3; k++) {
            place[l].sib[k] <== siblings[3 * l + k];
        }
        for (var p = 0; p < P; p++) {
            h[l][p] = MerkleHashLevel();
            h[l][p].node <== node[l][p];
            for (var k = 0; k < 3; k++) {
                h[l][p].sib[k] <== siblings[3 * l + k];
            }
            for (var k = 0; k < 4; k++) {
                h[l][p].e[k] <== place[l].e[k];
            }
            h[l][p].t1 <== place[l].t1;
            h[l][p].t2 <== place[l].t2;
            node[l + 1][p] <== h[l][p].out;
        }
    }
    for (var p = 0; p < P; p++) {
        root[p] <== node[B][p];
    }
}

// MerklePaths(depth, P): P roots of P leaves at one index with shared siblings (P = 1: a read,
// P = 2: a write's old and new path).
template MerklePaths(depth, P) {
    assert(depth >= 1 && depth <= 252 && P >= 1);
    var L = MerkleLevels(depth);
    signal input leaf[P];
    signal input index;
    signal input siblings[3 * L];
    signal output root[P];

    component bits = MerkleIndexBits(depth);
    bits.index <== index;
    component paths = MerklePathsBits(L, P);
    paths.leaf <== leaf;
    paths.bits <== bits.bits;
    paths.siblings <== siblings;
    root <== paths.root;
}

// MerkleRoot(depth): root from leaf, numeric index (< 2^depth) and bottom-up siblings,
// = merkle.compute_root.
template MerkleRoot(depth) {
    assert(depth >= 1 && depth <= 252);
    signal input leaf;
    signal input index;
    signal input siblings[MerkleSiblings(depth)];
    signal output root;

    component path = MerklePaths(depth, 1);
    path.leaf[0] <== leaf;
    path.index <== index;
    path.siblings <== siblings;
    root <== path.root[0];
}

// MerkleUpdate(depth): one state-transition step. Checks that oldLeaf sits at index under
// oldRoot and outputs the root after writing newLeaf there; both paths share the index bits,
// the siblings (a write never changes its own siblings) and the position terms.
template MerkleUpdate(depth) {
    assert(depth >= 1 && depth <= 252);
    signal input oldRoot;
    signal input oldLeaf;
    signal input newLeaf;
    signal input index;
    signal input siblings[MerkleSiblings(depth)];
    signal output newRoot;

    component paths = MerklePaths(depth, 2);
    paths.leaf[0] <== oldLeaf;
    paths.leaf[1] <== newLeaf;
    paths.index <== index;
    paths.siblings <== siblings;
    paths.root[0] === oldRoot;
    newRoot <== paths.root[1];
}

// MerkleUpdateIfEnabled(depth): MerkleUpdate when enabled = 1; when enabled = 0 the step is a
// no-op (newRoot = oldRoot) and the path is not checked, so padding slots of a fixed-size block
// can carry all-zero witnesses. enabled must be 0 or 1 (constrained here); whatever decides it
// (e.g. "this command slot is used") must itself be constrained by the caller.
// Three constraints more than MerkleUpdate.
template MerkleUpdateIfEnabled(depth) {
    assert(depth >= 1 && depth <= 252);
    signal input enabled;
    signal input oldRoot;
    signal input oldLeaf;
    signal input newLeaf;
    signal input index;
    signal input siblings[MerkleSiblings(depth)];
    signal output newRoot;

    enabled * (enabled - 1) === 0;
    component paths = MerklePaths(depth, 2);
    paths.leaf[0] <== oldLeaf;
    paths.leaf[1] <== newLeaf;
    paths.index <== index;
    paths.siblings <== siblings;
    (paths.root[0] - oldRoot) * enabled === 0;
    newRoot <== oldRoot + enabled * (paths.root[1] - oldRoot);
}

// Tiers (proofs.merkle.tier_levels; BLOCK.md "Tiers"). A block keeps the 4^T nodes T levels
// under a tree's root in registers ("the tier", left to right), so each write hashes only the
// B = MerkleLevels(depth) - T levels under it, and the tier is hashed to the root once at the
// block's start and once at its end. T = min(2, levels - 1).
function TierLevels(depth) {
    var L = MerkleLevels(depth);
    return L >= 3 ? 2 : L - 1;
}

function TierWidth(depth) {
    return 1 << (2 * TierLevels(depth));
}

function TierSiblings(depth) {
    return 3 * (MerkleLevels(depth) - TierLevels(depth));
}

// TierRoot(T): the root over a tier of 4^T nodes (left to right), (4^T - 1) / 3 Poseidon(4);
// = proofs.merkle: the root of the tree whose nodes T levels under the root are tier[].
template TierRoot(T) {
    assert(T >= 0 && T <= 8);
    var W = 1 << (2 * T);
    signal input tier[W];
    signal output root;

    var n = W;
    var off = 0;
    signal node[(4 * W - 1) \ 3];
    component h[(W - 1) \ 3];
    for (var i = 0; i < W; i++) {
        node[i] <== tier[i];
    }
    var hc = 0;
    for (var l = 0; l < T; l++) {
        for (var j = 0; j < n \ 4; j++) {
            h[hc] = Poseidon(4);
            for (var c = 0; c < 4; c++) {
                h[hc].inputs[c] <== node[off + 4 * j + c];
            }
            node[off + n + j] <== h[hc].out;
            hc++;
        }
        off += n;
        n = n \ 4;
    }
    root <== node[off];
}

// MerkleTierUpdateIfEnabled(depth): MerkleUpdateIfEnabled against a tier instead of the root.
// The index's low 2 B bits place the leaf under its tier node (B levels hashed, siblings of
// those levels only), its high 2 T bits choose the tier node (one-hot e[]). When enabled, the
// old leaf's path must end at that node and the tier is returned with the node replaced by the
// new leaf's path; when not, the tier is returned unchanged and nothing is checked. Cost: the
// B levels of MerkleUpdate, + 3 W + 2 for the choice and the write (W = 4^T; 50 at T = 2).
template MerkleTierUpdateIfEnabled(depth) {
    assert(depth >= 1 && depth <= 252);
    var L = MerkleLevels(depth);
    var T = TierLevels(depth);
    var B = L - T;
    var W = 1 << (2 * T);
    signal input enabled;
    signal input oldTier[W];
    signal input oldLeaf;
    signal input newLeaf;
    signal input index;
    signal input siblings[3 * B];
    signal output newTier[W];

    enabled * (enabled - 1) === 0;
    component bits = MerkleIndexBits(depth);
    bits.index <== index;
    component paths = MerklePathsBits(B, 2);
    paths.leaf[0] <== oldLeaf;
    paths.leaf[1] <== newLeaf;
    for (var i = 0; i < 2 * B; i++) {
        paths.bits[i] <== bits.bits[i];
    }
    paths.siblings <== siblings;

    // e[j] = (index >> 2 B == j): a product of the T levels' one-hots of two bits each
    signal e[T + 1][W];
    e[0][0] <== 1;
    component place[T];
    for (var l = 0; l < T; l++) {
        place[l] = OneHot4();
        place[l].b0 <== bits.bits[2 * (B + l)];
        place[l].b1 <== bits.bits[2 * (B + l) + 1];
        var w = 1 << (2 * l);
        for (var j = 0; j < w; j++) {
            for (var c = 0; c < 4; c++) {
                // child c at this level: tier position j + c * w (low bits first)
                if (l == 0) {
                    e[1][c] <== place[0].e[c];
                } else {
                    e[l + 1][j + c * w] <== e[l][j] * place[l].e[c];
                }
            }
        }
    }
    signal pick[W];
    var sel = 0;
    for (var j = 0; j < W; j++) {
        pick[j] <== e[T][j] * oldTier[j];
        sel += pick[j];
    }
    (paths.root[0] - sel) * enabled === 0;
    signal delta <== enabled * (paths.root[1] - sel);
    for (var j = 0; j < W; j++) {
        newTier[j] <== oldTier[j] + e[T][j] * delta;
    }
}
