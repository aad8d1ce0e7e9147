"""The benchmarks' CPU accounting reads what a process really used, and finds it by its
command line and its parent."""

import os
import subprocess
import sys
import time
import uuid

from bench.cpu import children_of, cpu_seconds, measured, per_step_ms, pids_running


def test_a_busy_child_is_found_and_its_cpu_time_counted() -> None:
    marker = f"busy-{uuid.uuid4().hex}"
    # Spins for about half a second of CPU, then waits to be read.
    script = (
        f"import time; m = {marker!r}; t = time.process_time()\n"
        "while time.process_time() - t < 0.5: pass\n"
        "time.sleep(30)"
    )
    child = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 20
        while cpu_seconds(child.pid) < 0.5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pids_running(marker) == [child.pid]
        assert child.pid in children_of(os.getpid())
        with measured({"child": lambda: cpu_seconds(child.pid)}) as used:
            time.sleep(0.2)  # it only sleeps now
        assert 0.45 <= cpu_seconds(child.pid) < 5
        assert used["child"] < 0.1
    finally:
        child.kill()
        child.wait()


def test_cpu_time_per_step_is_in_milliseconds_with_a_total() -> None:
    assert per_step_ms({"server": 1.0, "workers": 0.5}, 100) == {
        "server": 10.0,
        "workers": 5.0,
        "total": 15.0,
    }
