"""Several proven blocks in one transaction: ``BlockVerifier.verifyProofs`` and
``StateCommitments.submitBlocks`` with the real single proofs of the shared proven venue, on
anvil or the in-process EVM.

One pairing check covers every proof (random linear combination, Groth16Verifier), so the
properties to hold are: the honest blocks land as the same blocks single submissions record,
for less gas per block; any one bad proof or input among good ones refuses the whole call and
changes nothing; and the live publisher sends together what is queued, stopping at the exact
block the chain refuses.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from oracle.chain import Chain, open_chain
from oracle.client import ContractClient
from oracle.deploy import Deployment, deploy_venue
from oracle.publish import BlockRejected, LivePublisher, Publisher, publish_group
from oracle.reverts import ContractRevert
from proofs.poseidon import FIELD_MODULUS
from proofs.verify import verify_block
from proofs.witness import public_signals

from .chain_helpers import Proven, refused


@pytest.fixture(scope="module")
def chain() -> Iterator[Chain]:
    """anvil when Node is present, else the in-process EVM (``test_it_chain_batch.py``)."""
    with open_chain("auto") as chain:
        yield chain


class _BlockVerifier(ContractClient):
    ARTIFACT = "BlockVerifier"


def _deploy(chain: Chain, p: Proven) -> tuple[Deployment, Publisher]:
    d = deploy_venue(chain, p.vk, start=p.headers[0], decimals=2)
    return d, Publisher(chain, d)


def _inputs(p: Proven, heights: range) -> list[int]:
    return [x for h in heights for x in public_signals(p.headers[h - 1])]


def _refused(pub: Publisher, inputs: list[int], proofs: bytes) -> str:
    """Send ``submitBlocks(inputs, proofs)`` as is; the contract's error name."""
    return refused(pub, pub.contract.functions.submitBlocks(inputs, proofs))


def test_blocks_with_their_own_proofs_land_in_one_transaction_for_less_gas(
    proven: Proven, chain: Chain
) -> None:
    _, pub = _deploy(chain, proven)
    got = pub.publish_blocks(proven.headers, proven.proofs)
    assert (got.first, got.last, pub.latest_height) == (1, 3, 3)
    receipt = chain.w3.eth.get_transaction_receipt(got.tx_hash)
    events = pub.contract.events.BlockProven().process_receipt(receipt)
    assert [e["args"]["height"] for e in events] == [1, 2, 3]

    _, single = _deploy(chain, proven)
    gas = [
        single.publish(h, p).gas_used for h, p in zip(proven.headers, proven.proofs, strict=True)
    ]
    for h in (1, 2, 3):
        assert pub.contract.functions.getBlock(h).call() == (
            single.contract.functions.getBlock(h).call()
        )
    # three proofs, one pairing check of six pairs instead of three of four
    assert got.gas_per_block < min(gas[1:])
    assert [b.height for b in got.blocks()] == [1, 2, 3]
    assert {(b.tx_hash, b.tx_blocks) for b in got.blocks()} == {(got.tx_hash, 3)}


def test_one_bad_proof_or_input_among_good_ones_refuses_them_all(
    proven: Proven, chain: Chain
) -> None:
    _, pub = _deploy(chain, proven)
    x = _inputs(proven, range(1, 4))
    p1, p2, p3 = proven.proofs
    good = p1 + p2 + p3
    # each proof must verify for its own block: swapped, repeated, or one flipped bit
    assert _refused(pub, x, p2 + p1 + p3) == "InvalidProofs"
    assert _refused(pub, x, p1 + p2 + p2) == "InvalidProofs"
    for at in (40, 256 + 100, 512 + 200):  # A of proof 1, B of proof 2, C of proof 3
        flipped = bytearray(good)
        flipped[at] ^= 1
        assert _refused(pub, x, bytes(flipped)) == "InvalidProofs"
    # block 2's price one unit up (its settle is input 4 of its six), block 3's command chain
    for i in (6 + 4, 12 + 2):
        assert _refused(pub, [v + (j == i) for j, v in enumerate(x)], good) == "InvalidProofs"
    # checks before the proofs: counts, chain head, packing, field, proof length
    assert _refused(pub, x[:12], good) == "BadBatchLength"
    assert _refused(pub, [], b"") == "BadBatchLength"
    assert _refused(pub, x[:12], p1 + p2 + b"\0") == "BadProofLength"
    assert _refused(pub, _inputs(proven, range(2, 4)), p2 + p3) == "PreStateRootMismatch"
    assert _refused(pub, [*x[:9], x[9] | 1 << 200, *x[10:]], good) == "MalformedPublicInput"
    assert _refused(pub, [*x[:-5], FIELD_MODULUS, *x[-4:]], good) == "InputOutOfField"

    with pytest.raises(ValueError, match="one per block"):
        pub.publish_blocks(proven.headers, proven.proofs[:2])
    pub.publish_blocks(proven.headers[:2], [p1, p2])
    assert pub.latest_height == 2
    assert _refused(pub, x[:12], p1 + p2) == "PreStateRootMismatch"  # nothing lands twice


def test_verify_proofs_agrees_with_python_for_any_number_of_proofs(
    proven: Proven, chain: Chain
) -> None:
    d, _ = _deploy(chain, proven)
    v = _BlockVerifier(chain, d.verifier)
    x = _inputs(proven, range(1, 4))
    p1, p2, p3 = proven.proofs
    assert all(
        verify_block(h, p, proven.vk) for h, p in zip(proven.headers, proven.proofs, strict=True)
    )
    f = v.contract.functions
    assert f.verifyProofs(p1 + p2 + p3, x).call() is True
    # any subset in any order, as long as each proof sits with its own inputs
    assert f.verifyProofs(p1, x[:6]).call() is True
    assert f.verifyProofs(p3 + p1, x[12:] + x[:6]).call() is True
    assert f.verifyProofs(p3, x[:6]).call() is False
    assert f.verifyProofs(p1 + p3, x[12:] + x[:6]).call() is False
    # one proof alone and in a set: the same answer as verifyProof
    assert f.verifyProof(p2, x[6:12]).call() is True
    assert f.verifyProof(p2, x[:6]).call() is False
    for proofs, inputs, error in (
        (p1 + p2 + p3, x[:12], "BadInputCount"),
        (p1 + p2[:-1], x[:12], "BadProofLength"),
        (b"", [], "BadProofLength"),
        (p1, [*x[:5], FIELD_MODULUS], "InputOutOfField"),
    ):
        with pytest.raises(ContractRevert, match=error):
            v._call(f.verifyProofs(proofs, inputs))


def test_the_live_publisher_sends_what_is_queued_together_and_stops_at_a_refused_block(
    proven: Proven, chain: Chain
) -> None:
    _, pub = _deploy(chain, proven)
    gate = threading.Event()

    def make(_header: object, _proof: bytes) -> Publisher:
        gate.wait(30)  # the first block waits here while the others queue behind it
        return pub

    landed: list[tuple[int, str]] = []
    live = LivePublisher(make, on_published=lambda h, tx: landed.append((h, tx)), max_blocks=8)
    for h, p in zip(proven.headers, proven.proofs, strict=True):
        live.submit(h, p)
    gate.set()
    assert live.wait(3, 120)
    live.close()
    assert [h for h, _ in landed] == [1, 2, 3] and len({tx for _, tx in landed}) == 1
    assert [b.tx_blocks for b in live.published] == [3, 3, 3]

    # A group the chain refuses is sent again block by block: what is good lands, and the
    # refusal names the bad block.
    _, pub2 = _deploy(chain, proven)
    bad = [(proven.headers[0], proven.proofs[0]), (proven.headers[1], proven.proofs[2])]
    with pytest.raises(BlockRejected) as info:
        publish_group(pub2, [*bad, (proven.headers[2], proven.proofs[2])])
    assert info.value.height == 2 and [b.height for b in info.value.landed] == [1]
    assert pub2.latest_height == 1

    _, pub3 = _deploy(chain, proven)
    live = LivePublisher(pub3, max_blocks=8)
    live.submit(*bad[0])
    live.submit(*bad[1])
    live.submit(proven.headers[2], proven.proofs[2])
    assert not live.wait(3, 120)
    live.close()
    assert live.halted is not None and live.halted[0] == 2 and live.published_height == 1
