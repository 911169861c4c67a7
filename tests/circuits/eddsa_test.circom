pragma circom 2.0.0;

// circomlib's EdDSA-Poseidon verifier as-is: the public key and message are public, the
// signature (S, R8) is private, `enabled` switches the check off (used by block circuits
// for padding slots). tests/test_circuit_eddsa.py proves signatures from proofs.eddsa.
include "eddsaposeidon.circom";

component main {public [Ax, Ay, M]} = EdDSAPoseidonVerifier();
