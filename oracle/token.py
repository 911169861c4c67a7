"""An ERC-20 client for option collateral, and the development token that stands in for it.

Why here: ``oracle.options`` moves collateral (writers approve it, holders and writers are paid
in it), and tests and the demo need a token they can mint. ``Token`` speaks plain ERC-20 to any
token; ``Token.deploy_test_collateral`` deploys ``TestCollateral`` (6 decimals, open ``mint``:
worthless, for development and tests only). Reverts (``ERC20InsufficientBalance``...) come back
as ``ContractRevert``.
"""

from __future__ import annotations

from typing import Any

from web3.contract.contract import ContractFunction

from .artifacts import load_artifact
from .chain import Chain
from .reverts import raising_reverts

__all__ = ["TEST_COLLATERAL", "Token"]

TEST_COLLATERAL = "TestCollateral"
"""The artifact of the development collateral token (``contracts/src/test``)."""


class Token:
    """A deployed ERC-20 at ``address``, used through ``chain``.

    ``mint`` exists only on ``TestCollateral``; on any other token it reverts.
    """

    def __init__(self, chain: Chain, address: str) -> None:
        self.chain = chain
        abi = load_artifact(TEST_COLLATERAL).abi  # ERC-20 plus TestCollateral.mint
        self._abi = list(abi)
        self.contract = chain.w3.eth.contract(address=address, abi=self._abi)

    @classmethod
    def deploy_test_collateral(
        cls,
        chain: Chain,
        name: str = "Test USD (worthless)",
        symbol: str = "tUSD",
        *,
        sender: str | None = None,
    ) -> Token:
        """Deploy a fresh ``TestCollateral`` (6 decimals, anyone can mint: never real money)."""
        contract = chain.deploy(load_artifact(TEST_COLLATERAL), name, symbol, sender=sender)
        return cls(chain, contract.address)

    @property
    def address(self) -> str:
        return str(self.contract.address)

    def _call(self, fn: ContractFunction) -> Any:
        return raising_reverts(self._abi, fn.call)

    def _send(self, fn: ContractFunction, sender: str | None) -> None:
        raising_reverts(self._abi, lambda: self.chain.transact(fn, sender=sender))

    def decimals(self) -> int:
        return int(self._call(self.contract.functions.decimals()))

    def symbol(self) -> str:
        return str(self._call(self.contract.functions.symbol()))

    def total_supply(self) -> int:
        return int(self._call(self.contract.functions.totalSupply()))

    def balance_of(self, account: str) -> int:
        return int(self._call(self.contract.functions.balanceOf(account)))

    def allowance(self, owner: str, spender: str) -> int:
        return int(self._call(self.contract.functions.allowance(owner, spender)))

    def approve(self, spender: str, amount: int, *, sender: str | None = None) -> None:
        """Let ``spender`` (e.g. the options contract, before ``write``) take ``amount``."""
        self._send(self.contract.functions.approve(spender, amount), sender)

    def transfer(self, to: str, amount: int, *, sender: str | None = None) -> None:
        self._send(self.contract.functions.transfer(to, amount), sender)

    def mint(self, to: str, amount: int, *, sender: str | None = None) -> None:
        """``TestCollateral.mint``: create ``amount`` base units for ``to`` (test token only)."""
        self._send(self.contract.functions.mint(to, amount), sender)
