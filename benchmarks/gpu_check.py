"""Issue 17's table on one GPU: training steps, inference, launches, syncs.

One command measures, for this implementation, every row of the table of
issue 17 ("On one GPU: a stage-2 step three times faster...") and prints
the figures the issue gives (the H200 measurements of this code at filing
and of the official code, :data:`ISSUE_17`) beside them::

    python benchmarks/gpu_check.py [--out benchmarks/results/gpu_check.json]

Sized for under 5 minutes on one GPU (not yet run on one); writes
``gpu_check.json`` and ``.md``.

* **Training steps** (``SEDBrain.fit_batch`` of the recipe's brain, random
  weights, base transformer 768 / 12 / 12): stage 2 at the paper's batch
  ``[24, 24, 48, 48]`` (144 ten-second clips) in float32, float32 with
  TF32 matrix products and convolutions (the official scripts' setting),
  bfloat16 autocast, and float32 / bfloat16 with activation checkpointing
  in the transformer; stage 1 at ``[12, 12, 24, 48]`` in float32 and
  bfloat16. The batch is pinned, as the recipe's loaders pin it on a GPU.
  For each: the median step time, the peak GPU memory
  (``max_memory_allocated``), and one step under ``torch.profiler``
  (kernels, kernel launches, copy kernels, memory copies, host
  synchronisations and their time, GPU busy time, aten operators) and
  one under ``torch.cuda.set_sync_debug_mode("warn")`` (synchronising
  calls counted by PyTorch itself). Float32 settings run with TF32 off
  for matrix products and cuDNN (importing SpeechBrain turns it on) unless
  named ``_tf32``.
* **Inference** (``SEDInterface.frame_scores_batch``: front-ends, model,
  window merging; no median filter, like ``bench_inference.py``): 64 ten
  second clips per call from CPU tensors and from tensors already on the
  GPU, in float32 and bfloat16 (ms per clip), a single clip (ms), one hour
  of audio (10 s windows every 8 s, 64 windows per call, median filter
  included; s), the largest bfloat16 vs float32 score difference, and a
  profile of one bfloat16 call of 64 clips from the CPU.
* **Loader**: clips per second of one loader worker on a small synthesized
  set (``bench_data.py`` measures it on the quickstart set), and the
  workers that feed the measured bfloat16 stage-2 step three times over.

``--cpu-smoke`` runs every measurement on the CPU, tiny (32 / 1 / 2
transformer, one clip per subset, 1 s training clips, 2 s inference
windows and clips, 30 s for the "hour"), so that the script is tested
anywhere; on the CPU the profile counts aten operators (there are no
kernel launches) and no synchronisation count is taken.

Authors
 * speechbrain-atst team 2026
"""

import argparse
import contextlib
import copy
import functools
import gc
import sys
import tempfile
import time
import warnings
from pathlib import Path

import speechbrain  # noqa: F401 (its import turns TF32 on: set it after)
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
    time_call,
    write_results,
)

#: What issue 17 reports, measured on one NVIDIA H200: this implementation
#: at filing (``before``), the official code (``official``) and the
#: targets. Times in seconds (steps, one hour of audio) or milliseconds
#: (inference), memory in GiB.
ISSUE_17 = {
    "conditions": (
        "one NVIDIA H200, torch 2.11, CUDA 13, base transformer 768/12/12 "
        "with random weights; stage-2 batch [24, 24, 48, 48] (144 clips), "
        "stage-1 batch [12, 12, 24, 48]; official code: its stage-2 step "
        "core (student forward + backward, teacher forward, Adam, its "
        "per-parameter EMA; mixup, ICT mixing and warping left out, so a "
        "lower bound) on the same GPU and batch"
    ),
    "before": {
        "stage2_float32": {"seconds": 0.386, "peak_gib": 33.9},
        "stage2_float32_checkpointing": {"seconds": 0.370, "peak_gib": 15.3},
        "stage2_bfloat16": {"seconds": 0.345, "peak_gib": 19.4},
        "stage2_bfloat16_checkpointing": {"seconds": 0.389, "peak_gib": 9.5},
        "stage2_float32_tf32": {"seconds": 0.399},
        "stage1_float32": {"seconds": 0.146, "peak_gib": 9.0},
        "stage1_bfloat16": {"seconds": 0.163, "peak_gib": 5.0},
        "inference_cpu_batch64_ms_per_clip": {
            "float32": 0.99,
            "bfloat16": 1.27,
        },
        "inference_gpu_batch64_ms_per_clip": {
            "float32": 0.70,
            "bfloat16": 0.93,
        },
        "inference_batch1_ms": 6.0,
        "hour_bfloat16_seconds": 1.03,
        "stage2_bfloat16_profile": {
            "wall_seconds": 0.31,
            "gpu_seconds": 0.21,
            "kernel_launches": 7559,
            "copy_kernels": 4546,
            "host_syncs": 5,
            "host_sync_seconds": 0.062,
        },
        "inference_bfloat16_batch64_profile": {
            "wall_seconds": 0.19,
            "gpu_seconds": 0.030,
            "kernel_launches": 2948,
            "copy_kernels": 1995,
        },
    },
    "official": {
        "stage2_float32_tf32": {"seconds": 0.301, "peak_gib": 38.4},
        "stage2_bfloat16": {"seconds": 0.252, "peak_gib": 26.7},
        "inference_cpu_batch64_ms_per_clip": {
            "float32": 0.43,
            "bfloat16": 0.40,
        },
        "inference_batch1_ms": 5.8,
    },
    "targets": {
        "stage2_bfloat16_seconds": 0.12,
        "stage2_float32_seconds": 0.20,
        "stage1_bfloat16_seconds": 0.06,
        "inference_cpu_batch64_ms_per_clip": {
            "float32": 0.35,
            "bfloat16": 0.15,
        },
        "inference_batch1_ms": 5.8,
        "hour_bfloat16_seconds": 0.4,
        "bfloat16_vs_float32_max_abs_diff": 0.02,
        "loader_margin": 3.0,
    },
}
#: Training settings: name -> (stage, precision, activation checkpointing,
#: TF32).
TRAIN_CONFIGS = {
    "stage2_float32": (2, "fp32", False, False),
    "stage2_float32_checkpointing": (2, "fp32", True, False),
    "stage2_bfloat16": (2, "bf16", False, False),
    "stage2_bfloat16_checkpointing": (2, "bf16", True, False),
    "stage2_float32_tf32": (2, "fp32", False, True),
    "stage1_float32": (1, "fp32", False, False),
    "stage1_bfloat16": (1, "bf16", False, False),
}
#: The paper's batches per stage.
PAPER_BATCHES = {1: [12, 12, 24, 48], 2: [24, 24, 48, 48]}
#: Inference precisions.
PRECISIONS = {"float32": "fp32", "bfloat16": "bf16"}
#: CUDA runtime calls that launch work, and those that block the host.
LAUNCH_PREFIXES = ("cudaLaunch", "cuLaunch", "cudaGraphLaunch")
SYNC_CALLS = (
    "cudaDeviceSynchronize",
    "cudaStreamSynchronize",
    "cudaEventSynchronize",
    "cudaMemcpy",
    "cudaMemcpy2D",
)
#: Operators that read a tensor's value back to Python (``item``,
#: ``float``, ``bool`` of a tensor): each is a host synchronisation on a
#: GPU if the tensor is there, so their count on a CPU bounds how often a
#: step would wait. Those inside the optimizer's step (PyTorch's Adam reads
#: its step counters, CPU tensors on a GPU too) are left out.
SCALAR_READS = ("aten::_local_scalar_dense",)


def _in_optimizer_step(event):
    """Whether a profiler event runs inside ``Optimizer.step``."""
    parent = event.cpu_parent
    while parent is not None:
        if parent.name.startswith("Optimizer.step"):
            return True
        parent = parent.cpu_parent
    return False


@contextlib.contextmanager
def tf32(enabled, cuda):
    """TF32 for float32 matrix products and cuDNN convolutions (restored).

    Arguments
    ---------
    enabled : bool
        Allow TF32.
    cuda : bool
        Whether a GPU is used (nothing changes otherwise).

    Example
    -------
    >>> with tf32(True, cuda=False):
    ...     pass
    """
    if not cuda:
        yield
        return
    old = (
        torch.backends.cuda.matmul.allow_tf32,
        torch.backends.cudnn.allow_tf32,
    )
    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled
    try:
        yield
    finally:
        (
            torch.backends.cuda.matmul.allow_tf32,
            torch.backends.cudnn.allow_tf32,
        ) = old


def profile_counts(fn, cuda):
    """Runs ``fn()`` once under ``torch.profiler`` and counts its work.

    Arguments
    ---------
    fn : callable
        The call (no arguments).
    cuda : bool
        Also record the GPU (kernels, copies, runtime calls).

    Returns
    -------
    dict
        ``wall_seconds`` (profiled, with the profiler's overhead),
        ``aten_ops`` (all), ``aten_ops_top_level`` (not called by
        another aten operator) and ``scalar_reads`` (values read back to
        Python outside the optimizer's step, :data:`SCALAR_READS`: host
        synchronisations for GPU tensors, countable on a CPU too); on a GPU
        also ``kernels``,
        ``copy_kernels``, ``memcpy`` (by kind), ``gpu_seconds`` (kernels
        and copies), ``kernel_launches``, ``host_syncs`` and
        ``host_sync_seconds`` (blocking runtime calls, :data:`SYNC_CALLS`,
        but for the final synchronisation that ends the profile).

    Example
    -------
    >>> counts = profile_counts(lambda: torch.ones(3).sum(), cuda=False)
    >>> counts["aten_ops_top_level"] >= 2
    True
    """
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU]
    if cuda:
        activities.append(ProfilerActivity.CUDA)
        torch.cuda.synchronize()
    start = time.perf_counter()
    with profile(activities=activities) as prof:
        fn()
        if cuda:
            torch.cuda.synchronize()
    wall = time.perf_counter() - start
    events = list(prof.events())
    aten = [e for e in events if e.name.startswith("aten::")]
    top = [
        e
        for e in aten
        if e.cpu_parent is None or not e.cpu_parent.name.startswith("aten::")
    ]
    out = {
        "wall_seconds": wall,
        "aten_ops": len(aten),
        "aten_ops_top_level": len(top),
        "scalar_reads": sum(
            e.name in SCALAR_READS and not _in_optimizer_step(e) for e in aten
        ),
    }
    if not cuda:
        return out
    gpu = [e for e in events if e.device_type == DeviceType.CUDA]
    copies = [e for e in gpu if e.name.startswith(("Memcpy", "Memset"))]
    kernels = [e for e in gpu if not e.name.startswith(("Memcpy", "Memset"))]
    memcpy = {}
    for e in copies:
        memcpy[e.name] = memcpy.get(e.name, 0) + 1
    host = [e for e in events if e.device_type != DeviceType.CUDA]
    syncs = [e for e in host if e.name in SYNC_CALLS]
    harness = [e for e in syncs if e.name == "cudaDeviceSynchronize"]
    if harness:  # the final synchronize above is not the call's
        last = max(harness, key=lambda e: e.time_range.start)
        syncs = [e for e in syncs if e is not last]
    out.update(
        kernels=len(kernels),
        copy_kernels=sum("copy" in e.name.lower() for e in kernels),
        memcpy=memcpy,
        gpu_seconds=sum(e.time_range.elapsed_us() for e in gpu) / 1e6,
        kernel_launches=sum(e.name.startswith(LAUNCH_PREFIXES) for e in host),
        host_syncs=len(syncs),
        host_sync_seconds=sum(e.time_range.elapsed_us() for e in syncs) / 1e6,
    )
    return out


def count_sync_warnings(fn):
    """Synchronising CUDA calls of ``fn()`` as PyTorch reports them
    (``torch.cuda.set_sync_debug_mode("warn")``).

    Arguments
    ---------
    fn : callable
        The call (no arguments), on a GPU.

    Returns
    -------
    dict
        ``count`` and the distinct ``messages`` (first line of each).
    """
    torch.cuda.synchronize()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            fn()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    messages = [
        str(w.message).splitlines()[0]
        for w in caught
        if "synchroniz" in str(w.message).lower()
    ]
    return {"count": len(messages), "messages": sorted(set(messages))}


def peak_memory_mb(cuda):
    """Peak memory: GPU allocations since the last reset, or the process's
    peak resident memory (cumulative) on the CPU."""
    if cuda:
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() / 2**20
    return peak_rss_mb()


def reset_memory(cuda):
    """Frees cached GPU memory and resets the peak statistics."""
    gc.collect()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def one_step(brain, batch):
    """One training step, the step counter advanced as in ``fit``; the
    batch is copied to the device (a new ``PaddedBatch`` object: its
    ``to`` moves in place)."""
    brain.step += 1
    brain.fit_batch(copy.copy(batch))


def measure_training(name, args, device):
    """Builds a brain for one training setting, times and profiles steps.

    Arguments
    ---------
    name : str
        Key of :data:`TRAIN_CONFIGS`.
    args : argparse.Namespace
        Parsed arguments.
    device : str
        ``"cuda"`` or ``"cpu"``.

    Returns
    -------
    dict
        ``status`` (``ok`` or ``oom``), ``seconds_per_step``,
        ``clips_per_second``, ``peak_memory_mb``, ``profile``,
        ``sync_debug`` and details.
    """
    stage, precision, ckpt, allow_tf32 = TRAIN_CONFIGS[name]
    cuda = device.startswith("cuda")
    batch_sizes = [1, 1, 1, 1] if args.cpu_smoke else PAPER_BATCHES[stage]
    seconds = TINY_SECONDS if args.cpu_smoke else 10.0
    overrides = {"atst_grad_checkpointing": ckpt} if stage == 2 else {}
    if args.cpu_smoke:
        overrides["train_clip_seconds"] = seconds
    out = {
        "stage": stage,
        "precision": precision,
        "activation_checkpointing": ckpt,
        "tf32": allow_tf32 if cuda else None,
        "batch_sizes": batch_sizes,
    }
    reset_memory(cuda)
    brain = batch = step = None
    start = time.perf_counter()
    try:
        with tf32(allow_tf32, cuda), tempfile.TemporaryDirectory() as tmp:
            torch.manual_seed(0)
            brain = build_brain(
                stage,
                tmp,
                batch_sizes,
                atst=TINY_ATST if args.cpu_smoke else None,
                device=device,
                precision=precision,
                overrides=overrides,
            )
            if cuda:
                out["model_and_optimizer_mb"] = (
                    torch.cuda.memory_allocated() / 2**20
                )
            batch = make_batch(batch_sizes, seconds=seconds)
            if cuda:
                batch = batch.pin_memory()
            timing = run_steps(brain, batch, args.repeat, warmup=args.warmup)

            step = functools.partial(one_step, brain, batch)
            if cuda:
                out["sync_debug"] = count_sync_warnings(step)
            out["profile"] = profile_counts(step, cuda)
        out.update(
            status="ok",
            seconds_per_step=timing["median"],
            clips_per_second=sum(batch_sizes) / timing["median"],
            timing=timing,
        )
    except torch.cuda.OutOfMemoryError as err:
        out.update(status="oom", error=str(err).splitlines()[0])
    finally:
        brain = batch = step = None
        out["peak_memory_mb"] = peak_memory_mb(cuda)
        if not cuda:
            out["peak_memory_kind"] = "process peak RSS (cumulative)"
        reset_memory(cuda)
    out["wall_seconds"] = time.perf_counter() - start
    return out


def make_interface(model, precision, device, window, batch_size):
    """An SEDInterface around ``model`` (the DESED classes).

    Arguments
    ---------
    model : torch.nn.Module
        An ATSTSED.
    precision : str
        ``"fp32"`` or ``"bf16"``.
    device : str
        The device.
    window : float
        Window length (s).
    batch_size : int
        Windows per model call.

    Returns
    -------
    SEDInterface
        The interface (default 0.8-window hop, median filter of 7).
    """
    from speechbrain_atst.features import ATSTFrontEnd, CNNFrontEnd
    from speechbrain_atst.inference import SEDInterface
    from speechbrain_atst.labels import DESED_CLASSES

    return SEDInterface(
        modules={
            "cnn_frontend": CNNFrontEnd(),
            "atst_frontend": ATSTFrontEnd(),
            "model": model,
        },
        hparams={
            "sample_rate": 16000,
            "classes": list(DESED_CLASSES),
            "median_windows": 7,
            "threshold": 0.5,
            "window_seconds": window,
            "hop_seconds": 0.8 * window,
            "batch_size": batch_size,
        },
        run_opts={"device": device, "precision": precision},
    )


def measure_inference(args, device):
    """Inference rows of the table (see the module docstring).

    Arguments
    ---------
    args : argparse.Namespace
        Parsed arguments.
    device : str
        ``"cuda"`` or ``"cpu"``.

    Returns
    -------
    dict
        Per precision: ``cpu_batch_ms_per_clip``, ``gpu_batch_ms_per_clip``
        (device tensors), ``batch1_ms``, ``hour_seconds``; the largest
        bfloat16 vs float32 score difference; the profile of one bfloat16
        call from CPU tensors.
    """
    from speechbrain_atst.lobes.atst_sed import ATSTSED

    cuda = device.startswith("cuda")
    smoke = args.cpu_smoke
    window = 2.0 if smoke else 10.0
    batch = 2 if smoke else 64
    hour = 30.0 if smoke else 3600.0
    repeat = 1 if smoke else args.inference_repeat
    warmup = 0 if smoke else 2
    gen = torch.Generator().manual_seed(0)
    clips = 0.1 * torch.randn(batch, int(window * 16000), generator=gen)
    long = 0.1 * torch.randn(1, int(hour * 16000), generator=gen)
    arch = TINY_ATST if smoke else {}
    torch.manual_seed(0)
    model = ATSTSED(**arch).eval()
    reset_memory(cuda)
    out = {
        "clips": batch,
        "clip_seconds": window,
        "hour_seconds_of_audio": hour,
        "median_filter": {"batches": False, "hour": True},
    }
    scores = {}
    with tf32(False, cuda):
        for name, precision in PRECISIONS.items():
            sed = make_interface(model, precision, device, window, batch)
            on_device = clips.to(device)
            res = {}

            def call(wavs, n=None, median=False, sed=sed):
                sed.frame_scores_batch(
                    wavs if n is None else wavs[:n], median=median
                )

            timing = time_call(lambda: call(clips), repeat, warmup)
            res["cpu_batch_ms_per_clip"] = 1e3 * timing["median"] / batch
            timing = time_call(
                lambda wavs=on_device: call(wavs), repeat, warmup
            )
            res["gpu_batch_ms_per_clip"] = 1e3 * timing["median"] / batch
            timing = time_call(lambda: call(clips, 1), 5 * repeat, warmup)
            res["batch1_ms"] = 1e3 * timing["median"]
            timing = time_call(
                lambda: call(long, median=True),
                min(repeat, 3),
                min(warmup, 1),
            )
            res["hour_seconds"] = timing["median"] * 3600.0 / hour
            if name == "bfloat16":
                res["profile_cpu_batch"] = profile_counts(
                    lambda: call(clips), cuda
                )
                if cuda:
                    res["sync_debug_cpu_batch"] = count_sync_warnings(
                        lambda: call(clips)
                    )
            scores[name] = sed.frame_scores_batch(clips, median=False)
            out[name] = res
            sed = on_device = None
    diff = max(
        float(abs(a - b).max())
        for a, b in zip(scores["float32"], scores["bfloat16"])
    )
    out["bfloat16_vs_float32_max_abs_diff"] = diff
    out["peak_memory_mb"] = peak_memory_mb(cuda)
    reset_memory(cuda)
    return out


def measure_loader(args, step_seconds):
    """Clips per second of one training-loader worker on a small
    synthesized set, and the workers that feed a step three times over.

    Arguments
    ---------
    args : argparse.Namespace
        Parsed arguments.
    step_seconds : float or None
        The measured bfloat16 stage-2 step (144 clips), if any.

    Returns
    -------
    dict
        ``bench_data.measure_loader``'s result, plus ``measured_step``.
    """
    import bench_data

    from speechbrain_atst.data.desed import prepare_desed
    from speechbrain_atst.data.synth import synthesize_mini_desed

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "dataset"
        synthesize_mini_desed(data, scale=0.1 if args.cpu_smoke else "small")
        prepare_desed(data, Path(tmp) / "manifests")
        out = bench_data.measure_loader(
            Path(tmp) / "manifests",
            data,
            [1, 1, 1, 1] if args.cpu_smoke else [3, 3, 6, 6],
            [1],
            2 if args.cpu_smoke else 24,
        )
    if out is not None and step_seconds:
        rate = sum(PAPER_BATCHES[2]) / step_seconds
        out["measured_step"] = {
            "step_clips_per_second": rate,
            "workers_needed": bench_data.workers_needed(
                out["per_worker_clips_per_second"], rate
            ),
        }
    return out


def gib(mb):
    """MiB -> GiB, formatted (``-`` for None)."""
    return "-" if mb is None else f"{mb / 1024:.1f}"


def seconds_and_memory(entry):
    """``"0.386 s, 33.9 GiB"`` of an :data:`ISSUE_17` entry (or ``-``)."""
    if not entry:
        return "-"
    text = f"{fmt(entry['seconds'])} s"
    if "peak_gib" in entry:
        text += f", {entry['peak_gib']} GiB"
    return text


#: Training settings with a time target in issue 17 (TF32 allowed for
#: float32, as in the official code).
STEP_TARGETS = {
    "stage2_bfloat16": "stage2_bfloat16_seconds",
    "stage2_float32_tf32": "stage2_float32_seconds",
    "stage1_bfloat16": "stage1_bfloat16_seconds",
}


def verdict(value, target):
    """``yes`` / ``no`` for ``value <= target`` (``-`` if either is None).

    Example
    -------
    >>> verdict(0.1, 0.12), verdict(None, 0.12)
    ('yes', '-')
    """
    if value is None or target is None:
        return "-"
    return "yes" if value <= target else "no"


def training_rows(result):
    """Rows ``[measurement, before, official, ours, target, met]`` of the
    training steps: the time target where the issue sets one, and peak
    memory not above the issue's figure for each setting."""
    before, official = ISSUE_17["before"], ISSUE_17["official"]
    rows = []
    for name, r in result["training"].items():
        target = ISSUE_17["targets"].get(STEP_TARGETS.get(name))
        was = before.get(name, {}).get("peak_gib")
        ours, met = r["status"], "-"
        if r["status"] == "ok":
            peak = r["peak_memory_mb"] / 1024
            ours = f"{fmt(r['seconds_per_step'])} s, {peak:.1f} GiB"
            checks = []
            if target is not None:
                checks.append(r["seconds_per_step"] <= target)
            if was is not None and result["device"] == "cuda":
                checks.append(peak <= was)
            met = "-" if not checks else ("yes" if all(checks) else "no")
        goal = [f"<= {target} s"] if target is not None else []
        if was is not None:
            goal.append(f"<= {was} GiB")
        rows.append(
            [
                f"{name} step",
                seconds_and_memory(before.get(name)),
                seconds_and_memory(official.get(name)),
                ours,
                ", ".join(goal) or "-",
                met,
            ]
        )
    return rows


def comparison_rows(result):
    """Rows ``[measurement, before, official, ours, target, met]``.

    Arguments
    ---------
    result : dict
        Output of :func:`main`.

    Returns
    -------
    list of list
        The rows (``met`` is ``-`` without a target or a measurement).
    """
    before, official = ISSUE_17["before"], ISSUE_17["official"]
    targets = ISSUE_17["targets"]
    rows = training_rows(result)
    inference = result.get("inference")
    if inference:
        n = inference["clips"]
        for name in PRECISIONS:
            r = inference[name]
            target = targets["inference_cpu_batch64_ms_per_clip"][name]
            rows.append(
                [
                    f"inference {name}, batch {n} from CPU (ms / clip)",
                    fmt(before["inference_cpu_batch64_ms_per_clip"][name]),
                    fmt(official["inference_cpu_batch64_ms_per_clip"][name]),
                    fmt(r["cpu_batch_ms_per_clip"]),
                    f"<= {target}",
                    verdict(r["cpu_batch_ms_per_clip"], target),
                ]
            )
            rows.append(
                [
                    f"inference {name}, batch {n} from GPU tensors (ms / clip)",
                    fmt(before["inference_gpu_batch64_ms_per_clip"][name]),
                    "-",
                    fmt(r["gpu_batch_ms_per_clip"]),
                    "-",
                    "-",
                ]
            )
        target = targets["inference_batch1_ms"]
        for name in PRECISIONS:
            value = inference[name]["batch1_ms"]
            rows.append(
                [
                    f"inference {name}, batch 1 (ms)",
                    fmt(before["inference_batch1_ms"]),
                    fmt(official["inference_batch1_ms"]),
                    fmt(value),
                    f"<= {target}",
                    verdict(value, target),
                ]
            )
        hour = inference["bfloat16"]["hour_seconds"]
        target = targets["hour_bfloat16_seconds"]
        rows.append(
            [
                "one hour of audio, bfloat16, 64 windows per call (s)",
                fmt(before["hour_bfloat16_seconds"]),
                "-",
                fmt(hour),
                f"<= {target}",
                verdict(hour, target),
            ]
        )
        diff = inference["bfloat16_vs_float32_max_abs_diff"]
        target = targets["bfloat16_vs_float32_max_abs_diff"]
        rows.append(
            [
                "bfloat16 vs float32 scores, largest difference",
                "-",
                "-",
                fmt(diff),
                f"<= {target}",
                verdict(diff, target),
            ]
        )
    loader = result.get("loader")
    if loader and "measured_step" in loader:
        step = loader["measured_step"]
        rows.append(
            [
                "loader workers feeding 3x the bfloat16 stage-2 step "
                f"({fmt(step['step_clips_per_second'])} clips / s)",
                "-",
                "-",
                f"{step['workers_needed']} workers at "
                f"{fmt(loader['per_worker_clips_per_second'])} clips / s "
                "each",
                "-",
                "-",
            ]
        )
    return rows


def profile_rows(result):
    """Rows of the profiles: issue 17's stage-2 bfloat16 step and batch
    inference beside ours, then every training setting."""
    before = ISSUE_17["before"]
    keys = (
        "wall_seconds",
        "gpu_seconds",
        "kernel_launches",
        "kernels",
        "copy_kernels",
        "host_syncs",
        "host_sync_seconds",
        "aten_ops_top_level",
        "aten_ops",
        "scalar_reads",
    )
    rows = []

    def show(value):
        if isinstance(value, int):
            return f"{value:,}"
        return fmt(value)

    def row(name, p, syncs=None):
        rows.append(
            [name]
            + [show(p.get(k)) if p else "-" for k in keys]
            + [show(syncs)]
        )

    row("issue 17: stage2_bfloat16 step", before["stage2_bfloat16_profile"])
    for name, r in result["training"].items():
        if r["status"] == "ok":
            row(
                f"{name} step",
                r["profile"],
                r.get("sync_debug", {}).get("count"),
            )
    row(
        "issue 17: inference bfloat16, batch 64",
        before["inference_bfloat16_batch64_profile"],
    )
    inference = result.get("inference")
    if inference:
        r = inference["bfloat16"]
        row(
            f"inference bfloat16, batch {inference['clips']} from CPU",
            r["profile_cpu_batch"],
            r.get("sync_debug_cpu_batch", {}).get("count"),
        )
    header = ["profiled call", *keys, "syncs (sync debug mode)"]
    return header, rows


def loader_lines(loader):
    """The loader paragraph of the report (none without a measurement)."""
    if not loader:
        return []
    need = loader["workers_needed"]
    text = (
        f"Training loader (small synthesized set, batch "
        f"{loader['batch_sizes']}, files in the page cache): one worker "
        f"delivers {fmt(loader['per_worker_clips_per_second'])} clips / s; "
        f"{loader['margin']:g}x issue 17's stage-2 target (144 clips per "
        f"0.12 s) takes {need['stage2_target_0.12s']['warm']} workers"
    )
    step = loader.get("measured_step")
    if step:
        text += (
            f", 3x the bfloat16 step measured here "
            f"({fmt(step['step_clips_per_second'])} clips / s) "
            f"{step['workers_needed']}"
        )
    return [text + ".", ""]


def markdown(result):
    """The markdown report of a result dict.

    Arguments
    ---------
    result : dict
        Output of :func:`main`.

    Returns
    -------
    str
        Tables and notes.
    """
    m = result["machine"]
    header, prof = profile_rows(result)
    lines = [
        f"## Issue 17 on {result['device_name']} ({result['model']})",
        "",
        f"torch {m['torch']}, CUDA {result['cuda_version']}; measured "
        f"{result['date']}. Training: median of {result['repeat']} steps "
        f"after {result['warmup']} warm-up step(s), peak memory "
        f"{result['memory_kind']}. Issue 17's figures: "
        f"{ISSUE_17['conditions']}.",
        "",
        markdown_table(
            [
                "measurement",
                "issue 17: ours before",
                "issue 17: official",
                "ours now",
                "target",
                "met",
            ],
            comparison_rows(result),
        ),
        "",
        "Issue 17's float32 rows were measured by an earlier version of "
        "this script, which turned TF32 off before importing SpeechBrain, "
        "whose import turns it on again: they most likely ran with TF32 "
        "(compare them with the `_tf32` row too). Here float32 means full "
        "float32 unless the row says `_tf32`.",
        "",
        *loader_lines(result.get("loader")),
        "Profiles (one call each under torch.profiler; on a CPU only the "
        "aten operator counts exist; scalar_reads: tensor values read back "
        "to Python, each a wait for the GPU on a GPU; syncs: host "
        "synchronisations, "
        "blocking CUDA runtime calls):",
        "",
        markdown_table(header, prof),
    ]
    return "\n".join(lines)


def main(argv=None):
    """Runs every measurement and writes the JSON and markdown files.

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
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--warmup", type=int, default=2, help="untimed steps first"
    )
    parser.add_argument(
        "--configs",
        nargs="+",
        default=list(TRAIN_CONFIGS),
        choices=list(TRAIN_CONFIGS),
        help="training settings",
    )
    parser.add_argument("--inference-repeat", type=int, default=5)
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=["inference", "loader"],
        help="parts left out",
    )
    parser.add_argument(
        "--cpu-smoke",
        action="store_true",
        help="run on the CPU with a tiny model and batch (a functional test)",
    )
    args = parser.parse_args(argv)
    if args.cpu_smoke:
        device = "cpu"
        args.repeat, args.warmup = 1, 0
        torch.set_num_threads(1)
    elif torch.cuda.is_available():
        device = "cuda"
    else:
        parser.error("no GPU found: run with --cpu-smoke to test on the CPU")
    cuda = device == "cuda"
    start = time.perf_counter()
    training = {}
    for name in args.configs:
        training[name] = measure_training(name, args, device)
        print(f"{name}: {fmt(training[name].get('seconds_per_step'))} s")
    inference = None
    if "inference" not in args.skip:
        inference = measure_inference(args, device)
    loader = None
    if "loader" not in args.skip:
        step = training.get("stage2_bfloat16", {}).get("seconds_per_step")
        loader = measure_loader(args, None if args.cpu_smoke else step)
    result = {
        "benchmark": "gpu_check",
        "device": device,
        "device_name": torch.cuda.get_device_name(0)
        if cuda
        else "CPU (smoke test)",
        "cuda_version": torch.version.cuda,
        "date": time.strftime("%Y-%m-%d"),
        "cpu_smoke": args.cpu_smoke,
        "model": "32/1/2 transformer, tiny batches"
        if args.cpu_smoke
        else "768/12/12 transformer, random weights",
        "repeat": args.repeat,
        "warmup": args.warmup,
        "memory_kind": "max_memory_allocated per setting"
        if cuda
        else "process peak RSS (cumulative)",
        "machine": machine_info(),
        "issue_17": ISSUE_17,
        "training": training,
        "inference": inference,
        "loader": loader,
    }
    result["wall_seconds"] = time.perf_counter() - start
    text = markdown(result)
    write_results(result, args.out, text)
    print(text)
    return result


if __name__ == "__main__":
    main()
