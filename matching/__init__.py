"""Deterministic matching core: commands in, events and blocks out; no I/O, integers only.

``Engine`` is the Cython engine when it is built and the pure-Python ``ReferenceEngine``
otherwise; both produce byte-identical events, blocks and snapshots.
"""

from .block import (
    Block,
    BlockBuilder,
    BlockHeader,
    BlockMismatch,
    StateCommitment,
    StateDiff,
    replay_block,
)
from .encoding import DecodeError, decode_command, decode_commands, decode_events, encode
from .engine import (
    AccountView,
    EngineError,
    EngineSnapshot,
    MarketStateView,
    OrderView,
    PositionView,
    ReferenceEngine,
    check_markets,
)
from .types import (
    ALL_MARKETS,
    AccountAdded,
    AddAccount,
    CancelOrder,
    CancelReason,
    CollateralChanged,
    Command,
    CommandType,
    Deposit,
    Event,
    EventType,
    MarketConfig,
    MarketSummary,
    MassCancel,
    MassCancelled,
    OrderAccepted,
    OrderCancelled,
    OrderReduced,
    OrderReplaced,
    OrderType,
    PlaceOrder,
    Rejected,
    ReplaceOrder,
    ResultCode,
    Side,
    StpMode,
    TimeInForce,
    Trade,
    Withdraw,
)

try:
    from ._core import CEngine
except ImportError:  # the extension is optional; the reference engine is the spec
    CEngine = None  # type: ignore[assignment,misc]

#: The fastest engine available here.
Engine = CEngine if CEngine is not None else ReferenceEngine

__all__ = [
    "ALL_MARKETS",
    "AccountAdded",
    "AccountView",
    "AddAccount",
    "Block",
    "BlockBuilder",
    "BlockHeader",
    "BlockMismatch",
    "CEngine",
    "CancelOrder",
    "CancelReason",
    "CollateralChanged",
    "Command",
    "CommandType",
    "DecodeError",
    "Deposit",
    "Engine",
    "EngineError",
    "EngineSnapshot",
    "Event",
    "EventType",
    "MarketConfig",
    "MarketStateView",
    "MarketSummary",
    "MassCancel",
    "MassCancelled",
    "OrderAccepted",
    "OrderCancelled",
    "OrderReduced",
    "OrderReplaced",
    "OrderType",
    "OrderView",
    "PlaceOrder",
    "PositionView",
    "ReferenceEngine",
    "Rejected",
    "ReplaceOrder",
    "ResultCode",
    "Side",
    "StateCommitment",
    "StateDiff",
    "StpMode",
    "TimeInForce",
    "Trade",
    "Withdraw",
    "check_markets",
    "decode_command",
    "decode_commands",
    "decode_events",
    "encode",
    "replay_block",
]
