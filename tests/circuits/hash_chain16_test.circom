pragma circom 2.0.0;
include "../../proofs/circuits/hash_chain.circom";
component main = HashChain(16);
