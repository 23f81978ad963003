"""Which process a run belongs to, and whether that process is still there.

A run killed with its process (SIGKILL, a crash, a reboot) stays `running` in storage. On the machine
that ran it, a later command can tell at once that the process is gone; from elsewhere it cannot, and
the time rule of `monitor.pipeline.STALE_RUN` applies. A process id only means something within one boot
of one machine and one PID namespace (a container has its own, possibly under the same host name), so
the owner carries that scope (Linux: the boot id and the PID namespace); where it differs, nothing is
concluded, except that a run from an earlier boot of this machine is certainly gone.
"""

from __future__ import annotations

import os
import socket
from functools import cache
from pathlib import Path

from storage.records import RunOwner


def this_process() -> RunOwner:
    return RunOwner(socket.gethostname(), os.getpid(), _scope())


def is_gone(owner: RunOwner, here: RunOwner | None = None) -> bool:
    """True only where certain that the owner's process no longer runs."""
    here = here or this_process()
    if owner.host != here.host or owner.pid is None:
        return False
    if owner.scope != here.scope:
        # another PID namespace (a container): its pids cannot be looked up from here; an earlier boot of
        # this machine: every process of that boot is gone
        owner_boot, here_boot = _boot(owner.scope), _boot(here.scope)
        return owner_boot is not None and here_boot is not None and owner_boot != here_boot
    try:
        os.kill(owner.pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # another user's process has the pid
    return False


@cache
def _scope() -> str | None:
    """ "<boot id> <PID namespace>" on Linux; None where the system does not say."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return None
    return f"{boot} {namespace}"


def _boot(scope: str | None) -> str | None:
    return scope.split(" ", 1)[0] if scope else None
