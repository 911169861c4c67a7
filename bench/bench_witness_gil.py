"""What the live prover's witness building costs the gateway: in the venue's process or not.

The live prover builds a witness for every block the venue stores, as the blocks come; under
any sustained load it never stops, because proving is far slower than sequencing. This runs
the gateway benchmark's server (``bench.bench_gateway``: gateway + node, fsync on, separate
client processes) three ways, alternated, while a witness builder goes over the demo
venue's blocks again and again (``proofs.witness.BlockProverState``, test size, signed):

* ``none``: no witness builder (the baseline of the same run);
* ``thread``: the builder on a thread of the server's process, as the live prover did until
  session 14;
* ``process``: the builder in ``venue.witnessproc.WitnessProcess`` (a spawned process at
  background CPU priority), as the live prover does now.

The server's CPU figure counts the server process only, so in ``thread`` mode it includes the
witness building. Run::

    PYTHONPATH=. python -m bench.bench_witness_gil [--rounds 2] [--seconds 5] [--json FILE]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from bench import emit
from bench.bench_gateway import _serve_and_measure
from bench.bench_prover import _blocks
from matching.encoding import encode
from proofs.witness import BlockProverState
from venue.demo import PROVABLE_GENESIS, trade_over_gateway
from venue.gateway import new_event_loop
from venue.proving import circuit_for
from venue.witnessproc import WitnessProcess

__all__ = ["run"]


class _Builder:
    """Builds witnesses over ``payloads`` in a loop until stopped, on a thread of this
    process or through a ``WitnessProcess``."""

    def __init__(self, mode: str, data: Path, payloads: list[bytes]) -> None:
        self.mode, self.data, self.payloads = mode, data, payloads
        circuit = circuit_for(PROVABLE_GENESIS)
        self.params = circuit.params
        self.depths = {"order_depth": circuit.size.order_depth,
                       "account_depth": circuit.size.account_depth}  # fmt: skip
        self.built = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from matching import Block
        from matching.encoding import decoder

        market = PROVABLE_GENESIS.markets[0]
        dec = decoder(Block)
        while not self._stop.is_set():
            if self.mode == "thread":
                state = BlockProverState(market, **self.depths)
                for p in self.payloads:
                    if self._stop.is_set():
                        return
                    state.advance(dec.decode(p), self.params)
                    self.built += 1
            else:
                proc = WitnessProcess(self.data, market, self.depths, self.params, 0)
                try:
                    for p in self.payloads:
                        if self._stop.is_set():
                            return
                        proc.advance(p)
                        self.built += 1
                finally:
                    proc.close()

    def __enter__(self) -> _Builder:
        if self.mode != "none":
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def _gateway_args(seconds: float) -> argparse.Namespace:
    return argparse.Namespace(
        clients=1, seconds=seconds, orders=10**6, window=1, block_commands=64, engine="auto",
        no_offload=False, committer=None, inline_batch=None, committer_shards=1,
        committer_priority="background", max_lag=None, check_outbound=False,
    )  # fmt: skip


def run(rounds: int = 2, seconds: float = 5.0) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="pb-bench-gil-") as tmp:
        data = Path(tmp) / "venue"
        trade_over_gateway(data, traders=6, rounds=6, seed=7)
        payloads = [encode(b) for b in _blocks(data, 10**6)]
        runs: list[dict[str, Any]] = []
        for r in range(rounds):
            for mode in ("none", "thread", "process"):
                with _Builder(mode, data, payloads) as builder:
                    loop = new_event_loop()
                    try:
                        res = loop.run_until_complete(_serve_and_measure(_gateway_args(seconds)))
                    finally:
                        loop.close()
                row = {
                    "round": r + 1, "mode": mode, "witnesses_built": builder.built,
                    "orders_per_s": res["orders_per_s"],
                    "ack_ms": {k: round(v, 2) for k, v in res["ack_ms"].items()},
                    "server_cpu_us_per_order": res["server_cpu_us_per_order"],
                }  # fmt: skip
                print(f"  {row}", file=sys.stderr, flush=True)
                runs.append(row)
    return {"blocks": len(payloads), "clients": 1, "window": 1, "seconds": seconds,
            "runs": runs}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.bench_witness_gil")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--json", type=Path, help="also write the result to this file")
    a = p.parse_args(argv)
    emit(run(a.rounds, a.seconds), a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
