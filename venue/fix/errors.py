"""Exceptions of the FIX protocol core.

Bad *input* never leaves the session as an exception: the session turns every one of these
into a Reject, a BusinessMessageReject or a Logout. They escape only from the codec when it
is used directly, and from the session when its *caller* breaks a contract (``InvalidState``,
``EncodeError`` for a malformed outbound message).

Tree::

    FixError
     ├── DecodeError (ValueError)        a frame is not a FIX message: garbled, bad
     │    │                              BodyLength/CheckSum, not JSON, no MsgType...
     │    └── MessageTooLarge            the frame is over the ``max_size`` limit
     ├── ValidationError (ValueError)    a well-framed message breaks the dictionary
     ├── EncodeError (ValueError)        a message we were asked to send cannot be encoded
     └── InvalidState (AssertionError)   the session was used out of order (a caller bug)
"""

from __future__ import annotations

from .fields import BusinessRejectReason, SessionRejectReason

__all__ = [
    "DecodeError",
    "EncodeError",
    "FixError",
    "InvalidState",
    "MessageTooLarge",
    "ValidationError",
]


class FixError(Exception):
    """Root of every exception raised by ``venue.fix``."""


class DecodeError(FixError, ValueError):
    """The frame cannot be read as one FIX message.

    ``reason`` is the SessionRejectReason to report; ``seq_num`` is the MsgSeqNum if it could
    be read anyway (for RefSeqNum), ``tag`` the offending tag when one is known. A garbled
    frame does not consume a sequence number, which is why it is a separate class from
    ``ValidationError``.
    """

    def __init__(
        self,
        text: str,
        reason: SessionRejectReason = SessionRejectReason.OTHER,
        *,
        tag: int | None = None,
        seq_num: int | None = None,
        msg_type: str | None = None,
    ) -> None:
        super().__init__(text)
        self.text = text
        self.reason = reason
        self.tag = tag
        self.seq_num = seq_num
        self.msg_type = msg_type


class MessageTooLarge(DecodeError):
    """The frame is longer than the codec's ``max_size``; it was not parsed at all."""


class ValidationError(FixError, ValueError):
    """A framed message breaks the dictionary or a business rule of its MsgType.

    Exactly one of ``reason`` (session level, answered with Reject 3) and
    ``business_reason`` (answered with BusinessMessageReject j) is set.
    """

    def __init__(
        self,
        text: str,
        reason: SessionRejectReason | None = SessionRejectReason.OTHER,
        *,
        tag: int | None = None,
        business_reason: BusinessRejectReason | None = None,
    ) -> None:
        super().__init__(text)
        self.text = text
        self.reason = None if business_reason is not None else reason
        self.tag = tag
        self.business_reason = business_reason


class EncodeError(FixError, ValueError):
    """An outbound message cannot be written (a delimiter inside a value, unknown field)."""


class InvalidState(FixError, AssertionError):
    """The caller used the session in a state that does not allow it (e.g. send before logon).

    It subclasses ``AssertionError`` because it always means a bug in the caller, never bad
    input from the peer.
    """
