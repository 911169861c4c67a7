// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity 0.8.37;

/// @title IBlockVerifierM
/// @notice A Groth16 verifier of the ProvenBook block circuit of a venue of M >= 2 markets
/// (`BlockM`, proofs/circuits/BLOCK.md, "Several markets per circuit"): 4 + 2M public inputs
/// (preStateRoot, postStateRoot, commandCommitment, meta, settle[0 .. M-1],
/// cumPriceTime[0 .. M-1]), the markets in genesis order.
interface IBlockVerifierM {
    /// @notice M, the venue's number of markets.
    function markets() external view returns (uint256);

    /// @notice True iff `proof` (256 bytes) proves the block circuit for `publicInputs`.
    function verifyProof(bytes calldata proof, uint256[] calldata publicInputs)
        external
        view
        returns (bool);

    /// @notice True iff every one of K proofs verifies: `proofs` is K proofs of 256 bytes one
    /// after the other, `publicInputs` their (4 + 2M)K public inputs in the same order.
    function verifyProofs(bytes calldata proofs, uint256[] calldata publicInputs)
        external
        view
        returns (bool);
}
