"""Training-step speed and peak memory of ATST-SED through ``SEDBrain``.

Builds the recipe's brain (``recipes/DESED/SED/hparams/stage{1,2}.yaml``,
the paper's transformer size with random weights) and times
``SEDBrain.fit_batch`` on a batch of the paper's composition (real strong,
synthetic strong, weak, unlabeled; 6 ten-second clips by default:
``[1, 1, 2, 2]``): front-ends, mixup / warping, student forward and
backward, teacher forward, Adam step and EMA update, exactly as in
training. Each measurement runs in a fresh Python process so that the peak
resident memory (``ru_maxrss``) of one setting does not include another's.

Measured settings: stage 1 (frozen transformer, run once per batch for
student and teacher), stage 1 with the in-memory transformer cache hit
(``atst_cache: memory``, every epoch after the first), stage 2 (the whole
model fine-tuned) and stage 2 with activation checkpointing in the
transformer. The official implementation, measured on 2 cores of a
faster host with the same batch, takes about 5.4 s and 2.5 GB per stage-1
step and 9.0 s and 4.9 GB per stage-2 step (the speed-up column uses
these); ``results/side_by_side.md`` holds both implementations timed
alternately on one machine. Each setting also reports the FLOPs of
one step and the time they take at this machine's measured float32
matrix-product rate (the step's floor).

Usage::

    python benchmarks/bench_training.py [--tiny] [--out PATH]

Authors
 * speechbrain-atst team 2026
"""

import argparse
import copy
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_utils import (  # noqa: E402
    REPO_ROOT,
    RESULTS_DIR,
    add_quiet_arguments,
    count_gflop,
    fmt,
    gemm_gflops,
    machine_info,
    markdown_table,
    peak_rss_mb,
    quiet_kwargs,
    time_call,
    write_results,
)

#: The recipe's hyperparameter files.
HPARAMS_DIR = REPO_ROOT / "recipes" / "DESED" / "SED" / "hparams"
#: Official implementation on 2 cores of another host, batch of 6 clips:
#: s / step, peak GB (as given; see results/side_by_side.md).
OFFICIAL = {
    "stage1": {"seconds_per_step": 5.4, "peak_rss_gb": 2.5},
    "stage2": {"seconds_per_step": 9.0, "peak_rss_gb": 4.9},
}
#: Settings measured: name -> (stage, extra hparams overrides). The keys
#: starting with ``fused_adam`` are no hyperparameters: they swap the
#: recipe's Adam for ``torch.optim.Adam(fused=True)`` (same update, one
#: kernel per parameter group instead of a dozen ops per tensor).
SETTINGS = {
    "stage1": (1, {}),
    "stage1_cached": (1, {"atst_cache": "memory"}),
    "stage2": (2, {}),
    "stage2_grad_checkpointing": (2, {"atst_grad_checkpointing": True}),
    "stage2_fused_adam": (2, {"fused_adam": True}),
}
#: Adam of the recipe (``opt_class`` of both stages) with ``fused=True``.
FUSED_ADAM_YAML = """opt_class: !name:torch.optim.Adam
    betas: [0.9, 0.999]
    eps: 0.00000001
    fused: True
"""
#: Tiny transformer and clip length (s) of ``--tiny`` runs.
TINY_ATST = {"embed_dim": 32, "depth": 1, "num_heads": 2}
TINY_SECONDS = 1.0


def build_brain(
    stage,
    folder,
    batch_sizes,
    atst=None,
    device="cpu",
    precision="fp32",
    overrides=None,
):
    """The recipe's ``SEDBrain``, ready for ``fit_batch`` calls.

    Loads ``stage{stage}.yaml`` with a random transformer (no checkpoint,
    no data preparation), initialises the teacher from the student, and
    runs ``on_fit_start`` (optimizer, DDP-free set-up) and
    ``on_stage_start(TRAIN)`` like ``Brain.fit`` does.

    Arguments
    ---------
    stage : int
        1 or 2.
    folder : str
        Scratch folder for the output and manifest folders.
    batch_sizes : list of int
        ``[real strong, synthetic, weak, unlabeled]`` clips per batch.
    atst : dict, optional
        ``embed_dim``, ``depth``, ``num_heads`` (the base model if None).
    device : str
        ``"cpu"`` or ``"cuda"``.
    precision : str
        ``"fp32"``, ``"bf16"`` or ``"fp16"`` (autocast of the step).
    overrides : dict, optional
        More hyperparameter values (e.g. ``atst_grad_checkpointing``);
        ``fused_adam: True`` uses the fused implementation of the recipe's
        Adam.

    Returns
    -------
    SEDBrain
        The brain, modules in training mode.
    """
    import speechbrain as sb
    import yaml
    from hyperpyyaml import load_hyperpyyaml

    from speechbrain_atst.training import SEDBrain, initialize_models

    atst = atst or {}
    values = {
        "data_folder": folder,
        "output_folder": folder,
        "atst_random_init": True,
        "atst_ckpt": None,
        "batch_sizes": list(batch_sizes),
        "num_workers": 0,
        "atst_embed_dim": atst.get("embed_dim", 768),
        "atst_depth": atst.get("depth", 12),
        "atst_num_heads": atst.get("num_heads", 12),
    }
    if int(stage) == 2:
        values["stage1_ckpt"] = None
    values.update(overrides or {})
    text = yaml.safe_dump(values)
    if values.pop("fused_adam", False):
        text = yaml.safe_dump(values) + FUSED_ADAM_YAML
    with open(HPARAMS_DIR / f"stage{stage}.yaml", encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, text)
    initialize_models(hparams)
    brain = SEDBrain(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts={"device": device, "precision": precision},
        checkpointer=None,
    )
    brain.hparams.lr_scheduler.configure(1000)
    brain.on_fit_start()
    brain.modules.train()
    brain.on_stage_start(sb.Stage.TRAIN, 1)
    return brain


def make_batch(batch_sizes, n_classes=10, seconds=10.0, seed=0):
    """A training batch of random audio and labels with the right shapes.

    Arguments
    ---------
    batch_sizes : list of int
        ``[real strong, synthetic, weak, unlabeled]``.
    n_classes : int
        Number of classes.
    seconds : float
        Clip length.
    seed : int
        Random seed.

    Returns
    -------
    speechbrain.dataio.batch.PaddedBatch
        Items ``id, wav, sig, crop_start, strong, weak``.

    Example
    -------
    >>> batch = make_batch([1, 0, 1, 1], seconds=1.0)
    >>> batch.sig.data.shape, batch.strong.data.shape
    (torch.Size([3, 16000]), torch.Size([3, 16, 10]))
    """
    from speechbrain.dataio.batch import PaddedBatch

    from speechbrain_atst.labels import SAMPLE_RATE, FrameGrid

    gen = torch.Generator().manual_seed(seed)
    n_samples = int(seconds * SAMPLE_RATE)
    n_frames = FrameGrid(clip_seconds=seconds).model_frames(n_samples)
    items = []
    for subset, count in enumerate(batch_sizes):
        for i in range(count):
            strong = torch.zeros(n_frames, n_classes)
            weak = torch.zeros(n_classes)
            if subset < 2:
                c = int(torch.randint(n_classes, (1,), generator=gen))
                start = int(torch.randint(n_frames // 2, (1,), generator=gen))
                strong[start : start + n_frames // 3, c] = 1.0
            elif subset == 2:
                weak[int(torch.randint(n_classes, (1,), generator=gen))] = 1.0
            items.append(
                {
                    "id": f"s{subset}_{i}",
                    "wav": f"s{subset}_{i}.wav",
                    "sig": 0.1 * torch.randn(n_samples, generator=gen),
                    "crop_start": 0,
                    "strong": strong,
                    "weak": weak,
                }
            )
    return PaddedBatch(items)


def run_steps(brain, batch, repeat, warmup=1, quiet=None):
    """Times ``fit_batch`` calls (the step counter advances like in fit).

    Arguments
    ---------
    brain : SEDBrain
        From :func:`build_brain`.
    batch : PaddedBatch
        The batch (the same every step).
    repeat : int
        Timed steps.
    warmup : int
        Untimed steps first.
    quiet : dict, optional
        ``quiet_load`` and ``patience`` of :func:`bench_utils.time_call`
        (disturbed steps are redone).

    Returns
    -------
    dict
        Timing (``median``, ``min``, ``max``, ``runs``) and the last loss.
    """
    losses = []

    def step():
        brain.step += 1
        # A new batch object each step (``PaddedBatch.to`` moves in place):
        # every step copies the batch to the device, as in training.
        losses.append(float(brain.fit_batch(copy.copy(batch))))
        if brain.device.startswith("cuda"):
            torch.cuda.synchronize()

    timing = time_call(step, repeat=repeat, warmup=warmup, **(quiet or {}))
    timing["last_loss"] = losses[-1]
    timing["optimizer_steps"] = int(brain.optimizer_step)
    return timing


def worker(args):
    """One measurement in this process; prints a JSON line.

    Arguments
    ---------
    args : argparse.Namespace
        Parsed arguments (``--worker SETTING``).

    Returns
    -------
    dict
        Timing, clips per second and peak memory.
    """
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    stage, overrides = SETTINGS[args.worker]
    atst = TINY_ATST if args.tiny else None
    seconds = TINY_SECONDS if args.tiny else 10.0
    if args.tiny:
        overrides = dict(overrides, train_clip_seconds=seconds)
    rss_start = peak_rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        brain = build_brain(
            stage, tmp, args.batch_sizes, atst=atst, overrides=overrides
        )
        rss_model = peak_rss_mb()
        batch = make_batch(args.batch_sizes, seconds=seconds)
        timing = run_steps(
            brain,
            batch,
            args.repeat,
            warmup=args.warmup,
            quiet=quiet_kwargs(args),
        )
        peak = peak_rss_mb()
        # The work of one more step (untimed) and what this machine's
        # matrix products allow for it.
        gflop = count_gflop(lambda: run_steps(brain, batch, 1, warmup=0))
    dim = (atst or {}).get("embed_dim", 768)
    gemm = gemm_gflops(1500, dim, 4 * dim)
    n_clips = sum(args.batch_sizes)
    result = {
        "setting": args.worker,
        "stage": stage,
        "overrides": overrides,
        "batch_sizes": args.batch_sizes,
        "clip_seconds": seconds,
        "seconds_per_step": timing["median"],
        "clips_per_second": n_clips / timing["median"],
        "timing": timing,
        "peak_rss_mb": peak,
        "rss_after_imports_mb": rss_start,
        "gflop_per_step": gflop,
        "gemm_shape": gemm["shape"],
        "gemm_gflops": gemm["median"],
        "floor_seconds_per_step": gflop / gemm["median"],
        "fraction_of_gemm_bound": gflop / gemm["median"] / timing["median"],
        "rss_after_build_mb": rss_model,
        "threads": torch.get_num_threads(),
    }
    print("RESULT " + json.dumps(result))
    return result


def run_worker(setting, args):
    """Runs one measurement in a fresh Python process.

    Arguments
    ---------
    setting : str
        Key of :data:`SETTINGS`.
    args : argparse.Namespace
        The parent's arguments (forwarded).

    Returns
    -------
    dict
        The worker's result.
    """
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        setting,
        "--threads",
        str(args.threads),
        "--repeat",
        str(args.repeat),
        "--warmup",
        str(args.warmup),
        "--quiet-load",
        str(args.quiet_load),
        "--patience",
        str(args.patience),
        "--batch-sizes",
        *[str(b) for b in args.batch_sizes],
    ]
    if args.tiny:
        cmd.append("--tiny")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(
        f"The {setting} measurement failed (exit code {proc.returncode}):\n"
        + (proc.stdout + proc.stderr)[-4000:]
    )


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
    m = result["machine"]
    rows = []
    for name, r in result["settings"].items():
        official = OFFICIAL.get(f"stage{r['stage']}")
        rows.append(
            [
                name,
                fmt(r["seconds_per_step"]),
                fmt(r["clips_per_second"]),
                f"{r['peak_rss_mb'] / 1024:.2f}",
                fmt(official["seconds_per_step"]) if official else "-",
                fmt(official["seconds_per_step"] / r["seconds_per_step"]),
                fmt(r["gflop_per_step"], 4),
                f"{fmt(r['floor_seconds_per_step'])} "
                f"({fmt(r['gemm_gflops'])} GFLOP/s)",
                f"{100 * r['fraction_of_gemm_bound']:.0f}%",
            ]
        )
    lines = [
        f"## Training steps (batch {result['batch_sizes']}, "
        f"{result['clip_seconds']:g} s clips, "
        f"{result['model']['embed_dim']}/{result['model']['depth']}/"
        f"{result['model']['num_heads']} transformer)",
        "",
        f"{m['cpu_model']}, {m['cpu_count']} cores, {result['threads']} "
        f"torch threads, torch {m['torch']}; load average at start "
        f"{m['load_average_1min']}. Median of {result['repeat']} steps "
        f"after {result['warmup']} warm-up step(s); peak RSS of a fresh "
        "process per row. GFLOP / step: matrix products, convolutions and "
        "attention of one step, forward and backward, counted by "
        "torch.utils.flop_counter; GEMM floor: that work at this "
        "machine's float32 matrix-product rate, measured in the same "
        "process (the fastest the step could be); of floor: floor / "
        "measured.",
        "",
        markdown_table(
            [
                "setting",
                "s / step",
                "clips / s",
                "peak RSS (GB)",
                "official s / step",
                "speed-up",
                "GFLOP / step",
                "GEMM floor s / step",
                "of floor",
            ],
            rows,
        ),
        "",
        "Targets:",
        "",
    ]
    lines += [
        f"- {k}: {fmt(v['value'])} (target {v['target']}): "
        f"{'met' if v['met'] else 'MISSED'}"
        for k, v in result["targets"].items()
    ]
    return "\n".join(lines)


def main(argv=None):
    """Runs the measurements and writes the JSON and markdown files.

    Arguments
    ---------
    argv : list of str, optional
        Command-line arguments.

    Returns
    -------
    dict
        The results (or a worker's result with ``--worker``).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(RESULTS_DIR / "training.json"))
    parser.add_argument("--threads", type=int, default=2)
    add_quiet_arguments(parser)
    parser.add_argument(
        "--batch-sizes", type=int, nargs=4, default=[1, 1, 2, 2]
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--warmup", type=int, default=1, help="untimed steps first"
    )
    parser.add_argument(
        "--settings",
        nargs="+",
        default=list(SETTINGS),
        choices=list(SETTINGS),
    )
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="tiny transformer and 1 s clips (checks the script works)",
    )
    parser.add_argument(
        "--worker", choices=list(SETTINGS), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    if args.tiny:
        args.repeat, args.warmup, args.threads = 1, 0, 1
        args.quiet_load = 0.0
    torch.set_num_threads(args.threads)
    info = machine_info()
    settings = {name: run_worker(name, args) for name in args.settings}
    speedups = {}
    if "stage1" in settings:
        speedups["stage1_speedup_vs_official"] = (
            OFFICIAL["stage1"]["seconds_per_step"]
            / settings["stage1"]["seconds_per_step"],
            3.0,
        )
    if "stage2" in settings:
        speedups["stage2_speedup_vs_official"] = (
            OFFICIAL["stage2"]["seconds_per_step"]
            / settings["stage2"]["seconds_per_step"],
            1.0,
        )
    result = {
        "benchmark": "training",
        "model": dict(TINY_ATST)
        if args.tiny
        else {"embed_dim": 768, "depth": 12, "num_heads": 12},
        "tiny": args.tiny,
        "batch_sizes": args.batch_sizes,
        "clip_seconds": TINY_SECONDS if args.tiny else 10.0,
        "threads": args.threads,
        "repeat": args.repeat,
        "warmup": args.warmup,
        "machine": info,
        "official": OFFICIAL,
        "settings": settings,
        "targets": {
            k: {"value": v, "target": f">= {t}", "met": v >= t}
            for k, (v, t) in speedups.items()
        },
    }
    text = markdown(result)
    write_results(result, args.out, text)
    print(text)
    return result


if __name__ == "__main__":
    main()
