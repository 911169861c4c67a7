pragma circom 2.0.0;

include "bitify.circom";
include "poseidon.circom";
include "switcher.circom";

// Binary Merkle paths over circomlib Poseidon(2), the tree of proofs.merkle.SparseMerkleTree.
// Siblings are bottom-up; bit i of the leaf index (least significant first) is 1 when the running
// node is the right child at level i. Each level costs one Poseidon(2) and one Switcher.

// MerklePathRoot(depth): root from a leaf, its index as bits and its siblings.
// The bits must be boolean; callers get them from Num2Bits (as MerkleRoot does) so one
// decomposition can serve several paths through the same index.
template MerklePathRoot(depth) {
    assert(depth >= 1);
    signal input leaf;
    signal input pathBits[depth];
    signal input siblings[depth];
    signal output root;

    signal node[depth + 1];
    component order[depth];
    component h[depth];
    node[0] <== leaf;
    for (var i = 0; i < depth; i++) {
        // sel = 0: (node, sibling); sel = 1: (sibling, node).
        order[i] = Switcher();
        order[i].sel <== pathBits[i];
        order[i].L <== node[i];
        order[i].R <== siblings[i];
        h[i] = Poseidon(2);
        h[i].inputs[0] <== order[i].outL;
        h[i].inputs[1] <== order[i].outR;
        node[i + 1] <== h[i].out;
    }
    root <== node[depth];
}

// MerkleRoot(depth): root from leaf, numeric index and bottom-up siblings. The index is
// decomposed with Num2Bits(depth), which also forces index < 2^depth (unique for depth <= 252).
template MerkleRoot(depth) {
    assert(depth >= 1 && depth <= 252);
    signal input leaf;
    signal input index;
    signal input siblings[depth];
    signal output root;

    component bits = Num2Bits(depth);
    bits.in <== index;
    component path = MerklePathRoot(depth);
    path.leaf <== leaf;
    for (var i = 0; i < depth; i++) {
        path.pathBits[i] <== bits.out[i];
        path.siblings[i] <== siblings[i];
    }
    root <== path.root;
}

// MerkleUpdate(depth): one state-transition step. Checks that oldLeaf sits at index under
// oldRoot and outputs the root after writing newLeaf there; both paths share the index bits and
// the siblings (a write never changes its own siblings). Costs two Merkle paths.
template MerkleUpdate(depth) {
    assert(depth >= 1 && depth <= 252);
    signal input oldRoot;
    signal input oldLeaf;
    signal input newLeaf;
    signal input index;
    signal input siblings[depth];
    signal output newRoot;

    component bits = Num2Bits(depth);
    bits.in <== index;
    component oldPath = MerklePathRoot(depth);
    component newPath = MerklePathRoot(depth);
    oldPath.leaf <== oldLeaf;
    newPath.leaf <== newLeaf;
    for (var i = 0; i < depth; i++) {
        oldPath.pathBits[i] <== bits.out[i];
        oldPath.siblings[i] <== siblings[i];
        newPath.pathBits[i] <== bits.out[i];
        newPath.siblings[i] <== siblings[i];
    }
    oldPath.root === oldRoot;
    newRoot <== newPath.root;
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
    signal input siblings[depth];
    signal output newRoot;

    enabled * (enabled - 1) === 0;
    component bits = Num2Bits(depth);
    bits.in <== index;
    component oldPath = MerklePathRoot(depth);
    component newPath = MerklePathRoot(depth);
    oldPath.leaf <== oldLeaf;
    newPath.leaf <== newLeaf;
    for (var i = 0; i < depth; i++) {
        oldPath.pathBits[i] <== bits.out[i];
        oldPath.siblings[i] <== siblings[i];
        newPath.pathBits[i] <== bits.out[i];
        newPath.siblings[i] <== siblings[i];
    }
    (oldPath.root - oldRoot) * enabled === 0;
    newRoot <== oldRoot + enabled * (newPath.root - oldRoot);
}
