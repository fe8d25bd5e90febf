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
    >>> sorted(machine_info())[:3]
    ['bf16_native', 'cpu_capability', 'cpu_flags']
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


def time_call(fn, repeat=5, warmup=1):
    """Times ``fn()`` several times after warm-up calls.

    Arguments
    ---------
    fn : callable
        The function to time (no arguments).
    repeat : int
        Timed calls.
    warmup : int
        Untimed calls first (allocations, lazy initialisation).

    Returns
    -------
    dict
        ``median``, ``min``, ``max`` (seconds) and ``runs`` (all of them).

    Example
    -------
    >>> sorted(time_call(lambda: None, repeat=2))
    ['max', 'median', 'min', 'runs']
    """
    for _ in range(warmup):
        fn()
    runs = []
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return {
        "median": statistics.median(runs),
        "min": min(runs),
        "max": max(runs),
        "runs": [round(r, 4) for r in runs],
    }


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
