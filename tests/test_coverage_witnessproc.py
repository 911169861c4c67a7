"""The live prover's witness state in a process of its own (``venue.witnessproc``)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from matching import Block, MassCancel, Side
from matching.encoding import decoder
from proofs.witness import BlockProverState, UnsupportedInCircuit
from venue.blockstore import BlockStore
from venue.proving import circuit_for
from venue.witnessproc import WitnessProcess, WitnessProcessError

from .test_coverage_proving import ACCOUNTS, TRADES, UNBOUNDED, UNSIGNED, place, venue

_block = decoder(Block)


def _stored(path: Path) -> list[bytes]:
    store = BlockStore(path / "blocks", first_height=1)
    try:
        return [payload for _, payload in store.iter_from(1)]
    finally:
        store.close()


def _start(path: Path, genesis=UNSIGNED) -> tuple[WitnessProcess, BlockProverState, object]:
    size = circuit_for(genesis).size
    depths = {"order_depth": size.order_depth, "account_depth": size.account_depth}
    proc = WitnessProcess(path, genesis.markets[0], depths, circuit_for(genesis).params, 0)
    return proc, BlockProverState(genesis.markets[0], **depths), circuit_for(genesis).params


def test_witnesses_equal_the_ones_built_in_process(tmp_path: Path) -> None:
    venue(tmp_path, ACCOUNTS, TRADES, [place(2, Side.BUY, 100_020, 2)])
    payloads = _stored(tmp_path)
    assert len(payloads) >= 3
    proc, here, params = _start(tmp_path)
    try:
        assert proc.height == 0 and proc.pid != os.getpid()
        for i, payload in enumerate(payloads):
            w = here.advance(_block.decode(payload), params)
            got = proc.advance(payload, want=i != 1)
            if i == 1:
                assert got is None  # a proven block: only its state moves on
            else:
                assert got == (w.inputs, w.public_signals)
    finally:
        proc.close()


def test_a_block_the_circuit_cannot_prove_raises_as_in_process(tmp_path: Path) -> None:
    bids = [place(1, Side.BUY, 99_000 + i, 1) for i in range(10)]
    venue(tmp_path, ACCOUNTS, bids, [MassCancel(0, 0, 1, 1)], genesis=UNBOUNDED)
    payloads = _stored(tmp_path)
    proc, here, params = _start(tmp_path, UNBOUNDED)
    try:
        for payload in payloads[:3]:
            here.advance(_block.decode(payload), params)
            proc.advance(payload)
        with pytest.raises(UnsupportedInCircuit) as in_process:
            here.advance(_block.decode(payloads[3]), params)
        with pytest.raises(UnsupportedInCircuit) as there:
            proc.advance(payloads[3])
        assert str(there.value) == str(in_process.value)
        with pytest.raises(ValueError):  # a block that does not follow: the state refuses it
            proc.advance(payloads[1])
    finally:
        proc.close()


def test_a_dead_witness_process_is_a_typed_error(tmp_path: Path) -> None:
    venue(tmp_path, ACCOUNTS, TRADES)
    payloads = _stored(tmp_path)
    proc, _, _ = _start(tmp_path)
    try:
        assert proc.pid is not None
        os.kill(proc.pid, signal.SIGKILL)
        with pytest.raises(WitnessProcessError, match=r"died|gone"):
            proc.advance(payloads[0])
    finally:
        proc.close()
