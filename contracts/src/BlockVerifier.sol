// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity 0.8.37;

import {Groth16Verifier} from "./Groth16Verifier.sol";
import {IBlockVerifier} from "./interfaces/IBlockVerifier.sol";

/// @title BlockVerifier
/// @notice Groth16 verifier (BN254, the EIP-196/197 precompiles) of the ProvenBook v1 block
/// circuit, whose six public inputs are (preStateRoot, postStateRoot, commandCommitment, meta,
/// settle, cumPriceTime).
/// @dev The verifying key is fixed at deployment, in immutables (Groth16Verifier says why);
/// an immutable costs what a constant costs to read.
contract BlockVerifier is IBlockVerifier, Groth16Verifier {
    /// @notice Number of public inputs of the v1 block circuit.
    uint256 public constant PUBLIC_INPUTS = 6;

    // IC[0..6] (G1).
    uint256 internal immutable IC0_X;
    uint256 internal immutable IC0_Y;
    uint256 internal immutable IC1_X;
    uint256 internal immutable IC1_Y;
    uint256 internal immutable IC2_X;
    uint256 internal immutable IC2_Y;
    uint256 internal immutable IC3_X;
    uint256 internal immutable IC3_Y;
    uint256 internal immutable IC4_X;
    uint256 internal immutable IC4_Y;
    uint256 internal immutable IC5_X;
    uint256 internal immutable IC5_Y;
    uint256 internal immutable IC6_X;
    uint256 internal immutable IC6_Y;

    /// @param alpha1 alpha in G1 (x, y).
    /// @param beta2 beta in G2 (x.c1, x.c0, y.c1, y.c0).
    /// @param gamma2 gamma in G2, same order.
    /// @param delta2 delta in G2, same order.
    /// @param ic IC[0..6] in G1 (x0, y0, x1, y1, ...).
    constructor(
        uint256[2] memory alpha1,
        uint256[4] memory beta2,
        uint256[4] memory gamma2,
        uint256[4] memory delta2,
        uint256[14] memory ic
    ) Groth16Verifier(alpha1, beta2, gamma2, delta2) {
        for (uint256 i = 0; i < 14; i++) if (ic[i] >= Q) revert KeyOutOfField();
        (IC0_X, IC0_Y, IC1_X, IC1_Y) = (ic[0], ic[1], ic[2], ic[3]);
        (IC2_X, IC2_Y, IC3_X, IC3_Y) = (ic[4], ic[5], ic[6], ic[7]);
        (IC4_X, IC4_Y, IC5_X, IC5_Y) = (ic[8], ic[9], ic[10], ic[11]);
        (IC6_X, IC6_Y) = (ic[12], ic[13]);
    }

    /// @inheritdoc IBlockVerifier
    /// @dev Reverts on malformed arguments (length, an input outside the scalar field) and
    /// when too little gas is left for a precompile (InsufficientGas). With enough gas, a
    /// proof that does not verify, including one whose points are off the curve or not
    /// canonical, returns false.
    function verifyProof(bytes calldata proof, uint256[6] calldata publicInputs)
        external
        view
        returns (bool)
    {
        (uint256[8] memory w, bool ok) = _decodeProof(proof);
        for (uint256 i = 0; i < PUBLIC_INPUTS; i++) {
            if (publicInputs[i] >= R) revert InputOutOfField(i, publicInputs[i]);
        }
        if (!ok) return false;

        // vk_x = IC0 + sum(input[i] * IC[i + 1])
        uint256[4] memory acc = [IC0_X, IC0_Y, uint256(0), uint256(0)];
        uint256[12] memory ic = [
            IC1_X, IC1_Y, IC2_X, IC2_Y, IC3_X, IC3_Y, IC4_X, IC4_Y, IC5_X, IC5_Y, IC6_X, IC6_Y
        ];
        for (uint256 i = 0; i < PUBLIC_INPUTS; i++) {
            if (!_mulAdd(acc, ic[2 * i], ic[2 * i + 1], publicInputs[i])) return false;
        }
        return _pairing(w, acc[0], acc[1]);
    }

    /// @inheritdoc IBlockVerifier
    /// @dev Reverts like verifyProof, and with BadProofLength / BadInputCount when `proofs` is
    /// not K >= 1 whole proofs or `publicInputs` not 6K inputs.
    function verifyProofs(bytes calldata proofs, uint256[] calldata publicInputs)
        external
        view
        returns (bool)
    {
        uint256[] memory ic = new uint256[](14);
        (ic[0], ic[1], ic[2], ic[3], ic[4], ic[5], ic[6]) =
            (IC0_X, IC0_Y, IC1_X, IC1_Y, IC2_X, IC2_Y, IC3_X);
        (ic[7], ic[8], ic[9], ic[10], ic[11], ic[12], ic[13]) =
            (IC3_Y, IC4_X, IC4_Y, IC5_X, IC5_Y, IC6_X, IC6_Y);
        return _verifyMany(proofs, publicInputs, ic);
    }
}
