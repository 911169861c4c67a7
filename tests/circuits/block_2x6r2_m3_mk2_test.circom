pragma circom 2.0.0;
include "../../proofs/circuits/block.circom";
component main {public [preRoot, postRoot, cmdCommitment, meta, settle, cumPriceTime]} = BlockM(2, 6, 4, 4, 2, [[1, 1, 1, 1, 10000000, 1000000, 0, 1000, 3, 500], [2, 1, 1, 1, 10000000, 1000000, 0, 2500, 3, 1200]], 0, 2);
