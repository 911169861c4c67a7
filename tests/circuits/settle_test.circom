pragma circom 2.0.0;
include "../../proofs/circuits/settle.circom";
component main = Settle();
