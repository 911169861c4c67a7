pragma circom 2.0.0;
include "../../proofs/circuits/account.circom";
component main {public [oldTier]} = AccountStepOpsM(8, 0, 2);
