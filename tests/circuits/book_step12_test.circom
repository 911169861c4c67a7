pragma circom 2.0.0;
include "../../proofs/circuits/book.circom";
component main {public [oldRoot, head, pend, isBid]} = BookStep(12);
