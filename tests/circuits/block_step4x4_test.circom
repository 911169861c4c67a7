pragma circom 2.0.0;
include "../../proofs/circuits/block.circom";
component main {public [cfg, mark, r]} = BlockStep(4, 4, 0, 1, 1);
