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

// MerklePlace(): the one-hot of position b0 + 2 b1 (b0, b1 boolean) and the two sibling-only
// terms of the children muxes, so an update's old and new paths share them.
template MerklePlace() {
    signal input b0;
    signal input b1;
    signal input sib[3];
    signal output e[4];
    signal output t1;
    signal output t2;

    signal both <== b0 * b1;
    e[0] <== 1 - b0 - b1 + both;
    e[1] <== b0 - both;
    e[2] <== b1 - both;
    e[3] <== both;
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
    component place[L];
    component h[L][P];
    signal node[L + 1][P];
    for (var p = 0; p < P; p++) {
        node[0][p] <== leaf[p];
    }
    for (var l = 0; l < L; l++) {
        place[l] = MerklePlace();
        place[l].b0 <== bits.bits[2 * l];
        place[l].b1 <== bits.bits[2 * l + 1];
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
        root[p] <== node[L][p];
    }
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
