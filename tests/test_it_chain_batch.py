"""Batches on chain: ``BatchVerifier`` and ``StateCommitments.submitBatch`` with a real batch
proof (blocks 1 and 2 of the shared proven venue, K = 2, test size), on anvil or the
in-process EVM.

The chain must accept the honest batch as the same two blocks that single proofs would
record, refuse every tamper with the contract's own error while changing nothing, and cost
less per block than single blocks do (gas is exact, so this is a property, not a timing).
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from web3.exceptions import ContractCustomError

from oracle.artifacts import load_artifact
from oracle.chain import Chain, ChainError, open_chain
from oracle.client import ContractClient
from oracle.deploy import (
    Deployment,
    DeploymentError,
    batch_verifier_args,
    deploy_venue,
    load_deployment,
    verifier_args,
)
from oracle.feed import PriceFeed
from oracle.publish import BlockRejected, Publisher
from oracle.reverts import ContractRevert, decode_revert
from proofs.batch import batch_public_signals
from proofs.poseidon import FIELD_MODULUS
from venue.batches import BatchPublisher, batch_path
from venue.blockstore import BlockStore
from venue.node import VenueNode
from venue.replay import replay

from .chain_helpers import CIRCUIT_CACHE, Batch, Proven, SlowClock, refused, two_market_venue
from .process_helpers import interrupt_when
from .test_coverage_proving import ACCOUNTS, TRADES, UNSIGNED


@pytest.fixture(scope="module")
def chain() -> Iterator[Chain]:
    """anvil when Node is present (the same bytecode and gas as the in-process EVM, whose
    precompiles ``tests/test_it_chain.py`` covers, and 30x faster at verifying), else the
    in-process EVM."""
    with open_chain("auto") as chain:
        yield chain


class _BatchVerifier(ContractClient):
    ARTIFACT = "BatchVerifier"


def _deploy(chain: Chain, p: Proven, b: Batch | None) -> tuple[Deployment, Publisher]:
    vk = None if b is None else b.circuit.verifying_key
    d = deploy_venue(chain, p.vk, start=p.headers[0], decimals=2, batch_vk=vk)
    return d, Publisher(chain, d)


def _refused(pub: Publisher, inputs: list[int], proof: bytes) -> str:
    """Send ``submitBatch(inputs, proof)`` as is; the contract's error name."""
    return refused(pub, pub.contract.functions.submitBatch(inputs, proof))


def test_a_batch_lands_as_the_same_blocks_for_less_gas_per_block(
    proven: Proven, proven_batch: Batch, chain: Chain
) -> None:
    b = proven_batch
    d, pub = _deploy(chain, proven, b)
    assert (d.batch_blocks, d.batch_verifier != "") == (2, True)
    got = pub.publish_batch(b.headers, b.proof)
    assert (got.first, got.last, pub.latest_height) == (1, 2, 2)
    print(f"\nsubmitBatch, K = 2, one market: {got.gas_used} gas ({got.gas_per_block} a block)")
    # the third block follows with its single proof: both paths extend one chain
    third = pub.publish(proven.headers[2], proven.proofs[2])

    # what single proofs record, block by block, on a second deployment
    _, single = _deploy(chain, proven, None)
    pairs = zip(proven.headers, proven.proofs, strict=True)
    gas = [single.publish(h, p).gas_used for h, p in pairs]
    for h in (1, 2, 3):
        assert pub.contract.functions.getBlock(h).call() == (
            single.contract.functions.getBlock(h).call()
        )
    assert PriceFeed(chain, d.feed).latest_round().answer == proven.headers[2].markets[0].price
    # one pairing for two blocks: cheaper per block than two single blocks
    assert got.gas_per_block < min(gas[1:]) and third.gas_used > 0


def test_the_chain_refuses_every_tampered_batch(
    proven: Proven, proven_batch: Batch, chain: Chain
) -> None:
    b = proven_batch
    _, pub = _deploy(chain, proven, b)
    x = batch_public_signals(b.headers)
    flipped = bytearray(b.proof)
    flipped[40] ^= 1
    assert _refused(pub, x, bytes(flipped)) == "InvalidBatchProof"
    # block 2's price one unit up (x[8] is its settle), block 1's command commitment (x[1])
    for i, delta in ((8, 1), (1, 1)):
        assert _refused(pub, [v + delta if j == i else v for j, v in enumerate(x)], b.proof) == (
            "InvalidBatchProof"
        )
    # a single block's proof is not a batch proof
    assert _refused(pub, x, proven.proofs[0]) == "InvalidBatchProof"
    # checks before the proof: count, chain head, packing, field, proof length
    assert _refused(pub, x[:6], b.proof) == "BadBatchLength"
    later = batch_public_signals([proven.headers[1], proven.headers[2]])
    assert _refused(pub, later, b.proof) == "PreStateRootMismatch"
    assert _refused(pub, [*x[:2], x[2] | 1 << 200, *x[3:]], b.proof) == "MalformedPublicInput"
    assert _refused(pub, [*x[:-1], FIELD_MODULUS], b.proof) == "InputOutOfField"
    assert _refused(pub, x, b.proof[:-1]) == "BadProofLength"
    # Publisher's own refusals carry the first height
    with pytest.raises(BlockRejected) as info:
        pub.publish_batch([proven.headers[0], proven.headers[2]], b.proof)
    assert info.value.height == 1 and "does not follow" in str(info.value)
    pub.publish_batch(b.headers, b.proof)
    assert pub.latest_height == 2
    assert _refused(pub, x, b.proof) == "PreStateRootMismatch"  # no batch lands twice

    # a venue deployed without a batch verifier takes single blocks only
    _, plain = _deploy(chain, proven, None)
    assert _refused(plain, x, b.proof) == "BatchesDisabled"


def test_the_batch_verifier_agrees_with_python_and_checks_its_key(
    proven: Proven, proven_batch: Batch, chain: Chain
) -> None:
    b = proven_batch
    d, _ = _deploy(chain, proven, b)
    verifier = _BatchVerifier(chain, d.batch_verifier)
    v = verifier.contract.functions
    x = batch_public_signals(b.headers)
    assert v.blocks().call() == 2
    assert v.verifyProof(b.proof, x).call() is True
    assert v.verifyProof(b.proof, [x[0] + 1, *x[1:]]).call() is False
    with pytest.raises(ContractRevert, match="BadInputCount"):
        verifier._call(v.verifyProof(b.proof, x[:6]))
    # each key shape deploys only as its own verifier
    with pytest.raises(DeploymentError, match="not a batch circuit"):
        batch_verifier_args(proven.vk)
    with pytest.raises(DeploymentError, match="not the v1 block circuit"):
        verifier_args(b.circuit.verifying_key)
    alpha, beta, gamma, delta, ic, markets = batch_verifier_args(b.circuit.verifying_key)
    assert len(ic) == 2 * (5 * 2 + 2) and markets == 1 and v.markets().call() == 1
    with pytest.raises(DeploymentError, match="not a batch circuit of 2 markets"):
        batch_verifier_args(b.circuit.verifying_key, 2)  # 11 inputs: no K blocks of 2 markets
    artifact = load_artifact("BatchVerifier")
    chain.deploy(artifact, alpha, beta, gamma, delta, ic, 1)  # the same key deploys again
    for bad_ic, m in ((ic[:-2], 1), (ic, 2), (ic, 0)):  # K not whole, for one market or two
        with pytest.raises(ChainError, match="constructor reverted") as info:
            chain.deploy(artifact, alpha, beta, gamma, delta, bad_ic, m)
        assert isinstance(info.value.__cause__, ContractCustomError)
        data = bytes.fromhex(str(info.value.__cause__.data)[2:])
        assert decode_revert(verifier._abi, data).name == "BadKeyShape"


def _copy_with_batch_file(proven: Proven, tmp_path: Path, contents: bytes) -> tuple[Path, Path]:
    """A copy of the shared venue (which stays read-only) whose ``DIR/batches`` holds
    ``contents`` as the batch proof of blocks 1-2: the copy and that file."""
    data = tmp_path / "venue"
    shutil.copytree(proven.data, data)
    path = batch_path(data, 1, 2)
    path.parent.mkdir()
    path.write_bytes(contents)
    return data, path


def test_provenbook_publish_batch_lands_full_batches_and_resumes(
    proven: Proven,
    proven_batch: Batch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from venue.cli import main

    monkeypatch.setenv("PROVENBOOK_CIRCUIT_CACHE", str(CIRCUIT_CACHE))
    # the batch of blocks 1-2 as if proved by an earlier run (proving it again in a pool
    # worker takes ~40 s here: the slow test below; a stored proof is checked first)
    data, path = _copy_with_batch_file(proven, tmp_path, proven_batch.proof)
    assert main(["publish", str(data), "--chain", "embedded", "--batch", "1"]) == 2
    assert "2 to 64 blocks" in capsys.readouterr().out
    assert main(["publish", str(data), "--chain", "embedded", "--batch", "2"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "published blocks 1..2 in 1 batches of 2 (0 proved now)" in out
    assert "1 block(s) wait for a full batch" in out and "round 2" in out
    # a replay checks the stored batch proof against the headers it recomputes
    report = replay(data, proofs=True)
    assert report.ok and (report.proofs_verified, report.batches_verified) == (3, 1)
    path.write_bytes(proven.proofs[0])  # another proof under the batch's name
    report = replay(data, proofs=True)
    assert report.mismatch is not None
    assert (report.mismatch.height, report.mismatch.field) == (1, "batch proof")
    path.write_bytes(proven_batch.proof)
    if shutil.which("npm") is None:
        return
    with open_chain("anvil") as node:  # an RPC node that outlives each command
        dep = tmp_path / "chain.json"
        args = ["publish", str(data), "--chain", node.url, "--deployment", str(dep)]
        assert main([*args, "--batch", "2"]) == 0
        d = load_deployment(dep)
        assert (d.batch_blocks, Publisher(node, d).latest_height) == (2, 2)
        assert main([*args, "--batch", "3"]) == 2  # the deployment takes batches of 2
        assert "takes batches of 2 blocks" in " ".join(capsys.readouterr().out.split())
        # block 3 follows one by one, on the same contracts
        assert main(args) == 0
        assert Publisher(node, d).latest_height == 3 and load_deployment(dep) == d


@pytest.mark.slow
def test_a_stored_file_that_is_not_the_batch_proof_is_proved_again_by_the_pool(
    proven: Proven,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from venue.cli import main

    monkeypatch.setenv("PROVENBOOK_CIRCUIT_CACHE", str(CIRCUIT_CACHE))
    # another key's proof, or a damaged file, under the batch's name
    data, _ = _copy_with_batch_file(proven, tmp_path, proven.proofs[0])
    argv = ["publish", str(data), "--chain", "embedded", "--batch", "2", "--workers", "1"]
    assert main(argv) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "published blocks 1..2 in 1 batches of 2 (1 proved now)" in out
    report = replay(data, proofs=True)
    assert report.ok and report.batches_verified == 1


def test_a_following_publisher_lands_each_batch_as_the_venue_stores_it(
    proven: Proven,
    proven_batch: Batch,
    chain: Chain,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PROVENBOOK_CIRCUIT_CACHE", str(CIRCUIT_CACHE))  # the batch's keys
    # the shared venue's blocks again (same commands, same clock: the same blocks), written
    # one at a time by a running node while the publisher follows its directory
    data = tmp_path / "venue"
    node = VenueNode(data, UNSIGNED, engine="reference", fsync=False, clock=SlowClock())
    try:
        node.submit(ACCOUNTS)
        node.seal()
        node.flush()
        path = batch_path(data, 1, 2)  # as proved by an earlier run: no proving here
        path.parent.mkdir()
        path.write_bytes(proven_batch.proof)
        with BatchPublisher(data, chain, 2, workers=1) as bp:
            assert bp.run_once().waiting == 1  # block 1 alone waits for block 2
            assert not bp.report.published
            stop = threading.Event()
            follower = threading.Thread(target=bp.follow, args=(stop, 0.05))
            follower.start()
            try:
                node.submit(TRADES)
                node.seal()
                node.flush()
                deadline = time.monotonic() + 60
                while not bp.report.published and time.monotonic() < deadline:
                    time.sleep(0.05)
            finally:
                stop.set()
                follower.join()
            assert [(b.first, b.last) for b in bp.report.published] == [(1, 2)]
            assert bp.report.proved == 0 and bp.report.waiting == 0
            d = bp.report.deployment
            assert d is not None and Publisher(chain, d).latest_height == 2
    finally:
        node.close()
    with BlockStore(data / "blocks", first_height=1, read_only=True) as store:
        assert store.get(2) is not None
    assert Publisher(chain, d).contract.functions.stateRoot().call() == (
        proven.headers[1].post_state_root
    )


def test_publish_follow_needs_a_batch_size(capsys: pytest.CaptureFixture[str]) -> None:
    from venue.cli import main

    assert main(["publish", "x", "--follow"]) == 2
    assert main(["publish", "x", "--batch", "2", "--follow", "--poll", "0"]) == 2
    assert "--follow needs --batch K" in capsys.readouterr().out


def test_provenbook_publish_follow_runs_until_interrupted(
    proven: Proven, proven_batch: Batch, tmp_path: Path
) -> None:
    data, _ = _copy_with_batch_file(proven, tmp_path, proven_batch.proof)
    cmd = [sys.executable, "-m", "venue.cli", "publish", str(data), "--chain", "embedded",
           "--batch", "2", "--follow", "--poll", "0.05"]  # fmt: skip
    env = {**os.environ, "PROVENBOOK_CIRCUIT_CACHE": str(CIRCUIT_CACHE), "COLUMNS": "200"}
    code, before, rest = interrupt_when(
        cmd, lambda lines: any("blocks 1..2 on chain" in x for x in lines), env=env
    )
    assert code == 0, before + rest
    assert "published blocks 1..2 in 1 batches of 2" in rest and "round 2" in rest


@pytest.mark.slow
def test_a_venue_of_two_markets_publishes_in_batches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``provenbook publish --batch 2`` on the demo's two-market venue: each pair of blocks
    proved by ``BlockBatchM`` and landed by ``MarketCommitments.submitBatch``, each market's
    feed answering its price, and ``replay --proofs`` checking the stored batch proofs. Slow:
    the test-size two-market batch circuit (2 x 120k constraints) is set up on first use; the
    same path at a small size runs in the default suite
    (``tests/test_it_chain_markets.py::test_a_batch_of_two_market_blocks_proves_and_lands_on_chain``)."""
    from venue.cli import main

    monkeypatch.setenv("PROVENBOOK_CIRCUIT_CACHE", str(CIRCUIT_CACHE))
    n = two_market_venue(tmp_path)
    assert main(["publish", str(tmp_path), "--chain", "embedded", "--batch", "2"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"published blocks 1..{n - n % 2} in {n // 2} batches of 2" in out, out
    assert "MarketCommitments" in out
    report = replay(tmp_path, proofs=True)
    assert report.ok and report.batches_verified == n // 2, report
