"""Sans-I/O FIX 4.4 core of the trader gateway: field dictionary, codec, session, events.

``fields`` is the dictionary (and the table of our custom tags and messages), ``codec``
turns frames into ``FixMessage`` and back in tag=value or FIX JSON, ``session`` is the
acceptor state machine, ``events`` what it hands to the venue, ``errors`` the exceptions.
"""

from .codec import Codec, Encoding, FixMessage, validate
from .errors import (
    DecodeError,
    EncodeError,
    FixError,
    InvalidState,
    MessageTooLarge,
    ValidationError,
)
from .events import (
    ApplicationRequest,
    CancelOrderRequest,
    LogonAccepted,
    MarketDataSubscription,
    MassCancelRequest,
    MessageRejected,
    NewOrderRequest,
    PeerRejection,
    ReplaceOrderRequest,
    SessionClosed,
    SessionEvent,
)
from .fields import BusinessRejectReason, SessionRejectReason, Tag
from .session import MemoryStore, MessageStore, Session, SessionState

__all__ = [
    "ApplicationRequest",
    "BusinessRejectReason",
    "CancelOrderRequest",
    "Codec",
    "DecodeError",
    "EncodeError",
    "Encoding",
    "FixError",
    "FixMessage",
    "InvalidState",
    "LogonAccepted",
    "MarketDataSubscription",
    "MassCancelRequest",
    "MemoryStore",
    "MessageRejected",
    "MessageStore",
    "MessageTooLarge",
    "NewOrderRequest",
    "PeerRejection",
    "ReplaceOrderRequest",
    "Session",
    "SessionClosed",
    "SessionEvent",
    "SessionRejectReason",
    "SessionState",
    "Tag",
    "ValidationError",
    "validate",
]
