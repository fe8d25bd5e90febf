"""Helpers shared by the benchmark scripts of ``benchmarks/``.

Machine description, repeated timings (median), peak memory and the
JSON + markdown output every benchmark writes. The scripts add their own
folder to ``sys.path`` (they run as ``python benchmarks/<script>.py``), so
this module is imported as ``bench_utils``.

Authors
 * speechbrain-atst team 2026
"""

import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import torch

#: Default folder of the benchmark outputs.
RESULTS_DIR = Path(__file__).resolve().parent / "results"
#: The repository root (for running scripts and the recipe).
REPO_ROOT = Path(__file__).resolve().parents[1]


def cpu_model():
    """The CPU model name (``/proc/cpuinfo`` or ``platform``).

    Returns
    -------
    str
        E.g. ``"AMD EPYC"``.

    Example
    -------
    >>> isinstance(cpu_model(), str)
    True
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fin:
            for line in fin:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags():
    """The instruction-set extensions relevant to float32 / bfloat16 speed.

    Returns
    -------
    list of str
        The subset of ``avx2``, ``fma``, ``avx512f``, ``avx512_bf16``,
        ``amx_bf16``, ``avx_vnni`` the CPU reports.

    Example
    -------
    >>> isinstance(cpu_flags(), list)
    True
    """
    wanted = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "avx_vnni")
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fin:
            for line in fin:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return [f for f in wanted if f in flags]
    except OSError:
        pass
    return []


def machine_info():
    """Description of the machine and software used for a benchmark.

    Returns
    -------
    dict
        CPU model, flags, core count, torch threads, torch / Python
        versions, torch's CPU capability and the 1-minute load average.

    Example
    -------
    >>> info = machine_info()
    >>> info["cpu_count"] > 0 and "torch" in info
    True
    """
    try:
        capability = torch.backends.cpu.get_cpu_capability()
    except AttributeError:  # older torch
        capability = "unknown"
    try:
        bf16 = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        bf16 = False
    info = {
        "cpu_model": cpu_model(),
        "cpu_flags": cpu_flags(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_capability": capability,
        "bf16_native": bf16,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def busy_cpu_seconds():
    """CPU time spent by all processes of the machine since boot.

    Read from ``/proc/stat`` (user, nice, system, irq, softirq and steal
    time of all cores).

    Returns
    -------
    float or None
        Seconds, or None where ``/proc/stat`` is unavailable.

    Example
    -------
    >>> busy = busy_cpu_seconds()
    >>> busy is None or busy > 0
    True
    """
    try:
        with open("/proc/stat", encoding="utf-8") as fin:
            values = [int(v) for v in fin.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    busy = sum(values) - values[3] - values[4]  # minus idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds():
    """CPU time (user + system) of this process, all its threads.

    Returns
    -------
    float
        Seconds.

    Example
    -------
    >>> own_cpu_seconds() > 0
    True
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class LoadMeter:
    """CPU load of the *other* processes of the machine over an interval.

    ``start()`` then ``stop()`` give the average number of cores the other
    processes kept busy in between (all CPU time of the machine minus this
    process's), from ``/proc/stat``; None where unavailable.

    Example
    -------
    >>> meter = LoadMeter().start()
    >>> load = meter.stop()
    >>> load is None or load >= 0
    True
    """

    def start(self):
        """Starts the interval.

        Returns
        -------
        LoadMeter
            ``self``.
        """
        self._busy = busy_cpu_seconds()
        self._own = own_cpu_seconds()
        self._wall = time.perf_counter()
        return self

    def stop(self):
        """Ends the interval.

        Returns
        -------
        float or None
            Cores kept busy by other processes, on average.
        """
        busy = busy_cpu_seconds()
        wall = time.perf_counter() - self._wall
        if busy is None or self._busy is None or wall <= 0:
            return None
        others = (busy - self._busy) - (own_cpu_seconds() - self._own)
        return max(others, 0.0) / wall


def wait_for_quiet(max_load=0.1, patience=60.0, interval=0.5):
    """Waits until the other processes use at most ``max_load`` cores.

    Arguments
    ---------
    max_load : float
        Largest load of the other processes (cores) counted as quiet.
    patience : float
        Longest wait (seconds).
    interval : float
        Length of each measurement (seconds).

    Returns
    -------
    bool
        True if the machine became quiet, False after ``patience``.

    Example
    -------
    >>> wait_for_quiet(max_load=100.0, interval=0.01)
    True
    """
    deadline = time.perf_counter() + patience
    while True:
        meter = LoadMeter().start()
        time.sleep(interval)
        load = meter.stop()
        if load is None or load <= max_load:
            return True
        if time.perf_counter() >= deadline:
            return False


def time_call(fn, repeat=5, warmup=1, quiet_load=None, patience=300.0):
    """Times ``fn()`` several times after warm-up calls.

    On a machine shared with other work, timings are only meaningful while
    the other processes leave the cores alone. With ``quiet_load``, each
    timed call first waits for the machine to be quiet, and a call during
    which the other processes used more than ``quiet_load`` cores is
    repeated (within ``patience`` seconds of waiting overall); if the
    machine never gets quiet, the least disturbed calls are kept and
    ``quiet`` is False.

    Arguments
    ---------
    fn : callable
        The function to time (no arguments).
    repeat : int
        Timed calls kept.
    warmup : int
        Untimed calls first (allocations, lazy initialisation).
    quiet_load : float, optional
        Largest load of other processes (cores) during a kept call; None
        keeps every call.
    patience : float
        Longest time (seconds) spent waiting for quiet or repeating calls.

    Returns
    -------
    dict
        ``median``, ``min``, ``max`` (seconds), ``runs`` (the kept calls),
        ``other_load`` (cores used by other processes during each kept
        call), ``discarded`` (disturbed calls redone) and ``quiet``.

    Example
    -------
    >>> sorted(time_call(lambda: None, repeat=2))[:4]
    ['discarded', 'max', 'median', 'min']
    """
    for _ in range(warmup):
        fn()
    deadline = time.perf_counter() + patience
    kept, spare = [], []
    discarded = 0
    while len(kept) < max(1, repeat):
        if quiet_load is not None:
            wait_for_quiet(quiet_load, max(deadline - time.perf_counter(), 0))
        meter = LoadMeter().start()
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        load = meter.stop()
        sample = (elapsed, load)
        if quiet_load is None or load is None or load <= quiet_load:
            kept.append(sample)
        elif time.perf_counter() < deadline:
            discarded += 1
            spare.append(sample)
        else:
            spare.append(sample)
            break
    quiet = len(kept) >= max(1, repeat)
    if not quiet:  # keep the least disturbed calls
        spare.sort(key=lambda s: s[1])
        take = spare[: max(1, repeat) - len(kept)]
        kept += take
        discarded = len(spare) - len(take)
    runs = [s[0] for s in kept]
    return {
        "median": statistics.median(runs),
        "min": min(runs),
        "max": max(runs),
        "runs": [round(r, 4) for r in runs],
        "other_load": [None if s[1] is None else round(s[1], 3) for s in kept],
        "discarded": discarded,
        "quiet": quiet,
    }


def add_quiet_arguments(parser):
    """Adds ``--quiet-load`` and ``--patience`` to a benchmark's parser.

    Arguments
    ---------
    parser : argparse.ArgumentParser
        The parser.

    Example
    -------
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> add_quiet_arguments(parser)
    >>> quiet_kwargs(parser.parse_args(["--quiet-load", "0"]))
    {'quiet_load': None, 'patience': 300.0}
    """
    parser.add_argument(
        "--quiet-load",
        type=float,
        default=0.1,
        help="redo a timed call if other processes used more cores than "
        "this during it (0: keep every call)",
    )
    parser.add_argument(
        "--patience",
        type=float,
        default=300.0,
        help="longest wait for a quiet machine per measurement (s)",
    )


def quiet_kwargs(args):
    """The ``quiet_load`` / ``patience`` arguments of :func:`time_call`.

    Arguments
    ---------
    args : argparse.Namespace
        Parsed arguments (see :func:`add_quiet_arguments`).

    Returns
    -------
    dict
        Keyword arguments.
    """
    load = args.quiet_load if args.quiet_load and args.quiet_load > 0 else None
    return {"quiet_load": load, "patience": args.patience}


def peak_rss_mb():
    """Peak resident memory of this process so far (MiB).

    Returns
    -------
    float
        ``ru_maxrss`` in MiB (kilobytes on Linux, bytes on macOS).

    Example
    -------
    >>> peak_rss_mb() > 0
    True
    """
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return peak / scale


def gemm_gflops(m=1000, k=768, n=3072, repeat=7):
    """Sustained float32 matrix-product throughput of this machine.

    Times ``[m, k] x [k, n]`` (by default the transformer MLP's product
    for 4 clips) with the current torch threads.

    Arguments
    ---------
    m, k, n : int
        The product's shape.
    repeat : int
        Timed products (after two untimed ones).

    Returns
    -------
    dict
        ``shape``, ``median`` and ``best`` GFLOP/s.

    Example
    -------
    >>> rate = gemm_gflops(64, 64, 64, repeat=3)
    >>> rate["shape"], rate["best"] >= rate["median"] > 0
    ([64, 64, 64], True)
    """
    a, b = torch.randn(m, k), torch.randn(k, n)
    for _ in range(2):
        torch.mm(a, b)
    rates = []
    for _ in range(repeat):
        start = time.perf_counter()
        torch.mm(a, b)
        rates.append(2 * m * k * n / (time.perf_counter() - start) / 1e9)
    return {
        "shape": [m, k, n],
        "median": statistics.median(rates),
        "best": max(rates),
    }


def count_gflop(fn):
    """Floating-point work of one call of ``fn`` (matrix products,
    convolutions and attention, forward and backward).

    Uses the formulas of ``torch.utils.flop_counter`` in a dispatch mode
    of its own: ``FlopCounterMode``'s module tracking breaks autograd
    functions that call ``torch.autograd.grad`` in their backward (the
    CRNN's GRU does).

    Arguments
    ---------
    fn : callable
        Called once, without arguments.

    Returns
    -------
    float
        GFLOP.

    Example
    -------
    >>> a, b = torch.randn(10, 20), torch.randn(20, 30)
    >>> count_gflop(lambda: a @ b) * 1e9
    12000.0
    >>> with torch.inference_mode():
    ...     count_gflop(lambda: a @ b) * 1e9
    12000.0
    """
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import flop_registry

    class Counter(TorchDispatchMode):
        """Adds up the FLOPs of the operators with a known formula."""

        total = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            formula = flop_registry.get(func._overloadpacket)
            if formula is None:
                # Composite ops (``matmul``, ``linear``) arrive undecomposed
                # under inference mode: count their parts.
                with self:
                    out = func.decompose(*args, **kwargs)
                if out is not NotImplemented:
                    return out
            out = func(*args, **kwargs)
            if formula is not None:
                self.total += formula(*args, **kwargs, out_val=out)
            return out

    with Counter() as counter:
        fn()
    return counter.total / 1e9


def markdown_table(header, rows):
    """A markdown table.

    Arguments
    ---------
    header : list of str
        Column titles.
    rows : list of list
        Cells (converted with ``str``).

    Returns
    -------
    str
        The table, one line per row.

    Example
    -------
    >>> print(markdown_table(["a", "b"], [[1, 2]]))
    | a | b |
    |---|---|
    | 1 | 2 |
    """
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "---|" * len(header))
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_results(result, out, markdown):
    """Writes ``result`` as JSON to ``out`` and ``markdown`` next to it.

    Arguments
    ---------
    result : dict
        JSON-serialisable results.
    out : str or os.PathLike
        The JSON file; the markdown goes to the same name with ``.md``.
    markdown : str
        The markdown text.

    Returns
    -------
    pathlib.Path
        The JSON path.

    Example
    -------
    >>> path = getfixture("tmp_path") / "r.json"
    >>> write_results({"a": 1}, path, "| a |").with_suffix(".md").exists()
    True
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(markdown + "\n", encoding="utf-8")
    return out


def fmt(value, digits=3):
    """Formats a number for a table (``-`` for None).

    Arguments
    ---------
    value : float or None
        The number.
    digits : int
        Significant digits.

    Returns
    -------
    str
        The text.

    Example
    -------
    >>> fmt(0.123456), fmt(None), fmt(1234.5)
    ('0.123', '-', '1.23e+03')
    """
    if value is None:
        return "-"
    return f"{value:.{digits}g}"
