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
    /// @notice A proof is not 256 bytes (several proofs: not a positive multiple of 256).
    error BadProofLength(uint256 length);
    /// @notice The number of public inputs is not what the key and the proofs call for.
    error BadInputCount(uint256 expected, uint256 provided);
    /// @notice A verifying key coordinate is not a base field element.
    error KeyOutOfField();
    /// @notice Too little gas left for a precompile call to run to completion.
    error InsufficientGas(uint256 left, uint256 needed);
    /// @notice The data contract of a key's IC points could not be created.
    error KeyStoreFailed();

    /// @dev Gas the precompiles charge (EIP-1108): ecAdd, ecMul, and a 4-pair pairing check.
    uint256 internal constant EC_ADD_GAS = 150;
    uint256 internal constant EC_MUL_GAS = 6_000;
    uint256 internal constant PAIRING_GAS = 45_000 + 4 * 34_000;
    /// @dev What each further pair of a pairing check costs (EIP-1108).
    uint256 internal constant PAIR_GAS = 34_000;

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

    /// @dev Deploys a data contract whose code is a STOP byte, then `ic` (each checked to be a
    /// base field element), for a key whose IC points do not fit immutables: EXTCODECOPY reads
    /// them back for 2,600 gas (cold account) and 3 gas a word, where storage would cost 2,100
    /// gas a cold word.
    function _storeIc(uint256[] memory ic) internal returns (address store) {
        for (uint256 i = 0; i < ic.length; i++) if (ic[i] >= Q) revert KeyOutOfField();
        bytes memory runtime = abi.encodePacked(hex"00", ic);
        // init code: copy the runtime that follows these 12 bytes to memory and return it
        bytes memory init = abi.encodePacked(
            hex"61", uint16(runtime.length), hex"80600c6000396000f3", runtime
        );
        assembly ("memory-safe") {
            store := create(0, add(init, 0x20), mload(init))
        }
        if (store == address(0)) revert KeyStoreFailed();
    }

    /// @dev The `words` IC words stored by `_storeIc` at `store`.
    function _loadIc(address store, uint256 words) internal view returns (uint256[] memory ic) {
        ic = new uint256[](words);
        assembly ("memory-safe") {
            extcodecopy(store, add(ic, 0x20), 1, mul(words, 0x20))
        }
    }

    /// @dev One proof against `x`, whose count the caller has checked against `ic` (IC[0 ..
    /// n] as x0, y0, x1, ...). Reverts on a malformed proof length or an input outside the
    /// scalar field; false when the proof does not verify.
    function _verifyOne(bytes calldata proof, uint256[] calldata x, uint256[] memory ic)
        internal
        view
        returns (bool)
    {
        (uint256[8] memory w, bool ok) = _decodeProof(proof);
        for (uint256 i = 0; i < x.length; i++) {
            if (x[i] >= R) revert InputOutOfField(i, x[i]);
        }
        if (!ok) return false;
        // vk_x = IC0 + sum(input[i] * IC[i + 1])
        uint256[4] memory acc = [ic[0], ic[1], uint256(0), uint256(0)];
        for (uint256 i = 0; i < x.length; i++) {
            if (!_mulAdd(acc, ic[2 * i + 2], ic[2 * i + 3], x[i])) return false;
        }
        return _pairing(w, acc[0], acc[1]);
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
        uint256 ptr;
        assembly ("memory-safe") {
            ptr := p
        }
        return _pairingCheck(ptr, 4);
    }

    /// @dev The pairing precompile (0x08) over `pairs` pairs laid out from memory `ptr` (six
    /// words each: G1 x, y, then G2 as the precompile takes it); true iff their product is 1.
    function _pairingCheck(uint256 ptr, uint256 pairs) private view returns (bool) {
        uint256[1] memory out;
        bool ok;
        _gasFor(PAIRING_GAS + (pairs - 4) * PAIR_GAS);
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x08, ptr, mul(pairs, 0xc0), out, 0x20)
        }
        return ok && out[0] == 1;
    }

    /// @dev Verifies K proofs of one key at once: `proofs` is K proofs of 256 bytes, `inputs`
    /// their public inputs one proof after the other, `ic` the key's IC points (x0, y0, x1,
    /// ...). Reverts on malformed lengths or an input outside the scalar field, returns false
    /// when any proof does not verify.
    /// Each proof's check e(-A, B) e(alpha, beta) e(vk_x, gamma) e(C, delta) = 1 is raised to
    /// a random r_i and the K checks multiplied: K + 3 pairs instead of 4K, and the public
    /// inputs' points multiplied once for all proofs (sum r_i * vk_x_i = (sum r_i) IC0 +
    /// sum_j (sum_i r_i x_ij) IC_j). The r_i come from a hash of every proof and input, so they
    /// are fixed only after the proofs are: a false proof passes only if its error cancels
    /// against the others for these r_i, which happens with probability about 2^-127 per
    /// attempt (r_i are odd 128-bit numbers, never 0, so no proof drops out of the product).
    function _verifyMany(bytes calldata proofs, uint256[] calldata inputs, uint256[] memory ic)
        internal
        view
        returns (bool)
    {
        if (proofs.length == 0 || proofs.length % 256 != 0) revert BadProofLength(proofs.length);
        uint256 k = proofs.length / 256;
        uint256 n = ic.length / 2 - 1; // public inputs per proof
        if (inputs.length != n * k) revert BadInputCount(n * k, inputs.length);
        for (uint256 i = 0; i < inputs.length; i++) {
            if (inputs[i] >= R) revert InputOutOfField(i, inputs[i]);
        }
        bytes32 seed = keccak256(abi.encodePacked(inputs, proofs));
        // pairs: (-r_i A_i, B_i) for each proof, then (s0 alpha, beta), (vk, gamma), (C, delta)
        uint256[] memory p = new uint256[](6 * (k + 3));
        uint256[4] memory c; // sum r_i C_i (acc in [0..1], ecMul scratch in [2..3])
        uint256[] memory s = new uint256[](n + 1); // s[0] = sum r_i, s[j] = sum r_i x_i(j-1)
        for (uint256 i = 0; i < k; i++) {
            uint256 r = (uint256(keccak256(abi.encode(seed, i))) >> 128) | 1;
            if (!_foldProof(proofs[256 * i:256 * (i + 1)], r, p, 6 * i, c)) return false;
            _foldInputs(s, inputs[n * i:n * (i + 1)], r);
        }
        return _closeMany(p, k, c, s, ic);
    }

    /// @dev Proof `proof` raised to `r`: writes the pair (-rA, B) at p[o..o+5] and adds rC to
    /// `c`; false if a coordinate is not canonical or a point is not on the curve.
    function _foldProof(
        bytes calldata proof,
        uint256 r,
        uint256[] memory p,
        uint256 o,
        uint256[4] memory c
    ) private view returns (bool) {
        uint256[8] memory w = abi.decode(proof, (uint256[8]));
        for (uint256 j = 0; j < 8; j++) if (w[j] >= Q) return false;
        uint256[4] memory a;
        if (!_mulAdd(a, w[0], w[1], r) || !_mulAdd(c, w[6], w[7], r)) return false;
        (p[o], p[o + 1]) = (a[0], a[1] == 0 ? 0 : Q - a[1]);
        (p[o + 2], p[o + 3], p[o + 4], p[o + 5]) = (w[2], w[3], w[4], w[5]);
        return true;
    }

    /// @dev s[0] += r and s[j + 1] += r * x[j] (mod R): the public inputs' share of a proof.
    function _foldInputs(uint256[] memory s, uint256[] calldata x, uint256 r) private pure {
        s[0] = addmod(s[0], r, R);
        for (uint256 j = 0; j < x.length; j++) s[j + 1] = addmod(s[j + 1], mulmod(r, x[j], R), R);
    }

    /// @dev p[o..o+5] = the pair (g1[0..1], G2 point (x1, x0, y1, y0)).
    function _setPair(
        uint256[] memory p,
        uint256 o,
        uint256[4] memory g1,
        uint256 x1,
        uint256 x0,
        uint256 y1,
        uint256 y0
    ) private pure {
        (p[o], p[o + 1], p[o + 2]) = (g1[0], g1[1], x1);
        (p[o + 3], p[o + 4], p[o + 5]) = (x0, y1, y0);
    }

    /// @dev The three key pairs after the K proof pairs, then the pairing check of all K + 3.
    function _closeMany(
        uint256[] memory p,
        uint256 k,
        uint256[4] memory c,
        uint256[] memory s,
        uint256[] memory ic
    ) private view returns (bool) {
        uint256[4] memory al;
        uint256[4] memory vk;
        if (!_mulAdd(al, ALPHA_X, ALPHA_Y, s[0])) return false;
        for (uint256 j = 0; j < s.length; j++) {
            if (!_mulAdd(vk, ic[2 * j], ic[2 * j + 1], s[j])) return false;
        }
        _setPair(p, 6 * k, al, BETA_X1, BETA_X0, BETA_Y1, BETA_Y0);
        _setPair(p, 6 * k + 6, vk, GAMMA_X1, GAMMA_X0, GAMMA_Y1, GAMMA_Y0);
        _setPair(p, 6 * k + 12, c, DELTA_X1, DELTA_X0, DELTA_Y1, DELTA_Y0);
        uint256 ptr;
        assembly ("memory-safe") {
            ptr := add(p, 0x20)
        }
        return _pairingCheck(ptr, k + 3);
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
