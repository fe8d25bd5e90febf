"""Speed of the evaluation on a DESED-validation-sized set.

Synthesizes 1,168 clips x 10 classes of ground truth and model-like scores
(continuous values, so every frame is an operating point: the worst case for
sed_scores_eval), then times the post-processing (median filter and score
frames), the score TSV round trip, and ``evaluate_scores`` (PSDS1, PSDS2,
intersection F1, collar F1 on clips with events and on all clips) with one
and with two processes (best of ``--repeat`` runs, wall and CPU seconds).
Writes a JSON file and a markdown table next to it.

Usage::

    python benchmarks/bench_evaluation.py [--out results/evaluation.json]

Authors
 * speechbrain-atst team 2026
"""

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from speechbrain_atst.evaluation import (
    STAGE2_MEDIAN_WINDOWS,
    evaluate_scores,
    median_filter,
    read_scores,
    scores_to_dataframe,
    write_scores,
)
from speechbrain_atst.labels import DESED_CLASSES, FrameGrid

#: (min, max) event length in seconds per DESED class, roughly as in DESED.
EVENT_LENGTHS = {
    "Alarm_bell_ringing": (0.5, 4.0),
    "Blender": (2.0, 8.0),
    "Cat": (0.4, 2.5),
    "Dishes": (0.2, 1.2),
    "Dog": (0.3, 2.0),
    "Electric_shaver_toothbrush": (2.0, 10.0),
    "Frying": (4.0, 10.0),
    "Running_water": (2.0, 10.0),
    "Speech": (0.4, 3.0),
    "Vacuum_cleaner": (3.0, 10.0),
}
#: Pairs of classes a model tends to confuse (cross-triggers).
CONFUSIONS = {
    "Blender": "Vacuum_cleaner",
    "Frying": "Running_water",
    "Dishes": "Cat",
    "Electric_shaver_toothbrush": "Blender",
}


def synthesize(n_clips=1168, seed=0):
    """Ground truth, durations and (frames, classes) score arrays.

    Arguments
    ---------
    n_clips : int
        Number of clips (1,168 as DESED validation).
    seed : int
        Random seed.

    Returns
    -------
    tuple
        ``(ground_truth, durations, raw_scores)`` dicts keyed by audio id.
    """
    rng = np.random.default_rng(seed)
    grid = FrameGrid()
    classes = list(DESED_CLASSES)
    n_frames = grid.n_frames
    times = grid.timestamps(n_frames)[:-1] + grid.frame_seconds / 2
    ground_truth, durations, raw = {}, {}, {}
    for i in range(n_clips):
        audio_id = f"clip{i:05d}"
        duration = 10.0 if rng.random() > 0.09 else rng.uniform(2.4, 10.0)
        duration = round(float(duration), 3)
        events = []
        n_events = 0 if rng.random() < 0.013 else rng.integers(1, 7)
        for _ in range(n_events):
            label = classes[rng.integers(len(classes))]
            low, high = EVENT_LENGTHS[label]
            length = min(rng.uniform(low, high), duration)
            onset = rng.uniform(0, duration - length)
            offset = onset + length
            clash = any(
                ev[2] == label and onset <= ev[1] and offset >= ev[0]
                for ev in events
            )
            if not clash:
                events.append((round(onset, 3), round(offset, 3), label))
        ground_truth[audio_id] = sorted(events)
        durations[audio_id] = duration
        # Low, slowly varying background scores.
        scores = rng.beta(1.2, 12.0, size=(n_frames, len(classes)))
        for onset, offset, label in events:
            c = classes.index(label)
            # Imprecise boundaries and a confidence per event.
            on = onset + rng.normal(0, 0.15)
            off = offset + rng.normal(0, 0.25)
            peak = rng.uniform(0.3, 0.98)
            inside = (times >= on) & (times < off)
            scores[inside, c] = np.maximum(
                scores[inside, c], peak - rng.uniform(0, 0.25, inside.sum())
            )
            if label in CONFUSIONS and rng.random() < 0.4:
                other = classes.index(CONFUSIONS[label])
                level = rng.uniform(0.2, 0.8)
                scores[inside, other] = np.maximum(scores[inside, other], level)
        # A few false alarms.
        for _ in range(rng.poisson(0.8)):
            c = rng.integers(len(classes))
            start = rng.integers(n_frames - 5)
            stop = start + rng.integers(2, 30)
            scores[start:stop, c] = np.maximum(
                scores[start:stop, c], rng.uniform(0.2, 0.9)
            )
        raw[audio_id] = np.clip(scores, 0, 1).astype(np.float32)
    return ground_truth, durations, raw


def _cpu_seconds():
    """CPU time of this process and of its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(fn, *args, **kwargs):
    """(result, wall seconds, CPU seconds) of ``fn(*args, **kwargs)``."""
    cpu, start = _cpu_seconds(), time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start, _cpu_seconds() - cpu


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
    parser.add_argument(
        "--out",
        default=str(Path(__file__).parent / "results" / "evaluation.json"),
        help="JSON output; the markdown table goes next to it (.md)",
    )
    parser.add_argument("--n_clips", type=int, default=1168)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--repeat", type=int, default=3, help="evaluation runs (best kept)"
    )
    args = parser.parse_args(argv)

    load = os.getloadavg()[0]
    (gt, durations, raw), *t_synth = _timed(synthesize, args.n_clips, args.seed)
    classes = list(DESED_CLASSES)

    def postprocess():
        return {
            k: scores_to_dataframe(
                median_filter(v, STAGE2_MEDIAN_WINDOWS), classes
            )
            for k, v in raw.items()
        }

    scores, *t_post = _timed(postprocess)
    with tempfile.TemporaryDirectory() as tmp:
        _, *t_write = _timed(write_scores, scores, tmp)
        _, *t_read = _timed(read_scores, tmp)
    steps = {
        "synthesize": t_synth,
        "median_filter_and_dataframes": t_post,
        "write_scores": t_write,
        "read_scores": t_read,
    }
    metrics = None
    runs = {}
    for _ in range(args.repeat):
        for num_jobs in (1, 2):
            metrics, *timing = _timed(
                evaluate_scores, scores, gt, durations, num_jobs=num_jobs
            )
            runs.setdefault(f"evaluate_scores_{num_jobs}_job", []).append(
                timing
            )
    # Best of the repeats: the machine may be shared.
    for name, timings in runs.items():
        steps[name] = min(timings)
    n_events = sum(len(v) for v in gt.values())
    result = {
        "benchmark": "evaluation",
        "n_clips": args.n_clips,
        "n_classes": len(classes),
        "n_events": n_events,
        "n_clips_without_events": sum(1 for v in gt.values() if not v),
        "wall_seconds": {k: round(v[0], 3) for k, v in steps.items()},
        "cpu_seconds": {k: round(v[1], 3) for k, v in steps.items()},
        "evaluate_wall_seconds_all_runs": {
            k: [round(t[0], 3) for t in v] for k, v in runs.items()
        },
        "metrics": {
            k: round(metrics[k], 5)
            for k in (
                "psds1",
                "psds2",
                "intersection_f1_macro",
                "collar_f1_macro",
                "collar_f1_micro",
            )
        },
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "load_average_1min_at_start": round(load, 2),
        },
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    lines = [
        f"Evaluation speed: {args.n_clips} clips x {len(classes)} classes, "
        f"{n_events} events, continuous scores "
        f"({os.cpu_count()} CPUs, Python {platform.python_version()})",
        "",
        "| step | wall (s) | CPU (s) |",
        "|---|---|---|",
    ]
    lines += [f"| {k} | {v[0]:.2f} | {v[1]:.2f} |" for k, v in steps.items()]
    lines += [
        "",
        f"evaluate_scores: best of {args.repeat} runs; 1-minute load "
        f"average at start: {load:.2f} (other processes slow it down).",
    ]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return result


if __name__ == "__main__":
    main()
