"""Whether the process of a run left `running` is certainly gone: only where this process can tell."""

from __future__ import annotations

import subprocess
import sys

from monitor.owner import is_gone, this_process
from storage.records import RunOwner


def finished_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_process_of_this_machine_that_ended_is_gone_and_a_live_one_is_not() -> None:
    here = this_process()
    assert not is_gone(here)
    assert is_gone(RunOwner(here.host, finished_pid(), here.scope))


def test_nothing_is_concluded_from_another_host_or_another_pid_namespace() -> None:
    here = this_process()
    dead = finished_pid()
    assert not is_gone(RunOwner("another-host", dead, here.scope))
    assert not is_gone(RunOwner(here.host, dead, "same-boot pid:[1]"), RunOwner(here.host, 1, "same-boot pid:[2]"))


def test_a_run_of_an_earlier_boot_of_this_machine_is_gone() -> None:
    here = RunOwner("server", 4242, "boot-2 pid:[1]")
    assert is_gone(RunOwner("server", 4242, "boot-1 pid:[1]"), here)  # whatever now has pid 4242
