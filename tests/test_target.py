"""tvm_blocksparse.target: the CPUs this process may use (affinity, cgroup quota), the memory it
may use (cgroup limit), and the pool size our calls run with."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tvm_blocksparse import target


@pytest.mark.parametrize(
    "files, expected",
    [
        ({"cpu.max": "150000 100000\n"}, 2),  # cgroup v2, 1.5 CPUs -> 2 threads
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "300000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 3),  # v1
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({"cpu.max": "garbage\n"}, None),
        ({}, None),
    ],
)
def test_cgroup_cpu_limit_reads_v1_and_v2_quotas(tmp_path, files, expected):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert target.cgroup_cpu_limit(str(tmp_path)) == expected


def test_available_cpus_follows_the_affinity_mask_and_the_quota(tmp_path):
    assert target.available_cpus() == len(os.sched_getaffinity(0))
    (tmp_path / "cpu.max").write_text("100000 100000\n")
    assert target.available_cpus(str(tmp_path)) == 1
    # a process pinned to one core (taskset, a serving instance) gets 1 by default
    probe = (
        "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
        "os.environ.pop('TVM_NUM_THREADS', None); "
        "from tvm_blocksparse import target; print(target.available_cpus(), target.num_threads())"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["1", "1"]


@pytest.mark.parametrize(
    "files, expected",
    [
        ({"memory.max": "4294967296\n"}, 4 << 30),  # cgroup v2, a 4 GiB container
        ({"memory.max": "max\n"}, None),
        ({"memory/memory.limit_in_bytes": "2147483648\n"}, 2 << 30),  # v1
        ({"memory/memory.limit_in_bytes": "9223372036854771712\n"}, None),  # v1: no limit
        ({"memory.max": "garbage\n"}, None),
        ({}, None),
    ],
)
def test_cgroup_memory_limit_reads_v1_and_v2_limits(tmp_path, files, expected):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert target.cgroup_memory_limit(str(tmp_path)) == expected


def test_available_memory_is_the_ram_bounded_by_the_cgroup_limit(tmp_path):
    ram = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert target.available_memory(str(tmp_path)) == ram
    (tmp_path / "memory.max").write_text("1073741824\n")
    assert target.available_memory(str(tmp_path)) == min(ram, 1 << 30)


def test_num_threads_honours_tvm_num_threads(monkeypatch):
    monkeypatch.setenv("TVM_NUM_THREADS", "3")
    assert target.num_threads() == 3
    monkeypatch.delenv("TVM_NUM_THREADS")
    assert target.num_threads() == target.available_cpus()


def test_target_for_level_is_the_host_or_exactly_that_level():
    from tvm_blocksparse import isa

    assert str(target.target_for_level(None)) == str(target.host_target())
    assert str(target.host_target().attrs["mcpu"]) == target.host_llvm_cpu()
    for level in (lvl for lvl in isa.LEVELS if isa.host_has(lvl) and lvl is not isa.AMX_INT8):
        assert isa.isa_level(target.target_for_level(level.name)) is level


def test_resolve_target_takes_the_given_then_the_enclosing_then_the_host():

    given = target.level_target("avx2")
    assert str(target.resolve_target()) == str(target.host_target())
    assert target.resolve_target(given) is given
    assert str(target.resolve_target({"kind": "llvm", "mcpu": "znver3"}).attrs["mcpu"]) == "znver3"
    with given:
        assert str(target.resolve_target()) == str(given)
        haswell = {"kind": "llvm", "mcpu": "haswell"}
        assert str(target.resolve_target(haswell).attrs["mcpu"]) == "haswell"  # given wins


@pytest.mark.parametrize(
    "llvm_cpu, flags_level",
    [
        ("znver4", "avx2"),  # a VM that hides AVX-512 from a Zen 4
        ("sapphirerapids", "avx_vnni"),  # ... from a Sapphire Rapids that keeps AVX-VNNI
        ("sapphirerapids", "avx2"),
        ("x86-64", "avx2"),  # a model LLVM doesn't know: named by no feature
        ("haswell", "avx512_vnni"),  # a model name older than the flags
    ],
)
def test_host_target_takes_the_level_of_the_cpu_flags_whatever_llvm_names_the_model(
    monkeypatch, llvm_cpu, flags_level
):
    """LLVM names the host from its family and model; the flags say what it runs. What
    ``tb.compile`` builds for the host must run on it (compile-only here: any x86 host)."""
    from tvm_blocksparse import isa

    monkeypatch.delenv(isa.MAX_ISA_ENV, raising=False)
    level = isa.by_name(flags_level)
    flags = frozenset({"avx", "avx2", "fma", *level.cpu_flags})
    monkeypatch.setattr(isa, "host_cpu_flags", lambda: flags)
    monkeypatch.setattr(target, "host_llvm_cpu", lambda: llvm_cpu)
    host = target.host_target(amx=False)
    assert str(host.attrs["mcpu"]) == llvm_cpu
    assert isa.isa_level(host) is level
    assert isa.missing_host_features(host) == []


_HIDDEN_AVX512_PROBE = """
import json, warnings
import numpy as np
import tvm_blocksparse as tb
from tvm_blocksparse.bert_onnx import make_bert_onnx, random_inputs
from tvm_blocksparse.isa import host_isa_level
from tvm_blocksparse.isa.peers import cpuid_capped_level

feeds = random_inputs(1, 16, vocab=1000)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    int8 = tb.compile(make_bert_onnx("tiny", seed=0), seq_len=16, dtype="int8")
    fp32 = tb.compile(make_bert_onnx("tiny", seed=0), seq_len=16, dtype="fp32")
a, b = (m.run(feeds)[0] for m in (int8, fp32))
cos = (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
print(json.dumps([str(host_isa_level()), cpuid_capped_level(), int8.metadata["isa_level"],
                  float(cos.min())]))
"""


def test_a_vm_that_hides_avx512_compiles_and_runs_avx2_code(tmp_path):
    """This CPU as a VM that hides every level above AVX2 shows it (:mod:`isa.hide`: flags and
    CPUID hidden, family and model unchanged, so LLVM still names the model). ``tb.compile`` for
    the host builds AVX2 code there and runs it; it used to build this CPU's own level and
    refuse to run it."""
    from tvm_blocksparse import isa
    from tvm_blocksparse.isa import hide

    if isa.uncapped_host_isa_level() in (None, isa.AVX2):
        pytest.skip("needs a CPU above AVX2 to hide levels from")
    (tmp_path / "probe.py").write_text(_HIDDEN_AVX512_PROBE)
    try:
        cmd, env = hide.hide_command("avx2", [sys.executable, str(tmp_path / "probe.py")], tmp_path)
    except hide.HideUnavailable as e:
        pytest.skip(str(e))
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    level, cpuid, built, cosine = json.loads(done.stdout.splitlines()[-1])
    assert (level, cpuid, built) == ("avx2", "avx2", "avx2")
    assert cosine > 0.99


_POOL_PROBE = """
import json, os, sys, threading, warnings
import tvm_blocksparse as tb
from tvm_blocksparse.bert_onnx import make_bert_onnx, random_inputs
from tvm_blocksparse.testing import thread_cpus

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    model = tb.compile(make_bert_onnx("tiny", seed=0), seq_len=16, dtype="fp32", threads=2)
feeds = random_inputs(1, 16, vocab=1000)
before = set(thread_cpus()) - {threading.get_native_id()}
report = {}
model.run(feeds)  # the pool starts here: its threads are the new ones, plus this one
pool = lambda: [cpus for tid, cpus in sorted(thread_cpus().items()) if tid not in before]
report["full mask, 2 threads"] = pool()
import tvm
model.threads = int(os.environ["TVM_NUM_THREADS"])  # more threads than CPUs, as TVM allows
model.run(feeds)
report["oversubscribed"] = [tvm.get_global_func("runtime.NumThreads")(), *pool()]
last = max(os.sched_getaffinity(0))
os.sched_setaffinity(0, {last})  # as a serving instance pins itself
for n in (1, 2):
    model.threads = n
    model.run(feeds)
    report[f"pinned to {last}, {n} threads"] = pool()
print(json.dumps(report))
"""


def test_the_pool_stays_on_the_cpus_the_calling_thread_may_use():
    """TVM's default pool configuration pins the calling thread to the machine's first CPUs and
    each worker to one CPU, whatever the process's affinity: a process pinned to its last CPU
    moved to CPU 0 at its first run, and two 1-thread processes shared CPU 0. Our runs keep
    every pool thread on exactly the calling thread's mask, also after the mask changes, and
    still give as many threads as asked up to ``TVM_NUM_THREADS``, more than the CPUs too."""
    mask = sorted(os.sched_getaffinity(0))
    if len(mask) < 2:
        pytest.skip("needs 2 CPUs: with one, no placement can be wrong")
    more = len(mask) + 2
    out = subprocess.run(
        [sys.executable, "-c", _POOL_PROBE],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, TVM_NUM_THREADS=str(more)),
    )
    assert out.returncode == 0, out.stderr[-3000:]
    import json

    report = json.loads(out.stdout.strip().splitlines()[-1])
    last = mask[-1]
    assert report["full mask, 2 threads"] and all(
        cpus == mask for cpus in report["full mask, 2 threads"]
    ), report
    pool_size, *threads = report["oversubscribed"]
    assert pool_size == more and all(cpus == mask for cpus in threads), report
    for n in (1, 2):
        threads = report[f"pinned to {last}, {n} threads"]
        assert threads and all(cpus == [last] for cpus in threads), report
