"""Messages the app posts to itself: training events from the session thread, queue changes."""

from __future__ import annotations

from keraslab import core
from textual.message import Message


class TrainingEvent(Message):
    """One event of a TrainingSession, posted from its training thread.

    Batch-progress events of the same run coalesce: when several are waiting in the
    queue only the newest is handled, so a burst of batches costs one repaint.
    """

    def __init__(self, run_id: int, event: core.SessionEvent) -> None:
        super().__init__()
        self.run_id = run_id
        self.event = event

    def can_replace(self, message: Message) -> bool:
        return (
            isinstance(message, TrainingEvent)
            and message.run_id == self.run_id
            and isinstance(self.event, core.BatchProgress)
            and isinstance(message.event, core.BatchProgress)
        )


class QueueChanged(Message):
    """A run started, finished or the queue changed: screens refresh their status lines."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, QueueChanged)
