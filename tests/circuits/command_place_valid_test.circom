pragma circom 2.0.0;
include "../../proofs/circuits/command.circom";
component main = PlaceValid();
