"""Which process a run belongs to, and whether that process is still there.

A run killed with its process (SIGKILL, a crash, a reboot) stays `running` in storage. On the host that
ran it, a later command can tell at once that the process is gone; from another host it cannot, and the
time rule of `monitor.pipeline.STALE_RUN` applies.
"""

from __future__ import annotations

import os
import socket

from storage.records import RunOwner


def this_process() -> RunOwner:
    return RunOwner(socket.gethostname(), os.getpid())


def is_gone(owner: RunOwner) -> bool:
    """True only where certain: the owner ran on this host and no process has its pid any more."""
    if owner.host != socket.gethostname() or owner.pid is None:
        return False
    try:
        os.kill(owner.pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # another user's process has the pid
    return False
