"""CPU time each part of the stack spends while a benchmark runs, read from /proc: so a result
says where a step's time goes (the Temporal server, the workers, PostgreSQL, the driver with the
API and the mail sink in it) without anyone profiling."""

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        # The command may hold spaces and parentheses: the fields start after the last ")".
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def cpu_seconds(pid: int, *, reaped: bool = False) -> float:
    """The process's user and system time; with `reaped`, its ended children's too (a
    PostgreSQL connection that closed while measured)."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    # utime, stime, cutime, cstime are fields 14 to 17, here from 11 (after pid and comm).
    used = int(fields[11]) + int(fields[12])
    if reaped:
        used += int(fields[13]) + int(fields[14])
    return used / TICKS


def children_of(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[1]) == parent:
                found.append(int(entry.name))
    return found


def pids_running(*words: str) -> list[int]:
    """Processes whose command line holds all of `words`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if all(word in command for word in words):
            found.append(int(entry.name))
    return found


def postgres_seconds(postmaster: int) -> float:
    """The server's processes: the postmaster with its ended connections, and every running
    child (connections, the writers, autovacuum)."""
    return cpu_seconds(postmaster, reaped=True) + sum(
        cpu_seconds(child) for child in children_of(postmaster)
    )


Parts = dict[str, Callable[[], float]]


@contextmanager
def measured(parts: Parts) -> Iterator[dict[str, float]]:
    """CPU seconds of each part over the block, in the dict yielded, filled at its end."""
    before = {name: read() for name, read in parts.items()}
    used: dict[str, float] = {}
    try:
        yield used
    finally:
        used.update({name: read() - before[name] for name, read in parts.items()})


def per_step_ms(used: dict[str, float], steps: int) -> dict[str, float]:
    shares = {name: round(seconds * 1000 / steps, 1) for name, seconds in used.items()}
    return {**shares, "total": round(sum(used.values()) * 1000 / steps, 1)}
