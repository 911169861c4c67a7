pragma circom 2.0.0;
include "../../proofs/circuits/block.circom";
component main = BlockStateRootM(2);
