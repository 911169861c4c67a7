"""Contract reverts as typed Python errors, the same on every chain adapter.

Our contracts revert with custom errors (``error PreStateRootMismatch(uint256, uint256)``...).
web3 reports them as ``ContractCustomError`` carrying the raw revert data in hex, on every
chain kind (``oracle.chain`` makes the embedded EVM answer as an RPC node does);
``ContractRevert`` decodes that data against our contracts' ABIs: the error's name and its
arguments, so callers test ``revert.name`` instead of parsing messages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from eth_abi import decode as abi_decode
from eth_utils import keccak

__all__ = ["ContractRevert", "decode_revert", "raising_reverts", "revert_data"]

T = TypeVar("T")
# Solidity's built-in Error(string) and Panic(uint256)
_BUILTIN = {
    keccak(text="Error(string)")[:4]: ("Error", ["string"]),
    keccak(text="Panic(uint256)")[:4]: ("Panic", ["uint256"]),
}


class ContractRevert(Exception):
    """A contract call or transaction reverted; ``name`` is the custom error (or ``Error`` /
    ``Panic`` / ``unknown``), ``values`` its decoded arguments."""

    def __init__(self, name: str, values: Sequence[Any], data: bytes) -> None:
        self.name = name
        self.values = tuple(values)
        self.data = data
        shown = ", ".join(str(v) for v in self.values)
        super().__init__(f"reverted with {name}({shown})")


def revert_data(exc: BaseException) -> bytes | None:
    """The revert data behind a web3 / eth-tester exception, or None if it is not a revert."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        data = getattr(e, "data", None)
        if isinstance(data, str) and data.startswith("0x"):
            return bytes.fromhex(data[2:])
        if isinstance(data, bytes | bytearray):
            return bytes(data)
        e = e.__cause__ or e.__context__
    return None


def _error_table(abi: Sequence[Mapping[str, Any]]) -> dict[bytes, tuple[str, list[str]]]:
    table = dict(_BUILTIN)
    for entry in abi:
        if entry.get("type") == "error":
            types = [i["type"] for i in entry.get("inputs", [])]
            table[keccak(text=f"{entry['name']}({','.join(types)})")[:4]] = (entry["name"], types)
    return table


def decode_revert(abi: Sequence[Mapping[str, Any]], data: bytes) -> ContractRevert:
    """Decode revert ``data`` against the custom errors of ``abi`` (and the built-in ones)."""
    name, types = _error_table(abi).get(data[:4], ("unknown", []))
    try:
        values = abi_decode(types, data[4:]) if types else ()
    except Exception:  # malformed data: keep the raw bytes, say so by the name
        name, values = "unknown", ()
    return ContractRevert(name, values, data)


def raising_reverts(abi: Sequence[Mapping[str, Any]], fn: Callable[[], T]) -> T:
    """Run ``fn`` (a contract call or transaction); a revert becomes ``ContractRevert``."""
    try:
        return fn()
    except ContractRevert:
        raise
    except Exception as exc:
        data = revert_data(exc)
        if data is None:
            raise
        raise decode_revert(abi, data) from exc
