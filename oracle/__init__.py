"""Everything on chain, from Python: contract artifacts, chain adapters, deployment, publishing
proven blocks, reading proven prices.

``oracle.chain.open_chain`` connects (the embedded in-process EVM, a local anvil, or any RPC
node); ``oracle.deploy.deploy_venue`` deploys a venue's verifier, state commitments and price
feed from the committed artifacts (``contracts/artifacts``, no Node needed);
``oracle.publish.Publisher`` submits proven blocks in order; ``oracle.feed.PriceFeed`` reads
them back as a Chainlink consumer would; ``oracle.options.Options`` writes and settles
cash-settled options on those proven prices, with collateral in an ERC-20
(``oracle.token.Token``). ``oracle.optimistic.deploy_optimistic`` and ``Optimistic`` run the
optimistic mode beside it: blocks proposed without proofs, pending at once, final after a
challenge window unless a validity proof refutes them and slashes the operator's bond.
``oracle.margin.Margin`` checks venue accounts against proven state roots (on-chain Poseidon)
and triggers liquidations of accounts under maintenance margin (``deploy_margin``). Contract
reverts surface as ``oracle.reverts.ContractRevert`` with the contract's custom error.
"""

from .chain import Chain, ChainError, open_chain
from .deploy import Deployment, DeploymentError, deploy_venue
from .feed import PriceFeed, Round
from .margin import Margin, MarginFigures, deploy_margin
from .optimistic import Optimistic, deploy_optimistic
from .options import Options
from .publish import BlockRejected, LivePublisher, Publisher
from .reverts import ContractRevert
from .token import Token

__all__ = [
    "BlockRejected",
    "Chain",
    "ChainError",
    "ContractRevert",
    "Deployment",
    "DeploymentError",
    "LivePublisher",
    "Margin",
    "MarginFigures",
    "Optimistic",
    "Options",
    "PriceFeed",
    "Publisher",
    "Round",
    "Token",
    "deploy_margin",
    "deploy_optimistic",
    "deploy_venue",
    "open_chain",
]
