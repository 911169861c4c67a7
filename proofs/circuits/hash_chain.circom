pragma circom 2.0.0;

include "poseidon.circom";

// HashChain(n): left fold of circomlib Poseidon(2) over n inputs,
//   out = Poseidon(2)(...Poseidon(2)(Poseidon(2)(in[0], in[1]), in[2])..., in[n-1]),
// the same definition as proofs.poseidon.hash_chain. Costs n - 1 Poseidon(2) permutations.
// Not length-delimited: use it where n is fixed by the circuit layout.
template HashChain(n) {
    assert(n >= 2);
    signal input in[n];
    signal output out;

    signal acc[n];
    component h[n - 1];
    acc[0] <== in[0];
    for (var i = 1; i < n; i++) {
        h[i - 1] = Poseidon(2);
        h[i - 1].inputs[0] <== acc[i - 1];
        h[i - 1].inputs[1] <== in[i];
        acc[i] <== h[i - 1].out;
    }
    out <== acc[n - 1];
}
