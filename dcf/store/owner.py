"""Who owns a RUNNING row: the host, pid and process start time of the process that wrote it.

    host, pid, start = process_identity()          # recorded on the rows a run opens
    process_alive(host, pid, start)                # False: gone (or the pid was reused); None: cannot tell here
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def process_identity(pid: int | None = None) -> tuple[str, int, str | None]:
    """(host, pid, start) of a process; start (Linux: clock ticks since boot) tells a reused pid apart."""
    pid = pid or os.getpid()
    stat = _proc_stat(pid)
    return socket.gethostname(), pid, stat[19] if stat else None


def process_alive(host: str | None, pid: int | None, start: str | None) -> bool | None:
    """True/False for a process of this host; None when it cannot be told (another host, no pid)."""
    if not pid or not host or host != socket.gethostname():
        return None
    if Path("/proc/self/stat").exists():
        stat = _proc_stat(int(pid))
        if stat is None or stat[0] in ("Z", "X"):  # gone, or a zombie: dead either way
            return False
        return start is None or stat[19] == start
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _proc_stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
    return text.rsplit(")", 1)[1].split()
