"""Which process holds work, and whether it still runs (leases, token renewal markers)."""

from __future__ import annotations

import os
import subprocess
import sys

from conexapi.core.processes import gone_on_this_host, new_process_id, this_host


def test_a_process_of_this_machine_that_exited_is_gone() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert gone_on_this_host(f"{this_host()}-{proc.pid}-deadbeef")
    assert gone_on_this_host(f"{this_host()}|{proc.pid}|deadbeef", "|")


def test_running_processes_other_machines_and_odd_ids_are_never_gone() -> None:
    assert not gone_on_this_host(new_process_id())  # this very process
    assert not gone_on_this_host(f"{this_host()}-1-cafe")  # init runs
    assert not gone_on_this_host(f"another-machine-{os.getpid() + 99999}-cafe")
    assert not gone_on_this_host("lost")
    assert not gone_on_this_host(f"{this_host()}-notapid-cafe")
