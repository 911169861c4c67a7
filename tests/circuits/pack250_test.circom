pragma circom 2.0.0;
include "../../proofs/circuits/pack.circom";
component main = Pack(8, [64, 64, 64, 32, 16, 8, 1, 1]);
