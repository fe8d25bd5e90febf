"""Compute, real-time factor and latency of the streaming detector.

Runs :class:`speechbrain_atst.inference.stream.StreamingDetector` around
an ATSTSED of the paper's size (ATST-Frame base: 768 / 12 / 12, random
weights, the real front-ends) on the CPU and measures:

1. the compute of one window (front-ends + model, batch 1, the median of
   repeated calls), hence the smallest hop, a whole number of 64 ms
   frames, whose compute stays at most ``TARGET_RTF`` of real time
   (window compute / hop), with and without a 1.5x margin for a machine
   whose speed varies;
2. the measured real-time factor of a stream (wall time of all the
   ``feed``/``flush`` calls / audio duration, chunks of 0.5 s) at the
   stream's default hop and at the smallest hop, and the largest
   ``feed`` call (the compute part of the latency);
3. the latency bound: frame scores are final one window plus the median
   half-window after their audio (the offline plan's last window may
   still cover them before that), events one frame more; plus one
   chunk and the largest feed call;
4. the largest buffers held over the stream (bounded).

Writes JSON and a markdown table (default ``benchmarks/results/
stream.json`` / ``.md``).

Usage::

    python benchmarks/bench_stream.py [--tiny] [--out PATH]

Authors
 * speechbrain-atst team 2026
"""

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_utils import (  # noqa: E402
    RESULTS_DIR,
    add_quiet_arguments,
    fmt,
    machine_info,
    markdown_table,
    quiet_kwargs,
    time_call,
    write_results,
)

from speechbrain_atst.evaluation import STAGE2_MEDIAN_WINDOWS  # noqa: E402
from speechbrain_atst.features import ATSTFrontEnd, CNNFrontEnd  # noqa: E402
from speechbrain_atst.inference import SEDInterface  # noqa: E402
from speechbrain_atst.inference.stream import (  # noqa: E402
    MIN_HOP_SECONDS,
    FrameScores,
    StreamingDetector,
)
from speechbrain_atst.labels import DESED_CLASSES, SAMPLE_RATE  # noqa: E402
from speechbrain_atst.lobes.atst_sed import ATSTSED  # noqa: E402

#: Largest compute / audio ratio allowed at the default hop.
TARGET_RTF = 0.3
#: Slow-down of this shared machine from hour to hour (see README).
MARGIN = 1.5
FRAME_SECONDS = 0.064


def build_interface(embed_dim, depth, num_heads, hop_seconds):
    """An SEDInterface around a random ATSTSED (DESED classes, stage-2
    median windows)."""
    model = ATSTSED(
        n_classes=len(DESED_CLASSES),
        embed_dim=embed_dim,
        depth=depth,
        num_heads=num_heads,
    ).eval()
    return SEDInterface(
        modules={
            "cnn_frontend": CNNFrontEnd(),
            "atst_frontend": ATSTFrontEnd(),
            "model": model,
        },
        hparams={
            "sample_rate": SAMPLE_RATE,
            "classes": DESED_CLASSES,
            "median_windows": STAGE2_MEDIAN_WINDOWS,
            "threshold": 0.5,
            "window_seconds": 10.0,
            "hop_seconds": hop_seconds,
            "batch_size": 1,
        },
        run_opts={"device": "cpu"},
    )


def smallest_hop(window_seconds, target):
    """The smallest whole-frame hop with ``window / hop <= target``."""
    return math.ceil(window_seconds / target / FRAME_SECONDS) * FRAME_SECONDS


def run_stream(sed, hop_seconds, seconds, chunk_seconds=0.5):
    """Streams ``seconds`` of noise; wall times, buffers, windows run.

    Returns
    -------
    dict
        ``rtf`` (total wall time / audio), ``max_feed_seconds``,
        ``windows``, ``frames`` and ``max_buffers``.
    """
    det = StreamingDetector(sed, hop_seconds=hop_seconds)
    rng = np.random.default_rng(0)
    chunk = int(chunk_seconds * SAMPLE_RATE)
    calls = []
    run = sed._run_windows

    def counted(windows):
        calls.append(windows.shape[0])
        return run(windows)

    sed._run_windows = counted
    feeds, frames, biggest = [], 0, {}
    try:
        for _ in range(int(seconds / chunk_seconds)):
            wav = rng.uniform(-0.3, 0.3, chunk).astype(np.float32)
            start = time.perf_counter()
            updates = det.feed(wav)
            feeds.append(time.perf_counter() - start)
            frames += sum(
                len(u.scores) for u in updates if isinstance(u, FrameScores)
            )
            for key, value in det.buffer_sizes.items():
                biggest[key] = max(biggest.get(key, 0), value)
        start = time.perf_counter()
        det.flush()
        feeds.append(time.perf_counter() - start)
    finally:
        del sed._run_windows
    return {
        "hop_seconds": det.hop_seconds,
        "audio_seconds": seconds,
        "rtf": sum(feeds) / seconds,
        "max_feed_seconds": max(feeds[:-1]),
        "flush_seconds": feeds[-1],
        "windows": sum(calls),
        "frames": frames,
        "max_buffers": biggest,
    }


def markdown(result):
    """The markdown report of the results."""
    w = result["window_compute"]
    rows = [
        ["compute per 10 s window (s)", fmt(w["median"])],
        ["smallest hop for RTF <= 0.3 (s)", fmt(result["min_hop_seconds"])],
        [
            f"... with a {MARGIN}x margin (s)",
            fmt(result["min_hop_seconds_with_margin"]),
        ],
        ["MIN_HOP_SECONDS of the stream (s)", fmt(MIN_HOP_SECONDS)],
    ]
    for run in result["streams"]:
        hop = run["hop_seconds"]
        rows += [
            [f"hop {hop} s: windows run", run["windows"]],
            [f"hop {hop} s: compute / hop", fmt(w["median"] / hop)],
            [f"hop {hop} s: measured RTF", fmt(run["rtf"])],
            [f"hop {hop} s: largest feed (s)", fmt(run["max_feed_seconds"])],
            [
                f"hop {hop} s: latency bound, events (s)",
                fmt(run["latency_bound_seconds"]),
            ],
            [
                f"hop {hop} s: largest buffers",
                ", ".join(f"{k} {v}" for k, v in run["max_buffers"].items()),
            ],
        ]
    head = (
        f"# Streaming detector ({result['model']}, "
        f"{result['machine'].get('threads', '')} threads)\n\n"
    )
    return head + markdown_table(["measure", "value"], rows)


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
    parser.add_argument("--out", default=str(RESULTS_DIR / "stream.json"))
    add_quiet_arguments(parser)
    sizes = {"threads": 2, "embed-dim": 768, "depth": 12, "num-heads": 12}
    for name, value in {**sizes, "repeat": 5}.items():
        parser.add_argument(f"--{name}", type=int, default=value)
    parser.add_argument(
        "--model-hop",
        type=float,
        default=8.0,
        help="the model's hop_seconds (the stream's default hop)",
    )
    parser.add_argument(
        "--stream-seconds",
        type=float,
        default=60.0,
        help="audio streamed per hop setting",
    )
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="tiny model and short runs (checks the script works)",
    )
    args = parser.parse_args(argv)
    if args.tiny:
        args.embed_dim, args.depth, args.num_heads = 32, 1, 2
        args.repeat, args.stream_seconds = 1, 24.0
        args.threads, args.quiet_load = 1, 0.0
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    info = machine_info()
    info["threads"] = args.threads
    sed = build_interface(
        args.embed_dim, args.depth, args.num_heads, args.model_hop
    )
    window = torch.zeros(1, sed.window_samples).uniform_(-0.3, 0.3)
    with torch.inference_mode():
        timing = time_call(
            lambda: sed._run_windows(window),
            repeat=args.repeat,
            **quiet_kwargs(args),
        )
    compute = timing["median"]
    min_hop = smallest_hop(compute, TARGET_RTF)
    margin_hop = smallest_hop(compute * MARGIN, TARGET_RTF)
    default = StreamingDetector(sed)
    streams = []
    # A hop longer than the window cannot be streamed: then the target
    # is out of reach on this machine (``target_met`` says so).
    hops = [default.hop_seconds, min(min_hop, sed.window_samples / 16000)]
    for hop in dict.fromkeys(hops):
        run = run_stream(sed, hop, args.stream_seconds)
        # Events: one window + median half-window + one frame of audio
        # after their end, then one chunk and the feed call's compute.
        margin_seconds = (default.margin + 1) * FRAME_SECONDS
        run["latency_bound_seconds"] = (
            sed.window_samples / SAMPLE_RATE
            + margin_seconds
            + 0.5
            + run["max_feed_seconds"]
        )
        streams.append(run)
    result = {
        "benchmark": "stream",
        "model": f"ATSTSED {args.embed_dim}/{args.depth}/{args.num_heads}",
        "tiny": args.tiny,
        "machine": info,
        "window_compute": timing,
        "target_rtf": TARGET_RTF,
        "min_hop_seconds": round(min_hop, 6),
        "min_hop_seconds_with_margin": round(margin_hop, 6),
        "default_hop_seconds": default.hop_seconds,
        "default_compute_ratio": compute / default.hop_seconds,
        "target_met": compute / default.hop_seconds <= TARGET_RTF,
        "streams": streams,
    }
    text = markdown(result)
    write_results(result, args.out, text)
    print(text)
    return result


if __name__ == "__main__":
    main()
