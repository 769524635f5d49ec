"""tvm_blocksparse.testing: the helpers the tests and benchmarks share."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

_PIN_PROBE = """
import json, os, subprocess, sys
from tvm_blocksparse.testing import pin_to_first_cpus, thread_cpus
got = {}
for count in (1, 0, 10**6):
    os.sched_setaffinity(0, set(json.loads(sys.argv[1])))
    got[count] = pin_to_first_cpus(count)
    got[f"{count} mask"] = sorted(os.sched_getaffinity(0))
os.sched_setaffinity(0, set(json.loads(sys.argv[1])))
pin_to_first_cpus(1)
child = "import os; print(sorted(os.sched_getaffinity(0)))"
got["child"] = json.loads(subprocess.check_output([sys.executable, "-c", child]))
got["threads"] = list(thread_cpus().values())  # every thread, also those started before
print(json.dumps(got))
"""


def test_pin_to_first_cpus_pins_the_process_and_what_it_starts():
    """Benchmarks pin themselves before they build anything: the first ``count`` CPUs of the
    mask (at least one, at most all), every thread already running (numpy's BLAS pool) and the
    processes they start (DeepSparse's)."""
    mask = sorted(os.sched_getaffinity(0))
    if len(mask) < 2:
        pytest.skip("needs 2 CPUs: with one, pinning changes nothing")
    out = subprocess.run(
        [sys.executable, "-c", _PIN_PROBE, json.dumps(mask)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["1"] == got["1 mask"] == mask[:1]
    assert got["0"] == got["0 mask"] == mask[:1]
    assert got[str(10**6)] == got[f"{10**6} mask"] == mask
    assert got["child"] == mask[:1]
    assert len(got["threads"]) > 1 and all(m == mask[:1] for m in got["threads"])
