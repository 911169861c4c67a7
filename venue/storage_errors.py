"""Exceptions raised by the venue's durable storage (journal, block store, snapshots).

One root, one level below it, so a caller can catch everything storage-related with
``except StorageError`` and still tell the cases apart when it matters::

    StorageError
    ├── CorruptRecordError      (damage that recovery must not paper over)
    ├── SequenceError           (+ ValueError: caller broke the seq/height order)
    ├── RecordTooLargeError     (+ ValueError: payload above the configured limit)
    └── RecordMissingError      (+ LookupError: asked for records already deleted)

A torn *tail* is not an exception: it is the normal result of a crash during a write, so
recovery truncates it and describes what it dropped in a report object instead.
Operating-system errors (disk full, EIO) are left as ``OSError``: they are not ours to
rename, and after one the writer refuses further use (see ``StorageError`` messages).
"""

from __future__ import annotations

__all__ = [
    "CorruptRecordError",
    "RecordMissingError",
    "RecordTooLargeError",
    "SequenceError",
    "StorageError",
]


class StorageError(Exception):
    """Root of every error raised by ``venue`` storage modules."""


class CorruptRecordError(StorageError):
    """A record failed verification somewhere recovery is not allowed to truncate.

    Raised for damage in a non-last segment, or in the last segment when a later,
    separately committed record is still intact: truncating there would silently drop
    acknowledged commands, so an operator has to look. ``path`` and ``offset`` locate the
    first bad byte; ``reason`` says what check failed.
    """

    def __init__(self, path: str, offset: int, reason: str) -> None:
        super().__init__(f"{path} @ offset {offset}: {reason}")
        self.path = path
        self.offset = offset
        self.reason = reason


class SequenceError(StorageError, ValueError):
    """An append whose seq (or height) is not exactly the previous one plus one.

    The store is unchanged when this is raised. ``expected`` and ``got`` carry the values.
    """

    def __init__(self, expected: int, got: int) -> None:
        super().__init__(f"expected seq {expected}, got {got}")
        self.expected = expected
        self.got = got


class RecordTooLargeError(StorageError, ValueError):
    """A payload larger than the store's ``max_record_size``; nothing was written."""


class RecordMissingError(StorageError, LookupError):
    """Records were requested that this store no longer (or never) held.

    E.g. ``iter_from(seq)`` below the first retained seq after ``truncate_before``: a FIX
    resend or a replay must not quietly start later than it asked.
    """
