pragma circom 2.0.0;
include "../../proofs/circuits/cmdlink.circom";
component main {public [begin]} = CmdLink(4, 7);
