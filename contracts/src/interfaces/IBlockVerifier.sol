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
}
