"""On-chain cost of proven blocks: gas of deployment, publication and feed reads; wall time
of publishing on the embedded EVM and on anvil against Python verification.

``python -m bench.bench_chain [--blocks N] [--json FILE]`` seals N blocks of a small venue
(accounts, then rounds of resting asks and crossing bids, so most blocks have fills), proves
them with the test-size circuit, then on each chain kind deploys the venue's contracts and
publishes every block, measuring gas (exact, the same on both chains) and wall time per
publication. Python's ``verify_block`` is timed in the same run as the baseline. With Node,
groth16py's exported verifier (compiled by the pinned solc) is measured beside ours.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

from bench import emit
from matching import AddAccount, Block, Deposit, OrderType, PlaceOrder, Side, TimeInForce
from matching.encoding import decoder
from oracle.artifacts import load_artifact
from oracle.chain import Chain, open_chain
from oracle.deploy import deploy_venue
from oracle.feed import PriceFeed
from oracle.publish import Publisher
from proofs.verify import verify_block
from proofs.witness import public_signals
from venue.blockstore import BlockStore
from venue.demo import PROVABLE_GENESIS
from venue.node import Genesis, VenueNode
from venue.proving import circuit_for, prove_blocks

__all__ = ["run"]

ROOT = Path(__file__).resolve().parent.parent
GENESIS = msgspec.structs.replace(PROVABLE_GENESIS, signed=False)


class _Clock:
    t = 1_800_000_000 * 10**9

    def __call__(self) -> int:
        self.t += 250_000_000
        return self.t


def _venue(data: Path, blocks: int, genesis: Genesis = GENESIS) -> list[tuple[Any, bytes]]:
    """Accounts, then a block per round of a resting ask and a crossing bid in market 1,
    proved; (header, proof) of each block."""

    def place(a: int, side: Side, price: int, qty: int, tif: TimeInForce) -> PlaceOrder:
        return PlaceOrder(0, 0, a, 1, 0, side, OrderType.LIMIT, tif, price, qty)

    node = VenueNode(data, genesis, engine="reference", fsync=False, clock=_Clock())
    node.submit([AddAccount(0, 0, 1), Deposit(0, 0, 1, 10**9), AddAccount(0, 0, 2),
                 Deposit(0, 0, 2, 10**9)])  # fmt: skip
    for i in range(blocks - 1):
        p = 100_000 + i % 5
        node.submit([place(1, Side.SELL, p, 2, TimeInForce.GTC),
                     place(2, Side.BUY, p, 2, TimeInForce.IOC)])  # fmt: skip
        node.seal()
    node.seal()
    node.close()
    report = prove_blocks(data, workers=2)
    assert not report.failed, report.failed
    store = BlockStore(data / "blocks", first_height=1)
    dec = decoder(Block)
    try:
        return [
            (dec.decode(store.get(h)).header, store.get_proof(h).payload)  # type: ignore[union-attr, arg-type]
            for h in report.proven
        ]
    finally:
        store.close()


def _exported(chain: Chain, vk: Any, tmp: Path) -> Any | None:
    modules = ROOT / "contracts" / "node_modules"
    if shutil.which("node") is None or not (modules / "solc").is_dir():
        return None
    work = tmp / "exported"
    (work / "src").mkdir(parents=True)
    shutil.copy2(ROOT / "contracts" / "compile.cjs", work / "compile.cjs")
    os.symlink(modules, work / "node_modules", target_is_directory=True)
    (work / "src" / "Exported.sol").write_text(vk.to_solidity(contract_name="ExportedVerifier"))
    subprocess.run(["node", "compile.cjs"], cwd=work, check=True, capture_output=True)
    return chain.deploy(load_artifact("ExportedVerifier", directory=work / "artifacts"))


def _creation_gas(chain: Chain) -> dict[str, int]:
    """Gas used by every contract creation on the chain so far, by created address."""
    w3, out = chain.w3, {}
    for number in range(w3.eth.block_number + 1):
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
            receipt = w3.eth.get_transaction_receipt(tx["hash"])  # type: ignore[index]
            if receipt["contractAddress"] is not None:
                out[receipt["contractAddress"]] = int(receipt["gasUsed"])
    return out


def _on(chain: Chain, vk: Any, blocks: list[tuple[Any, bytes]], tmp: Path) -> dict[str, Any]:
    w3 = chain.w3
    d = deploy_venue(chain, vk, start=blocks[0][0])
    created = _creation_gas(chain)
    deploy_gas = {
        "BlockVerifier": created[d.verifier],
        "StateCommitments": created[d.commitments],
        "ProvenPriceFeed": created[d.feed],
    }
    pub = Publisher(chain, d)
    gas, secs = [], []
    for header, proof in blocks:
        t0 = time.perf_counter()
        gas.append(pub.publish(header, proof).gas_used)
        secs.append(time.perf_counter() - t0)
    ours = w3.eth.contract(address=d.verifier, abi=load_artifact("BlockVerifier").abi)
    header, proof = blocks[-1]
    inputs = public_signals(header)
    out: dict[str, Any] = {
        "kind": chain.kind,
        "deploy_gas": deploy_gas,
        "submit_gas_first": gas[0],
        "submit_gas_p50_later": int(statistics.median(gas[1:])) if len(gas) > 1 else None,
        "publish_s_p50": statistics.median(secs),
        "verify_gas_ours": ours.functions.verifyProof(proof, inputs).estimate_gas(),
    }
    feed = PriceFeed(chain, d.feed).contract
    out["latestRoundData_gas"] = feed.functions.latestRoundData().estimate_gas()
    out["twap_gas"] = feed.functions.twap(1, len(blocks)).estimate_gas()
    close_s = header.close_ts // 10**9
    out["getSettlementPrice_gas"] = feed.functions.getSettlementPrice(close_s).estimate_gas()
    exported = _exported(chain, vk, tmp)
    if exported is not None:
        w = [int.from_bytes(proof[i : i + 32], "big") for i in range(0, 256, 32)]
        fn = exported.functions.verifyProof(w[0:2], [w[2:4], w[4:6]], w[6:8], inputs)
        out["verify_gas_groth16py_export"] = fn.estimate_gas()
    return out


def run(blocks: int = 8) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-chain-") as tmp:
        data = Path(tmp) / "venue"
        proven = _venue(data, blocks)
        vk = circuit_for(GENESIS).verifying_key
        t0 = time.perf_counter()
        reps = 20
        for _ in range(reps):
            for header, proof in proven:
                assert verify_block(header, proof, vk)
        py_verify = (time.perf_counter() - t0) / (reps * len(proven))
        result: dict[str, Any] = {"blocks": len(proven), "python_verify_s": py_verify}
        for spec in ("embedded", "anvil"):
            if spec == "anvil" and shutil.which("npm") is None:
                continue
            with open_chain(spec) as chain:
                r = _on(chain, vk, proven, Path(tmp) / spec)
            r["publish_over_python_verify"] = r["publish_s_p50"] / py_verify
            result[spec] = r
        return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=8)
    ap.add_argument("--json", help="also write the result here")
    args = ap.parse_args(argv)
    emit(run(args.blocks), args.json, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
