// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity 0.8.37;

/// @title Groth16Verifier
/// @notice What every ProvenBook Groth16 verifier (BN254, the EIP-196/197 precompiles) shares:
/// the key's G1/G2 points in immutables, the proof's decoding and the final pairing check.
/// A verifier adds its public inputs' points (IC) and the multi-scalar multiplication.
/// @dev The verifying key is fixed at deployment instead of being written into a contract
/// generated per key. Development keys come from an unseeded single-party setup on each
/// machine, so a generated contract would need a Solidity compiler wherever keys are made;
/// with the key given to the constructor one committed artifact serves every key, no Node is
/// needed at run time, and the key cannot change after deployment, exactly as with a
/// generated verifier.
abstract contract Groth16Verifier {
    /// @dev BN254 scalar field (public inputs are its elements).
    uint256 internal constant R =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @dev BN254 base field (point coordinates are its elements).
    uint256 internal constant Q =
        21888242871839275222246405745257275088696311157297823662689037894645226208583;

    /// @notice A public input is not a scalar field element (it would alias another input).
    error InputOutOfField(uint256 index, uint256 value);
    /// @notice A proof is not 256 bytes.
    error BadProofLength(uint256 length);
    /// @notice A verifying key coordinate is not a base field element.
    error KeyOutOfField();
    /// @notice Too little gas left for a precompile call to run to completion.
    error InsufficientGas(uint256 left, uint256 needed);

    /// @dev Gas the precompiles charge (EIP-1108): ecAdd, ecMul, and a 4-pair pairing check.
    uint256 internal constant EC_ADD_GAS = 150;
    uint256 internal constant EC_MUL_GAS = 6_000;
    uint256 internal constant PAIRING_GAS = 45_000 + 4 * 34_000;

    // alpha (G1), beta, gamma, delta (G2, each as x.c1, x.c0, y.c1, y.c0: the precompile's
    // order).
    uint256 internal immutable ALPHA_X;
    uint256 internal immutable ALPHA_Y;
    uint256 internal immutable BETA_X1;
    uint256 internal immutable BETA_X0;
    uint256 internal immutable BETA_Y1;
    uint256 internal immutable BETA_Y0;
    uint256 internal immutable GAMMA_X1;
    uint256 internal immutable GAMMA_X0;
    uint256 internal immutable GAMMA_Y1;
    uint256 internal immutable GAMMA_Y0;
    uint256 internal immutable DELTA_X1;
    uint256 internal immutable DELTA_X0;
    uint256 internal immutable DELTA_Y1;
    uint256 internal immutable DELTA_Y0;

    /// @param alpha1 alpha in G1 (x, y).
    /// @param beta2 beta in G2 (x.c1, x.c0, y.c1, y.c0).
    /// @param gamma2 gamma in G2, same order.
    /// @param delta2 delta in G2, same order.
    constructor(
        uint256[2] memory alpha1,
        uint256[4] memory beta2,
        uint256[4] memory gamma2,
        uint256[4] memory delta2
    ) {
        for (uint256 i = 0; i < 2; i++) if (alpha1[i] >= Q) revert KeyOutOfField();
        for (uint256 i = 0; i < 4; i++) {
            if (beta2[i] >= Q || gamma2[i] >= Q || delta2[i] >= Q) revert KeyOutOfField();
        }
        (ALPHA_X, ALPHA_Y) = (alpha1[0], alpha1[1]);
        (BETA_X1, BETA_X0, BETA_Y1, BETA_Y0) = (beta2[0], beta2[1], beta2[2], beta2[3]);
        (GAMMA_X1, GAMMA_X0, GAMMA_Y1, GAMMA_Y0) = (gamma2[0], gamma2[1], gamma2[2], gamma2[3]);
        (DELTA_X1, DELTA_X0, DELTA_Y1, DELTA_Y0) = (delta2[0], delta2[1], delta2[2], delta2[3]);
    }

    /// @dev The proof's eight coordinates (A, B, C); reverts unless it is 256 bytes, and `ok`
    /// is false if a coordinate is not a base field element.
    function _decodeProof(bytes calldata proof)
        internal
        pure
        returns (uint256[8] memory w, bool ok)
    {
        if (proof.length != 256) revert BadProofLength(proof.length);
        w = abi.decode(proof, (uint256[8]));
        for (uint256 i = 0; i < 8; i++) if (w[i] >= Q) return (w, false);
        return (w, true);
    }

    /// @dev e(-A, B) * e(alpha, beta) * e(vk_x, gamma) * e(C, delta) == 1, with `vkX` the
    /// public inputs' combination (IC0 + sum(input[i] * IC[i + 1])).
    function _pairing(uint256[8] memory w, uint256 vkX, uint256 vkY)
        internal
        view
        returns (bool)
    {
        uint256[24] memory p = [
            w[0], w[1] == 0 ? 0 : Q - w[1], w[2], w[3], w[4], w[5],
            ALPHA_X, ALPHA_Y, BETA_X1, BETA_X0, BETA_Y1, BETA_Y0,
            vkX, vkY, GAMMA_X1, GAMMA_X0, GAMMA_Y1, GAMMA_Y0,
            w[6], w[7], DELTA_X1, DELTA_X0, DELTA_Y1, DELTA_Y0
        ];
        uint256[1] memory out;
        bool ok;
        _gasFor(PAIRING_GAS);
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x08, p, 0x300, out, 0x20)
        }
        return ok && out[0] == 1;
    }

    /// @dev Reverts unless a call forwarding all but 1/64 of the gas left (EIP-150) gets
    /// `needed`, with a margin for the instructions before the call: a precompile that fails
    /// for want of gas must not pass for a proof that does not verify, or a caller could make
    /// a valid proof look invalid by sending too little gas.
    function _gasFor(uint256 needed) private view {
        uint256 want = needed + needed / 63 + 500;
        if (gasleft() < want) revert InsufficientGas(gasleft(), want);
    }

    /// @dev acc[0..1] += s * (x, y) through ecMul (0x07) and ecAdd (0x06); false if either fails.
    function _mulAdd(uint256[4] memory acc, uint256 x, uint256 y, uint256 s)
        internal
        view
        returns (bool ok)
    {
        uint256[3] memory m = [x, y, s];
        _gasFor(EC_MUL_GAS + EC_ADD_GAS);
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x07, m, 0x60, add(acc, 0x40), 0x40)
            if ok { ok := staticcall(gas(), 0x06, acc, 0x80, acc, 0x40) }
        }
    }
}
