"""Native EdDSA-Poseidon verification (``proofs._poseidon``) against the pure-Python reference.

``proofs.eddsa.verify_poseidon`` takes the native path when the extension provides it; the
claim is that it returns the same verdict, or raises the same error with the same message, as
the pure-Python path on every input. Each iteration draws a key and a message, signs, and
compares both paths on the valid signature and on tampered variants (message, S, R8, key),
including keys and nonces outside the prime-order subgroup, small-order and off-curve keys,
and values outside the field. It runs with fixed seeds under pytest, and by hand with more
iterations or another seed (the seed is printed on failure)::

    python -m tests.test_stress_eddsa ITERATIONS SEED
"""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
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


def _outcome(call: Callable[[], bool]) -> Outcome:
    """``("ok", verdict, "")`` or ``("raise", exception type, message)``."""
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


def test_python_path_without_extension() -> None:
    """``proofs.eddsa`` imports and verifies on the Python path when the extension is absent."""
    code = (
        "import sys; sys.modules['proofs._poseidon'] = None\n"
        "from proofs import eddsa\n"
        "assert eddsa.VERIFY_BACKEND == 'python' and eddsa._native_verify is None\n"
        "key = bytes(range(32)); sig = eddsa.sign_poseidon(key, 7)\n"
        "pub = eddsa.private_to_public(key)\n"
        "print(eddsa.verify_poseidon(7, sig, pub), eddsa.verify_poseidon(8, sig, pub))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    assert out == ["True", "False"]
    assert eddsa.VERIFY_BACKEND == "native"


if __name__ == "__main__":
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    valid = stress(iterations, seed)
    print(f"ok: {iterations} keys, seed {seed}, paths agree; verified: {dict(valid)}")
