"""Dataset preparation time and training-loader throughput.

Times :func:`speechbrain_atst.data.synthesize_mini_desed` (``scale``
``"quickstart"`` by default: about 900 clips) and
:func:`speechbrain_atst.data.prepare_desed` (manifests and ground-truth
TSVs) in a temporary folder, plus the size of what they wrote.

Then measures the training loader on that set from disk: the recipe's
datasets (:func:`~speechbrain_atst.training.dataio.build_datasets`: 10 s
random crops read with soundfile, frame and clip labels encoded) batched
by :func:`~speechbrain_atst.training.loaders.training_loader` at the
paper's stage-2 batch ``[24, 24, 48, 48]`` (collated ``PaddedBatch``es of
144 clips), with 1 and 2 worker processes: clips per second in the steady
state (after the first batch), with the files in the page cache (every
epoch after the first on a machine whose memory holds the set) and, with
one worker, evicted from it before each epoch (``posix_fadvise``; the
first epoch). A worker runs torch single-threaded; loading in the main
process (0 workers) is slower on a busy machine, where its multi-threaded
copies in ``PaddedBatch``'s padding and stacking wait on other
processes. From the clips per second of one worker it states how many
workers keep a GPU step fed with :data:`LOADER_MARGIN` times the clips it
consumes (issue 17's stage-2 target: 144 clips per 0.12 s).

Usage::

    python benchmarks/bench_data.py [--scale quickstart] [--out PATH]

Authors
 * speechbrain-atst team 2026
"""

import argparse
import math
import os
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

#: The paper's stage-2 batch (real strong, synthetic, weak, unlabeled).
STAGE2_BATCH = [24, 24, 48, 48]
#: Clips per second a GPU training step consumes: issue 17's stage-2
#: target (144 clips per 0.12 s) and its H200 measurement at filing
#: (bfloat16, 144 clips per 0.345 s).
GPU_STEP_CLIPS_PER_SECOND = {
    "stage2_target_0.12s": 144 / 0.12,
    "stage2_issue17_bfloat16_0.345s": 144 / 0.345,
}
#: The loader must deliver this multiple of the clips a step consumes.
LOADER_MARGIN = 3.0


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


def evict_from_page_cache(paths):
    """Drops files from the page cache (their next read comes from disk).

    Arguments
    ---------
    paths : iterable of str or os.PathLike
        The files (written and flushed: only clean pages are dropped).

    Returns
    -------
    bool
        False where ``posix_fadvise`` is unavailable (nothing dropped).

    Example
    -------
    >>> path = getfixture("tmp_path") / "a.bin"
    >>> _ = path.write_bytes(b"x" * 4096)
    >>> evict_from_page_cache([path]) in (True, False)
    True
    """
    if not hasattr(os, "posix_fadvise"):
        return False
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fdatasync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return True


def loader_throughput(
    manifest_folder,
    data_root,
    batch_sizes,
    num_workers,
    n_batches,
    cold=False,
    seed=0,
):
    """Clips per second of the recipe's training loader, from disk.

    Arguments
    ---------
    manifest_folder : str or os.PathLike
        Manifests written by ``prepare_desed``.
    data_root : str or os.PathLike
        The dataset folder.
    batch_sizes : list of int
        ``[real strong, synthetic, weak, unlabeled]`` clips per batch.
    num_workers : int
        Loader worker processes (0: the calling process loads).
    n_batches : int
        Batches timed, after a first untimed one (worker start-up);
        epochs follow each other as in training.
    cold : bool
        Drop the audio files from the page cache before each epoch.
    seed : int
        Sampler seed.

    Returns
    -------
    dict
        ``clips_per_second``, ``seconds``, ``clips``, ``batches``,
        ``epochs``, ``num_workers``, ``cold``.
    """
    from speechbrain_atst.training.dataio import build_datasets
    from speechbrain_atst.training.loaders import training_loader

    train = build_datasets(manifest_folder, data_root, batch_sizes)["train"]
    files = sorted(
        {
            item["wav"]
            for part in train.datasets
            for item in getattr(part, "data", {}).values()
        }
    )
    extra = {"persistent_workers": True} if num_workers else {}
    loader, sampler = training_loader(
        train, batch_sizes, seed, num_workers=num_workers, **extra
    )
    if len(sampler) == 0:
        raise ValueError(
            f"No batch of {batch_sizes} clips in the training subsets "
            f"({[len(d) for d in train.datasets]} clips)"
        )
    clips, batches, epoch, start = 0, -1, 0, None
    while batches < n_batches:
        sampler.set_epoch(epoch)
        if cold:
            evict_from_page_cache(files)
        for batch in loader:
            batches += 1
            if batches == 0:  # the first batch: worker start-up
                start = time.perf_counter()
                continue
            clips += batch.sig.data.shape[0]
            if batches == n_batches:
                break
        epoch += 1
    seconds = time.perf_counter() - start
    return {
        "clips_per_second": clips / seconds,
        "seconds": seconds,
        "clips": clips,
        "batches": batches,
        "epochs": epoch,
        "num_workers": num_workers,
        "cold": cold,
    }


def workers_needed(per_worker, step_clips_per_second, margin=LOADER_MARGIN):
    """Loader workers that deliver ``margin`` times what a step consumes.

    Arguments
    ---------
    per_worker : float
        Clips per second of one worker.
    step_clips_per_second : float
        Clips per second the training step consumes.
    margin : float
        The required multiple.

    Returns
    -------
    int
        The number of workers.

    Example
    -------
    >>> workers_needed(400.0, 1200.0)
    9
    """
    return math.ceil(margin * step_clips_per_second / per_worker)


def fitting_batch_sizes(manifest_folder, data_root, batch_sizes):
    """``batch_sizes``, halved until a small set holds one batch.

    Arguments
    ---------
    manifest_folder, data_root : str or os.PathLike
        See :func:`loader_throughput`.
    batch_sizes : list of int
        The wanted clips per batch and subset.

    Returns
    -------
    list of int or None
        The batch sizes (None if not even one clip per subset fits).
    """
    from speechbrain_atst.training.dataio import build_datasets

    sizes = list(batch_sizes)
    train = build_datasets(manifest_folder, data_root, sizes)["train"]
    lengths = [len(d) for d in train.datasets]
    while any(n < b for n, b in zip(lengths, sizes)):
        if max(sizes) <= 1:
            return None
        sizes = [max(1, b // 2) if b else 0 for b in sizes]
    return sizes


def measure_loader(manifest_folder, data_root, batch_sizes, workers, batches):
    """Loader throughput with the files cached and evicted, and the
    workers a GPU step needs.

    Arguments
    ---------
    manifest_folder, data_root : str or os.PathLike
        See :func:`loader_throughput`.
    batch_sizes : list of int
        Clips per batch and subset.
    workers : list of int
        Worker counts measured (warm page cache); the per-worker rates
        are those of the smallest count (1 by default), which also runs
        with the files evicted.
    batches : int
        Batches timed per measurement.

    Returns
    -------
    dict
        ``runs`` (one per setting), ``per_worker_clips_per_second`` (the
        smallest worker count's rate per worker, cached and evicted) and
        ``workers_needed`` for each of :data:`GPU_STEP_CLIPS_PER_SECOND`;
        None if the set is too small for a batch.
    """
    batch_sizes = fitting_batch_sizes(manifest_folder, data_root, batch_sizes)
    if batch_sizes is None:
        return None
    runs = {}
    for n in workers:
        runs[f"warm_{n}_workers"] = loader_throughput(
            manifest_folder, data_root, batch_sizes, n, batches
        )
    n = min(workers)
    runs[f"cold_{n}_workers"] = loader_throughput(
        manifest_folder, data_root, batch_sizes, n, batches, cold=True
    )
    per_worker = runs[f"warm_{n}_workers"]["clips_per_second"] / max(n, 1)
    cold = runs[f"cold_{n}_workers"]["clips_per_second"] / max(n, 1)
    return {
        "batch_sizes": list(batch_sizes),
        "runs": runs,
        "per_worker_clips_per_second": per_worker,
        "per_worker_cold_clips_per_second": cold,
        "margin": LOADER_MARGIN,
        "workers_needed": {
            name: {
                "step_clips_per_second": rate,
                "warm": workers_needed(per_worker, rate),
                "cold": workers_needed(cold, rate),
            }
            for name, rate in GPU_STEP_CLIPS_PER_SECOND.items()
        },
    }


def loader_markdown(loader, cpu_count):
    """The markdown lines of :func:`measure_loader`'s result.

    Arguments
    ---------
    loader : dict
        Output of :func:`measure_loader`.
    cpu_count : int
        Cores of the machine (for the note).

    Returns
    -------
    list of str
        Lines.
    """
    rows = [
        [
            name,
            r["num_workers"],
            "evicted" if r["cold"] else "page cache",
            r["clips"],
            fmt(r["clips_per_second"]),
        ]
        for name, r in loader["runs"].items()
    ]
    need = [
        [
            name,
            fmt(w["step_clips_per_second"]),
            fmt(loader["margin"] * w["step_clips_per_second"]),
            w["warm"],
            w["cold"],
        ]
        for name, w in loader["workers_needed"].items()
    ]
    return [
        "",
        f"## Training loader, batch {loader['batch_sizes']} of 10 s clips "
        "read from disk",
        "",
        "Steady state after the first batch; this machine has "
        f"{cpu_count} cores, so more than {cpu_count} workers cannot run "
        "in parallel here.",
        "",
        markdown_table(
            ["run", "workers", "audio files", "clips", "clips / s"], rows
        ),
        "",
        f"Per worker: {fmt(loader['per_worker_clips_per_second'])} clips / s "
        "(files in the page cache), "
        f"{fmt(loader['per_worker_cold_clips_per_second'])} clips / s per "
        "worker with the files evicted. Workers needed to deliver "
        f"{loader['margin']:g}x what a GPU step consumes, at this per-worker "
        "rate:",
        "",
        markdown_table(
            [
                "GPU step",
                "clips / s consumed",
                "clips / s needed",
                "workers (cached)",
                "workers (evicted)",
            ],
            need,
        ),
    ]


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
    parser.add_argument(
        "--loader-batches",
        type=int,
        default=18,
        help="batches timed per loader measurement (0: no loader test)",
    )
    parser.add_argument(
        "--loader-batch-sizes",
        type=int,
        nargs=4,
        default=STAGE2_BATCH,
        help="clips per loader batch and subset",
    )
    parser.add_argument(
        "--loader-workers",
        type=int,
        nargs="+",
        default=[1, 2],
        help="worker processes measured (0: the main process loads)",
    )
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
        loader = None
        if args.loader_batches > 0:
            loader = measure_loader(
                Path(tmp) / "manifests",
                data,
                args.loader_batch_sizes,
                args.loader_workers,
                args.loader_batches,
            )
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
        "loader": loader,
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
        + (loader_markdown(loader, info["cpu_count"]) if loader else [])
    )
    write_results(result, args.out, text)
    print(text)
    return result


if __name__ == "__main__":
    main()
