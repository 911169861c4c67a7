"""proofs.babyjub and proofs.eddsa against circomlibjs 0.1.7 (keys, signatures, encodings,
BLAKE-512) and the BLAKE specification's vectors.

Every test runs twice: with ``verify_poseidon`` and ``babyjub.unpack_point`` on the native
code (``proofs._poseidon``) and on the pure-Python paths (the ``verify_path`` fixture);
``tests/test_stress_eddsa.py`` compares the two on random and tampered signatures and on
random encodings.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proofs import babyjub as bj
from proofs import eddsa
from proofs.eddsa import Signature, sign_poseidon, verify_poseidon
from tests.node_helpers import run_node

P = bj.FIELD_MODULUS
L = bj.SUBGROUP_ORDER


@pytest.fixture(scope="module", params=["native", "python"], autouse=True)
def verify_path(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the module once per path of ``verify_poseidon`` and ``unpack_point`` (native
    verifier and decoder, or pure Python; module scope: hypothesis tests too)."""
    saved, saved_unpack = eddsa._native_verify, bj._native_unpack
    if request.param == "native":
        if saved is None or saved_unpack is None:
            pytest.skip("proofs._poseidon is not built: no native verifier or decoder")
    else:
        eddsa._native_verify = None
        bj._native_unpack = None
    try:
        yield request.param
    finally:
        eddsa._native_verify = saved
        bj._native_unpack = saved_unpack


KEYS = [
    bytes(range(32)),
    bytes(32),
    b"\xff" * 32,
    bytes.fromhex("0001020304050607080900010203040506070809000102030405060708090001"),
    *(hashlib.sha256(b"provenbook eddsa test key %d" % i).digest() for i in range(4)),
]
POSEIDON_1_2 = 7853200120776062878684798364095072458815029376092732009249414926327459813530
MESSAGES = [0, 1, 1234, P - 1, 2**200 + 3, POSEIDON_1_2]
BLAKE_LENGTHS = [0, 1, 31, 32, 64, 110, 111, 112, 127, 128, 129, 200, 239, 240, 255, 256, 300]

_NODE_SCRIPT = """
const fs = require("fs");
const { buildEddsa } = require("circomlibjs");
const createBlakeHash = require("blake-hash");
(async () => {
  const req = JSON.parse(fs.readFileSync(0, "utf8"));
  const eddsa = await buildEddsa();
  const bj = eddsa.babyJub;
  const F = bj.F;
  const num = (x) => F.toObject(x).toString();
  const pt = (p) => [F.e(BigInt(p[0])), F.e(BigInt(p[1]))];
  const hex = (b) => Buffer.from(b).toString("hex");
  const out = { keys: [], sigs: [], verify: [], blake: [], unpack: [] };
  for (const k of req.keys) {
    const A = eddsa.prv2pub(Buffer.from(k, "hex"));
    out.keys.push({ pub: [num(A[0]), num(A[1])], packed: hex(bj.packPoint(A)) });
  }
  for (const [k, msg] of req.sign) {
    const sig = eddsa.signPoseidon(Buffer.from(k, "hex"), F.e(BigInt(msg)));
    out.sigs.push({ R8: [num(sig.R8[0]), num(sig.R8[1])], S: sig.S.toString(),
                    packed: hex(eddsa.packSignature(sig)) });
  }
  for (const v of req.verify) {
    const sig = { R8: pt(v.R8), S: BigInt(v.S) };
    out.verify.push(eddsa.verifyPoseidon(F.e(BigInt(v.msg)), sig, pt(v.pub)));
  }
  for (const b of req.blake) {
    out.blake.push(createBlakeHash("blake512").update(Buffer.from(b, "hex")).digest("hex"));
  }
  for (const b of req.unpack) {
    const p = bj.unpackPoint(Buffer.from(b, "hex"));
    out.unpack.push(p ? [num(p[0]), num(p[1])] : null);
  }
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
})();
"""


def _blake_inputs() -> list[bytes]:
    return [bytes((i * 7 + n) % 256 for i in range(n)) for n in BLAKE_LENGTHS]


def _ours_to_verify() -> list[dict[str, Any]]:
    """Signatures made by our signer, for circomlibjs to verify (and tampered copies)."""
    out: list[dict[str, Any]] = []
    for key, msg in zip(KEYS, MESSAGES, strict=False):
        sig, pub = sign_poseidon(key, msg), eddsa.private_to_public(key)
        good = {"msg": str(msg), "R8": [str(v) for v in sig.R8], "S": str(sig.S)}
        good["pub"] = [str(v) for v in pub]
        out.append(good)
        out.append({**good, "msg": str((msg + 1) % P)})
    return out


def _unpack_inputs() -> list[bytes]:
    pts = [bj.BASE8, bj.GENERATOR, bj.IDENTITY, (0, P - 1), bj.negate(bj.BASE8)]
    pts += [bj.mul_base8(k) for k in (2, 3, 12345, L - 1)]
    encodings = [bj.pack_point(p) for p in pts]
    encodings.append(bytes(range(32)))  # y probably has no x: both must say so
    return encodings


@cache
def circomlibjs() -> dict[str, Any]:
    request = {
        "keys": [k.hex() for k in KEYS],
        "sign": [[k.hex(), str(m)] for k in KEYS for m in MESSAGES],
        "verify": _ours_to_verify(),
        "blake": [b.hex() for b in _blake_inputs()],
        "unpack": [b.hex() for b in _unpack_inputs()],
    }
    result: dict[str, Any] = run_node(_NODE_SCRIPT, request)
    return result


# --- BLAKE-512 ----------------------------------------------------------------------------


def test_blake512_specification_vectors() -> None:
    # BLAKE submission, appendix: the 8-bit message 0x00 and the 1152-bit all-zero message.
    assert eddsa.blake512(b"\x00").hex() == (
        "97961587f6d970faba6d2478045de6d1fabd09b61ae50932054d52bc29d31be4"
        "ff9102b9f69e2bbdb83be13d4b9c06091e5fa0b48bd081b634058be0ec49beb3"
    )
    assert eddsa.blake512(bytes(144)).hex() == (
        "313717d608e9cf758dcb1eb0f0c3cf9fc150b2d500fb33f51c52afc99d358a2f"
        "1374b8a38bba7974e7f6ef79cab16f22ce1e649d6e01ad9589c213045d545dde"
    )


def test_blake512_matches_blake_hash_npm() -> None:
    ours = [eddsa.blake512(b).hex() for b in _blake_inputs()]
    assert ours == circomlibjs()["blake"]


# --- Baby Jubjub --------------------------------------------------------------------------


def test_curve_constants() -> None:
    assert bj.is_on_curve(bj.GENERATOR) and bj.is_on_curve(bj.BASE8)
    assert bj.mul(bj.GENERATOR, 8) == bj.BASE8
    assert bj.in_subgroup(bj.BASE8) and not bj.in_subgroup(bj.GENERATOR)
    assert bj.mul(bj.GENERATOR, bj.CURVE_ORDER) == bj.IDENTITY
    # Completeness of the addition law needs A square and D non-square.
    assert pow(bj.A, (P - 1) // 2, P) == 1
    assert pow(bj.D, (P - 1) // 2, P) == P - 1


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=4 * L), st.integers(min_value=0, max_value=4 * L))
def test_group_law(a: int, b: int) -> None:
    pa, pb = bj.mul_base8(a), bj.mul_base8(b)
    assert bj.mul(bj.BASE8, a) == pa
    assert bj.add(pa, pb) == bj.mul_base8(a + b)
    assert bj.add(pa, bj.negate(pa)) == bj.IDENTITY
    assert bj.double(pa) == bj.mul_base8(2 * a)
    assert bj.unpack_point(bj.pack_point(pa)) == pa
    # Points outside the subgroup too: G has order 8l.
    g = bj.mul(bj.GENERATOR, a)
    assert bj.unpack_point(bj.pack_point(g)) == g
    assert bj.add(g, bj.mul(bj.GENERATOR, b)) == bj.mul(bj.GENERATOR, a + b)


def test_sqrt_roots_and_non_residues() -> None:
    """``_sqrt`` returns a root of every residue and None for every non-residue (Euler's
    criterion decides which), including residues whose root needs every Tonelli-Shanks step."""
    rng = random.Random(17)
    values = [0, 1, 2, 4, 5, 25, P - 1, *(rng.randrange(P) for _ in range(300))]
    # x^2 * c^k: t = n^q then has every order 2^j, exercising each loop depth.
    values += [pow(rng.randrange(1, P), 2, P) * pow(bj._TS_C, k, P) % P for k in range(57)]
    for n in values:
        root = bj._sqrt(n)
        if n and pow(n, (P - 1) // 2, P) != 1:
            assert root is None, n
        else:
            assert root is not None and root * root % P == n, n


def test_unpack_matches_circomlibjs() -> None:
    expected = circomlibjs()["unpack"]
    for data, want in zip(_unpack_inputs(), expected, strict=True):
        if data in (bj.pack_point(bj.IDENTITY), bj.pack_point((0, P - 1))):
            # Known divergence: circomlibjs rejects the two x = 0 points (its residue test
            # x2^((p-1)/2) == 1 fails for x2 = 0); we decode them.
            assert want is None
            assert bj.unpack_point(data)[0] == 0
        elif want is None:
            with pytest.raises(bj.InvalidPointError):
                bj.unpack_point(data)
        else:
            assert bj.unpack_point(data) == (int(want[0]), int(want[1]))


def test_point_validation_errors() -> None:
    with pytest.raises(bj.InvalidPointError, match="not on"):
        bj.validate_point((1, 1))
    with pytest.raises(bj.InvalidPointError, match="outside"):
        bj.validate_point((P, 1))
    with pytest.raises(bj.InvalidPointError, match="tuple"):
        bj.validate_point([0, 1])  # type: ignore[arg-type]
    assert not bj.is_on_curve((1, 1)) and not bj.is_on_curve("xy")  # type: ignore[arg-type]
    with pytest.raises(bj.InvalidScalarError):
        bj.mul(bj.BASE8, -1)
    with pytest.raises(bj.InvalidScalarError):
        bj.mul_base8(1.5)  # type: ignore[arg-type]
    with pytest.raises(bj.InvalidPointError, match="32 bytes"):
        bj.unpack_point(b"\x00" * 31)
    y_too_big = P.to_bytes(32, "little")
    with pytest.raises(bj.InvalidPointError, match="below"):
        bj.unpack_point(y_too_big)  # circomlibjs lets y == p through; we do not
    non_canonical = bytearray(bj.pack_point(bj.IDENTITY))
    non_canonical[31] |= 0x80
    with pytest.raises(bj.InvalidPointError, match="non-canonical"):
        bj.unpack_point(bytes(non_canonical))
    with pytest.raises(bj.InvalidPointError, match=r"^no point has this y$"):
        bj.unpack_point((2).to_bytes(32, "little"))  # (1 - 4) / (A - 4D) is a non-residue
    with pytest.raises(bj.InvalidPointError, match="32 bytes"):
        bj.unpack_point("ab" * 16)  # type: ignore[arg-type]
    packed = bj.pack_point(bj.BASE8)
    assert bj.unpack_point(bytearray(packed)) == bj.unpack_point(memoryview(packed)) == bj.BASE8


# --- keys and signatures against circomlibjs ----------------------------------------------


def test_public_keys_match_circomlibjs() -> None:
    for key, want in zip(KEYS, circomlibjs()["keys"], strict=True):
        pub = eddsa.private_to_public(key)
        assert pub == (int(want["pub"][0]), int(want["pub"][1]))
        assert eddsa.pack_public_key(pub).hex() == want["packed"]
        assert eddsa.unpack_public_key(bytes.fromhex(want["packed"])) == pub


def test_signatures_match_circomlibjs() -> None:
    pairs = [(k, m) for k in KEYS for m in MESSAGES]
    for (key, msg), want in zip(pairs, circomlibjs()["sigs"], strict=True):
        theirs = Signature((int(want["R8"][0]), int(want["R8"][1])), int(want["S"]))
        ours = sign_poseidon(key, msg)
        assert ours == theirs
        assert ours.to_bytes().hex() == want["packed"]
        assert Signature.from_bytes(bytes.fromhex(want["packed"])) == theirs
        assert verify_poseidon(msg, theirs, eddsa.private_to_public(key))


def test_circomlibjs_verifies_our_signatures() -> None:
    # Pairs: (ours, tampered msg) for each key.
    verdicts = circomlibjs()["verify"]
    assert verdicts == [True, False] * (len(verdicts) // 2)


def test_tampering_is_rejected() -> None:
    key, msg = KEYS[0], 1234
    pub = eddsa.private_to_public(key)
    sig = sign_poseidon(key, msg)
    assert verify_poseidon(msg, sig, pub)
    assert not verify_poseidon(msg + 1, sig, pub)
    assert not verify_poseidon(msg, Signature(bj.add(sig.R8, bj.BASE8), sig.S), pub)
    assert not verify_poseidon(msg, Signature(sig.R8, (sig.S + 1) % L), pub)
    assert not verify_poseidon(msg, sig, eddsa.private_to_public(KEYS[1]))
    # A torsion component on R8 changes the point: rejected (left side is in the subgroup).
    torsioned = bj.add(sig.R8, bj.mul(bj.GENERATOR, L))
    assert not verify_poseidon(msg, Signature(torsioned, sig.S), pub)


def test_malformed_inputs_raise() -> None:
    key, msg = KEYS[0], 5
    pub = eddsa.private_to_public(key)
    sig = sign_poseidon(key, msg)
    with pytest.raises(eddsa.InvalidPrivateKeyError):
        eddsa.private_to_public(b"short")
    with pytest.raises(eddsa.InvalidPrivateKeyError):
        sign_poseidon("00" * 32, msg)  # type: ignore[arg-type]
    with pytest.raises(eddsa.InvalidMessageError):
        sign_poseidon(key, P)
    with pytest.raises(eddsa.InvalidMessageError):
        verify_poseidon(-1, sig, pub)
    with pytest.raises(eddsa.InvalidPublicKeyError, match="not on"):
        verify_poseidon(msg, sig, (1, 2))
    small_order = bj.mul(bj.GENERATOR, L)  # order 8
    with pytest.raises(eddsa.InvalidPublicKeyError, match="small order"):
        verify_poseidon(msg, sig, small_order)
    with pytest.raises(eddsa.InvalidPublicKeyError, match="subgroup"):
        eddsa.unpack_public_key(bj.pack_point(bj.add(pub, small_order)))
    with pytest.raises(eddsa.InvalidPublicKeyError, match="subgroup"):
        eddsa.unpack_public_key(bj.pack_point(bj.IDENTITY))
    with pytest.raises(TypeError):
        verify_poseidon(msg, (sig.R8, sig.S), pub)  # type: ignore[arg-type]
    assert issubclass(eddsa.EdDSAError, ValueError)


def test_signature_encoding_validation() -> None:
    sig = sign_poseidon(KEYS[2], 99)
    data = sig.to_bytes()
    assert len(data) == eddsa.SIGNATURE_SIZE and Signature.from_bytes(data) == sig
    with pytest.raises(eddsa.InvalidSignatureEncodingError, match="64 bytes"):
        Signature.from_bytes(data[:63])
    high_s = data[:32] + L.to_bytes(32, "little")
    with pytest.raises(eddsa.InvalidSignatureEncodingError, match=r"\[0, l\)"):
        Signature.from_bytes(high_s)
    with pytest.raises(eddsa.InvalidSignatureEncodingError, match="R8"):
        Signature.from_bytes(bytes(range(32)) + data[32:])
    with pytest.raises(eddsa.InvalidSignatureEncodingError, match="R8"):
        Signature((1, 1), 0)
    with pytest.raises(eddsa.InvalidSignatureEncodingError, match="int"):
        Signature(sig.R8, True)


@settings(max_examples=15, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.integers(min_value=0, max_value=P - 1))
def test_sign_verify_round_trip(key: bytes, msg: int) -> None:
    pub = eddsa.private_to_public(key)
    sig = sign_poseidon(key, msg)
    assert sign_poseidon(key, msg) == sig  # deterministic
    assert Signature.from_bytes(sig.to_bytes()) == sig
    assert eddsa.unpack_public_key(eddsa.pack_public_key(pub)) == pub
    assert verify_poseidon(msg, sig, pub)
    assert not verify_poseidon((msg + 1) % P, sig, pub)
    s = eddsa.secret_scalar(key)
    assert s % 8 == 0 and 2**254 <= s < 2**255
