"""Chain adapters: one ``Chain`` handle over an embedded EVM, a local anvil, or any RPC node.

Why three: DESIGN §7 asks for a chain that works everywhere. The embedded default is web3's
in-process EVM (eth-tester on py-evm), so a plain ``pip install`` can deploy and verify with no
Node and no network. When Node is present, anvil (npm ``@foundry-rs/anvil``, pinned) is a real
node over HTTP, much faster and closer to production. Any other node is reached by URL. All
three hand back the same ``Chain`` (a ``web3.Web3`` plus funded senders), so deploy and publish
code never branches on the backend.

Pick one with ``open_chain(spec)``:

- ``"embedded"``: eth-tester + py-evm (Prague rules, 30M block gas limit, 10 funded accounts).
- ``"anvil"``: installs ``@foundry-rs/anvil@1.7.1`` into the user cache on first use (needs
  ``node``/``npm``), launches it on a free 127.0.0.1 port with chain id 31337 and the Prague
  hardfork (the embedded chain's rules), and stops it on ``close()`` or at interpreter exit.
- ``"http://…"``, ``"https://…"``, ``"ws://…"``, ``"wss://…"``: an existing node.
- ``"auto"`` (default): anvil when Node and npm are on PATH or anvil is already in the cache,
  else embedded.

Reverts look the same on every kind: the embedded chain reports them as an RPC node does, so
web3 raises ``ContractCustomError`` (custom errors, ``.data`` = the raw revert data),
``ContractLogicError`` (``Error(string)``, empty revert) or ``ContractPanicError`` everywhere,
never eth-tester's ``TransactionFailed``.

Sending from a remote node's ``accounts`` needs the node to hold unlocked keys; to sign locally,
inject web3's ``SignAndSendRawMiddlewareBuilder`` into ``chain.w3`` and pass ``sender=``.

Exceptions::

    Exception
     └── ChainError   a chain cannot be reached or launched, or a deployment/transaction failed
    ValueError        an unknown ``spec``
    web3.exceptions.ContractLogicError / ContractCustomError
                      a call or transaction reverted (propagated by ``Chain.transact``)
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import logging
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal, TypeVar, cast

import eth_abi
from eth.estimators.gas import binary_gas_search_intrinsic_tolerance
from eth.exceptions import Revert
from eth.vm.spoof import SpoofTransaction
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.backends.pyevm.main import _execute_and_revert_transaction
from eth_tester.exceptions import TransactionFailed
from requests.exceptions import RequestException
from web3 import EthereumTesterProvider, HTTPProvider, Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, Web3Exception
from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse, TxParams, TxReceipt

from oracle.artifacts import Artifact
from oracle.pairing import with_native_curve_ops
from proofs.locks import file_lock

__all__ = [
    "ANVIL_CHAIN_ID",
    "ANVIL_HARDFORK",
    "ANVIL_PACKAGE",
    "ANVIL_VERSION",
    "DEFAULT_CACHE_DIR",
    "EMBEDDED_GAS_LIMIT",
    "Chain",
    "ChainError",
    "ChainKind",
    "ChainTimeout",
    "default_cache_dir",
    "find_anvil",
    "install_anvil",
    "open_chain",
    "retry_unreachable",
    "unreachable",
]

ChainKind = Literal["embedded", "anvil", "rpc"]
T = TypeVar("T")
_log = logging.getLogger(__name__)

ANVIL_PACKAGE = "@foundry-rs/anvil"
ANVIL_VERSION = "1.7.1"
"""Pinned like ``contracts/package.json``; a different installed version is reinstalled."""
ANVIL_CHAIN_ID = 31337
ANVIL_HARDFORK = "prague"
"""anvil 1.7.1 defaults to the newest fork; pin the one the embedded py-evm chain runs
(``PragueVM``) so both local chains execute the same rules."""
EMBEDDED_GAS_LIMIT = 30_000_000
"""Block gas limit of the embedded chain: eth-tester's own default (30,029,122) already fits a
~2M-gas deployment and a ~300k-gas proof verification; pinned to anvil's default so a block
that fits one local chain fits the other."""

DEFAULT_CACHE_DIR: Path = Path("~/.cache/provenbook").expanduser()
"""Cache root unless ``$PROVENBOOK_CACHE`` or ``cache_dir`` says otherwise; anvil goes into its
``node/`` subfolder (next to ``circuits/``, the proof-key cache of ``proofs.circom``)."""

_LAUNCH_TIMEOUT_S = 30.0
_INSTALL_TIMEOUT_S = 600.0
_STOP_TIMEOUT_S = 5.0
_RECEIPT_TIMEOUT_S = 120.0
_PORT_ATTEMPTS = 3
_STDERR_TAIL = 4000
_RPC_PREFIXES = ("http://", "https://", "ws://", "wss://")
_SPECS = "'auto', 'embedded', 'anvil', or an http://, https://, ws:// or wss:// URL"


class ChainError(Exception):
    """A chain cannot be reached or launched, or a deployment or transaction did not land."""


class ChainTimeout(ChainError):
    """A transaction was sent and its receipt did not come in time: it may yet land."""


def unreachable(exc: BaseException) -> bool:
    """True for a failure to reach the chain that a later attempt may not meet: the node
    down or the connection dropped or timed out (requests' errors over HTTP, ``ConnectionError``
    over a WebSocket), or a receipt that did not come in time (``ChainTimeout``). A revert, a
    refused or failed transaction is not, nor any other ``OSError`` (a missing key file):
    trying again would fail the same way."""
    return isinstance(exc, (ConnectionError, TimeoutError, RequestException, ChainTimeout))


def retry_unreachable(
    attempt: Callable[[], T],
    *,
    stop: threading.Event,
    what: str,
    on_retry: Callable[[], None] | None = None,
    first_delay: float = 0.5,
    max_delay: float = 30.0,
) -> T:
    """``attempt()``, again after each failure to reach the chain (``unreachable``), waiting
    ``first_delay`` seconds, doubling up to ``max_delay``, until it succeeds or ``stop`` is
    set (then the last failure is raised, as is any other failure at once).

    Why: a running venue's publisher and proposer outlive any one RPC connection; a node that
    restarts, or a network that drops for a minute, should delay publication, not end it.
    ``on_retry()`` runs before each new attempt (no I/O: e.g. mark the caller's view of the
    chain stale, since a transaction whose receipt was lost may have landed). Each retry is
    logged with ``what``.
    """
    delay = first_delay
    while True:
        try:
            return attempt()
        except Exception as exc:
            if not unreachable(exc) or stop.is_set():
                raise
            _log.warning("%s: the chain is unreachable (%s); again in %.1f s", what, exc, delay)
            if stop.wait(delay):
                raise
            delay = min(2 * delay, max_delay)
            if on_retry is not None:
                on_retry()


def default_cache_dir() -> Path:
    """``$PROVENBOOK_CACHE`` if set, else ``DEFAULT_CACHE_DIR`` (read at each call, so tests
    and spawned workers can share one cache), following ``proofs.circom.default_cache_dir``."""
    env = os.environ.get("PROVENBOOK_CACHE")
    return Path(env).expanduser() if env else DEFAULT_CACHE_DIR


# --------------------------------------------------------------------------------------------
# The Chain handle


class Chain:
    """A connected chain: ``w3`` plus the accounts that can send, and the means to stop it.

    ``kind`` is ``"embedded"``, ``"anvil"`` or ``"rpc"``; ``url`` is the RPC endpoint (``None``
    for the in-process chain). ``accounts`` are the node's unlocked, funded accounts (eth-tester
    or anvil dev accounts; possibly empty for a remote node). ``close()`` stops an anvil this
    process launched and drops any socket; it is idempotent, and ``Chain`` is a context manager.
    """

    def __init__(
        self,
        w3: Web3,
        kind: ChainKind,
        url: str | None = None,
        *,
        accounts: list[str] | None = None,
        process: subprocess.Popen[bytes] | None = None,
    ) -> None:
        self.w3 = w3
        self.kind: ChainKind = kind
        self.url = url
        self.accounts: list[str] = list(accounts) if accounts is not None else _accounts(w3)
        self._process = process
        self._closed = False
        if self.accounts and not isinstance(w3.eth.default_account, str):  # web3's "empty"
            w3.eth.default_account = self.accounts[0]

    def __repr__(self) -> str:
        where = f" {self.url}" if self.url else ""
        state = " closed" if self._closed else ""
        return f"<Chain {self.kind}{where}{state}>"

    @property
    def pid(self) -> int | None:
        """Process id of the anvil this handle launched (``None`` otherwise)."""
        return self._process.pid if self._process is not None else None

    @property
    def closed(self) -> bool:
        """True once ``close()`` ran."""
        return self._closed

    def close(self) -> None:
        """Stop the anvil this handle launched (terminate, then kill) and close any socket.

        Idempotent: a second call, or the atexit hook after an explicit close, does nothing.
        """
        if self._closed:
            return
        self._closed = True
        if self._process is not None:
            _stop_process(self._process)
        provider = self.w3.provider
        if isinstance(provider, _SyncWebSocketProvider):
            provider.close()

    def __enter__(self) -> Chain:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def sender(self, sender: str | None = None) -> str:
        """``sender`` checksummed, or the first unlocked account (ChainError if none)."""
        if sender is not None:
            return Web3.to_checksum_address(sender)
        if not self.accounts:
            raise ChainError(
                f"{self!r} has no unlocked accounts; pass sender= (and add a signing middleware)"
            )
        return self.accounts[0]

    def _wait(self, tx_hash: bytes, what: str) -> TxReceipt:
        try:
            return self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=_RECEIPT_TIMEOUT_S)
        except Web3Exception as exc:  # TimeExhausted
            raise ChainTimeout(f"{what}: no receipt for {tx_hash.hex()} ({exc})") from exc

    def deploy(self, artifact: Artifact, *args: Any, sender: str | None = None) -> Contract:
        """Deploy ``artifact`` with constructor ``args`` and return the bound contract.

        Waits for the receipt and checks that the deployment really landed (status 1 and code at
        the address), so callers never hold a handle to an empty address. A constructor revert,
        whether web3 reports it at gas estimation or the receipt has status 0, raises ChainError
        with web3's exception (e.g. ``ContractCustomError``) as ``__cause__``.
        """
        what = f"deploying {artifact.name}"
        factory = self.w3.eth.contract(abi=list(artifact.abi), bytecode=artifact.bytecode)
        try:
            tx_hash = factory.constructor(*args).transact({"from": self.sender(sender)})
        except ContractLogicError as exc:
            raise ChainError(f"{what}: the constructor reverted ({exc})") from exc
        receipt = self._wait(tx_hash, what)
        address = receipt.get("contractAddress")
        if receipt["status"] != 1 or address is None:
            raise ChainError(
                f"{what}: transaction {tx_hash.hex()} failed (status {receipt['status']}, "
                f"gas used {receipt['gasUsed']})"
            )
        if not self.w3.eth.get_code(address):
            raise ChainError(f"{what}: no code at {address} after a successful receipt")
        return self.w3.eth.contract(address=address, abi=list(artifact.abi))

    def transact(
        self,
        fn: ContractFunction,
        sender: str | None = None,
        *,
        gas: int | None = None,
        value: int = 0,
    ) -> TxReceipt:
        """Send ``fn`` (a bound contract function call) and return its receipt.

        Reverts are not caught: web3 raises ``ContractCustomError``/``ContractLogicError`` while
        estimating gas, and the caller maps them to its own errors. ``gas`` skips the estimate;
        a transaction that is mined yet fails (status 0, e.g. out of gas under an explicit
        limit) raises ChainError, so a returned receipt always means success. ``value`` is the
        wei sent with the call (a payable function, e.g. posting a bond).

        The embedded chain does not estimate: it runs the transaction once as a call on the
        pending block, which raises a revert as the estimate would, then sends it at the block
        gas limit. That is two runs of the transaction instead of three (the estimate takes
        two); a Groth16 verification costs ~0.7 s per run in py-evm. The receipt's gas used is
        the same, and a refused transaction is not mined, as before.
        """
        params: dict[str, Any] = {"from": self.sender(sender)}
        if value:
            params["value"] = value
        if gas is None and self.kind == "embedded":
            fn.call(cast(TxParams, dict(params)), block_identifier="pending")  # raises a revert
            gas = EMBEDDED_GAS_LIMIT
        if gas is not None:
            params["gas"] = gas
        tx_hash = fn.transact(cast(TxParams, params))
        receipt = self._wait(tx_hash, f"calling {fn.fn_name}")
        if receipt["status"] != 1:
            raise ChainError(
                f"calling {fn.fn_name}: transaction {tx_hash.hex()} was mined but failed "
                f"(status {receipt['status']}, gas used {receipt['gasUsed']})"
            )
        return receipt


def _accounts(w3: Web3) -> list[str]:
    try:
        return [Web3.to_checksum_address(a) for a in w3.eth.accounts]
    except (Web3Exception, OSError, ValueError):
        # Public nodes often refuse eth_accounts: such a chain simply has no local senders.
        return []


# --------------------------------------------------------------------------------------------
# open_chain


def open_chain(spec: str = "auto", *, cache_dir: Path | None = None) -> Chain:
    """Open the chain named by ``spec`` (see the module docstring for the accepted values).

    ``cache_dir`` is the cache root for the anvil install (default ``default_cache_dir()``); it
    is ignored by the other kinds. Raises ValueError for an unknown spec and ChainError when the
    chain cannot be reached or launched. Prints nothing on success.
    """
    if spec == "auto":
        root = cache_dir if cache_dir is not None else default_cache_dir()
        have_node = shutil.which("node") is not None and shutil.which("npm") is not None
        spec = "anvil" if have_node or find_anvil(root) is not None else "embedded"
    if spec == "embedded":
        return _open_embedded()
    if spec == "anvil":
        return _open_anvil(cache_dir if cache_dir is not None else default_cache_dir())
    if spec.startswith(_RPC_PREFIXES):
        return _open_rpc(spec)
    raise ValueError(f"unknown chain spec {spec!r}: expected {_SPECS}")


def _open_embedded() -> Chain:
    params = PyEVMBackend.generate_genesis_params(overrides={"gas_limit": EMBEDDED_GAS_LIMIT})
    backend = _RevertDataBackend(genesis_parameters=params)
    w3 = Web3(_EmbeddedProvider(EthereumTester(backend=backend)))
    return Chain(w3, "embedded")


class _RevertDataBackend(PyEVMBackend):
    """``PyEVMBackend`` that keeps raw revert bytes and estimates gas in two runs.

    Revert data: eth-tester 0.14's ``PyEVMBackend.call`` raises ``TransactionFailed(str(error))``,
    turning a custom error's revert data into the text of a bytes repr (``estimate_gas`` keeps
    the ``Revert``). ``call`` below is the same call with the ``Revert`` kept (eth-tester is
    pinned, and tests check that embedded reverts surface as web3's ``ContractCustomError``).

    Gas: every chain object the backend holds (it makes new ones on reset and snapshot revert)
    gets ``_two_run_gas_estimate`` instead of py-evm's binary search, see there.

    Curve precompiles: its VMs compute ecMul and the pairing check natively
    (``oracle.pairing``), with py-evm's inputs, gas and refusals.
    """

    @property  # type: ignore[override]
    def chain(self) -> Any:
        return self._chain

    @chain.setter
    def chain(self, value: Any) -> None:
        if value is not None:
            value.gas_estimator = _two_run_gas_estimate
            # eth-tester makes a new chain class per chain, so this changes this chain only;
            # the VMs are built from the class for every block, after this
            kind = type(value)
            kind.vm_configuration = tuple(
                (start, with_native_curve_ops(vm)) for start, vm in kind.vm_configuration
            )
        self._chain = value

    def call(self, transaction: dict[str, Any], block_number: Any = "latest") -> bytes:
        defaulted = dict(transaction)
        if "gas" not in defaulted:
            defaulted["gas"] = self._max_available_gas()
        unsigned = self._get_normalized_and_unsigned_evm_transaction(defaulted, block_number)
        spoofed = SpoofTransaction(unsigned, from_=transaction["from"])
        computation = _execute_and_revert_transaction(self.chain, spoofed, block_number)
        if computation.is_error:
            error = computation._error
            raise TransactionFailed(error if isinstance(error, Revert) else str(error))
        return bytes(computation.output)


def _two_run_gas_estimate(state: Any, transaction: Any) -> int:
    """Gas limit for ``transaction``: one run at the block gas limit to learn the gas it uses,
    one run to confirm that figure (plus 1/32 headroom for the 63/64 rule of nested calls)
    suffices; py-evm's binary search only when the confirmation fails.

    Why: py-evm's default estimator runs the transaction about 13 times. A Groth16 verification
    spends ~0.7 s per run in py-ecc's pairing precompile, so estimating it took ~7 s; this takes
    two runs. web3 adds its own 100k buffer on top, as with any node.
    """
    limit = state.gas_limit
    computation = _run_reverted(state, SpoofTransaction(transaction, gas=limit, gas_price=0))
    if computation.is_error:
        raise computation.error  # as the binary search does when even the block limit fails
    used = limit - computation.get_gas_remaining()
    guess = used + used // 32 + 1
    if guess < limit:
        try:
            check = _run_reverted(state, SpoofTransaction(transaction, gas=guess, gas_price=0))
        except Exception:  # e.g. below the EIP-7623 calldata floor: let the search decide
            check = None
        if check is not None and not check.is_error:
            return int(guess)
    return int(binary_gas_search_intrinsic_tolerance(state, transaction))


def _run_reverted(state: Any, transaction: Any) -> Any:
    snapshot = state.snapshot()
    try:
        return state.apply_transaction(transaction)
    finally:
        state.revert(snapshot)


class _EmbeddedProvider(EthereumTesterProvider):
    """``EthereumTesterProvider`` whose reverts look like a JSON-RPC node's.

    Why: for a reverting ``eth_call``/``eth_estimateGas``, web3 8's tester provider raises
    ``eth_tester.exceptions.TransactionFailed`` with the revert data flattened into a string,
    whereas over RPC (anvil, geth) web3 raises ``ContractCustomError``/``ContractLogicError``/
    ``ContractPanicError`` carrying the raw revert data. Returning the node-style error response
    (code 3, ``data`` = revert bytes) lets web3's own error formatters run, so callers map one
    set of exceptions on every chain kind.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One request at a time, as a node serves them: a venue's publisher or proposer
        # thread and the caller's thread share the chain, and eth-tester is not thread-safe.
        self._lock = threading.RLock()

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        with self._lock:
            return self._request(method, params)

    def _request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        try:
            return super().make_request(method, params)
        except Exception as exc:
            failed = _find_transaction_failed(exc)
            if failed is None:
                raise
            error: dict[str, Any] = {"code": 3, "message": "execution reverted"}
            data = _revert_data(failed)
            if data is not None:
                error["data"] = "0x" + data.hex()
                reason = _error_string(data)
                if reason is not None:  # as geth and anvil word an Error(string) revert
                    error["message"] = f"execution reverted: {reason}"
            else:  # not a REVERT (invalid opcode, out of gas): no data, say what happened
                error["message"] = f"execution reverted: {failed.args[0] if failed.args else ''}"
            return cast(RPCResponse, {"jsonrpc": "2.0", "id": 0, "error": error})


_ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)


def _error_string(data: bytes) -> str | None:
    """The reason of an ``Error(string)`` revert (``require(cond, "...")``), else None."""
    if data[:4] != _ERROR_STRING_SELECTOR:
        return None
    try:
        (reason,) = eth_abi.decode(["string"], data[4:])
    except Exception:  # malformed payload: leave it to web3 as raw data
        return None
    return str(reason)


def _find_transaction_failed(exc: BaseException) -> TransactionFailed | None:
    """The innermost eth-tester ``TransactionFailed`` on ``exc``'s cause/context chain. web3
    re-raises the original as a new ``TransactionFailed`` (or fails decoding its reason), so the
    one holding the backend's error is deepest."""
    found: TransactionFailed | None = None
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, TransactionFailed):
            found = current
        current = current.__cause__ or current.__context__
    return found


def _revert_data(failed: TransactionFailed) -> bytes | None:
    """Raw revert bytes of the backend's ``TransactionFailed(Revert(b"..."))``, else None."""
    first = failed.args[0] if failed.args else None
    if isinstance(first, bytes):
        return first
    if isinstance(first, Revert) and first.args and isinstance(first.args[0], bytes):
        return first.args[0]
    return None


def _open_rpc(url: str) -> Chain:
    provider: JSONBaseProvider
    if url.startswith(("ws://", "wss://")):
        provider = _SyncWebSocketProvider(url)
    else:
        provider = HTTPProvider(url)
    w3 = Web3(provider)
    try:
        w3.is_connected(show_traceback=True)  # raises, with the reason, instead of False
    except Exception as exc:
        if isinstance(provider, _SyncWebSocketProvider):
            provider.close()
        raise ChainError(f"cannot reach the RPC node at {url}: {exc}") from exc
    return Chain(w3, "rpc", url)


class _SyncWebSocketProvider(JSONBaseProvider):
    """Blocking JSON-RPC over one WebSocket, for ``ws://``/``wss://`` specs.

    Why: web3 8's ``WebSocketProvider`` is async-only, while ``Chain.w3`` is the synchronous
    ``Web3``. The transport is the maintained ``websockets`` sync client; this class only sends
    one request at a time (under a lock) and reads until the reply with the same id, dropping
    subscription notifications (``Chain`` makes no subscriptions).
    """

    def __init__(self, endpoint_uri: str, *, timeout: float = 30.0) -> None:
        super().__init__()
        self.endpoint_uri = endpoint_uri
        self._timeout = timeout
        self._lock = threading.Lock()
        self._ws: Any = None
        self._stack: contextlib.ExitStack | None = None

    def __str__(self) -> str:
        return f"WebSocket connection {self.endpoint_uri}"

    def _connection(self) -> Any:
        if self._ws is None:
            from websockets.sync.client import connect

            # Entered as a context manager, as websockets 17 asks; _drop() exits it.
            stack = contextlib.ExitStack()
            self._ws = stack.enter_context(
                connect(self.endpoint_uri, open_timeout=self._timeout, max_size=None)
            )
            self._stack = stack
        return self._ws

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        from websockets.exceptions import WebSocketException

        request = self.encode_rpc_request(method, params)
        wanted = json.loads(request)["id"]
        with self._lock:
            try:
                ws = self._connection()
                ws.send(request.decode("utf-8"))
                while True:
                    raw = ws.recv(timeout=self._timeout)
                    reply = self.decode_rpc_response(
                        raw if isinstance(raw, bytes) else raw.encode("utf-8")
                    )
                    if isinstance(reply, dict) and reply.get("id") == wanted:
                        return reply
            except (WebSocketException, TimeoutError, OSError) as exc:
                self._drop()
                raise ConnectionError(f"{self.endpoint_uri}: {exc}") from exc

    def _drop(self) -> None:
        stack, self._stack, self._ws = self._stack, None, None
        if stack is not None:
            with contextlib.suppress(Exception):
                stack.close()

    def close(self) -> None:
        """Close the socket (a later request reconnects)."""
        with self._lock:
            self._drop()


# --------------------------------------------------------------------------------------------
# anvil: install, find, launch, stop


def _platform_package() -> tuple[str, str] | None:
    """(npm platform package, binary name) for this machine, as ``@foundry-rs/anvil`` maps it."""
    system = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform)
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine)
    if system is None or arch is None:
        return None
    exe = "anvil.exe" if system == "win32" else "anvil"
    return f"@foundry-rs/anvil-{system}-{arch}", exe


def _installed_version(modules: Path) -> str | None:
    try:
        manifest = json.loads((modules / ANVIL_PACKAGE / "package.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    version = manifest.get("version") if isinstance(manifest, dict) else None
    return version if isinstance(version, str) else None


def find_anvil(cache_dir: Path | None = None) -> Path | None:
    """The pinned anvil executable under ``<cache_dir>/node`` (default cache root), or None.

    Prefers the platform package's native binary, then the binary ``@foundry-rs/anvil``'s
    postinstall may have fetched, then the ``node_modules/.bin/anvil`` Node wrapper (which
    forwards signals; ``close()`` stops its whole process group anyway). Returns None when
    nothing is installed or the installed version is not ``ANVIL_VERSION``.
    """
    root = cache_dir if cache_dir is not None else default_cache_dir()
    modules = root / "node" / "node_modules"
    if _installed_version(modules) != ANVIL_VERSION:
        return None
    candidates: list[Path] = []
    plat = _platform_package()
    if plat is not None:
        package, exe = plat
        candidates += [
            modules / package / "bin" / exe,
            modules / ANVIL_PACKAGE / exe,
            modules / ANVIL_PACKAGE / "dist" / exe,
        ]
    candidates.append(modules / ".bin" / ("anvil.cmd" if sys.platform == "win32" else "anvil"))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    return None


def install_anvil(cache_dir: Path | None = None) -> Path:
    """Install ``@foundry-rs/anvil@ANVIL_VERSION`` under ``<cache_dir>/node`` unless present,
    and return its executable.

    Why a user cache: the Python package must not need a checkout's ``contracts/node_modules``,
    and one install serves every project and test run. Raises ChainError when Node/npm are
    missing or npm fails (with the tail of npm's output).
    """
    root = cache_dir if cache_dir is not None else default_cache_dir()
    found = find_anvil(root)
    if found is not None:
        return found
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        raise ChainError(
            f"anvil {ANVIL_VERSION} is not installed under {root / 'node'} and node/npm are not "
            "on PATH: install Node.js (with npm), or use open_chain('embedded')"
        )
    prefix = root / "node"
    prefix.mkdir(parents=True, exist_ok=True)
    with file_lock(prefix / ".provenbook-install.lock"):
        found = find_anvil(root)  # another process may have installed it while we waited
        if found is not None:
            return found
        cmd = [
            npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--save-exact",
            f"{ANVIL_PACKAGE}@{ANVIL_VERSION}",
        ]  # fmt: skip
        try:
            done = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=_INSTALL_TIMEOUT_S,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ChainError(f"`{' '.join(cmd)}` failed: {exc}") from exc
        found = find_anvil(root)
        if done.returncode != 0 or found is None:
            output = (done.stdout + done.stderr)[-_STDERR_TAIL:]
            raise ChainError(
                f"`{' '.join(cmd)}` exited with {done.returncode} and left no usable anvil "
                f"{ANVIL_VERSION} binary under {prefix} (offline? open_chain('embedded') needs "
                f"no install):\n{output}"
            )
        return found


_LIVE: set[subprocess.Popen[bytes]] = set()
_LIVE_LOCK = threading.Lock()


def _stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminate ``proc``'s process group, kill it after a grace period, and reap it."""
    with _LIVE_LOCK:
        _LIVE.discard(proc)
    if proc.poll() is not None:
        return

    def send(sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if hasattr(os, "killpg"):
                os.killpg(proc.pid, sig)  # own session: the group id is the pid
            else:
                proc.send_signal(sig)

    send(signal.SIGTERM)
    try:
        proc.wait(timeout=_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        send(getattr(signal, "SIGKILL", signal.SIGTERM))
        proc.wait(timeout=_STOP_TIMEOUT_S)


@atexit.register
def _stop_all() -> None:
    """No anvil outlives the interpreter, even when a Chain was never closed."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    for proc in live:
        with contextlib.suppress(Exception):
            _stop_process(proc)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_probe_ids = itertools.count(1)


def _answers(url: str) -> bool:
    """True once the node replies to ``eth_chainId`` (cheap raw probe, no web3 machinery)."""
    body = json.dumps({"jsonrpc": "2.0", "id": next(_probe_ids), "method": "eth_chainId"})
    req = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=1.0) as resp:
            return "result" in json.loads(resp.read())
    except (OSError, ValueError, urllib.error.URLError):
        return False


def _tail(fh: IO[bytes]) -> str:
    fh.seek(0)
    return fh.read().decode("utf-8", "replace")[-_STDERR_TAIL:].strip()


def _launch(binary: Path, port: int, stderr: IO[bytes]) -> subprocess.Popen[bytes]:
    cmd = [
        str(binary), "--host", "127.0.0.1", "--port", str(port),
        "--chain-id", str(ANVIL_CHAIN_ID), "--hardfork", ANVIL_HARDFORK, "--silent",
    ]  # fmt: skip
    kwargs: dict[str, Any] = {}
    if os.name == "posix":
        # Own session: a Ctrl-C meant for the Python process must not kill the chain under
        # it mid-shutdown; close() and the atexit hook stop the whole group instead.
        kwargs["start_new_session"] = True
    try:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, **kwargs
        )
    except OSError as exc:
        raise ChainError(f"cannot start {binary}: {exc}") from exc
    with _LIVE_LOCK:
        _LIVE.add(proc)
    return proc


def _open_anvil(cache_dir: Path) -> Chain:
    binary = install_anvil(cache_dir)
    last = ""
    for _ in range(_PORT_ATTEMPTS):
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        with tempfile.TemporaryFile() as stderr:
            proc = _launch(binary, port, stderr)
            deadline = time.monotonic() + _LAUNCH_TIMEOUT_S
            while proc.poll() is None and time.monotonic() < deadline:
                if _answers(url):
                    break
                time.sleep(0.05)
            else:
                running = proc.poll() is None
                _stop_process(proc)
                last = _tail(stderr)
                if running:
                    raise ChainError(
                        f"anvil ({binary}) did not answer on {url} within "
                        f"{_LAUNCH_TIMEOUT_S:.0f} s; its stderr:\n{last}"
                    )
                if "in use" in last.lower():  # lost the free-port race: try another port
                    continue
                raise ChainError(
                    f"anvil ({binary}) exited with {proc.returncode} at launch; its stderr:\n{last}"
                )
        try:
            w3 = Web3(HTTPProvider(url))
            chain = Chain(w3, "anvil", url, process=proc)
            chain_id = w3.eth.chain_id
        except Exception as exc:
            _stop_process(proc)
            raise ChainError(f"anvil on {url} answered but web3 cannot use it: {exc}") from exc
        if chain_id != ANVIL_CHAIN_ID:
            chain.close()
            raise ChainError(f"anvil on {url} reports chain id {chain_id}, not {ANVIL_CHAIN_ID}")
        return chain
    raise ChainError(f"anvil could not bind a free port in {_PORT_ATTEMPTS} attempts:\n{last}")
