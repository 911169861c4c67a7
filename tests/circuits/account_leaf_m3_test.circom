pragma circom 2.0.0;
include "../../proofs/circuits/account.circom";
component main = AccountLeafM(3, 1);
