"""The embedded chain's pairing and ecMul precompiles: py-evm's (py-ecc) against
``oracle.pairing``.

Synthetic, one machine, all contenders in one run: treat the ratios as the figure. The input
is what one Groth16 verification hands precompile 0x08: four valid pairs whose product is
one. Contenders:

* ``py-evm``: ``eth.precompiles.ecpairing`` as py-evm ships it (validation and arithmetic in
  py-ecc);
* ``native``: ``oracle.pairing.native_ecpairing`` (point checks in py-ecc, the subgroup
  checks and the pairings in arkworks);
* ``ecMul py-evm`` and ``ecMul native``: one multiplication of a G1 point by a 254-bit scalar,
  what the verifier runs once per public input (its figures against ``ecMul py-evm``).

Each timed call runs on a fresh input object; min and median over ``--reps`` calls.

    python -m bench.bench_pairing [--reps 5] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from eth.precompiles.ecmul import ecmul as pyevm_ecmul
from eth.precompiles.ecpairing import ecpairing as pyevm_ecpairing
from py_ecc import optimized_bn128 as bn128

from oracle import pairing

R = bn128.curve_order
GAS = {"gas_cost_base": 45_000, "gas_cost_per_point": 34_000}


def _g1(k: int) -> bytes:
    x, y = bn128.normalize(bn128.multiply(bn128.G1, k % R))
    return int(x).to_bytes(32, "big") + int(y).to_bytes(32, "big")


def _g2(k: int) -> bytes:
    x, y = bn128.normalize(bn128.multiply(bn128.G2, k % R))
    return b"".join(int(c).to_bytes(32, "big") for c in (x.coeffs[1], x.coeffs[0],
                                                           y.coeffs[1], y.coeffs[0]))  # fmt: skip


def workload(seed: int = 1) -> bytes:
    """Four pairs e(a_i G1, b_i G2) with sum(a_i b_i) = 0: a passing Groth16-shaped check."""
    rng = random.Random(seed)
    ks = [(rng.randrange(1, R), rng.randrange(1, R)) for _ in range(3)]
    last = -sum(a * b for a, b in ks) % R
    return b"".join(_g1(a) + _g2(b) for a, b in [(last, 1), *ks])


class _Computation:
    def __init__(self, data: bytes) -> None:
        self.msg = type("Msg", (), {"data": data, "data_as_bytes": data})()
        self.output = b""

    def consume_gas(self, amount: int, reason: str) -> None:
        pass


def _time(call: Callable[[], Any], reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        call()
        out.append(time.perf_counter() - t)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)
    if not pairing.AVAILABLE:
        print("zksnake is not installed: nothing to compare", file=sys.stderr)
        return 2
    data = workload()

    def pyevm() -> None:
        c = _Computation(data)
        pyevm_ecpairing(**GAS)(c)
        assert c.output[-1] == 1

    def native() -> None:
        c = _Computation(data)
        pairing.native_ecpairing(c, **GAS)
        assert c.output[-1] == 1

    mul_input = data[:64] + (R - 2).to_bytes(32, "big")

    def ecmul(fn: Callable[[Any], Any]) -> Callable[[], None]:
        def run() -> None:
            c = _Computation(mul_input)
            fn(c)
            assert len(c.output) == 64

        return run

    runs = {
        "py-evm": _time(pyevm, args.reps),
        "native": _time(native, args.reps),
        "ecMul py-evm": _time(ecmul(pyevm_ecmul(gas_cost=6_000)), args.reps * 10),
        "ecMul native": _time(ecmul(pairing.native_ecmul), args.reps * 10),
    }
    rows = {}
    for name, t in runs.items():
        base = min(runs["ecMul py-evm" if name.startswith("ecMul") else "py-evm"])
        rows[name] = {
            "min_ms": round(min(t) * 1e3, 3),
            "median_ms": round(statistics.median(t) * 1e3, 3),
            "speedup_vs_pyevm": round(base / min(t), 1),
        }
    print(f"{'contender':<24}{'min ms':>10}{'median ms':>11}{'x py-evm':>10}")
    for name, r in rows.items():
        print(f"{name:<24}{r['min_ms']:>10}{r['median_ms']:>11}{r['speedup_vs_pyevm']:>10}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"pairs": 4, "reps": args.reps, "python": platform.python_version(),
                       "machine": platform.machine(), "rows": rows}, f, indent=1)  # fmt: skip
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
