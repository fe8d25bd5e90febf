"""Stage-2 training step on a GPU: speed and peak memory at the paper's batch.

Runs ``SEDBrain.fit_batch`` (the recipe's stage-2 brain: student forward
and backward through the whole transformer, teacher forward, Adam, EMA) on
a batch of the paper's composition ``[24, 24, 48, 48]`` (144 ten-second
clips) with the base transformer (random weights), in float32 and in
bfloat16 autocast, each with and without activation checkpointing in the
transformer (``atst_grad_checkpointing``), and reports the median step
time and the peak GPU memory (``torch.cuda.max_memory_allocated``). A
setting that runs out of memory is reported as ``oom``. One command, a few
minutes on one H100::

    python benchmarks/gpu_check.py [--out benchmarks/results/gpu_check.json]

``--cpu-smoke`` runs the same code on the CPU with a tiny transformer, a
tiny batch and 1 s clips (peak resident memory instead of GPU memory), so
that the script can be tested anywhere.

Authors
 * speechbrain-atst team 2026
"""

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_training import (  # noqa: E402
    TINY_ATST,
    TINY_SECONDS,
    build_brain,
    make_batch,
    run_steps,
)
from bench_utils import (  # noqa: E402
    RESULTS_DIR,
    fmt,
    machine_info,
    markdown_table,
    peak_rss_mb,
    write_results,
)

#: Settings: name -> (precision, activation checkpointing).
CONFIGS = {
    "float32": ("fp32", False),
    "float32_checkpointing": ("fp32", True),
    "bfloat16": ("bf16", False),
    "bfloat16_checkpointing": ("bf16", True),
}


def measure(name, args, device):
    """Builds a stage-2 brain for one setting and times its steps.

    Arguments
    ---------
    name : str
        Key of :data:`CONFIGS`.
    args : argparse.Namespace
        Parsed arguments (batch sizes, repeat, smoke mode).
    device : str
        ``"cuda"`` or ``"cpu"``.

    Returns
    -------
    dict
        ``status`` (``ok`` or ``oom``), ``seconds_per_step``,
        ``clips_per_second``, ``peak_memory_mb`` and details.
    """
    precision, ckpt = CONFIGS[name]
    atst = TINY_ATST if args.cpu_smoke else None
    seconds = TINY_SECONDS if args.cpu_smoke else 10.0
    overrides = {"atst_grad_checkpointing": ckpt}
    if args.cpu_smoke:
        overrides["train_clip_seconds"] = seconds
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    out = {"precision": precision, "activation_checkpointing": ckpt}
    brain = None
    start = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            brain = build_brain(
                2,
                tmp,
                args.batch_sizes,
                atst=atst,
                device=device,
                precision=precision,
                overrides=overrides,
            )
            if cuda:
                out["model_and_optimizer_mb"] = (
                    torch.cuda.memory_allocated() / 2**20
                )
            batch = make_batch(args.batch_sizes, seconds=seconds)
            timing = run_steps(brain, batch, args.repeat, warmup=args.warmup)
        out.update(
            status="ok",
            seconds_per_step=timing["median"],
            clips_per_second=sum(args.batch_sizes) / timing["median"],
            timing=timing,
        )
    except torch.cuda.OutOfMemoryError as err:
        out.update(status="oom", error=str(err).splitlines()[0])
    finally:
        del brain
        gc.collect()
        if cuda:
            torch.cuda.synchronize()
            out["peak_memory_mb"] = torch.cuda.max_memory_allocated() / 2**20
            out["peak_reserved_mb"] = torch.cuda.max_memory_reserved() / 2**20
            torch.cuda.empty_cache()
        else:
            out["peak_memory_mb"] = peak_rss_mb()
            out["peak_memory_kind"] = "process peak RSS (cumulative)"
    out["wall_seconds"] = time.perf_counter() - start
    return out


def markdown(result):
    """The markdown report of a result dict.

    Arguments
    ---------
    result : dict
        Output of :func:`main`.

    Returns
    -------
    str
        Table and notes.
    """
    rows = []
    for name, r in result["configs"].items():
        rows.append(
            [
                name,
                r["status"],
                fmt(r.get("seconds_per_step")),
                fmt(r.get("clips_per_second")),
                f"{r['peak_memory_mb'] / 1024:.2f}",
            ]
        )
    m = result["machine"]
    return "\n".join(
        [
            f"## Stage-2 step on {result['device_name']} (batch "
            f"{result['batch_sizes']}, {result['model']})",
            "",
            f"torch {m['torch']}, TF32 matmuls: {result['tf32']}. Median of "
            f"{result['repeat']} steps after {result['warmup']} warm-up "
            "step(s).",
            "",
            markdown_table(
                [
                    "setting",
                    "status",
                    "s / step",
                    "clips / s",
                    "peak memory (GiB)",
                ],
                rows,
            ),
        ]
    )


def main(argv=None):
    """Runs every setting and writes the JSON and markdown files.

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
    parser.add_argument("--out", default=str(RESULTS_DIR / "gpu_check.json"))
    parser.add_argument(
        "--batch-sizes", type=int, nargs=4, default=[24, 24, 48, 48]
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--warmup", type=int, default=1, help="untimed steps first"
    )
    parser.add_argument(
        "--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS)
    )
    parser.add_argument(
        "--tf32",
        action="store_true",
        help="allow TF32 float32 matmuls (PyTorch's default is off)",
    )
    parser.add_argument(
        "--cpu-smoke",
        action="store_true",
        help="run on the CPU with a tiny model and batch (a functional test)",
    )
    args = parser.parse_args(argv)
    if args.cpu_smoke:
        device = "cpu"
        args.batch_sizes, args.repeat, args.warmup = [1, 1, 1, 1], 1, 0
        torch.set_num_threads(1)
    elif torch.cuda.is_available():
        device = "cuda"
        torch.backends.cuda.matmul.allow_tf32 = args.tf32
        torch.backends.cudnn.allow_tf32 = args.tf32
    else:
        parser.error("no GPU found: run with --cpu-smoke to test on the CPU")
    torch.manual_seed(0)
    configs = {name: measure(name, args, device) for name in args.configs}
    result = {
        "benchmark": "gpu_check",
        "device": device,
        "device_name": torch.cuda.get_device_name(0)
        if device == "cuda"
        else "CPU (smoke test)",
        "cpu_smoke": args.cpu_smoke,
        "model": "32/1/2 transformer"
        if args.cpu_smoke
        else "768/12/12 transformer",
        "batch_sizes": args.batch_sizes,
        "repeat": args.repeat,
        "warmup": args.warmup,
        "tf32": args.tf32,
        "machine": machine_info(),
        "configs": configs,
    }
    text = markdown(result)
    write_results(result, args.out, text)
    print(text)
    return result


if __name__ == "__main__":
    main()
