"""An ERC-20 client for option collateral, and the development token that stands in for it.

Why here: ``oracle.options`` moves collateral (writers approve it, holders and writers are paid
in it), and tests and the demo need a token they can mint. ``Token`` speaks plain ERC-20 to any
token; ``Token.deploy_test_collateral`` deploys ``TestCollateral`` (6 decimals, open ``mint``:
worthless, for development and tests only). Reverts (``ERC20InsufficientBalance``...) come back
as ``ContractRevert``.
"""

from __future__ import annotations

from .artifacts import load_artifact
from .chain import Chain
from .client import ContractClient

__all__ = ["TEST_COLLATERAL", "Token"]

TEST_COLLATERAL = "TestCollateral"
"""The artifact of the development collateral token (``contracts/src/test``)."""


class Token(ContractClient):
    """A deployed ERC-20 at ``address``, used through ``chain``.

    ``mint`` exists only on ``TestCollateral``; on any other token it reverts.
    """

    ARTIFACT = TEST_COLLATERAL  # ERC-20 plus TestCollateral.mint

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
        self._transact(self.contract.functions.approve(spender, amount), sender)

    def transfer(self, to: str, amount: int, *, sender: str | None = None) -> None:
        self._transact(self.contract.functions.transfer(to, amount), sender)

    def mint(self, to: str, amount: int, *, sender: str | None = None) -> None:
        """``TestCollateral.mint``: create ``amount`` base units for ``to`` (test token only)."""
        self._transact(self.contract.functions.mint(to, amount), sender)
