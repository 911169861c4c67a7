// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity 0.8.37;

/// @title IBlockVerifier
/// @notice A Groth16 verifier of the ProvenBook block circuit (v1: one market, six public inputs).
interface IBlockVerifier {
    /// @notice True iff `proof` (256 bytes: A, B, C in the EVM precompiles' encoding) proves the
    /// block circuit for `publicInputs` = (preStateRoot, postStateRoot, commandCommitment, meta,
    /// settle, cumPriceTime).
    function verifyProof(bytes calldata proof, uint256[6] calldata publicInputs)
        external
        view
        returns (bool);

    /// @notice True iff every one of K proofs verifies: `proofs` is K proofs of 256 bytes one
    /// after the other, `publicInputs` their 6K public inputs, proof i's six at 6i. One
    /// pairing check of K + 3 pairs covers them all (Groth16Verifier._verifyMany says how).
    function verifyProofs(bytes calldata proofs, uint256[] calldata publicInputs)
        external
        view
        returns (bool);
}
