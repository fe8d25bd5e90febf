"""``speechbrain-atst evaluate``: PSDS and F1 of a folder of score files.

Reads sed_scores_eval score TSVs (one ``<audio_id>.tsv`` per clip), the
strong ground truth and the clip durations, optionally median-filters the
scores, prints PSDS1, PSDS2, intersection F1 and collar F1 (overall and per
class) and writes them as JSON.

Example
-------
>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> add_arguments(parser)
>>> args = parser.parse_args(
...     ["--scores", "s", "--ground_truth", "gt.tsv", "--durations", "d.tsv"]
... )
>>> args.median_filter is None, args.num_jobs
(True, 1)

Authors
 * speechbrain-atst team 2026
"""

import json
import sys
from pathlib import Path

HELP = "Compute PSDS1/PSDS2 and F1 scores of sed_scores_eval score files"

#: Named median-filter presets accepted by ``--median_filter``.
_PRESETS = ("stage1", "stage2")


def add_arguments(parser):
    """Adds the ``evaluate`` options to ``parser``.

    Arguments
    ---------
    parser : argparse.ArgumentParser
        The sub-command parser.
    """
    parser.add_argument(
        "--scores",
        required=True,
        help="folder of score TSVs (onset, offset, one column per class)",
    )
    parser.add_argument(
        "--ground_truth",
        required=True,
        help="strong labels TSV: filename, onset, offset, event_label",
    )
    parser.add_argument(
        "--durations", required=True, help="TSV: filename, duration"
    )
    parser.add_argument(
        "--median_filter",
        default=None,
        help=(
            "median filter before evaluation, in frames: one window (7), "
            "one per class (6,20,7,4,7,6,6,6,6,6) or stage1 / stage2; "
            "default: none (the scores are final)"
        ),
    )
    parser.add_argument(
        "--classes",
        default=None,
        help="classes to evaluate (comma-separated or a file); default: all",
    )
    parser.add_argument("--out", default=None, help="write metrics JSON here")
    parser.add_argument(
        "--psds_roc", default=None, help="save the PSD-ROC plot (PNG) here"
    )
    parser.add_argument(
        "--num_jobs", type=int, default=1, help="worker processes"
    )


def parse_median_filter(text):
    """Median windows from the ``--median_filter`` string.

    Arguments
    ---------
    text : str or None
        ``"7"``, ``"6,20,7"`` or a preset name (``stage1``, ``stage2``).

    Returns
    -------
    None, int or list of int
        The windows.

    Example
    -------
    >>> parse_median_filter("7"), parse_median_filter("6, 20")
    (7, [6, 20])
    >>> parse_median_filter("stage2")[:3]
    [6, 20, 7]
    """
    from speechbrain_atst.evaluation import (
        STAGE1_MEDIAN_WINDOWS,
        STAGE2_MEDIAN_WINDOWS,
    )

    if text is None:
        return None
    text = text.strip().lower()
    if text == "stage1":
        return list(STAGE1_MEDIAN_WINDOWS)
    if text == "stage2":
        return list(STAGE2_MEDIAN_WINDOWS)
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(
            f"--median_filter expects integers separated by commas or one of "
            f"{', '.join(_PRESETS)}, got {text!r}"
        ) from None
    if not values:
        raise ValueError("--median_filter is empty")
    return values[0] if len(values) == 1 else values


def run(args):
    """Runs the evaluation and prints the table.

    Arguments
    ---------
    args : argparse.Namespace
        Parsed options (see ``add_arguments``).

    Returns
    -------
    int
        0 on success, 1 on bad input.
    """
    from speechbrain_atst.evaluation import evaluate_scores, format_metrics

    try:
        metrics = evaluate_scores(
            args.scores,
            args.ground_truth,
            args.durations,
            classes=args.classes,
            median_windows=parse_median_filter(args.median_filter),
            psds_roc_png=args.psds_roc,
            num_jobs=args.num_jobs,
        )
    except (ValueError, KeyError, FileNotFoundError, ImportError) as err:
        print(f"speechbrain-atst evaluate: error: {err}", file=sys.stderr)
        return 1
    print(format_metrics(metrics))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")
        print(f"\nMetrics written to {out}")
    if args.psds_roc:
        print(f"PSD-ROC plot written to {args.psds_roc}")
    return 0
