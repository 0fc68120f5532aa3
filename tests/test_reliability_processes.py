"""Processes, threads and executors: no orphans after a SIGKILL, the same bits on every executor,
a clear error for an unreachable dask scheduler."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from spinicl.sweep import SweepSpec, run_sweep

HERE = Path(__file__).parent
linux_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


def _stat(pid):
    """(state, ppid, session) of a live process, or None once it is gone or a zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # the name in (...) may hold spaces
    if fields[0] in "ZX":
        return None
    return fields[0], int(fields[1]), int(fields[3])


def _session_members(session):
    """Live processes of ``session``: everything the sweep started, however deep, and its
    re-parented orphans (a process leaves its session only by calling setsid itself)."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[2] == session:
                members.append(int(entry.name))
    return members


@linux_proc
def test_sigkill_of_a_process_sweep_leaves_no_process_behind(tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    script = ("import sys\n"
              "from spinicl.sweep import SweepSpec, run_sweep\n"
              "spec = SweepSpec(kind='reliability_cells_for_tests:busy_marker_cell',\n"
              "                 axes={'x': list(range(8))}, seed=1,\n"
              "                 parameters={'delay': 30.0, 'marker_dir': sys.argv[1]})\n"
              "run_sweep(spec, sys.argv[2], executor='process', workers=2, progress=False)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH",
                                                                                 "")]))
    # Its own session: every process the sweep starts (workers, resource trackers) carries the
    # session id = the parent's pid, even after the parent is gone and they are re-parented.
    parent = subprocess.Popen([sys.executable, "-c", script, str(markers), str(tmp_path / "out")],
                              env=env, start_new_session=True, stderr=subprocess.PIPE)
    survivors = []
    try:
        deadline = time.monotonic() + 120
        while len(list(markers.iterdir())) < 2:  # both workers are inside a 30 s unit
            assert parent.poll() is None, parent.stderr.read().decode()
            assert time.monotonic() < deadline, "the workers never started a unit"
            time.sleep(0.05)
        started = _session_members(parent.pid)
        assert len(started) >= 3, started  # the parent and at least its two workers
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 8  # the watchdog polls every 0.25 s
        while time.monotonic() < deadline:
            survivors = _session_members(parent.pid)
            if not survivors:
                break
            time.sleep(0.1)
        assert survivors == [], (f"still alive {time.monotonic() - deadline + 8:.1f} s after "
                                 f"SIGKILL of the parent: " + "; ".join(
                                     Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ")
                                     .decode(errors="replace")[:120] for p in survivors
                                     if _stat(p) is not None))
    finally:
        for pid in _session_members(parent.pid) if parent.poll() is not None else []:
            os.kill(pid, signal.SIGKILL)
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        parent.stderr.close()


BLAS_SPEC = dict(kind="reliability_cells_for_tests:blas_sensitive_cell", seed=5, repeats=1,
                 parameters={"dim": 12, "n_prompts": 600}, axes={"context_length": [12, 24]})


def _blas_threads():
    return {info["filepath"]: info["num_threads"] for info in threadpool_info()
            if info["user_api"] == "blas"}


def test_serial_process_and_dask_give_the_same_bits_single_threaded(tmp_path):
    import numba

    spec = SweepSpec(**BLAS_SPEC)
    # The user's default: BLAS on every core. The serial executor must not compute that way.
    with threadpool_limits(limits=2, user_api="blas"):
        before, numba_before = _blas_threads(), numba.get_num_threads()
        serial = run_sweep(spec, tmp_path / "serial", executor="serial", progress=False)
        assert _blas_threads() == before and numba.get_num_threads() == numba_before  # restored
        for index in range(len(spec.units())):  # SLURM-array mode computes in-process too
            run_sweep(spec, tmp_path / "array", cell_index=index, progress=False)
    array = run_sweep(spec, tmp_path / "array", executor="serial", progress=False)
    assert array.computed == 0
    pool = run_sweep(spec, tmp_path / "process", executor="process", workers=2, progress=False)
    results = {"serial": serial, "process": pool, "cell_index": array}
    try:
        import dask.distributed  # noqa: F401  (the dask extra: installed with spinicl[test])
    except ImportError:
        pass
    else:
        results["dask"] = run_sweep(spec, tmp_path / "dask", executor="dask", workers=2,
                                    progress=False)
    threads = {"blas_threads", "numba_threads"}
    for name, result in results.items():
        assert result.data.keys() == serial.data.keys()
        for key in sorted(serial.data.keys() - threads):
            assert np.all(np.isfinite(serial.data[key]))
            assert np.array_equal(result.data[key], serial.data[key]), (
                name, key, result.data[key] - serial.data[key])
    for name, result in results.items():
        for key in threads:
            np.testing.assert_array_equal(result.data[key], 1.0, err_msg=f"{name} {key}")


def _free_loopback_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_dask_scheduler_fails_fast_naming_the_address(tmp_path):
    pytest.importorskip("dask.distributed")
    from spinicl.sweep.run import SchedulerUnreachable

    spec = SweepSpec(kind="exact", parameters={"dim": 2, "context_length": 4},
                     axes={"n_prompts": [5]})
    address = f"tcp://127.0.0.1:{_free_loopback_port()}"
    t0 = time.monotonic()
    with pytest.raises(SchedulerUnreachable,
                       match=f"cannot reach the dask scheduler at {address}: .*after 1 s"):
        run_sweep(spec, tmp_path, executor="dask", scheduler=address, scheduler_timeout=1.0,
                  progress=False)
    assert time.monotonic() - t0 < 15
    assert issubclass(SchedulerUnreachable, OSError)  # the CLI turns OSError into one line
    with pytest.raises(ValueError, match="cannot reach the dask scheduler at nonsense::"):
        run_sweep(spec, tmp_path, executor="dask", scheduler="nonsense::", progress=False)
    with pytest.raises(ValueError, match="scheduler_timeout"):
        run_sweep(spec, tmp_path, executor="dask", scheduler=address, scheduler_timeout=0,
                  progress=False)
