"""oracle.chain: the embedded chain, anvil, RPC URLs and ``auto``, on real components.

The embedded tests need no Node: contracts are tiny hand-assembled creation codes (each is
spelled out next to its hex), plus any committed artifact whose constructor takes no argument.
The anvil tests skip only when ``node``/``npm`` are missing; they install the pinned anvil into
the user cache (``PROVENBOOK_CACHE``) on first use.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_abi import encode
from py_ecc import bn128
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError

from oracle.artifacts import Artifact
from oracle.chain import (
    ANVIL_CHAIN_ID,
    ANVIL_VERSION,
    EMBEDDED_GAS_LIMIT,
    Chain,
    ChainError,
    default_cache_dir,
    find_anvil,
    open_chain,
)

ROOT = Path(__file__).resolve().parent.parent
HAVE_NODE = shutil.which("node") is not None and shutil.which("npm") is not None
needs_node = pytest.mark.skipif(not HAVE_NODE, reason="node/npm not installed: anvil needs them")


# --------------------------------------------------------------------------------------------
# Hand-assembled contracts


def creation(runtime: bytes) -> bytes:
    """Creation code that returns ``runtime`` as the contract's code:
    PUSH1 n, PUSH1 10, PUSH0, CODECOPY (copy the n bytes after this 10-byte prefix to memory 0),
    PUSH1 n, PUSH0, RETURN (return memory[0:n])."""
    n = len(runtime)
    assert n < 256
    return bytes([0x60, n, 0x60, 0x0A, 0x5F, 0x39, 0x60, n, 0x5F, 0xF3]) + runtime


def reverting(payload: bytes) -> bytes:
    """Code that reverts with ``payload``: the same copy prefix, then PUSH1 n, PUSH0, REVERT."""
    n = len(payload)
    assert n < 256
    return bytes([0x60, n, 0x60, 0x0A, 0x5F, 0x39, 0x60, n, 0x5F, 0xFD]) + payload


# Runtime of a contract that answers 42 to any call:
# PUSH1 0x2a, PUSH0, MSTORE (memory[0:32] = 42), PUSH1 0x20, PUSH0, RETURN (return memory[0:32])
ANSWER_RUNTIME = bytes.fromhex("602a5f5260205ff3")
ANSWER_ABI: tuple[dict[str, Any], ...] = (
    {
        "type": "function",
        "name": "answer",
        "inputs": [],
        "outputs": [{"name": "", "type": "uint256", "internalType": "uint256"}],
        "stateMutability": "nonpayable",
    },
)
ANSWER = Artifact(
    name="Answer",
    abi=ANSWER_ABI,
    bytecode=creation(ANSWER_RUNTIME),
    deployed_bytecode=ANSWER_RUNTIME,
    compiler_version="hand-assembled",
    source_sha256="0" * 64,
)

# A custom error as Solidity encodes it: selector of `BadThing(uint256)`, then the argument.
CUSTOM_REVERT = bytes.fromhex("5733ee7c") + encode(["uint256"], [7])
ERROR_STRING_REVERT = bytes.fromhex("08c379a0") + encode(["string"], ["no way"])  # Error(string)
PANIC_REVERT = bytes.fromhex("4e487b71") + encode(["uint256"], [0x11])  # Panic(0x11): overflow


def _artifact(name: str, runtime: bytes) -> Artifact:
    return Artifact(name, ANSWER_ABI, creation(runtime), runtime, "hand-assembled", "0" * 64)


# --------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def embedded() -> Iterator[Chain]:
    with open_chain("embedded") as chain:
        yield chain


@pytest.fixture(scope="module")
def anvil() -> Iterator[Chain]:
    if not HAVE_NODE:
        pytest.skip("node/npm not installed: anvil needs them")
    with open_chain("anvil") as chain:
        yield chain


@pytest.fixture(params=["embedded", "anvil"])
def any_chain(request: pytest.FixtureRequest) -> Chain:
    chain: Chain = request.getfixturevalue(request.param)
    return chain


def _port_open(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, int(port))) == 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purpose.
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        return stat.read_text().split(")")[-1].split()[0] != "Z"
    return True


# --------------------------------------------------------------------------------------------
# The embedded chain


def test_embedded_opens_with_funded_accounts(embedded: Chain) -> None:
    assert embedded.kind == "embedded" and embedded.url is None and embedded.pid is None
    assert len(embedded.accounts) == 10
    assert all(embedded.w3.eth.get_balance(a) > 10**21 for a in embedded.accounts)
    assert embedded.w3.eth.default_account == embedded.accounts[0]
    assert embedded.w3.eth.get_block("latest")["gasLimit"] == EMBEDDED_GAS_LIMIT
    assert repr(embedded) == "<Chain embedded>"


def test_deploy_and_call(any_chain: Chain) -> None:
    contract = any_chain.deploy(ANSWER)
    assert any_chain.w3.eth.get_code(contract.address) == ANSWER_RUNTIME
    assert contract.functions.answer().call() == 42
    receipt = any_chain.transact(contract.functions.answer())
    assert receipt["status"] == 1 and receipt["from"] == any_chain.accounts[0]
    other = any_chain.accounts[1]
    assert any_chain.transact(contract.functions.answer(), sender=other)["from"] == other
    receipt = any_chain.transact(contract.functions.answer(), gas=50_000)
    assert receipt["status"] == 1


def test_deploy_from_other_sender(any_chain: Chain) -> None:
    contract = any_chain.deploy(ANSWER, sender=any_chain.accounts[2].lower())
    tx = any_chain.w3.eth.get_transaction_receipt(
        any_chain.w3.eth.get_block("latest")["transactions"][-1]
    )
    assert tx["contractAddress"] == contract.address
    assert tx["from"] == any_chain.accounts[2]


def test_reverted_deployment_raises_chain_error(any_chain: Chain) -> None:
    bad = Artifact("Reverter", (), reverting(CUSTOM_REVERT), b"", "hand-assembled", "0" * 64)
    with pytest.raises(ChainError, match="deploying Reverter: the constructor reverted") as info:
        any_chain.deploy(bad)
    assert isinstance(info.value.__cause__, ContractCustomError)
    assert info.value.__cause__.data == "0x" + CUSTOM_REVERT.hex()


def test_deployment_without_code_raises_chain_error(any_chain: Chain) -> None:
    # PUSH0, PUSH0, RETURN: the constructor succeeds but leaves no code.
    empty = Artifact("Empty", (), bytes.fromhex("5f5ff3"), b"", "hand-assembled", "0" * 64)
    with pytest.raises(ChainError, match="no code at"):
        any_chain.deploy(empty)


@pytest.mark.parametrize(
    ("payload", "error", "message"),
    [
        (CUSTOM_REVERT, ContractCustomError, "0x" + CUSTOM_REVERT.hex()),
        (ERROR_STRING_REVERT, ContractLogicError, "execution reverted: no way"),
        (PANIC_REVERT, ContractPanicError, "Panic error 0x11"),
        (b"", ContractLogicError, "execution reverted"),
    ],
    ids=["custom", "error-string", "panic", "empty"],
)
def test_reverts_surface_as_web3_errors_on_every_chain(
    any_chain: Chain, payload: bytes, error: type[ContractLogicError], message: str
) -> None:
    """The embedded chain reports reverts exactly as an RPC node does: the same web3 exception
    class, message and raw revert data, for both ``call`` and ``Chain.transact``."""
    contract = any_chain.deploy(_artifact("Reverts", reverting(payload)))
    for attempt in (
        lambda: contract.functions.answer().call(),
        lambda: any_chain.transact(contract.functions.answer()),
    ):
        with pytest.raises(error) as info:
            attempt()
        assert type(info.value) is error
        assert str(info.value.message).startswith(message)
        assert info.value.data == "0x" + payload.hex()


def test_mined_failure_raises_chain_error(any_chain: Chain) -> None:
    contract = any_chain.deploy(_artifact("Reverts", reverting(CUSTOM_REVERT)))
    with pytest.raises(ChainError, match="was mined but failed"):
        any_chain.transact(contract.functions.answer(), gas=60_000)


def _pairing_input(pairs: int) -> bytes:
    """e(G1, G2) * e(-G1, G2) == 1, repeated: a valid input for the pairing precompile (0x08)."""

    def g1(p: Any) -> bytes:
        return int(p[0]).to_bytes(32, "big") + int(p[1]).to_bytes(32, "big")

    def g2(p: Any) -> bytes:
        coeffs = (p[0].coeffs[1], p[0].coeffs[0], p[1].coeffs[1], p[1].coeffs[0])
        return b"".join(int(c).to_bytes(32, "big") for c in coeffs)

    one = g1(bn128.G1) + g2(bn128.G2) + g1(bn128.neg(bn128.G1)) + g2(bn128.G2)
    return one * (pairs // 2)


def test_embedded_gas_estimate_is_tight_and_sufficient(embedded: Chain) -> None:
    """The two-run estimator: enough gas for the transaction, and close to what it uses (py-evm's
    binary search would be within 21000; ours within 1/32 of the use)."""
    tx = {
        "from": embedded.accounts[0],
        "to": "0x0000000000000000000000000000000000000008",
        "data": _pairing_input(2),
    }
    estimate = embedded.w3.eth.estimate_gas(tx)  # type: ignore[arg-type]
    receipt = embedded.w3.eth.wait_for_transaction_receipt(
        embedded.w3.eth.send_transaction({**tx, "gas": estimate})  # type: ignore[typeddict-item]
    )
    assert receipt["status"] == 1
    assert receipt["gasUsed"] <= estimate <= receipt["gasUsed"] * 33 // 32 + 1
    assert embedded.w3.eth.call({**tx}) == (1).to_bytes(32, "big")  # type: ignore[arg-type]


def test_embedded_estimator_survives_snapshot_revert() -> None:
    """eth-tester builds a new py-evm chain object on snapshot revert; it must keep our
    estimator (and revert handling)."""
    with open_chain("embedded") as chain:
        tester = chain.w3.provider.ethereum_tester  # type: ignore[attr-defined]
        snapshot = tester.take_snapshot()
        chain.deploy(ANSWER)
        tester.revert_to_snapshot(snapshot)
        backend_chain = tester.backend.chain
        assert backend_chain.gas_estimator.__name__ == "_two_run_gas_estimate"
        contract = chain.deploy(_artifact("Reverts", reverting(CUSTOM_REVERT)))
        with pytest.raises(ContractCustomError):
            contract.functions.answer().call()


def test_no_sender_raises_chain_error(embedded: Chain) -> None:
    bare = Chain(embedded.w3, "rpc", "http://example.invalid", accounts=[])
    with pytest.raises(ChainError, match="no unlocked accounts"):
        bare.deploy(ANSWER)


# --------------------------------------------------------------------------------------------
# Specs, RPC URLs, cache


@pytest.mark.parametrize("spec", ["", "ganache", "ftp://127.0.0.1:1", "Embedded", "local"])
def test_bad_spec_raises_value_error(spec: str) -> None:
    with pytest.raises(ValueError, match="'auto', 'embedded', 'anvil'"):
        open_chain(spec)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("scheme", ["http", "ws"])
def test_unreachable_rpc_raises_chain_error(scheme: str) -> None:
    url = f"{scheme}://127.0.0.1:{_closed_port()}"
    started = time.monotonic()
    with pytest.raises(ChainError, match=f"cannot reach the RPC node at {url}"):
        open_chain(url)
    assert time.monotonic() - started < 5


def test_default_cache_dir_follows_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PROVENBOOK_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.delenv("PROVENBOOK_CACHE")
    assert default_cache_dir() == Path("~/.cache/provenbook").expanduser()


def test_without_node_auto_is_embedded_and_anvil_explains(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    with open_chain("auto", cache_dir=tmp_path / "cache") as chain:
        assert chain.kind == "embedded"
    with pytest.raises(ChainError, match="node/npm are not on PATH"):
        open_chain("anvil", cache_dir=tmp_path / "cache")


def _fake_anvil(cache: Path, script: str) -> Path:
    """A cache laid out like an npm install of the pinned anvil, whose binary is ``script``."""
    modules = cache / "node" / "node_modules"
    (modules / "@foundry-rs" / "anvil").mkdir(parents=True)
    (modules / "@foundry-rs" / "anvil" / "package.json").write_text(
        json.dumps({"name": "@foundry-rs/anvil", "version": ANVIL_VERSION})
    )
    binary = modules / "@foundry-rs" / "anvil" / "anvil"
    binary.write_text(script)
    binary.chmod(0o755)
    return binary


@pytest.mark.skipif(sys.platform == "win32", reason="shell-script stand-in for the binary")
def test_anvil_that_dies_at_launch_raises_with_its_stderr(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    binary = _fake_anvil(tmp_path, "#!/bin/sh\necho 'error: bad flag --frobnicate' >&2\nexit 2\n")
    assert find_anvil(tmp_path) == binary
    monkeypatch.setenv("PATH", str(tmp_path))  # no node: auto must still pick the cached anvil
    with pytest.raises(ChainError, match=r"exited with 2 at launch(.|\n)*bad flag --frobnicate"):
        open_chain("auto", cache_dir=tmp_path)


def test_find_anvil_ignores_other_versions(tmp_path: Path) -> None:
    _fake_anvil(tmp_path, "#!/bin/sh\n")
    manifest = tmp_path / "node" / "node_modules" / "@foundry-rs" / "anvil" / "package.json"
    manifest.write_text(json.dumps({"version": "0.0.1"}))
    assert find_anvil(tmp_path) is None
    assert find_anvil(tmp_path / "missing") is None


# --------------------------------------------------------------------------------------------
# anvil (skipped only without Node)


@needs_node
def test_anvil_launches_on_loopback_with_fixed_chain_id(anvil: Chain) -> None:
    assert anvil.kind == "anvil" and anvil.pid is not None
    assert anvil.url is not None and anvil.url.startswith("http://127.0.0.1:")
    assert anvil.w3.eth.chain_id == ANVIL_CHAIN_ID
    assert len(anvil.accounts) == 10
    assert anvil.w3.eth.get_balance(anvil.accounts[0]) > 0
    assert find_anvil() is not None


@needs_node
def test_rpc_urls_reach_a_running_node(anvil: Chain) -> None:
    assert anvil.url is not None
    for url in (anvil.url, anvil.url.replace("http://", "ws://")):
        with open_chain(url) as chain:
            assert chain.kind == "rpc" and chain.url == url and chain.pid is None
            assert chain.accounts == anvil.accounts
            contract = chain.deploy(ANSWER)
            assert contract.functions.answer().call() == 42
        assert chain.closed
    assert anvil.w3.eth.chain_id == ANVIL_CHAIN_ID  # closing an rpc handle leaves the node up


@needs_node
def test_anvil_close_stops_the_process() -> None:
    chain = open_chain("anvil")
    pid, url = chain.pid, chain.url
    assert pid is not None and url is not None
    assert _pid_alive(pid) and _port_open(url)
    assert chain.deploy(ANSWER).functions.answer().call() == 42
    chain.close()
    assert chain.closed and repr(chain).endswith("closed>")
    assert not _pid_alive(pid)
    assert not _port_open(url)
    chain.close()  # idempotent


@needs_node
def test_auto_picks_anvil_when_node_is_present() -> None:
    with open_chain() as chain:
        assert chain.kind == "anvil"
        assert chain.w3.eth.chain_id == ANVIL_CHAIN_ID


@needs_node
def test_no_anvil_outlives_the_interpreter(tmp_path: Path) -> None:
    """An anvil whose Chain is never closed is stopped by the atexit hook."""
    script = textwrap.dedent(
        """
        from oracle.chain import open_chain
        chain = open_chain("anvil")
        print(chain.pid, chain.url, flush=True)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    pid_text, url = done.stdout.split()
    assert done.stderr == ""
    deadline = time.monotonic() + 10
    while _pid_alive(int(pid_text)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _pid_alive(int(pid_text))
    assert not _port_open(url)
