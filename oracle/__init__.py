"""Everything on chain, from Python: contract artifacts, chain adapters, deployment, publishing
proven blocks, reading proven prices.

``oracle.chain.open_chain`` connects (the embedded in-process EVM, a local anvil, or any RPC
node); ``oracle.deploy.deploy_venue`` deploys a venue's verifier, state commitments and price
feed from the committed artifacts (``contracts/artifacts``, no Node needed);
``oracle.publish.Publisher`` submits proven blocks in order; ``oracle.feed.PriceFeed`` reads
them back as a Chainlink consumer would. Contract reverts surface as
``oracle.reverts.ContractRevert`` with the contract's custom error.
"""

from .chain import Chain, ChainError, open_chain
from .deploy import Deployment, DeploymentError, deploy_venue
from .feed import PriceFeed, Round
from .publish import BlockRejected, LivePublisher, Publisher
from .reverts import ContractRevert

__all__ = [
    "BlockRejected",
    "Chain",
    "ChainError",
    "ContractRevert",
    "Deployment",
    "DeploymentError",
    "LivePublisher",
    "PriceFeed",
    "Publisher",
    "Round",
    "deploy_venue",
    "open_chain",
]
