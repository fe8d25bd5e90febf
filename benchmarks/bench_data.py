"""Time to synthesize and prepare the quickstart mini-DESED dataset.

Times :func:`speechbrain_atst.data.synthesize_mini_desed` (``scale``
``"quickstart"`` by default: about 900 clips) and
:func:`speechbrain_atst.data.prepare_desed` (manifests and ground-truth
TSVs) in a temporary folder, plus the size of what they wrote.

Usage::

    python benchmarks/bench_data.py [--scale quickstart] [--out PATH]

Authors
 * speechbrain-atst team 2026
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_utils import (  # noqa: E402
    RESULTS_DIR,
    LoadMeter,
    add_quiet_arguments,
    fmt,
    machine_info,
    markdown_table,
    wait_for_quiet,
    write_results,
)

from speechbrain_atst.data.desed import prepare_desed  # noqa: E402
from speechbrain_atst.data.synth import synthesize_mini_desed  # noqa: E402


def folder_size_mb(folder):
    """Total size of the files under ``folder`` (MiB).

    Arguments
    ---------
    folder : str or os.PathLike
        The folder.

    Returns
    -------
    float
        MiB.

    Example
    -------
    >>> folder_size_mb(getfixture("tmp_path"))
    0.0
    """
    return sum(
        p.stat().st_size for p in Path(folder).rglob("*") if p.is_file()
    ) / (1024 * 1024)


def main(argv=None):
    """Runs the benchmark and writes the JSON and markdown files.

    Arguments
    ---------
    argv : list of str, optional
        Command-line arguments.

    Returns
    -------
    dict
        The results.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(RESULTS_DIR / "data.json"))
    parser.add_argument(
        "--scale",
        default="quickstart",
        help='"small", "quickstart", "benchmark" or a multiplier of "small"',
    )
    parser.add_argument("--seed", type=int, default=0)
    add_quiet_arguments(parser)
    args = parser.parse_args(argv)
    try:
        scale = float(args.scale)
    except ValueError:
        scale = args.scale
    quiet = True
    if args.quiet_load > 0:
        quiet = wait_for_quiet(args.quiet_load, args.patience)
    info = machine_info()
    meter = LoadMeter().start()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "dataset"
        start = time.perf_counter()
        synth = synthesize_mini_desed(data, scale=scale, seed=args.seed)
        t_synth = time.perf_counter() - start
        start = time.perf_counter()
        prepare_desed(data, Path(tmp) / "manifests")
        t_prep = time.perf_counter() - start
        size = folder_size_mb(data)
    other_load = meter.stop()
    n_clips = sum(synth["counts"].values())
    result = {
        "benchmark": "data",
        "scale": args.scale,
        "n_clips": n_clips,
        "counts": synth["counts"],
        "dataset_mb": size,
        "synthesize_seconds": t_synth,
        "prepare_seconds": t_prep,
        "total_seconds": t_synth + t_prep,
        "quiet_at_start": quiet,
        "other_load": other_load,
        "machine": info,
    }
    text = "\n".join(
        [
            f"## Dataset: synthesize + prepare (scale {args.scale!r}, "
            f"{n_clips} clips, {size:.0f} MiB)",
            "",
            f"Other processes kept {fmt(other_load)} cores busy on average "
            "meanwhile.",
            "",
            markdown_table(
                ["step", "seconds"],
                [
                    ["synthesize_mini_desed", fmt(t_synth)],
                    ["prepare_desed", fmt(t_prep)],
                    ["total", fmt(t_synth + t_prep)],
                ],
            ),
        ]
    )
    write_results(result, args.out, text)
    print(text)
    return result


if __name__ == "__main__":
    main()
