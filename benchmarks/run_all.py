"""Runs every benchmark and writes ``benchmarks/results/summary.md``.

Runs, one after the other and each in its own process:
``bench_inference.py``, ``bench_training.py``, ``bench_evaluation.py`` and
``bench_data.py``, each writing its JSON and markdown files into the
output folder, then gathers the key figures into ``summary.md`` (the
table the README quotes) and ``summary.json``, with the machine they were
measured on. Timings are only meaningful on a quiet machine: the 1-minute
load average at the start of each benchmark is reported with it.

Usage::

    python benchmarks/run_all.py [--tiny] [--out-dir benchmarks/results]
        [--only inference training evaluation data] [--summarize]
        [--model QUICKSTART_OUTPUT/model]

Authors
 * speechbrain-atst team 2026
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_utils import (  # noqa: E402
    REPO_ROOT,
    RESULTS_DIR,
    fmt,
    machine_info,
    markdown_table,
    wait_for_quiet,
    write_results,
)

HERE = Path(__file__).resolve().parent
#: name -> (script, normal arguments, --tiny arguments).
BENCHMARKS = {
    "inference": ("bench_inference.py", [], ["--tiny"]),
    "training": ("bench_training.py", [], ["--tiny"]),
    "evaluation": (
        "bench_evaluation.py",
        [],
        ["--n_clips", "60", "--repeat", "1"],
    ),
    "data": ("bench_data.py", [], ["--scale", "0.2"]),
}


def run_benchmark(name, out_dir, tiny, extra=()):
    """Runs one benchmark script in a fresh process.

    Arguments
    ---------
    name : str
        Key of :data:`BENCHMARKS`.
    out_dir : pathlib.Path
        Output folder (``<name>.json`` and ``.md`` go there).
    tiny : bool
        Use the script's quick settings.
    extra : sequence of str
        More arguments for the script.

    Returns
    -------
    dict
        The benchmark's JSON results, plus ``run_all_wall_seconds`` (the
        script's whole run, process start included).
    """
    script, normal, quick = BENCHMARKS[name]
    out = out_dir / f"{name}.json"
    cmd = [sys.executable, str(HERE / script), "--out", str(out)]
    cmd += (quick if tiny else normal) + list(extra)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT)] + [p for p in [env.get("PYTHONPATH")] if p]
    )
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"{script} failed (exit code {proc.returncode}):\n"
            + (proc.stdout + proc.stderr)[-4000:]
        )
    result = json.loads(out.read_text(encoding="utf-8"))
    result["run_all_wall_seconds"] = time.perf_counter() - start
    return result


def _busy(timing):
    """`` (busy machine)`` if a timing was not taken on a quiet machine."""
    if isinstance(timing, dict) and timing.get("quiet") is False:
        return " (busy machine)"
    return ""


def _load(machine):
    """The 1-minute load average a benchmark recorded at its start."""
    for key in ("load_average_1min", "load_average_1min_at_start"):
        if machine.get(key) is not None:
            return fmt(machine[key], 2)
    return "?"


def _status(met):
    """``met`` / ``MISSED`` / ``-``."""
    if met is None:
        return "-"
    return "met" if met else "MISSED"


def summary_rows(results):
    """Rows ``[measurement, value, target, status]`` of the summary table.

    Arguments
    ---------
    results : dict
        Benchmark name -> its JSON results.

    Returns
    -------
    list of list of str
        The rows.
    """
    rows = []
    inf = results.get("inference")
    if inf:
        per_clip = inf["seconds_per_clip"]
        targets = inf["targets"]
        big = max(per_clip["float32"], key=int)
        for name, per_batch in per_clip.items():
            for batch, value in per_batch.items():
                key = f"{name}_batch8_s_per_clip"
                target = targets.get(key) if batch == big else None
                timing = inf.get("timings", {}).get(name, {}).get(batch)
                rows.append(
                    [
                        f"inference {name}, batch {batch} (s / "
                        f"{inf.get('window_seconds', 10.0):g} s clip)",
                        fmt(value) + _busy(timing),
                        f"<= {target['target']}" if target else "-",
                        _status(target["met"] if target else None),
                    ]
                )
        diff = targets["bfloat16_max_abs_diff"]
        rows.append(
            [
                "bfloat16 vs float32: max frame-score difference",
                fmt(diff["value"]),
                f"<= {diff['target']}",
                _status(diff["met"]),
            ]
        )
        long = inf["long_audio"]
        for key in ("default", "official"):
            e = long[key]
            rows.append(
                [
                    f"long audio, {key} {e['window_seconds']:g} s / "
                    f"{e['hop_seconds']:g} s windows: compute per audio "
                    "hour (s)",
                    f"{fmt(e['measured_seconds_per_audio_hour'], 4)} "
                    f"({e['windows_per_audio_hour']} windows)",
                    "-",
                    "-",
                ]
            )
        bound = inf.get("compute_bound")
        if bound:
            rows.append(
                [
                    "float32 bound: GFLOP per clip / machine GEMM GFLOP/s "
                    "/ fastest possible s per clip",
                    f"{fmt(bound['gflop_per_clip'])} / "
                    f"{fmt(bound['gemm_gflops'])} / "
                    f"{fmt(bound['floor_seconds_per_clip'])}",
                    "-",
                    "-",
                ]
            )
        ratio = targets["long_audio_compute_ratio"]
        rows.append(
            [
                "long audio: compute ratio default / official",
                f"{fmt(ratio['value'])} (windows; timed: "
                f"{fmt(long['compute_ratio_measured'])})",
                f"<= {ratio['target']}",
                _status(ratio["met"]),
            ]
        )
        acc = inf["accuracy"]
        trained = acc.get("trained_model")
        for key in ("default", "official") if trained else ():
            e = trained[key]
            rows.append(
                [
                    f"long-audio accuracy (trained model), {key}: PSDS1 / "
                    "PSDS2 / collar F1",
                    f"{fmt(e['psds1'])} / {fmt(e['psds2'])} / "
                    f"{fmt(e['collar_f1_macro'])}",
                    "-",
                    "-",
                ]
            )
        for key in ("default", "official", "full_pass"):
            e = acc[key]
            rows.append(
                [
                    f"long-audio accuracy (stand-in detector), {key}: "
                    "PSDS1 / collar F1",
                    f"{fmt(e['psds1'])} / {fmt(e['collar_f1_macro'])}",
                    "-",
                    "-",
                ]
            )
    train = results.get("training")
    if train:
        official = train["official"]
        for name, r in train["settings"].items():
            ref = official.get(f"stage{r['stage']}", {})
            target, met = "-", None
            if name == "stage1":
                target = f"<= {ref['seconds_per_step'] / 3:.2f} (3x official)"
                met = r["seconds_per_step"] <= ref["seconds_per_step"] / 3
            elif name == "stage2":
                target = f"<= {ref['seconds_per_step']} (official)"
                met = r["seconds_per_step"] <= ref["seconds_per_step"]
            rows.append(
                [
                    f"training {name} (s / step, clips / s, peak RSS GB; "
                    "GEMM floor s / step)",
                    f"{fmt(r['seconds_per_step'])}, "
                    f"{fmt(r['clips_per_second'])}, "
                    f"{r['peak_rss_mb'] / 1024:.2f}; "
                    f"{fmt(r['floor_seconds_per_step'])}"
                    + _busy(r.get("timing")),
                    target,
                    _status(met),
                ]
            )
    ev = results.get("evaluation")
    if ev:
        for key in ("evaluate_scores_1_job", "evaluate_scores_2_job"):
            if key in ev["wall_seconds"]:
                value = ev["wall_seconds"][key]
                rows.append(
                    [
                        f"evaluation of {ev['n_clips']} clips, {key} (s)",
                        fmt(value),
                        "< 10",
                        _status(value < 10),
                    ]
                )
    data = results.get("data")
    if data:
        rows.append(
            [
                f"dataset {data['scale']!r} ({data['n_clips']} clips): "
                "synthesize + prepare (s)",
                f"{fmt(data['synthesize_seconds'])} + "
                f"{fmt(data['prepare_seconds'])}",
                "-",
                "-",
            ]
        )
    return rows


def summary_markdown(results, info, tiny):
    """The text of ``summary.md``.

    Arguments
    ---------
    results : dict
        Benchmark name -> its JSON results.
    info : dict
        :func:`bench_utils.machine_info` of the runner.
    tiny : bool
        Whether the quick settings were used.

    Returns
    -------
    str
        Markdown.
    """
    loads = ", ".join(
        f"{name} {_load(r['machine'])}"
        for name, r in results.items()
        if isinstance(r.get("machine"), dict)
    )
    lines = [
        "# speechbrain-atst benchmarks",
        "",
        f"- CPU: {info['cpu_model']}, {info['cpu_count']} cores "
        f"(flags: {', '.join(info['cpu_flags']) or 'none listed'}; torch CPU "
        f"capability {info['cpu_capability']}, native bf16: "
        f"{info['bf16_native']})",
        f"- torch {info['torch']}, Python {info['python']}, {info['platform']}",
        "- 2 torch threads; model: ATST-Frame base (768 / 12 / 12), random "
        "weights" + (" (TINY settings: not representative)" if tiny else ""),
        f"- 1-minute load average at the start of each benchmark: {loads}",
        "",
        markdown_table(
            ["measurement", "value", "target", "status"],
            summary_rows(results),
        ),
    ]
    lines += [
        "",
        "Details: " + ", ".join(f"`{name}.md`" for name in results) + ".",
    ]
    return "\n".join(lines)


def main(argv=None):
    """Runs the benchmarks and writes the summary.

    Arguments
    ---------
    argv : list of str, optional
        Command-line arguments.

    Returns
    -------
    dict
        Benchmark name -> results.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=str(RESULTS_DIR))
    parser.add_argument(
        "--only", nargs="+", choices=list(BENCHMARKS), default=list(BENCHMARKS)
    )
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument(
        "--model",
        default=None,
        help="trained model folder for the long-audio accuracy (e.g. the "
        "quickstart's model/); see bench_inference.py",
    )
    parser.add_argument(
        "--patience",
        type=float,
        default=600.0,
        help="longest wait for a quiet machine before each benchmark (s)",
    )
    parser.add_argument(
        "--summarize",
        action="store_true",
        help="run nothing: summarise the JSON files already in --out-dir",
    )
    args = parser.parse_args(argv)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    info = machine_info()
    results = {}
    for name in args.only:
        if args.summarize:
            path = out_dir / f"{name}.json"
            if path.exists():
                results[name] = json.loads(path.read_text(encoding="utf-8"))
            continue
        if not args.tiny:
            wait_for_quiet(patience=args.patience)
        print(f"running {name}...", flush=True)
        extra = (
            ["--model", args.model]
            if args.model and name == "inference"
            else []
        )
        results[name] = run_benchmark(name, out_dir, args.tiny, extra)
    text = summary_markdown(results, info, args.tiny)
    write_results(
        {"machine": info, "tiny": args.tiny, "results": results},
        out_dir / "summary.json",
        text,
    )
    print(text)
    return results


if __name__ == "__main__":
    main()
