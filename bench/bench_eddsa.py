"""EdDSA-Poseidon verification and signature decoding benchmark: pure Python against native.

Synthetic and written by the verifier's author: one seeded set of keys and messages, one
machine. Treat the figures as a rough guide and run it on your own hardware. Each contender
runs in its own subprocess (``--one NAME``), after ``gc.collect()``, with 1 warm-up pass and
``--reps`` timed passes over the same ``--keys`` signatures; a pass verifies each once. The
figure is microseconds per signature; min, median, max and mean are over the passes, and
the speed-up is the ratio of minima against ``python-wide`` (verification) or
``decode-python`` (decoding).

What a figure includes: for the verification contenders, ``proofs.eddsa.verify_poseidon`` on
an already decoded signature and key (message check, point checks, Poseidon(5), curve
arithmetic); for the decode contenders, ``Signature.from_bytes`` on the 64 bytes (point
decompression, whose square root dominates, then ``Signature``'s own checks); for
``decode+verify``, both, as the gateway and the node run them per signed order. Everything
else around them in the venue is excluded (parsing, key lookup, the message hash).

    python -m bench.bench_eddsa [--keys 32] [--reps 5] [--json] [--versions]

Contenders:

* ``python-wide``: pure Python with the pure-Python Poseidon(5) of ``proofs.poseidon_wide``
  (the verifier before this work);
* ``python``: pure Python with the compiled ``proofs.poseidon.hash_n`` (what runs when only
  the Poseidon part of the extension is available);
* ``native``: ``verify_poseidon`` on the native verifier (``proofs._poseidon``), the default;
* ``native-portable``: the native verifier called directly with the portable C field product
  instead of the BMI2/ADX one (for CPUs without ADX);
* ``decode-python``: ``Signature.from_bytes`` with the pure-Python point decompression (the
  decoder before native decompression);
* ``decode``: ``Signature.from_bytes`` with the native decompression
  (``proofs._poseidon.babyjub_unpack_point``), the default;
* ``decode+verify``: ``from_bytes`` then ``verify_poseidon``, both native, the default.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["CONTENDERS", "main", "run_one", "workload"]

ROOT = Path(__file__).resolve().parent.parent
CONTENDERS = (
    "python-wide",
    "python",
    "native",
    "native-portable",
    "decode-python",
    "decode",
    "decode+verify",
)
_DECODE = ("decode-python", "decode", "decode+verify")


def workload(keys: int, seed: int = 1) -> list[tuple[int, object, tuple[int, int], bytes]]:
    """``(msg, signature, public key, 64-byte signature)`` for ``keys`` seeded keys."""
    from proofs import eddsa

    rng = random.Random(seed)
    out = []
    for _ in range(keys):
        key = rng.randbytes(32)
        msg = rng.randrange(eddsa.FIELD_MODULUS)
        sig = eddsa.sign_poseidon(key, msg)
        out.append((msg, sig, eddsa.private_to_public(key), sig.to_bytes()))
    return out


def _pass_fn(name: str, work: list) -> Callable[[], None]:
    """One pass of contender ``name`` over ``work`` (set up in this process only)."""
    from proofs import babyjub, eddsa

    if name in ("python-wide", "python"):
        eddsa._native_verify = None
        if name == "python-wide":
            from proofs.poseidon_wide import poseidon

            eddsa.hash_n = poseidon  # type: ignore[assignment]
    if name == "native-portable":
        from proofs._poseidon import eddsa_poseidon_verify

        def run() -> None:
            for msg, sig, pub, _ in work:
                code = eddsa_poseidon_verify(
                    pub[0], pub[1], sig.R8[0], sig.R8[1], sig.S, msg, portable=True
                )
                assert code == 1

        return run
    if name == "decode-python":
        babyjub._native_unpack = None
    if name in ("decode", "decode+verify"):
        assert babyjub._native_unpack is not None, "proofs._poseidon has no native decoder"
        assert eddsa._native_verify is not None, "proofs._poseidon has no native verifier"
    if name in ("decode-python", "decode"):
        from_bytes = eddsa.Signature.from_bytes

        def run() -> None:
            for _, _, _, raw in work:
                from_bytes(raw)

        return run
    if name == "decode+verify":
        from_bytes, verify_ = eddsa.Signature.from_bytes, eddsa.verify_poseidon

        def run() -> None:
            for msg, _, pub, raw in work:
                assert verify_(msg, from_bytes(raw), pub)

        return run
    if name == "native":
        assert eddsa._native_verify is not None, "proofs._poseidon has no native verifier"
    verify = eddsa.verify_poseidon

    def run() -> None:
        for msg, sig, pub, _ in work:
            assert verify(msg, sig, pub)

    return run


def run_one(name: str, keys: int, reps: int) -> dict[str, object]:
    """Time contender ``name`` in this process: µs per signature over ``reps`` passes."""
    work = workload(keys)
    run = _pass_fn(name, work)
    run()  # warm-up (also builds the fixed-base tables)
    per_op = []
    for _ in range(reps):
        gc.collect()
        start = time.perf_counter()
        run()
        per_op.append((time.perf_counter() - start) / len(work) * 1e6)
    return {
        "contender": name,
        "keys": keys,
        "reps": reps,
        "us_min": min(per_op),
        "us_median": statistics.median(per_op),
        "us_max": max(per_op),
        "us_mean": statistics.fmean(per_op),
    }


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "machine": platform.machine()}
    try:
        from proofs import _poseidon

        out["arithmetic"] = _poseidon.ARITHMETIC
    except ImportError:
        out["arithmetic"] = "not built"
    try:
        import Cython

        out["cython"] = Cython.__version__
    except ImportError:
        pass
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=32)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="one JSON object per contender")
    parser.add_argument("--versions", action="store_true")
    parser.add_argument("--one", choices=CONTENDERS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.versions:
        print(json.dumps(versions()))
        return 0
    if args.one:
        print(json.dumps(run_one(args.one, args.keys, args.reps)))
        return 0
    results = []
    for name in CONTENDERS:
        cmd = [sys.executable, "-m", "bench.bench_eddsa", "--one", name]
        cmd += ["--keys", str(args.keys), "--reps", str(args.reps)]
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout))
    if args.json:
        for r in results:
            print(json.dumps(r))
        return 0
    # Ratios of the minima: on a shared machine the minimum is the least disturbed pass.
    base = next(r for r in results if r["contender"] == "python-wide")["us_min"]
    base_decode = next(r for r in results if r["contender"] == "decode-python")["us_min"]
    print(json.dumps(versions()))
    print(f"{'contender':<16} {'min':>9} {'median':>9} {'max':>9} {'mean':>9}  speed-up")
    for r in results:
        if r["contender"] == "decode+verify":
            ratio = ""
        elif r["contender"] in _DECODE:
            ratio = f"{base_decode / r['us_min']:.1f}x"
        else:
            ratio = f"{base / r['us_min']:.1f}x"
        print(
            f"{r['contender']:<16} {r['us_min']:>9.1f} {r['us_median']:>9.1f} "
            f"{r['us_max']:>9.1f} {r['us_mean']:>9.1f}  {ratio}"
        )
    print(f"(us per signature, {args.keys} keys, {args.reps} passes; decode = from_bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
