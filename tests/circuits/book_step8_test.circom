pragma circom 2.0.0;
include "../../proofs/circuits/book.circom";
component main {public [oldTier, head, pend, isBid]} = BookStep(8);
