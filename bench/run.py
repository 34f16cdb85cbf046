#!/usr/bin/env python3
"""The recording benchmark: tracetape against the untraced run, the cost floor
and its peers, on every workload of DESIGN section 7, in one interleaved run.

    python3 bench/run.py                  # 3.11, 3.12 and 3.13, 3 repetitions
    python3 bench/run.py --quick          # smoke run: 1 repetition, small sizes
    python3 bench/run.py --python 3.12 --reps 7 --markdown
    python3 bench/run.py --long           # the 100M-event memory run instead

See bench/README.md for what each tool and column means. Standard library only:
this script sets up its own venvs (bench/.venv/py3.X) with the pinned peers of
bench/requirements.txt and tracetape built from this checkout.
"""

from __future__ import annotations

import argparse
import datetime
import glob
import hashlib
import json
import os
import platform
import random
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
WORKLOADS = os.path.join(BENCH, "workloads")
VENVS = os.path.join(BENCH, ".venv")
CACHE = os.path.join(BENCH, ".cache")
REQUIREMENTS = os.path.join(BENCH, "requirements.txt")
SUITE_REQUIREMENTS = os.path.join(BENCH, "suite-requirements.txt")
FLOOR_SOURCE = os.path.join(BENCH, "floor", "bench_floor.c")
DEFAULT_VERSIONS = ["3.11", "3.12", "3.13"]

# DESIGN section 7 targets.
TARGET_FULL_FLOOR = 1.5
TARGET_NOLOCALS_FLOOR = 1.15
TARGET_EXCLUDED_UNTRACED = 1.1
TARGET_BYTES_PER_EVENT = 3.0
TARGET_BUFFERS_MIB = 64


def say(msg: str) -> None:
    print(f"==> {msg}", file=sys.stderr, flush=True)


def version_tuple(v: str):
    return tuple(int(x) for x in v.split("."))


# ---------------------------------------------------------------- workloads

class Workload:
    def __init__(self, name, script, args, quick_args, long_args=None):
        self.name = name
        self.script = os.path.join(WORKLOADS, script)
        self.args = args
        self.quick_args = quick_args
        self.long_args = long_args
        # The files a scoped tool records: the workloads folder (and, for the
        # suite, the package under test).
        self.scope = [WORKLOADS]


def make_workloads(suite_dir):
    ws = [
        Workload("call", "call_heavy.py", ["31"], ["24"]),
        Workload("line", "line_heavy.py", ["2000000"], ["200000"]),
        Workload("object", "object_heavy.py", ["400000"], ["40000"]),
        Workload("c", "c_heavy.py", ["20"], ["3"]),
    ]
    suite = Workload("suite", "suite.py", [suite_dir, "toolz/tests"],
                     [suite_dir, "toolz/tests/test_itertoolz.py", "toolz/tests/test_dicttoolz.py"])
    suite.scope = [suite_dir, WORKLOADS]
    ws.append(suite)
    return ws


WORKLOAD_TITLES = {
    "call": "call-heavy",
    "line": "line-heavy",
    "object": "object-heavy",
    "c": "C-heavy",
    "suite": "test suite",
}

# ---------------------------------------------------------------- tools
# Each tool turns (env, workload, tmpdir) into a command line and extra
# environment. `slow` tools get fewer repetitions and a short timeout.

TOOLS = [
    # name, min version, slow
    ("untraced", None, False),
    ("floor-settrace", None, False),
    ("floor-monitoring", "3.12", False),
    ("tracetape", None, False),
    ("tracetape-nolocals", None, False),
    ("tracetape-excluded", None, False),
    ("tracetape-pytest", None, False),
    ("viztracer", None, False),
    ("viztracer-args", None, False),
    ("coverage-ctrace", None, False),
    ("coverage-sysmon", "3.12", False),
    ("hunter", None, True),
    ("pysnooper", None, True),
]
SLOW = {name for name, _, slow in TOOLS if slow}
FLOORS = ("floor-settrace", "floor-monitoring")
TRACETAPE_TOOLS = ("tracetape", "tracetape-nolocals", "tracetape-excluded")
# Tools that apply to one workload only: `pytest --tape`, a tape per test (the
# plugin starts and stops a recording around each one, and removes the tapes of
# passing tests), as users record a suite, where the "tracetape" row records
# the whole pytest process into one tape.
ONLY_ON = {"tracetape-pytest": "suite"}
TOOL_TITLES = {
    "untraced": "untraced",
    "floor-settrace": "floor: C settrace",
    "floor-monitoring": "floor: C sys.monitoring",
    "tracetape": "tracetape (full)",
    "tracetape-nolocals": "tracetape --locals none",
    "tracetape-excluded": "tracetape, workload excluded",
    "tracetape-pytest": "tracetape: pytest --tape",
    "viztracer": "viztracer",
    "viztracer-args": "viztracer +args +retval",
    "coverage-ctrace": "coverage ctrace",
    "coverage-sysmon": "coverage sysmon",
    "hunter": "hunter CallPrinter",
    "pysnooper": "pysnooper",
}


def tool_command(tool, env, w, args, tmp):
    """The argv and extra environment that run workload `w` with `args` under `tool`."""
    py = env["python"]
    target = [w.script] + args
    extra = {}
    if tool == "untraced":
        cmd = [py] + target
    elif tool in FLOORS:
        mode = "settrace" if tool == "floor-settrace" else "monitoring"
        cmd = [py, os.path.join(BENCH, "floor", "run_floor.py"), env["floor_dir"], mode] + target
    elif tool in TRACETAPE_TOOLS:
        cmd = [py, "-m", "tracetape", "record", "-o", os.path.join(tmp, "run.tape")]
        if tool == "tracetape-nolocals":
            cmd += ["--locals", "none"]
        if tool == "tracetape-excluded":
            for d in w.scope:
                cmd += ["--exclude", d]
        cmd += ["--"] + target
    elif tool == "tracetape-pytest":
        cmd = [py] + target
        extra["BENCH_PYTEST_ARGS"] = shlex.join(
            ["-p", "tracetape.pytest_plugin", "--tape", "--tape-dir", os.path.join(tmp, "tapes")])
    elif tool.startswith("viztracer"):
        cmd = [py, "-m", "viztracer", "--quiet", "-o", os.path.join(tmp, "trace.json")]
        if tool == "viztracer-args":
            cmd += ["--log_func_args", "--log_func_retval"]
        cmd += ["--"] + target
    elif tool.startswith("coverage"):
        rc = os.path.join(tmp, "empty.coveragerc")
        open(rc, "w").close()
        cmd = [py, "-m", "coverage", "run", f"--rcfile={rc}",
               f"--data-file={os.path.join(tmp, '.coverage')}"] + target
        extra["COVERAGE_CORE"] = "ctrace" if tool == "coverage-ctrace" else "sysmon"
    elif tool == "hunter":
        # hunter's predicate takes one folder: the suite's scope is the package
        # (suite.py itself is a thin driver).
        cmd = [py, os.path.join(BENCH, "peers", "run_hunter.py"), os.path.join(tmp, "hunter.txt"),
               w.scope[0]] + target
    elif tool == "pysnooper":
        cmd = [py, os.path.join(BENCH, "peers", "run_pysnooper.py"),
               os.path.join(tmp, "pysnooper.txt")] + target
    else:
        raise ValueError(tool)
    return cmd, extra


def tools_for(version):
    out = []
    for name, min_version, _ in TOOLS:
        if min_version and version_tuple(version) < version_tuple(min_version):
            continue
        out.append(name)
    return out


# ---------------------------------------------------------------- set-up

def find_python(v):
    pats = [os.path.expanduser(f"~/.pyenv/versions/{v}.*/bin/python{v}"),
            f"/opt/pyenv/versions/{v}.*/bin/python{v}"]
    for pat in pats:
        for p in sorted(glob.glob(pat)):
            if os.access(p, os.X_OK):
                return p
    return shutil.which(f"python{v}")


def run_logged(cmd, log, **kw):
    """Runs a set-up step with its output in `log`; on failure shows the tail."""
    with open(log, "ab") as f:
        f.write(("\n$ " + shlex.join(cmd) + "\n").encode())
        f.flush()
        r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, **kw)
    if r.returncode != 0:
        with open(log, "rb") as f:
            tail = f.read()[-4000:].decode(errors="replace")
        sys.exit(f"error: {shlex.join(cmd)} failed (exit {r.returncode}); end of {log}:\n{tail}")


def file_hash(*paths):
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def ensure_venv(v, build):
    """bench/.venv/py3.X with the pinned peers, tracetape from this checkout and
    the floor extension. Reused while bench/requirements.txt is unchanged;
    tracetape is rebuilt (incrementally) unless build is False."""
    base = find_python(v)
    if not base:
        sys.exit(f"error: no CPython {v} found (pyenv install {v})")
    venv = os.path.join(VENVS, f"py{v}")
    py = os.path.join(venv, "bin", "python")
    log = os.path.join(VENVS, f"py{v}.log")
    os.makedirs(VENVS, exist_ok=True)
    if not os.access(py, os.X_OK):
        say(f"creating {os.path.relpath(venv, ROOT)} from {base}")
        run_logged([base, "-m", "venv", venv], log)
        run_logged([py, "-m", "pip", "install", "-q", "--upgrade", "pip"], log)
    stamp = os.path.join(venv, ".bench-requirements")
    want = file_hash(REQUIREMENTS)
    have = open(stamp).read().strip() if os.path.exists(stamp) else ""
    if have != want:
        say(f"installing the pinned peers into py{v} (bench/requirements.txt)")
        run_logged([py, "-m", "pip", "install", "-q", "-r", REQUIREMENTS], log)
        with open(stamp, "w") as f:
            f.write(want + "\n")
    installed = subprocess.run([py, "-c", "import tracetape"], capture_output=True).returncode == 0
    if build or not installed:
        say(f"building and installing tracetape for Python {v} from {ROOT}")
        run_logged([py, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps", ROOT], log)
    floor_dir = build_floor(py, venv, log)
    info = json.loads(subprocess.run([py, "-c", VERSIONS_SNIPPET], capture_output=True, text=True,
                                     check=True).stdout)
    return {"version": v, "python": py, "base": base, "floor_dir": floor_dir, **info}


VERSIONS_SNIPPET = r"""
import json, platform, sys
from importlib import metadata
tools = {}
for name in ("tracetape", "viztracer", "coverage", "pysnooper", "hunter", "pytest"):
    try:
        tools[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
        tools[name] = None
print(json.dumps({"full_version": platform.python_version(),
                  "implementation": platform.python_implementation(),
                  "build": " ".join(platform.python_build()),
                  "compiler": platform.python_compiler(), "tools": tools}))
"""

SYSCONFIG_SNIPPET = r"""
import json, sysconfig
print(json.dumps({k: sysconfig.get_config_var(k) or "" for k in
                  ("CC", "CFLAGS", "CCSHARED", "LDSHARED", "EXT_SUFFIX", "INCLUDEPY")}))
"""


def build_floor(py, venv, log):
    """Compiles bench/floor/bench_floor.c for this interpreter with its own
    compiler and flags (sysconfig), into the venv; skipped when up to date."""
    out_dir = os.path.join(venv, "bench-floor")
    cfg = json.loads(subprocess.run([py, "-c", SYSCONFIG_SNIPPET], capture_output=True, text=True,
                                    check=True).stdout)
    target = os.path.join(out_dir, "bench_floor" + cfg["EXT_SUFFIX"])
    if os.path.exists(target) and os.path.getmtime(target) >= os.path.getmtime(FLOOR_SOURCE):
        return out_dir
    say(f"building the cost-floor extension for {os.path.basename(venv)}")
    os.makedirs(out_dir, exist_ok=True)
    obj = os.path.join(out_dir, "bench_floor.o")
    run_logged(shlex.split(cfg["CC"]) + shlex.split(cfg["CFLAGS"]) + shlex.split(cfg["CCSHARED"])
               + ["-I", cfg["INCLUDEPY"], "-c", FLOOR_SOURCE, "-o", obj], log)
    run_logged(shlex.split(cfg["LDSHARED"]) + [obj, "-o", target], log)
    return out_dir


def ensure_suite(py):
    """The test-suite workload's package: its sdist, downloaded once with the
    pinned hash, unpacked into bench/.cache/."""
    with open(SUITE_REQUIREMENTS) as f:
        spec = next(line.split()[0] for line in f if line.strip() and not line.startswith("#"))
    name, version = spec.split("==")
    dest = os.path.join(CACHE, f"{name}-{version}")
    if os.path.isdir(os.path.join(dest, name)):
        return dest
    say(f"downloading the sdist of {spec} (bench/suite-requirements.txt)")
    sdists = os.path.join(CACHE, "sdist")
    os.makedirs(sdists, exist_ok=True)
    run_logged([py, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                "--require-hashes", "-r", SUITE_REQUIREMENTS, "-d", sdists],
               os.path.join(CACHE, "download.log"))
    archive = os.path.join(sdists, f"{name}-{version}.tar.gz")
    tmp = dest + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(tmp, filter="data")
        else:
            tar.extractall(tmp)
    os.replace(os.path.join(tmp, f"{name}-{version}"), dest)
    shutil.rmtree(tmp, ignore_errors=True)
    return dest


# ---------------------------------------------------------------- running

def base_environment():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "COVERAGE_", "VIRTUAL_ENV", "PYTEST_"))}
    env["PYTHONHASHSEED"] = "0"
    # The suite runs without entry-point plugins (tracetape's, hunter's): the
    # same pytest under every tool.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


# --cpus N: every measured run is pinned to the first N CPUs this process may
# use (None: not pinned). With one, tracetape's writer thread takes its turns
# on the CPU that runs the program, as when every core is busy (pytest -n auto).
PIN_CPUS = None


def _pin():
    os.sched_setaffinity(0, PIN_CPUS)


def run_once(tool, env, w, args, timeout, base_env):
    """Runs one (workload, tool) in a fresh temporary folder. Returns a dict with
    the workload's own elapsed seconds, the process's wall time and peak RSS,
    the checksum, and for tracetape the tape's size."""
    tmp = tempfile.mkdtemp(prefix="tracetape-bench-")
    try:
        cmd, extra = tool_command(tool, env, w, args, tmp)
        result_file = os.path.join(tmp, "result.json")
        penv = dict(base_env, BENCH_RESULT_FILE=result_file, **extra)
        out_path = os.path.join(tmp, "stdout")
        err_path = os.path.join(tmp, "stderr")
        rec = {"tool": tool, "workload": w.name, "version": env["version"], "cmd": cmd,
               "elapsed": None}
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=penv,
                                    cwd=tmp, start_new_session=True,
                                    preexec_fn=_pin if PIN_CPUS else None)
            timed_out = threading.Event()

            def kill():
                timed_out.set()
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

            timer = threading.Timer(timeout, kill)
            timer.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                timer.cancel()
            wall = time.perf_counter() - t0
            proc.returncode = os.waitstatus_to_exitcode(status)
        rec["wall"] = wall
        rec["maxrss_kib"] = usage.ru_maxrss
        rec["exit"] = proc.returncode
        if timed_out.is_set():
            rec.update(state="timeout", timeout=timeout)
            return rec
        try:
            with open(result_file) as f:
                res = json.load(f)
        except (OSError, ValueError):
            res = None
        if proc.returncode != 0 or res is None:
            with open(err_path, "rb") as f:
                tail = f.read()[-1500:].decode(errors="replace")
            rec.update(state="error", stderr_tail=tail)
            return rec
        rec["elapsed"] = res["elapsed"]
        rec["checksum"] = res["checksum"]
        rec["state"] = "ok"
        tape = os.path.join(tmp, "run.tape")
        if tool in TRACETAPE_TOOLS and os.path.exists(tape):
            rec["tape_bytes"] = os.path.getsize(tape)
            rec["tape_path"] = tape  # read by the caller before the folder goes
            rec["_tmp"] = tmp
            tmp = None
        return rec
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def tape_info(py, tape):
    """The event count (and the rest of the counts) that `tracetape info` prints."""
    r = subprocess.run([py, "-m", "tracetape", "info", tape], capture_output=True, text=True)
    counts = parse_info(r.stdout)
    counts["info_exit"] = r.returncode
    m = re.search(r"\((\S+) hook\)", r.stdout)
    if m:
        counts["hook"] = m.group(1)
    if r.returncode != 0:
        counts["info_error"] = (r.stdout + r.stderr)[-500:]
    return counts


def parse_info(text):
    """Picks the numbers out of `tracetape info`: lines like `events: 123`
    (also `events   123 (...)`, `calls: 4`)."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if ":" in line:
            key, _, value = line.partition(":")
        else:
            parts = line.split(None, 1)
            if len(parts) != 2:
                continue
            key, value = parts
        key = key.strip().lower().replace(" ", "_")
        first = value.strip().split(" ")[0].replace(",", "").replace("_", "")
        if first.isdigit():
            out.setdefault(key, int(first))
    return out


def event_count(counts):
    for key in ("events", "event_count", "total_events"):
        if key in counts:
            return counts[key]
    return None


# ---------------------------------------------------------------- statistics

def summarize(runs, envs, workloads):
    """Per (version, workload, tool): medians, minimums, ratios; the floor."""
    results = {}
    for env in envs:
        v = env["version"]
        per_w = {}
        for w in workloads:
            cells = {}
            for tool in tools_for(v):
                rs = [r for r in runs if r["version"] == v and r["workload"] == w.name
                      and r["tool"] == tool]
                ok = [r for r in rs if r["state"] == "ok"]
                cell = {"runs": len(rs), "ok": len(ok)}
                if ONLY_ON.get(tool, w.name) != w.name:
                    cell.update(status="n/a", median=None)
                    cells[tool] = cell
                    continue
                states = {r["state"] for r in rs}
                if ok:
                    ts = [r["elapsed"] for r in ok]
                    cell.update(median=statistics.median(ts), min=min(ts),
                                wall_median=statistics.median(r["wall"] for r in ok),
                                maxrss_mib=statistics.median(r["maxrss_kib"] for r in ok) / 1024)
                    tapes = [r for r in ok if "tape_bytes" in r]
                    if tapes:
                        cell["tape_bytes"] = statistics.median(r["tape_bytes"] for r in tapes)
                        events = [r["events"] for r in tapes if r.get("events") is not None]
                        if events:
                            cell["events"] = events[0]
                            if events[0]:
                                cell["bytes_per_event"] = cell["tape_bytes"] / events[0]
                        hooks = [r["info"]["hook"] for r in tapes if r.get("info", {}).get("hook")]
                        if hooks:
                            cell["hook"] = hooks[0]
                if "broken" in states:
                    cell["status"] = "broken"
                elif "error" in states and not ok:
                    cell["status"] = "error"
                elif "timeout" in states and not ok:
                    cell["status"] = "timeout"
                    cell["timeout"] = max(r["timeout"] for r in rs if r["state"] == "timeout")
                elif ok:
                    cell["status"] = "ok"
                else:
                    cell["status"] = "not run"
                if "broken" in states or ("error" in states and not ok):
                    cell.pop("median", None)
                cells[tool] = cell
            base = cells.get("untraced", {}).get("median")
            floors = {f: cells[f]["median"] for f in FLOORS if cells.get(f, {}).get("median")}
            floor_tool = min(floors, key=floors.get) if floors else None
            floor = floors.get(floor_tool)
            base_rss = cells.get("untraced", {}).get("maxrss_mib")
            # The same from each cell's fastest repetition: on a machine whose speed drifts
            # (a shared VM), noise only adds time, and the fastest runs are the comparable ones.
            base_min = cells.get("untraced", {}).get("min")
            floor_min = min((cells[f]["min"] for f in floors), default=None)
            for tool, cell in cells.items():
                cell.setdefault("median", None)  # null in the JSON: timed out, broken or failed
                m = cell.get("median")
                cell["ratio_untraced"] = m / base if m and base else None
                cell["ratio_floor"] = m / floor if m and floor else None
                mn = cell.get("min") if m else None
                cell["ratio_untraced_min"] = mn / base_min if mn and base_min else None
                cell["ratio_floor_min"] = mn / floor_min if mn and floor_min else None
                if cell["status"] == "timeout" and base:
                    cell["ratio_untraced_above"] = cell["timeout"] / base
                if cell.get("maxrss_mib") is not None and base_rss is not None:
                    cell["maxrss_delta_mib"] = cell["maxrss_mib"] - base_rss
            per_w[w.name] = {"floor_tool": floor_tool, "floor": floor, "tools": cells}
        results[v] = per_w
    return results


def check_targets(results):
    """DESIGN section 7 targets for each version and workload: True, False, or
    None when the numbers are missing."""
    out = {}
    for v, per_w in results.items():
        checks = []

        def add(what, workload, value, limit, ok_if_le=True):
            if value is None:
                passed = None
            else:
                passed = value <= limit if ok_if_le else value >= limit
            checks.append({"target": what, "workload": workload, "value": value, "limit": limit,
                           "pass": passed})

        for wname, wr in per_w.items():
            t = wr["tools"]
            add("full <= 1.5x floor", wname, t.get("tracetape", {}).get("ratio_floor"),
                TARGET_FULL_FLOOR)
            add("--locals none <= 1.15x floor", wname,
                t.get("tracetape-nolocals", {}).get("ratio_floor"), TARGET_NOLOCALS_FLOOR)
            if version_tuple(v) >= (3, 12):
                add("excluded <= 1.1x untraced", wname,
                    t.get("tracetape-excluded", {}).get("ratio_untraced"), TARGET_EXCLUDED_UNTRACED)
            add("tape <= 3 B/event", wname, t.get("tracetape", {}).get("bytes_per_event"),
                TARGET_BYTES_PER_EVENT)
        out[v] = checks
    return out


# ---------------------------------------------------------------- report

def fmt_ratio(x):
    if x is None:
        return "-"
    return f"{x:.2f}x" if x < 100 else f"{x:.0f}x"


def cell_text(cell, fastest=False):
    """A table cell: ratios of the medians, or with `fastest` of the fastest repetitions."""
    st = cell.get("status")
    if st == "timeout":
        above = cell.get("ratio_untraced_above")
        return f">{cell['timeout']:.0f}s" + (f" (>{above:.0f}x)" if above else "")
    if st == "n/a":
        return "-"
    if st in ("broken", "error", "not run"):
        return st
    if fastest:
        ru, rf = cell.get("ratio_untraced_min"), cell.get("ratio_floor_min")
        if cell.get("_is_untraced"):
            return f"{cell['min']:.3f}s"
    else:
        ru, rf = cell.get("ratio_untraced"), cell.get("ratio_floor")
        if cell.get("_is_untraced"):
            return f"{cell['median']:.3f}s"
    return f"{fmt_ratio(ru)} / {fmt_ratio(rf)}"


def render(results, targets, envs, workloads, markdown):
    lines = []
    wnames = [w.name for w in workloads]
    for env in envs:
        v = env["version"]
        per_w = results[v]
        header = ["tool"] + [WORKLOAD_TITLES[n] for n in wnames]
        def ran(tool):
            return any(per_w[n]["tools"].get(tool, {}).get("status", "not run") not in ("not run", "n/a")
                       for n in wnames)

        def ratio_rows(fastest):
            rows = []
            for tool in tools_for(v):
                if not ran(tool):  # left out with --tools
                    continue
                row = [TOOL_TITLES[tool]]
                for n in wnames:
                    cell = dict(per_w[n]["tools"][tool])
                    if tool == "untraced" and cell.get("median") is not None:
                        cell["_is_untraced"] = True
                    row.append(cell_text(cell, fastest))
                rows.append(row)
            return rows

        rows = ratio_rows(fastest=False)
        floor_row = ["(floor used)"] + [
            (per_w[n]["floor_tool"] or "-").replace("floor-", "") for n in wnames]
        rows.append(floor_row)
        lines += table(f"CPython {env['full_version']}: ratio to untraced / ratio to the floor "
                       f"(median of the timed body)", header, rows, markdown)
        if any(per_w[n]["tools"].get("untraced", {}).get("ratio_untraced_min") for n in wnames):
            lines += table(f"CPython {env['full_version']}: the same from the fastest repetition "
                           f"of each (noise only adds time)", header, ratio_rows(fastest=True),
                           markdown)

        # tracetape's tape and memory
        header2 = ["tracetape"] + [WORKLOAD_TITLES[n] for n in wnames]
        rows2 = [["hook (tracetape info)"] + [
            per_w[n]["tools"].get("tracetape", {}).get("hook", "-") for n in wnames]]
        for tool in TRACETAPE_TOOLS:
            if not ran(tool):
                continue
            for label, key, f in (("B/event", "bytes_per_event", "{:.2f}"),
                                  ("events", "events", "{:,}"),
                                  ("tape MiB", "tape_bytes", None),
                                  ("peak RSS +MiB", "maxrss_delta_mib", "{:+.1f}")):
                row = [f"{TOOL_TITLES[tool]}: {label}"]
                for n in wnames:
                    val = per_w[n]["tools"][tool].get(key)
                    if val is None:
                        row.append("-")
                    elif key == "tape_bytes":
                        row.append(f"{val / 2**20:.2f}")
                    else:
                        row.append(f.format(val))
                rows2.append(row)
        lines += table(f"CPython {env['full_version']}: tracetape tapes (size / events from "
                       f"`tracetape info`) and peak RSS over the untraced run", header2, rows2,
                       markdown)

        checks = targets[v]
        header3 = ["DESIGN 7 target"] + [WORKLOAD_TITLES[n] for n in wnames]
        rows3 = []
        for what in dict.fromkeys(c["target"] for c in checks):
            row = [what]
            for n in wnames:
                c = next((c for c in checks if c["target"] == what and c["workload"] == n), None)
                if c is None or c["pass"] is None:
                    row.append("-")
                else:
                    val = f"{c['value']:.2f}"
                    row.append(("pass " if c["pass"] else "FAIL ") + val)
            rows3.append(row)
        lines += table(f"CPython {env['full_version']}: targets", header3, rows3, markdown)
    return "\n".join(lines)


def table(title, header, rows, markdown):
    out = []
    if markdown:
        out.append(f"**{title}**")
        out.append("")
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
        for r in rows:
            out.append("| " + " | ".join(r) + " |")
        out.append("")
        return out
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    out.append(title)
    out.append("  ".join(h.ljust(widths[0]) if i == 0 else h.rjust(widths[i])
                         for i, h in enumerate(header)))
    out.append("  ".join("-" * wd for wd in widths))
    for r in rows:
        out.append("  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i])
                             for i, c in enumerate(r)))
    out.append("")
    return out


def machine_info():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or None
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain"], capture_output=True,
                           text=True).stdout.strip() != ""
    return {"cpu": cpu, "cpus": os.cpu_count(), "platform": platform.platform(),
            "load_average": os.getloadavg(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "git_commit": commit, "git_dirty": dirty}


# ---------------------------------------------------------------- modes

def run_matrix(args, envs, workloads):
    rng = random.Random(args.seed)
    base_env = base_environment()
    runs = []
    skip = set()  # (version, workload, tool) that timed out, broke or failed
    slowed = set()  # (version, workload, tool) found slow on their first run
    expected = {}
    slow_timeout = {}

    # Warm-up: each workload once untraced per version (byte-code caches, page
    # cache); also gives the expected checksum. Not timed.
    for env in envs:
        for w in workloads:
            r = run_once("untraced", env, w, w.quick_args if args.quick else w.args,
                         args.timeout, base_env)
            if r["state"] != "ok":
                sys.exit(f"error: workload {w.name} fails untraced on {env['version']}:\n"
                         f"{r.get('stderr_tail', r['state'])}")
            expected[(env["version"], w.name)] = r["checksum"]
            slow_timeout[(env["version"], w.name)] = min(
                args.slow_timeout_max, max(args.slow_timeout_min, args.slow_factor * r["wall"]))

    jobs_per_rep = []
    for rep in range(args.reps):
        jobs = []
        for env in envs:
            for w in workloads:
                for tool in tools_for(env["version"]):
                    if args.tools and tool not in args.tools and tool != "untraced" \
                            and tool not in FLOORS:
                        continue
                    if tool in SLOW and rep >= args.slow_reps:
                        continue
                    if ONLY_ON.get(tool, w.name) != w.name:
                        continue
                    jobs.append((env, w, tool))
        rng.shuffle(jobs)
        jobs_per_rep.append(jobs)
    total = sum(len(j) for j in jobs_per_rep)
    done = 0
    t_start = time.time()
    for rep, jobs in enumerate(jobs_per_rep):
        for env, w, tool in jobs:
            done += 1
            key = (env["version"], w.name, tool)
            if key in skip or (key in slowed and rep >= args.slow_reps):
                continue
            timeout = slow_timeout[key[:2]] if tool in SLOW else args.timeout
            r = run_once(tool, env, w, w.quick_args if args.quick else w.args, timeout, base_env)
            r["rep"] = rep
            if r["state"] == "ok" and r["checksum"] != expected[(env["version"], w.name)]:
                r["state"] = "broken"
                r["expected_checksum"] = expected[(env["version"], w.name)]
                r["elapsed"] = None  # not a timing: the tool changed the result
            if "_tmp" in r:
                tmp = r.pop("_tmp")
                tape = r.pop("tape_path")
                if r["state"] == "ok":
                    # Counting is slow on big tapes: once per configuration.
                    prior = next((p for p in runs if (p["version"], p["workload"], p["tool"]) == key
                                  and p.get("events") is not None), None)
                    if prior:
                        r["events"] = prior["events"]
                    else:
                        r["info"] = tape_info(env["python"], tape)
                        r["events"] = event_count(r["info"])
                shutil.rmtree(tmp, ignore_errors=True)
            if r["state"] != "ok":
                skip.add(key)
            elif r["wall"] > slow_timeout[key[:2]] and tool not in SLOW:
                # As slow as the slow peers: fewer repetitions, so that a slow
                # recorder build does not stretch the run for hours.
                slowed.add(key)
            runs.append(r)
            shown = (f"{r['elapsed']:.3f}s" if r["state"] == "ok" else r["state"])
            eta = (time.time() - t_start) / done * (total - done)
            print(f"[{done}/{total} rep {rep + 1}, ~{eta / 60:.0f} min left] {env['version']} "
                  f"{w.name:6} {tool:20} {shown}", file=sys.stderr, flush=True)
            if r["state"] in ("error", "broken"):
                print("    " + (r.get("stderr_tail") or
                                f"checksum {r.get('checksum')} != {r.get('expected_checksum')}")
                      .strip().replace("\n", "\n    "), file=sys.stderr)
    return runs


def long_mode(args, envs):
    """Records a ~100M-event loop (--locals none and full) and compares the
    recording process's peak RSS with the same run untraced."""
    w = Workload("long", "long_loop.py", [str(args.long_iterations)], ["2000000"])
    base_env = base_environment()
    out = {}
    for env in envs:
        v = env["version"]
        rows = {}
        for tool in ("untraced", "tracetape-nolocals", "tracetape"):
            say(f"{v}: long run under {tool}")
            r = run_once(tool, env, w, w.quick_args if args.quick else w.args, args.long_timeout,
                         base_env)
            if "_tmp" in r:
                tmp = r.pop("_tmp")
                tape = r.pop("tape_path")
                if r["state"] == "ok":
                    r["info"] = tape_info(env["python"], tape)
                    r["events"] = event_count(r["info"])
                shutil.rmtree(tmp, ignore_errors=True)
            rows[tool] = r
        base = rows["untraced"]
        for tool, r in rows.items():
            r["maxrss_mib"] = r["maxrss_kib"] / 1024
            r["maxrss_delta_mib"] = (r["maxrss_kib"] - base["maxrss_kib"]) / 1024
            if r.get("events") and r.get("tape_bytes"):
                r["bytes_per_event"] = r["tape_bytes"] / r["events"]
            if r.get("elapsed") and base.get("elapsed"):
                r["ratio_untraced"] = r["elapsed"] / base["elapsed"]
        out[v] = rows
    return out


def render_long(out, envs, markdown):
    lines = []
    for env in envs:
        v = env["version"]
        header = ["run", "state", "events", "tape MiB", "B/event", "timed s", "ratio", "peak RSS MiB",
                  "RSS +MiB", f"<= {TARGET_BUFFERS_MIB} MiB"]
        rows = []
        for tool, r in out[v].items():
            delta = r.get("maxrss_delta_mib")
            rows.append([
                TOOL_TITLES[tool], r["state"],
                f"{r['events']:,}" if r.get("events") else "-",
                f"{r['tape_bytes'] / 2**20:.1f}" if r.get("tape_bytes") else "-",
                f"{r['bytes_per_event']:.3f}" if r.get("bytes_per_event") else "-",
                f"{r['elapsed']:.2f}" if r.get("elapsed") else "-",
                fmt_ratio(r.get("ratio_untraced")),
                f"{r['maxrss_mib']:.1f}",
                f"{delta:+.1f}" if tool != "untraced" else "",
                ("pass" if delta <= TARGET_BUFFERS_MIB else "FAIL") if tool != "untraced" else "",
            ])
        lines += table(f"CPython {env['full_version']}: long run (recorder memory)", header, rows,
                       markdown)
    return "\n".join(lines)


def run_note(meta, markdown, long=False):
    note = (f"{meta['date']}, {meta['cpu']} x{meta['cpus']}, load {meta['load_average'][0]:.2f} "
            f"at start, commit {(meta['git_commit'] or '?')[:10]}"
            f"{' (dirty)' if meta['git_dirty'] else ''}")
    if meta.get("pinned_cpus"):
        note += f", every run pinned to CPU {','.join(str(c) for c in meta['pinned_cpus'])}"
    if not long:
        note += f", {meta['reps']} repetitions"
    note += f", {meta['duration_s']:.0f} s"
    return ("_" + note + "_\n") if markdown else note + "\n"


def report_from_json(path, markdown):
    with open(path) as f:
        doc = json.load(f)
    envs = [{"version": v, **p} for v, p in doc["pythons"].items()]
    print(run_note(doc["meta"], markdown, doc["mode"] == "long"))
    if doc["mode"] == "long":
        print(render_long(doc["long"], envs, markdown))
    else:
        names = list(doc["meta"]["workloads"])
        workloads = [Workload(n, n, [], []) for n in names]
        # From the runs, when the file has them: a report of an older file gets what the
        # statistics compute now (the fastest repetitions' ratios).
        results = summarize(doc["runs"], envs, workloads) if doc.get("runs") else doc["results"]
        targets = check_targets(results) if doc.get("runs") else doc["targets"]
        print(render(results, targets, envs, workloads, markdown))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Benchmark tracetape's recording against the untraced run, the cost floor "
                    "and peers (see bench/README.md).")
    ap.add_argument("--python", default=",".join(DEFAULT_VERSIONS),
                    help="comma-separated CPython versions (default: %(default)s)")
    ap.add_argument("--reps", type=int, default=None,
                    help="repetitions of every (workload, tool) (default 3; --quick: 1)")
    ap.add_argument("--slow-reps", type=int, default=1,
                    help="repetitions for the slow peers, hunter and pysnooper (default 1)")
    ap.add_argument("--timeout", type=float, default=90,
                    help="seconds before a run is killed (default %(default)s)")
    ap.add_argument("--slow-factor", type=float, default=None,
                    help="a slow peer's run is killed after this many times the untraced "
                         "run's wall time (default 30; --quick: 15) ...")
    ap.add_argument("--slow-timeout-min", type=float, default=None,
                    help="... but not before this many seconds (default 5; --quick: 2) ...")
    ap.add_argument("--slow-timeout-max", type=float, default=None,
                    help="... nor after this many (default 20; --quick: 3). Any other tool "
                         "whose first run takes longer than that is run --slow-reps times only")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 1 repetition, small sizes (~2 min for three versions)")
    ap.add_argument("--workloads", default=None,
                    help="comma-separated subset of call,line,object,c,suite")
    ap.add_argument("--tools", default=None,
                    help="comma-separated subset of tools (untraced and the floors always run)")
    ap.add_argument("--no-build", action="store_true",
                    help="do not rebuild tracetape (use what the venvs have)")
    ap.add_argument("--markdown", action="store_true", help="print Markdown tables")
    ap.add_argument("--json", default=os.path.join(BENCH, "results", "latest.json"),
                    help="where to write the results (default bench/results/latest.json)")
    ap.add_argument("--seed", type=int, default=None, help="seed of the run order shuffle")
    ap.add_argument("--cpus", type=int, default=None,
                    help="pin every measured run to this many CPUs (1: tracetape's writer thread "
                    "shares the program's CPU, as when every core is busy)")
    ap.add_argument("--long", action="store_true",
                    help="instead: the ~100M-event recorder-memory run (a few minutes)")
    ap.add_argument("--long-iterations", type=int, default=50_000_000,
                    help="loop iterations of the --long run (default %(default)s, ~100M events)")
    ap.add_argument("--long-timeout", type=float, default=900)
    ap.add_argument("--from-json", metavar="PATH",
                    help="run nothing: print the report of an earlier run's JSON "
                         "(with --markdown, for the README)")
    args = ap.parse_args(argv)
    if args.from_json:
        return report_from_json(args.from_json, args.markdown)

    versions = [v.strip() for v in args.python.split(",") if v.strip()]
    for v in versions:
        if v not in DEFAULT_VERSIONS:
            ap.error(f"unsupported version {v} (choose among {', '.join(DEFAULT_VERSIONS)})")
    if args.reps is None:
        args.reps = 1 if args.quick else 3
    if args.slow_factor is None:
        args.slow_factor = 15 if args.quick else 30
    if args.slow_timeout_min is None:
        args.slow_timeout_min = 2 if args.quick else 5
    if args.slow_timeout_max is None:
        args.slow_timeout_max = 3 if args.quick else 20
    if args.seed is None:
        args.seed = random.randrange(1 << 30)
    args.tools = args.tools.split(",") if args.tools else None
    if args.tools:
        unknown = set(args.tools) - {t for t, _, _ in TOOLS}
        if unknown:
            ap.error(f"unknown tools: {', '.join(sorted(unknown))}")

    t0 = time.time()
    envs = [ensure_venv(v, build=not args.no_build) for v in versions]
    if args.cpus is not None:
        allowed = sorted(os.sched_getaffinity(0))
        if not 1 <= args.cpus <= len(allowed):
            ap.error(f"--cpus must be between 1 and {len(allowed)} (the CPUs this process may use)")
        global PIN_CPUS
        PIN_CPUS = set(allowed[:args.cpus])
    meta = machine_info()
    meta["pinned_cpus"] = sorted(PIN_CPUS) if PIN_CPUS else None
    meta.update(argv=sys.argv, reps=args.reps, slow_reps=args.slow_reps, quick=args.quick,
                seed=args.seed, timeout=args.timeout, slow_factor=args.slow_factor,
                slow_timeout_min=args.slow_timeout_min, slow_timeout_max=args.slow_timeout_max)
    env_json = {e["version"]: {k: e[k] for k in ("full_version", "base", "build", "compiler",
                                                 "tools")} for e in envs}

    if args.long:
        out = long_mode(args, envs)
        text = render_long(out, envs, args.markdown)
        doc = {"mode": "long", "meta": meta, "pythons": env_json, "long": out}
    else:
        suite_dir = ensure_suite(envs[0]["python"])
        workloads = make_workloads(suite_dir)
        if args.workloads:
            names = args.workloads.split(",")
            unknown = set(names) - {w.name for w in workloads}
            if unknown:
                ap.error(f"unknown workloads: {', '.join(sorted(unknown))}")
            workloads = [w for w in workloads if w.name in names]
        meta["workloads"] = {w.name: {"script": os.path.relpath(w.script, ROOT),
                                      "args": w.quick_args if args.quick else w.args}
                             for w in workloads}
        say(f"running {len(workloads)} workloads x {args.reps} repetitions on "
            f"{', '.join(e['full_version'] for e in envs)}")
        runs = run_matrix(args, envs, workloads)
        results = summarize(runs, envs, workloads)
        targets = check_targets(results)
        text = render(results, targets, envs, workloads, args.markdown)
        doc = {"mode": "matrix", "meta": meta, "pythons": env_json, "results": results,
               "targets": targets, "runs": runs}
    meta["duration_s"] = round(time.time() - t0, 1)
    print(run_note(meta, args.markdown, args.long))
    print(text)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1, default=str)
        say(f"results written to {os.path.relpath(args.json)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
