"""Which process of which machine holds something (a sale's lease, a token renewal), and whether
it is still running.

Work held by a process that died is normally given back when its lease or marker expires. When
the holder ran on this machine, its pid answers sooner: a process restarted by its supervisor
(or a neighbour) takes the work over at once instead of after the whole lease.
"""

from __future__ import annotations

import os
import socket
import uuid

HOST_CHARS = 30


def this_host() -> str:
    return socket.gethostname()[:HOST_CHARS]


def new_process_id(separator: str = "-") -> str:
    """`host<sep>pid<sep>nonce`: unique even when a pid is reused."""
    return separator.join((this_host(), str(os.getpid()), uuid.uuid4().hex[:8]))


def gone_on_this_host(process_id: str, separator: str = "-") -> bool:
    """True only when `process_id` names a process of this machine that is no longer running.
    Another machine's process, or an id of another shape, is never called gone here."""
    parts = process_id.rsplit(separator, 2)
    if len(parts) != 3 or parts[0] != this_host() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False  # this very process (another runtime of it, in tests)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # running, as another user
    return False
