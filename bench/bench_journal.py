"""Journal throughput and recovery-scan benchmark.

Synthetic, single-threaded, written by the journal's author: treat the figures as a rough
guide and run it on your own hardware. Throughput is what the sequencer sees from
``append`` + ``commit`` (framing, CRC, write, fdatasync); it excludes encoding the payload,
the network, and everything else. Recovery speed is measured with the files in the page
cache (the usual case right after a crash that did not lose power).

    python -m bench.bench_journal [--dir PATH] [--seconds 1.0] [--reps 5] [--json]

All files go to a fresh temporary directory (under ``--dir`` if given, which should be on
the disk you care about) that is deleted afterwards; nothing is written into the repo.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time

from venue.journal import Journal

__all__ = ["bench_append", "bench_recovery", "main"]

PAYLOAD = bytes(range(100))  # 100-byte payload, as in the brief


def bench_append(root: str, fsync: str, batch: int, seconds: float) -> float:
    """Records per second for ``seconds`` of append(batch) + commit() loops."""
    directory = tempfile.mkdtemp(dir=root)
    try:
        with Journal(directory, fsync=fsync) as j:  # type: ignore[arg-type]
            seq = 0
            gc.collect()
            start = time.perf_counter()
            deadline = start + seconds
            while True:
                for _ in range(batch):
                    seq += 1
                    j.append(seq, PAYLOAD)
                j.commit()
                now = time.perf_counter()
                if now >= deadline:
                    return seq / (now - start)
    finally:
        shutil.rmtree(directory)


def bench_recovery(root: str, records: int) -> tuple[float, int, float]:
    """(MB/s, bytes, seconds) of opening a journal of ``records`` 100-byte records."""
    directory = tempfile.mkdtemp(dir=root)
    try:
        with Journal(directory, fsync="none") as j:
            for seq in range(1, records + 1):
                j.append(seq, PAYLOAD)
                if seq % 1024 == 0:
                    j.commit()
            j.commit()
        best = float("inf")
        size = 0
        for _ in range(3):
            gc.collect()
            start = time.perf_counter()
            with Journal(directory, fsync="none") as j:
                elapsed = time.perf_counter() - start
                size = j.recovery.bytes_scanned
                assert j.recovery.records == records
            best = min(best, elapsed)
        return size / best / 1e6, size, best
    finally:
        shutil.rmtree(directory)


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "min": min(values),
        "median": statistics.median(values),
        "max": max(values),
        "mean": statistics.fmean(values),
    }


def main(argv: list[str] | None = None) -> None:
    """Run every case (one warm-up, then ``--reps`` repetitions) and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=None, help="parent directory for the test journals")
    parser.add_argument("--seconds", type=float, default=1.0, help="duration of one repetition")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--recovery-records", type=int, default=200_000)
    parser.add_argument("--json", action="store_true", help="print raw results as JSON")
    args = parser.parse_args(argv)

    root = tempfile.mkdtemp(prefix="bench_journal_", dir=args.dir)
    results: dict[str, object] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "dir": root,
        "payload_bytes": len(PAYLOAD),
        "append_commit": [],
    }
    try:
        cases = [("always", b) for b in (1, 16, 256)] + [("none", b) for b in (1, 16, 256)]
        for fsync, batch in cases:
            bench_append(root, fsync, batch, args.seconds / 4)  # warm-up
            rates = [bench_append(root, fsync, batch, args.seconds) for _ in range(args.reps)]
            row = {"fsync": fsync, "batch": batch, "records_per_s": _summary(rates)}
            results["append_commit"].append(row)  # type: ignore[union-attr]
            s = row["records_per_s"]
            print(
                f"fsync={fsync:<6} batch={batch:<4} records/s  min {s['min']:>10,.0f}  "
                f"median {s['median']:>10,.0f}  max {s['max']:>10,.0f}",
                flush=True,
            )
        mbps, size, secs = bench_recovery(root, args.recovery_records)
        results["recovery"] = {"mb_per_s": mbps, "bytes": size, "seconds": secs}
        print(f"recovery scan: {size / 1e6:.1f} MB in {secs:.3f} s = {mbps:.0f} MB/s (best of 3)")
        print(f"python {results['python']} on {results['platform']}, {results['cpus']} cpus")
        if args.json:
            print(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
