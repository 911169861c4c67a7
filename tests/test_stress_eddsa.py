"""Native EdDSA-Poseidon verification and point decompression (``proofs._poseidon``) against
the pure-Python reference.

``proofs.eddsa.verify_poseidon`` and ``proofs.babyjub.unpack_point`` take the native path when
the extension provides it; the claim is that each returns the same result, or raises the same
error with the same message, as the pure-Python path on every input. Each iteration draws a
key and a message, signs, and compares both verification paths on the valid signature and on
tampered variants (message, S, R8, key), including keys and nonces outside the prime-order
subgroup, small-order and off-curve keys, and values outside the field; then both decoding
paths on encodings of random points of any order, of ``y`` values with no point, of
``y >= p``, of the small-order points, each with both sign bits. It runs with fixed seeds
under pytest, and by hand with more iterations or another seed (the seed is printed on
failure)::

    python -m tests.test_stress_eddsa ITERATIONS SEED
"""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest

from proofs import babyjub as bj
from proofs import eddsa
from proofs.eddsa import Signature

cposeidon = pytest.importorskip("proofs._poseidon")

ROOT = Path(__file__).resolve().parent.parent
P = bj.FIELD_MODULUS
L = bj.SUBGROUP_ORDER
TORSION = bj.mul(bj.GENERATOR, L)  # order 8: k * TORSION for k = 0..7 are the small points
Outcome = tuple[str, object, str]


def _outcome(call: Callable[[], object]) -> Outcome:
    """``("ok", result, "")`` or ``("raise", exception type, message)``."""
    try:
        return ("ok", call(), "")
    except Exception as exc:  # any exception must match between the paths
        return ("raise", type(exc), str(exc))


def both_paths(msg: int, sig: Signature, pub: object) -> tuple[Outcome, Outcome]:
    """The outcome of ``verify_poseidon`` on the native path and on the Python path."""
    native_fn = eddsa._native_verify
    assert native_fn is not None
    native = _outcome(lambda: eddsa.verify_poseidon(msg, sig, pub))  # type: ignore[arg-type]
    eddsa._native_verify = None
    try:
        python = _outcome(lambda: eddsa.verify_poseidon(msg, sig, pub))  # type: ignore[arg-type]
    finally:
        eddsa._native_verify = native_fn
    return native, python


def _forged(r8: object, s: int) -> Signature:
    """A Signature whose fields skip ``__post_init__`` (as a caller bypassing it could)."""
    sig = Signature(bj.BASE8, 0)
    object.__setattr__(sig, "R8", r8)
    object.__setattr__(sig, "S", s)
    return sig


def _random_point(rng: random.Random) -> bj.Point:
    """A random curve point of any order (a multiple of the order-8l generator)."""
    return bj.mul(bj.GENERATOR, rng.randrange(8 * L))


def _off_curve(rng: random.Random) -> bj.Point:
    while True:
        pt = (rng.randrange(P), rng.randrange(P))
        if not bj.is_on_curve(pt):
            return pt


def variants(rng: random.Random) -> Iterator[tuple[str, int, Signature, object]]:
    """``(label, msg, signature, public key)``: one valid signature and tampered copies."""
    key = rng.randbytes(32)
    msg = rng.choice([0, 1, P - 1, rng.randrange(P), rng.randrange(1 << 64)])
    pub = eddsa.private_to_public(key)
    sig = eddsa.sign_poseidon(key, msg)
    r8, s = sig.R8, sig.S
    yield "valid", msg, sig, pub
    yield "msg+1", (msg + 1) % P, sig, pub
    yield "msg random", rng.randrange(P), sig, pub
    for s2 in ((s + 1) % L, (s - 1) % L, 0, L - 1, rng.randrange(L)):
        yield f"S={s2}", msg, Signature(r8, s2), pub
    for label, r2 in (
        ("R8+B8", bj.add(r8, bj.BASE8)),
        ("R8+torsion", bj.add(r8, bj.mul(TORSION, rng.randrange(1, 8)))),
        ("-R8", bj.negate(r8)),
        ("R8 random subgroup", bj.mul_base8(rng.randrange(L))),
        ("R8 random any order", _random_point(rng)),
        ("R8 identity", bj.IDENTITY),
        ("R8 (0, -1)", (0, P - 1)),
    ):
        yield label, msg, Signature(r2, s), pub
    other = eddsa.private_to_public(rng.randbytes(32))
    yield "other key", msg, sig, other
    yield "key+torsion", msg, sig, bj.add(pub, bj.mul(TORSION, rng.randrange(1, 8)))
    yield "-key", msg, sig, bj.negate(pub)
    yield "key random any order", msg, sig, _random_point(rng)
    yield "key small order", msg, sig, bj.mul(TORSION, rng.randrange(8))
    yield "key off curve", msg, sig, _off_curve(rng)
    yield "key x >= p", msg, sig, (pub[0] + P, pub[1])
    yield "key y = p", msg, sig, (pub[0], P)
    yield "key negative", msg, sig, (-pub[0], pub[1])
    yield "key list", msg, sig, list(pub)
    yield "key bool", msg, sig, (True, 1)
    # Fields that bypassed Signature's own checks (only reachable with object.__setattr__).
    yield "forged R8 off curve", msg, _forged(_off_curve(rng), s), pub
    yield "forged R8 x >= p", msg, _forged((r8[0] + P, r8[1]), s), pub
    yield "forged S + l", msg, _forged(r8, s + L), pub
    yield "forged S + 2^256", msg, _forged(r8, s + (1 << 256)), pub


# The one tampered variant that still verifies, on both paths and in the circuit's equation:
# S + l gives the same S * Base8 (Signature itself refuses S >= l, as the circuit does). A key
# plus torsion has the same 8A but changes h, which hashes the key itself.
STILL_VALID = {"valid", "forged S + l"}


def stress(iterations: int, seed: int) -> Counter[str]:
    """Compare both paths on ``iterations`` keys; return how often each variant verified."""
    rng = random.Random(seed)
    valid: Counter[str] = Counter()
    for i in range(iterations):
        for label, msg, sig, pub in variants(rng):
            native, python = both_paths(msg, sig, pub)
            assert native == python, (
                f"seed {seed} iteration {i} {label}: native {native} != python {python}"
            )
            if native == ("ok", True, ""):
                valid[label] += 1
    return valid


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_native_agrees_with_python(seed: int) -> None:
    iterations = 4
    valid = stress(iterations, seed)
    assert valid == Counter({label: iterations for label in STILL_VALID}), f"seed {seed}"


def test_native_raises_like_python() -> None:
    """The error paths of the native verifier map to the Python path's exceptions."""
    rng = random.Random(9)
    key = rng.randbytes(32)
    pub, sig = eddsa.private_to_public(key), eddsa.sign_poseidon(key, 5)
    cases: list[tuple[object, Signature, type[Exception], str]] = [
        ((1, 2), sig, eddsa.InvalidPublicKeyError, "not on"),
        (bj.IDENTITY, sig, eddsa.InvalidPublicKeyError, "small order"),
        (TORSION, sig, eddsa.InvalidPublicKeyError, "small order"),
        (pub, _forged((1, 2), sig.S), bj.InvalidPointError, "not on"),
    ]
    for key_, sig_, exc_type, match in cases:
        native, python = both_paths(5, sig_, key_)
        assert native == python
        assert native[0] == "raise" and native[1] is exc_type and match in native[2]


def test_compiled_entry_point() -> None:
    """``eddsa_poseidon_verify`` directly: both field products, codes, argument checks."""
    rng = random.Random(4)
    for _ in range(3):
        key, msg = rng.randbytes(32), rng.randrange(P)
        (ax, ay), sig = eddsa.private_to_public(key), eddsa.sign_poseidon(key, msg)
        args = [ax, ay, sig.R8[0], sig.R8[1], sig.S, msg]
        for portable in (False, True):
            verify = cposeidon.eddsa_poseidon_verify
            assert verify(*args, portable=portable) == 1
            assert verify(ax, ay, sig.R8[0], sig.R8[1], sig.S, (msg + 1) % P, portable) == 0
            assert verify(1, 2, *args[2:], portable=portable) == -1
            assert verify(*TORSION, *args[2:], portable=portable) == -2
            assert verify(ax, ay, 1, 2, sig.S, msg, portable) == -3
            # S is used unreduced: S + l (< p) gives the same verdict as S.
            assert verify(ax, ay, sig.R8[0], sig.R8[1], sig.S + L, msg, portable) == 1
    with pytest.raises(ValueError):
        cposeidon.eddsa_poseidon_verify(P, 0, 0, 1, 0, 0)
    with pytest.raises(ValueError):
        cposeidon.eddsa_poseidon_verify(0, 1, 0, 1, -1, 0)
    with pytest.raises(TypeError):
        cposeidon.eddsa_poseidon_verify(0, 1, 0, 1, 0, "0")


# --- point decompression -------------------------------------------------------------------


def both_unpack(data: object) -> tuple[Outcome, Outcome]:
    """The outcome of ``babyjub.unpack_point`` on the native path and on the Python path."""
    native_fn = bj._native_unpack
    assert native_fn is not None
    native = _outcome(lambda: bj.unpack_point(data))  # type: ignore[arg-type]
    bj._native_unpack = None
    try:
        python = _outcome(lambda: bj.unpack_point(data))  # type: ignore[arg-type]
    finally:
        bj._native_unpack = native_fn
    return native, python


def _with_sign(data: bytes, negative: bool) -> bytes:
    return data[:31] + bytes([(data[31] & 0x7F) | (0x80 if negative else 0)])


def _y_encoding(y: int, negative: bool) -> bytes:
    return _with_sign(y.to_bytes(32, "little"), negative)


def _no_point_y(rng: random.Random) -> int:
    """A random y < p for which no point exists ((1 - y^2) / (A - D y^2) is a non-residue)."""
    while True:
        y = rng.randrange(P)
        n = (1 - y * y) * pow(bj.A - bj.D * y * y, -1, P) % P
        if n and pow(n, (P - 1) // 2, P) != 1:
            return y


# The identity, (0, -1) and the other small-order points: k * TORSION for k = 0..7.
SMALL_ORDER = [bj.mul(TORSION, k) for k in range(8)]


def encodings(rng: random.Random) -> Iterator[tuple[str, bytes]]:
    """``(label, 32 bytes)``: valid encodings and refused ones, each with both sign bits."""
    points = [
        ("random any order", _random_point(rng)),
        ("random subgroup", bj.mul_base8(rng.randrange(L))),
        ("random small order", rng.choice(SMALL_ORDER)),
    ]
    for label, pt in points:
        packed = bj.pack_point(pt)
        yield label, packed
        yield f"{label}, sign flipped", _with_sign(packed, not packed[31] & 0x80)
    ys = [
        ("random y", rng.randrange(P)),
        ("y with no point", _no_point_y(rng)),
        ("y >= p", rng.randrange(P, 1 << 255)),
        ("y = p", P),
        ("y = p + 1", P + 1),
        ("y = 2^255 - 1", (1 << 255) - 1),
        ("y = 0", 0),
        ("y = 1", 1),
        ("y = p - 1", P - 1),
        ("random low y", rng.randrange(1 << 64)),
    ]
    for label, y in ys:
        for negative in (False, True):
            yield f"{label}, sign {int(negative)}", _y_encoding(y, negative)
    yield "random bytes", rng.randbytes(32)


def stress_unpack(iterations: int, seed: int) -> Counter[str]:
    """Compare both decoding paths on ``iterations`` rounds of :func:`encodings`; return how
    often each outcome occurred (``"ok"`` or the error message)."""
    rng = random.Random(seed)
    seen: Counter[str] = Counter()
    for i in range(iterations):
        for label, data in encodings(rng):
            native, python = both_unpack(data)
            assert native == python, (
                f"seed {seed} iteration {i} {label} {data.hex()}: "
                f"native {native} != python {python}"
            )
            seen["ok" if native[0] == "ok" else native[2]] += 1
    return seen


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_native_unpack_agrees_with_python(seed: int) -> None:
    seen = stress_unpack(20, seed)
    # Every refusal is exercised, and so is success.
    assert set(seen) == {"ok", *bj._UNPACK_ERRORS.values()}, f"seed {seed}: {seen}"


def test_unpack_small_order_and_edges() -> None:
    """Each small-order point with both sign bits, and the edge y values, on both paths."""
    for pt in SMALL_ORDER:
        for negative in (False, True):
            data = _with_sign(bj.pack_point(pt), negative)
            native, python = both_unpack(data)
            assert native == python, (pt, negative)
            if pt[0] == 0 and negative:
                assert native[0] == "raise" and "non-canonical" in native[2]
            else:
                assert native[0] == "ok" and native[1] in (pt, bj.negate(pt))
    for data in (b"", bytes(31), bytes(33), bytearray(32), memoryview(bytes(32)), "0" * 32):
        native, python = both_unpack(data)
        assert native == python, data


def test_unpack_every_sqrt_depth() -> None:
    """Points whose x^2 makes Tonelli-Shanks start from t of every order 2^j, j = 0..27 (the
    loop runs j deep), decode alike on both paths: x = c^k * h^(2^28) with c = 5^q gives
    t = (x^2)^q = c^(2kq), of order 2^(27 - v2(k)); random points rarely reach small j."""
    rng = random.Random(11)
    depths = 0
    for j in range(28):
        k = 0 if j == 0 else 1 << (27 - j)
        while True:
            x = pow(bj._TS_C, k, P) * pow(rng.randrange(1, P), 1 << bj._TS_S, P) % P
            y2 = (1 - bj.A * x * x) * pow(1 - bj.D * x * x, -1, P) % P
            y = bj._sqrt(y2)
            if y is not None:
                break
        t = pow(x * x % P, bj._TS_Q, P)
        assert t == 1 if j == 0 else pow(t, 1 << (j - 1), P) == P - 1
        for pt in ((x, y), (P - x, P - y)):
            native, python = both_unpack(bj.pack_point(pt))
            assert native == python == ("ok", pt, ""), (j, pt)
        depths += 1
    assert depths == 28


def test_compiled_unpack_entry_point() -> None:
    """``babyjub_unpack_point`` directly: both field products agree, codes, argument checks."""
    rng = random.Random(6)
    codes = {"packed y is not below the field modulus": -1, "no point has this y": -2}
    codes["non-canonical encoding: sign bit set with x = 0"] = -3
    assert {v: k for k, v in codes.items()} == bj._UNPACK_ERRORS
    for _ in range(5):
        for _, data in encodings(rng):
            fast = cposeidon.babyjub_unpack_point(data)
            assert cposeidon.babyjub_unpack_point(data, portable=True) == fast
            try:
                want: object = bj._unpack_point_python(data)
            except bj.InvalidPointError as exc:
                want = codes[str(exc)]
            assert fast == want, data.hex()
    with pytest.raises(ValueError, match="32 bytes"):
        cposeidon.babyjub_unpack_point(bytes(31))
    with pytest.raises(TypeError):
        cposeidon.babyjub_unpack_point(bytearray(32))


def test_signature_from_bytes_both_paths() -> None:
    """``Signature.from_bytes`` decodes to the same signature, or fails the same way."""
    rng = random.Random(8)
    for _ in range(4):
        key = rng.randbytes(32)
        raw = eddsa.sign_poseidon(key, rng.randrange(P)).to_bytes()
        for label, r8 in encodings(rng):
            data = r8 + raw[32:]
            native_fn = bj._native_unpack
            native = _outcome(partial(Signature.from_bytes, data))
            bj._native_unpack = None
            try:
                python = _outcome(partial(Signature.from_bytes, data))
            finally:
                bj._native_unpack = native_fn
            assert native == python, label


def test_python_path_without_extension() -> None:
    """``proofs.eddsa`` imports and verifies on the Python path when the extension is absent."""
    code = (
        "import sys; sys.modules['proofs._poseidon'] = None\n"
        "from proofs import eddsa\n"
        "assert eddsa.VERIFY_BACKEND == 'python' and eddsa._native_verify is None\n"
        "from proofs import babyjub\n"
        "assert babyjub.UNPACK_BACKEND == 'python' and babyjub._native_unpack is None\n"
        "assert eddsa.Signature.from_bytes(eddsa.sign_poseidon(bytes(32), 1).to_bytes())\n"
        "key = bytes(range(32)); sig = eddsa.sign_poseidon(key, 7)\n"
        "pub = eddsa.private_to_public(key)\n"
        "print(eddsa.verify_poseidon(7, sig, pub), eddsa.verify_poseidon(8, sig, pub))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    assert out == ["True", "False"]
    assert eddsa.VERIFY_BACKEND == "native" and bj.UNPACK_BACKEND == "native"


if __name__ == "__main__":
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    valid = stress(iterations, seed)
    print(f"ok: {iterations} keys, seed {seed}, paths agree; verified: {dict(valid)}")
    seen = stress_unpack(iterations, seed)
    print(f"ok: {iterations} rounds of encodings, seed {seed}, decoders agree: {dict(seen)}")
