pragma circom 2.0.0;
include "../../proofs/circuits/merkle.circom";
component main {public [enabled, oldTier]} = MerkleTierUpdateIfEnabled(5);
