pragma circom 2.0.0;
include "../../proofs/circuits/cmdslot.circom";
component main {public [cfg, mark, firstSeq, index, prevTs]} = CmdSlot(1);
