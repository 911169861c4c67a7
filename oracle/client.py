"""One base for the Python clients of our contracts (options, optimistic commitments, tokens,
the price feed).

Why: every client binds a deployed contract and must report a revert the same way, as
``ContractRevert`` with the custom error's name, whichever contract raised it; a revert in a
callee (the token under SafeERC20, the verifier under the commitments, the commitments under
the feed) bubbles up with the callee's selector, so each client decodes against its own ABI
and its callees'. Transactions that return a value report it through an event, so ``_send``
reads the contract's one event of the call.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec
from web3.contract.contract import ContractFunction
from web3.logs import DISCARD
from web3.types import TxReceipt

from .artifacts import load_artifact
from .chain import Chain
from .reverts import raising_reverts

__all__ = ["ContractClient", "Tx"]


class Tx(msgspec.Struct, frozen=True):
    """A transaction that landed: ``value`` is what the function returned (a series id, the
    collateral locked, a price, a payout...), read from the event it emitted."""

    value: int
    tx_hash: str
    gas_used: int


class ContractClient:
    """A deployed contract of ours at ``address``, used through ``chain``.

    Subclasses name their artifact (``ARTIFACT``) and the contracts they call (``CALLEES``),
    whose errors can surface through them.
    """

    ARTIFACT: ClassVar[str]
    CALLEES: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        chain: Chain,
        address: str,
        *,
        artifact: str | None = None,
        callees: tuple[str, ...] | None = None,
    ) -> None:
        """``artifact`` / ``callees``: instead of the class's, for a client that serves
        contracts of one interface (``oracle.publish.Publisher``: one market or several)."""
        self.chain = chain
        own = list(load_artifact(artifact or self.ARTIFACT).abi)
        self.contract = chain.w3.eth.contract(address=address, abi=own)
        names = self.CALLEES if callees is None else callees
        self._abi: list[dict[str, Any]] = [
            *own, *(e for name in names for e in load_artifact(name).abi)
        ]  # fmt: skip

    @property
    def address(self) -> str:
        return str(self.contract.address)

    def _call(self, fn: ContractFunction) -> Any:
        return raising_reverts(self._abi, fn.call)

    def _transact(
        self, fn: ContractFunction, sender: str | None, *, value: int = 0, gas: int | None = None
    ) -> TxReceipt:
        return raising_reverts(
            self._abi, lambda: self.chain.transact(fn, sender=sender, gas=gas, value=value)
        )

    def _send(
        self,
        fn: ContractFunction,
        sender: str | None,
        event: str,
        field: str,
        *,
        value: int = 0,
        gas: int | None = None,
    ) -> Tx:
        """Send ``fn`` and return ``field`` of the one ``event`` it makes this contract emit."""
        values, tx = self._send_each(fn, sender, event, field, value=value, gas=gas)
        if len(values) != 1:  # the contract emits exactly one per call: anything else is a bug
            raise RuntimeError(f"{fn.fn_name}: expected one {event} event, got {len(values)}")
        return tx

    def _send_each(
        self,
        fn: ContractFunction,
        sender: str | None,
        event: str,
        field: str,
        *,
        value: int = 0,
        gas: int | None = None,
    ) -> tuple[list[int], Tx]:
        """Send ``fn``; ``field`` of each ``event`` it makes this contract emit, in order, and
        the transaction (its value: the last one's)."""
        receipt = self._transact(fn, sender, value=value, gas=gas)
        logs = getattr(self.contract.events, event)().process_receipt(receipt, errors=DISCARD)
        ours = self.contract.address
        values = [int(log["args"][field]) for log in logs if log["address"] == ours]
        if not values:
            raise RuntimeError(f"{fn.fn_name}: no {event} event")
        tx_hash = receipt["transactionHash"].to_0x_hex()
        return values, Tx(values[-1], tx_hash, int(receipt["gasUsed"]))
