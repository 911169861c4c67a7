"""The batch circuit: K consecutive blocks in one proof (``proofs/batch.py``,
``proofs/circuits/batch.circom``), on real blocks of a real venue at the test size, K = 2.

The batch is K unchanged block circuits whose roots are chained, so what it must show beyond
the block circuit's own tests is: the wiring takes every block input (the lists agree), an
honest batch verifies from its headers alone, the proof binds each block and their order, and
blocks that do not follow each other cannot be proved as one batch even when the witness
claims they do.
"""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

from matching import Block
from matching.encoding import decoder
from proofs.batch import (
    BatchCircuit,
    BatchError,
    batch_public_signals,
    chain_public_signals,
    verify_batch,
)
from proofs.circom import UnsatisfiedWitnessError, circuit_stats
from proofs.witness import BlockProverState, public_signals
from venue.blockstore import BlockStore

from .chain_helpers import Batch, Proven

CIRCUITS = Path(__file__).resolve().parent.parent / "proofs" / "circuits"
_block = decoder(Block)


def _body(file: str, template: str) -> str:
    text = (CIRCUITS / file).read_text(encoding="utf-8")
    body = text[text.index(f"template {template}(") :]
    return body[: body.index("\n}\n")]


def _inputs(file: str, template: str) -> list[tuple[str, str]]:
    """``(name, dimensions)`` of a template's ``signal input`` lines, in order."""
    return re.findall(r"^\s*signal input (\w+)((?:\[[^\]]+\])*);", _body(file, template), re.M)


@pytest.mark.parametrize(
    ("block_template", "batch_template", "pub"),
    [("Block", "BlockBatch", "[5 * K + 1]"), ("BlockM", "BlockBatchM", "[W * K + 1]")],
)
def test_the_batch_takes_every_input_of_the_block_circuit(
    block_template: str, batch_template: str, pub: str
) -> None:
    """``BlockBatch`` chains ``Block``s, ``BlockBatchM`` chains ``BlockM``s (several markets;
    its proofs on real two-market blocks: ``tests/test_it_chain_markets.py``)."""
    block = _inputs("block.circom", block_template)
    batch = _inputs("batch.circom", batch_template)
    public = ["preRoot", "postRoot", "cmdCommitment", "meta", "settle", "cumPriceTime"]
    assert [n for n, _ in block[:6]] == public
    assert batch[0] == ("pub", pub)
    assert batch[1:] == [(n, "[K]" + dims) for n, dims in block[6:]]
    # and each is wired into the block, under its own name
    body = _body("batch.circom", batch_template)
    for name, _ in block[6:]:
        assert f"b[k].{name} <== {name}[k];" in body


def test_the_batch_of_several_markets_lays_out_the_public_signals_as_python_does() -> None:
    """Block k's signals are ``pub[Wk] .. pub[Wk + W]``, as ``chain_public_signals`` lays
    them out (at M = 1, W = 5: ``BlockBatch``'s layout)."""
    body = _body("batch.circom", "BlockBatchM")
    assert "var W = 3 + 2 * M;" in body
    for wiring in (
        "b[k].preRoot <== pub[W * k];", "b[k].cmdCommitment <== pub[W * k + 1];",
        "b[k].meta <== pub[W * k + 2];", "b[k].settle[m] <== pub[W * k + 3 + m];",
        "b[k].cumPriceTime[m] <== pub[W * k + 3 + M + m];", "b[k].postRoot <== pub[W * k + W];",
    ):  # fmt: skip
        assert wiring in body
    one, two = [10, 11, 12, 13, 14, 15, 16, 17], [11, 21, 22, 23, 24, 25, 26, 27]
    assert chain_public_signals([one, two]) == [
        10, 12, 13, 14, 15, 16, 17, 11, 22, 23, 24, 25, 26, 27, 21,
    ]  # fmt: skip


def test_a_batch_of_real_blocks_proves_and_verifies_from_its_headers(
    proven_batch: Batch,
) -> None:
    b = proven_batch
    vk = b.circuit.verifying_key
    assert verify_batch(b.headers, b.proof, vk)
    one, two = (public_signals(h) for h in b.headers)
    assert batch_public_signals(b.headers) == [one[0], *one[2:], one[1], *two[2:], two[1]]
    assert one[1] == two[0]  # the shared root
    # the batch is exactly K block circuits: the chain costs no constraint of its own
    stats = b.circuit.compile().stats
    block = circuit_stats(b.circuit.block.write_wrapper(), cache_dir=b.circuit.cache_dir)
    assert stats.constraints == 2 * block.constraints
    assert stats.public_inputs == b.circuit.public_inputs == 11


def test_the_batch_proof_binds_each_block_and_their_order(
    proven_batch: Batch, proven: Proven
) -> None:
    b = proven_batch
    vk = b.circuit.verifying_key
    one, two = b.headers
    three = proven.headers[2]
    m = two.markets[0]
    dearer = msgspec.structs.replace(m, price=m.price + 1)
    refused = {
        "reordered": [two, one],
        "the next blocks": [two, three],
        "one block only": [one],
        "one block more": [one, two, three],
        "a price one tick off": [one, msgspec.structs.replace(two, markets=(dearer,))],
        "another command commitment": [
            msgspec.structs.replace(one, command_commitment=one.command_commitment + 1),
            two,
        ],
        "another shared root": [
            msgspec.structs.replace(one, post_state_root=one.post_state_root + 1),
            msgspec.structs.replace(two, pre_state_root=two.pre_state_root + 1),
        ],
    }
    for what, headers in refused.items():
        assert not verify_batch(headers, b.proof, vk), what
    flipped = bytearray(b.proof)
    flipped[40] ^= 1
    assert not verify_batch(b.headers, bytes(flipped), vk)
    # the single-block verifier's proof of block 1 is not a batch proof, nor the reverse
    assert not verify_batch(b.headers, proven.proofs[0], vk)


def test_blocks_that_do_not_follow_each_other_cannot_be_proved_as_one_batch(
    proven_batch: Batch, proven: Proven
) -> None:
    b = proven_batch
    block = b.circuit.block
    state = BlockProverState(
        block.params.market, order_depth=block.size.order_depth,
        account_depth=block.size.account_depth,
    )  # fmt: skip
    with BlockStore(proven.data / "blocks", first_height=1, read_only=True) as store:
        ws = [state.advance(_block.decode(store.get(h)), block.params) for h in (1, 2, 3)]  # type: ignore[arg-type]
    with pytest.raises(BatchError, match="does not start from"):
        b.circuit.inputs([ws[0], ws[2]])
    with pytest.raises(BatchError, match="does not follow"):
        batch_public_signals([proven.headers[0], proven.headers[2]])
    # A witness that claims the chain anyway: block 3's own inputs under a public root_1 that
    # is block 1's post-state root. Block 3's pre-state hashes to another root, so no proof.
    inputs, public = b.circuit.inputs(ws[:2])
    for name, values in inputs.items():
        if name != "pub":
            values[1] = ws[2].inputs[name]  # type: ignore[index]
    three = ws[2].public_signals
    public = [*public[:6], *three[2:], three[1]]
    inputs["pub"] = public
    with pytest.raises(UnsatisfiedWitnessError):
        b.circuit.compile().prove(inputs, public)


def test_malformed_batches_are_refused_before_proving(proven_batch: Batch) -> None:
    block = proven_batch.circuit.block
    for k in (1, 65, True, 2.0):
        with pytest.raises(ValueError, match="2 to 64 blocks"):
            BatchCircuit(block, k)  # type: ignore[arg-type]
    with pytest.raises(BatchError, match="at least one block"):
        chain_public_signals([])
    with pytest.raises(BatchError, match="4 \\+ 2M public signals, not 3"):
        chain_public_signals([[1, 2, 3]])
    with pytest.raises(BatchError, match="block 1 of the batch has 8 public signals, not 6"):
        chain_public_signals([[0] * 6, [0] * 8])  # one market, then two
    with pytest.raises(BatchError, match="batches of 2 blocks"):
        proven_batch.circuit.inputs(proven_batch.witnesses[:1])
    assert not verify_batch([], proven_batch.proof, proven_batch.circuit.verifying_key)
