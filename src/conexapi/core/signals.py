"""In-process "there is new work" signal (`Runtime.work_signal`).

The webhook stores a notification and the next worker claim makes its sale due. A worker in the
same process (the single-process demo, an API process that also runs a worker) subscribes and is
woken the moment a notification is committed, instead of at its next poll; workers in other
processes still find it at their poll (`CONEXAPI_WORKER_POLL_INTERVAL_SECONDS`). Subscribers are
called on the notifying event loop's thread (one loop per process here) and must only set an
event or similar.
"""

from __future__ import annotations

from collections.abc import Callable


class WorkSignal:
    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Calls `listener` on every `notify`; returns the function that unsubscribes it."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def notify(self) -> None:
        for listener in list(self._listeners):
            listener()
