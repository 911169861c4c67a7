"""Proven blocks on chain: the real block circuit's proofs (test size), the committed contract
artifacts, the in-process EVM (eth-tester on py-evm) and anvil when Node is present.

A venue seals three blocks (accounts; trades with fills; a deposit, so the price is carried),
the prover pool proves them, and the chain must accept exactly the honest ones in order and
refuse every tampered variant with the contract's own error, changing nothing. The feed then
answers as Chainlink's AggregatorV3Interface with the proven prices.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import groth16py
import msgspec
import pytest
from web3.exceptions import ContractLogicError

from matching.block import BlockHeader
from oracle.artifacts import load_artifact
from oracle.chain import Chain, open_chain
from oracle.deploy import (
    Deployment,
    DeploymentError,
    deploy_venue,
    load_deployment,
    verifier_args,
)
from oracle.feed import PriceFeed
from oracle.publish import BlockRejected, LivePublisher, Publisher
from oracle.reverts import ContractRevert, raising_reverts
from proofs.poseidon import FIELD_MODULUS
from proofs.verify import verify_block
from proofs.witness import public_signals

from .chain_helpers import CIRCUIT_CACHE, Proven
from .contracts_helpers import CONTRACTS
from .test_coverage_proving import UNSIGNED


@pytest.fixture(scope="module")
def embedded() -> Iterator[Chain]:
    with open_chain("embedded") as chain:
        yield chain


def _deploy(chain: Chain, p: Proven) -> tuple[Deployment, Publisher, PriceFeed]:
    d = deploy_venue(chain, p.vk, start=p.headers[0], decimals=2, description="PB1 / ProvenBook")
    return d, Publisher(chain, d), PriceFeed(chain, d.feed)


def _with_header(h: BlockHeader, **kw: object) -> BlockHeader:
    return msgspec.structs.replace(h, **kw)


def _rejected(pub: Publisher, header: BlockHeader, proof: bytes) -> str:
    before = pub.latest_height
    with pytest.raises(BlockRejected) as info:
        pub.publish(header, proof)
    assert pub.latest_height == before  # a refused block changes nothing
    revert = info.value.revert
    assert isinstance(revert, ContractRevert)
    return revert.name


def test_the_chain_accepts_proven_blocks_in_order_and_refuses_every_tamper(
    proven: Proven, embedded: Chain
) -> None:
    h1, h2, h3 = proven.headers
    p1, p2, p3 = proven.proofs
    for h, p in zip(proven.headers, proven.proofs, strict=True):
        assert verify_block(h, p, proven.vk)  # what Python accepts, the chain must accept
    _, pub, _ = _deploy(embedded, proven)

    # out of order: block 2 does not start from the genesis state
    assert _rejected(pub, h2, p2) == "PreStateRootMismatch"
    # a proof with one bit flipped (a coordinate off the curve, or another point)
    bad = bytearray(p1)
    bad[40] ^= 1
    assert _rejected(pub, h1, bytes(bad)) == "InvalidProof"
    # another block's proof
    assert _rejected(pub, h1, p3) == "InvalidProof"
    # header fields the proof binds: post root, command commitment (a dropped or reordered
    # command), close time
    assert _rejected(pub, _with_header(h1, post_state_root=h1.post_state_root ^ 1), p1) == (
        "InvalidProof"
    )
    assert _rejected(pub, _with_header(h1, command_commitment=7), p1) == "InvalidProof"
    assert _rejected(pub, _with_header(h1, close_ts=h1.close_ts + 1), p1) == "InvalidProof"
    # fields the contract checks before the proof: height and sequence continuity
    assert _rejected(pub, _with_header(h1, height=2), p1) == "HeightMismatch"
    assert _rejected(pub, _with_header(h1, first_seq=h1.first_seq + 1), p1) == ("SequenceMismatch")
    # a public input outside the field (it would alias another value) is refused outright
    assert _rejected(pub, _with_header(h1, post_state_root=FIELD_MODULUS), p1) == (
        "InputOutOfField"
    )
    assert _rejected(pub, h1, p1[:-1]) == "BadProofLength"

    got = pub.publish(h1, p1)
    assert got.height == 1 and got.gas_used > 0 and pub.latest_height == 1
    assert _rejected(pub, h1, p1) == "PreStateRootMismatch"  # no block lands twice

    # block 2 has fills: its price moved by one tick, or its volume by one lot
    s = h2.markets[0]
    assert not s.carried and s.volume > 0
    tick = UNSIGNED.markets[0].tick_size
    for market in (
        msgspec.structs.replace(s, price=s.price + tick),
        msgspec.structs.replace(s, volume=s.volume + 1),
        msgspec.structs.replace(s, carried=True),
        msgspec.structs.replace(s, trade_count=s.trade_count - 1),
    ):
        assert _rejected(pub, _with_header(h2, markets=(market,)), p2) == "InvalidProof"
    pub.publish(h2, p2)
    pub.publish(h3, p3)
    assert pub.latest_height == 3


def test_the_feed_answers_as_a_chainlink_aggregator(proven: Proven, embedded: Chain) -> None:
    _, pub, feed = _deploy(embedded, proven)
    with pytest.raises(ContractRevert) as info:
        feed.latest_round()
    assert info.value.name == "NoProvenRound"
    for h, p in zip(proven.headers, proven.proofs, strict=True):
        pub.publish(h, p)
    h1, h2, h3 = proven.headers
    assert feed.decimals() == 2 and feed.description() == "PB1 / ProvenBook"

    latest = feed.latest_round()
    assert latest.round_id == 3 == latest.answered_in_round
    # block 3 has no fills: block 2's price, carried, and said so
    assert h3.markets[0].carried and latest.answer == h2.markets[0].price == h3.markets[0].price
    assert latest.updated_at == h3.close_ts // 10**9
    assert latest.started_at == h2.close_ts // 10**9
    r2 = feed.round(2)
    assert (r2.answer, r2.updated_at) == (h2.markets[0].price, h2.close_ts // 10**9)
    det = feed.details(2)
    assert (det.price, det.carried, det.volume, det.trade_count, det.close_ts) == (
        h2.markets[0].price, False, h2.markets[0].volume, h2.markets[0].trade_count, h2.close_ts
    )  # fmt: skip
    assert feed.details(3).carried
    for missing in (0, 4, 2**32):
        with pytest.raises(ContractRevert) as info:
            feed.round(missing)
        assert info.value.name == "RoundNotProven"

    # the TWAP is the proven accumulator's: sum(price * ms since the previous close) / ms
    ms = h3.close_ts // 10**6 - h1.close_ts // 10**6
    want = (h3.markets[0].cum_price_time - h1.markets[0].cum_price_time) // ms
    assert feed.twap(1, 3) == want
    with pytest.raises(ContractRevert) as info:
        feed.twap(3, 1)
    assert info.value.name == "BadTwapWindow"

    # expiry prices: the block that closed last at or before the expiry; final once a block
    # closing after the expiry's second is proven
    t1, t2, t3 = (h.close_ts // 10**9 for h in proven.headers)
    assert t1 < t2 < t3
    assert feed.settlement_price(t2) == (True, h2.markets[0].price)
    assert feed.settlement_price(t3) == (False, h3.markets[0].price)
    assert feed.settlement_price(t3 + 3600) == (False, h3.markets[0].price)
    assert feed.settlement_price(t1) == (True, h1.markets[0].price)
    with pytest.raises(ContractRevert) as info:
        feed.settlement_price(t1 - 1)
    assert info.value.name == "NoRoundBefore"


def test_deployment_file_and_key_shape(proven: Proven, embedded: Chain, tmp_path: Path) -> None:
    d, _, _ = _deploy(embedded, proven)
    d.save(tmp_path / "chain.json")
    assert load_deployment(tmp_path / "chain.json") == d
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(DeploymentError):
        load_deployment(tmp_path / "bad.json")
    with pytest.raises(DeploymentError, match="decimals"):
        deploy_venue(embedded, proven.vk, start=proven.headers[0], decimals=256)


def test_live_publisher_lands_blocks_in_order_and_halts_on_a_refusal(
    proven: Proven, embedded: Chain
) -> None:
    _, pub, feed = _deploy(embedded, proven)
    landed: list[int] = []
    live = LivePublisher(pub, on_published=lambda h, tx: landed.append(h))
    try:
        live.submit(proven.headers[0], proven.proofs[0])
        live.submit(proven.headers[2], proven.proofs[2])  # skips block 2: refused, halts
        live.submit(proven.headers[1], proven.proofs[1])  # not sent after the halt
        assert not live.wait(3, timeout=120)
    finally:
        live.close()
    assert landed == [1] and live.halted is not None and live.halted[0] == 3
    assert "PreStateRootMismatch" in live.halted[1]
    assert pub.latest_height == 1 and feed.latest_round().round_id == 1


@pytest.mark.skipif(shutil.which("npm") is None, reason="anvil comes from npm")
def test_the_same_contracts_on_anvil(proven: Proven) -> None:
    with open_chain("anvil") as chain:
        assert chain.kind == "anvil"
        _, pub, feed = _deploy(chain, proven)
        bad = bytearray(proven.proofs[0])
        bad[100] ^= 1
        assert _rejected(pub, proven.headers[0], bytes(bad)) == "InvalidProof"
        pairs = zip(proven.headers, proven.proofs, strict=True)
        gas = [pub.publish(h, p).gas_used for h, p in pairs]
        assert all(200_000 < g < 600_000 for g in gas)
        assert feed.latest_round().answer == proven.headers[2].markets[0].price


def _same_vk(path: Path, vk: groth16py.VerifyingKey) -> bool:
    return groth16py.VerifyingKey.load(str(path)).to_json() == vk.to_json()


def _six_input_key(tmp: Path) -> groth16py.VerifyingKey:
    """A fresh setup's key with the block circuit's shape (six public inputs)."""
    src = tmp / "six.circom"
    src.write_text(
        "pragma circom 2.0.0;\n"
        "template Six() { signal input x[6]; signal output y; y <== x[0] * x[1]; }\n"
        "component main {public [x]} = Six();\n"
    )
    return groth16py.setup_circom(str(src), [])[1]


def test_provenbook_publish_deploys_publishes_and_resumes(
    proven: Proven,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from venue.cli import main

    # keys from a cache that did not make these proofs (another setup's verifying key in the
    # block circuit's entry): refused before anything is deployed
    other = tmp_path / "other-keys"
    entry = next(p.parent for p in CIRCUIT_CACHE.glob("*/circuit.vk") if _same_vk(p, proven.vk))
    (other / entry.name).mkdir(parents=True)
    shutil.copy(entry / "stats.json", other / entry.name / "stats.json")
    _six_input_key(tmp_path).save(str(other / entry.name / "circuit.vk"))
    monkeypatch.setenv("PROVENBOOK_CIRCUIT_CACHE", str(other))
    assert main(["publish", str(proven.data), "--chain", "embedded"]) == 2
    # rich wraps the message at the terminal's width: compare with the line breaks as spaces
    assert "does not verify block 1's stored proof" in " ".join(capsys.readouterr().out.split())
    monkeypatch.setenv("PROVENBOOK_CIRCUIT_CACHE", str(CIRCUIT_CACHE))
    # up to two blocks per transaction, each with its own proof (one pairing check per call)
    argv = ["publish", str(proven.data), "--chain", "embedded", "--blocks-per-tx", "2"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "published blocks 1..3 in 2 transaction(s)" in out and "round 3" in out
    assert main([*argv[:-1], "0"]) == 2
    assert main([*argv, "--batch", "2"]) == 2  # a batch proof is one proof for K blocks
    assert "--blocks-per-tx sends single proofs" in " ".join(capsys.readouterr().out.split())
    # a deployment file only makes sense on a chain that outlives the command
    assert main(["publish", str(proven.data), "--chain", "embedded", "--deployment", "x"]) == 2
    if shutil.which("npm") is None:
        return
    with open_chain("anvil") as node:  # an RPC node that outlives each command
        dep = tmp_path / "chain.json"
        assert (
            main(["publish", str(proven.data), "--chain", node.url, "--deployment", str(dep)]) == 0
        )
        first = load_deployment(dep)
        assert Publisher(node, first).latest_height == 3
        # resumed: nothing new to publish, the same contracts
        assert (
            main(["publish", str(proven.data), "--chain", node.url, "--deployment", str(dep)]) == 0
        )
        assert load_deployment(dep) == first
        assert "round 3" in capsys.readouterr().out


def _exported_verifier(chain: Chain, vk: groth16py.VerifyingKey, modules: Path, tmp: Path) -> Any:
    """groth16py's own Solidity export of ``vk`` (snarkjs style), compiled by our pinned solc."""
    work = tmp / "exported"
    (work / "src").mkdir(parents=True)
    shutil.copy2(CONTRACTS / "compile.cjs", work / "compile.cjs")
    os.symlink(modules, work / "node_modules", target_is_directory=True)
    (work / "src" / "Exported.sol").write_text(vk.to_solidity(contract_name="ExportedVerifier"))
    done = subprocess.run(
        ["node", "compile.cjs"], cwd=work, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return chain.deploy(load_artifact("ExportedVerifier", directory=work / "artifacts"))


def test_block_verifier_agrees_with_groth16pys_exported_verifier(
    proven: Proven,
    embedded: Chain,
    tmp_path: Path,
    contracts_node_modules: Path,
) -> None:
    """Two independent Solidity verifiers of the same key (ours with the key in immutables,
    groth16py's generated one) accept and refuse the same proofs."""
    exported = _exported_verifier(embedded, proven.vk, contracts_node_modules, tmp_path)
    ours = embedded.deploy(load_artifact("BlockVerifier"), *verifier_args(proven.vk))
    h1, h2, _ = proven.headers
    p1, p2, p3 = proven.proofs
    flipped = bytearray(p2)
    flipped[200] ^= 1
    moved = public_signals(h2)
    moved[4] += 1  # the settlement price, one tick up
    cases = [
        (p1, public_signals(h1), True),
        (p2, public_signals(h2), True),
        (p3, public_signals(h2), False),  # another block's proof
        (bytes(flipped), public_signals(h2), False),
        (p2, moved, False),
    ]
    for proof, inputs, want in cases:
        w = [int.from_bytes(proof[i : i + 32], "big") for i in range(0, 256, 32)]
        try:  # its pairing library aborts (invalid opcode) on a point off the curve
            theirs = exported.functions.verifyProof(w[0:2], [w[2:4], w[4:6]], w[6:8], inputs).call()
        except ContractLogicError:
            theirs = False
        assert ours.functions.verifyProof(proof, inputs).call() is want
        assert theirs is want


@pytest.mark.parametrize("gas", [60_000, 200_000])
def test_too_little_gas_reverts_instead_of_refusing_a_valid_proof(
    proven: Proven, embedded: Chain, gas: int
) -> None:
    """A precompile starved of gas fails like a bad proof would; the verifier must revert
    (InsufficientGas), or anyone could make a valid block look invalid by sending too little
    gas (60k: starved at an ecMul; 200k: at the pairing)."""
    ours = embedded.deploy(load_artifact("BlockVerifier"), *verifier_args(proven.vk))
    h, p = proven.headers[1], proven.proofs[1]
    fn = ours.functions.verifyProof(p, public_signals(h))
    assert fn.call() is True
    with pytest.raises(ContractRevert) as info:
        raising_reverts(load_artifact("BlockVerifier").abi, lambda: fn.call({"gas": gas}))
    assert info.value.name == "InsufficientGas"
