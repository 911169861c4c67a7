pragma circom 2.0.0;
include "../../proofs/circuits/range.circom";
component main = SafeLessThan(64);
