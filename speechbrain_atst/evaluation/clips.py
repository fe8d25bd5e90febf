"""Evaluation of a set of scored clips: the one path from model outputs to
metrics, shared by validation, test and the quickstart.

Raw frame scores (one ``(frames, classes)`` array per clip, 64 ms frames)
are median filtered per class, turned into sed_scores_eval score DataFrames
and evaluated against the ground truth of the scored clips. Two conventions
for the time axis of a clip shorter than its 10 s window:

* ``"clip"`` (default): the score frames stop at the clip's duration, so no
  detection extends past the audio;
* ``"full"``: every clip is scored on the whole 156-frame grid, padding
  included, as the official ATST-SED test does (detections may run past the
  end of a short clip). Use it to compare with figures of the official code.

Authors
 * speechbrain-atst team 2026
"""

import logging

from speechbrain_atst.evaluation.metrics import evaluate_scores
from speechbrain_atst.evaluation.postprocessing import (
    median_filter,
    scores_to_dataframe,
)

logger = logging.getLogger(__name__)

#: Time-axis conventions of :func:`score_frames` (see the module docstring).
SCORE_GRIDS = ("clip", "full")


def score_frames(raw_scores, classes, median_windows, durations, grid="clip"):
    """Median-filtered score DataFrames of scored clips.

    Arguments
    ---------
    raw_scores : dict
        ``{clip_id: array (frames, classes)}`` of model probabilities.
    classes : sequence of str
        The class of each score column.
    median_windows : int, sequence or dict
        Per-class median filter lengths (frames); see ``median_filter``.
    durations : dict
        ``{clip_id: seconds}``; clips without a duration keep every frame.
    grid : str
        ``"clip"`` (frames stop at the clip's end) or ``"full"`` (every
        frame, as the official ATST-SED test).

    Returns
    -------
    dict
        ``{clip_id: pandas.DataFrame}`` (``onset``, ``offset``, classes).

    Example
    -------
    >>> import numpy as np
    >>> raw = {"a": np.full((156, 1), 0.7)}
    >>> len(score_frames(raw, ["Dog"], 1, {"a": 3.0})["a"])
    47
    >>> len(score_frames(raw, ["Dog"], 1, {"a": 3.0}, grid="full")["a"])
    156
    """
    if grid not in SCORE_GRIDS:
        raise ValueError(f"grid must be one of {SCORE_GRIDS}, got {grid!r}")
    return {
        clip_id: scores_to_dataframe(
            median_filter(raw, median_windows),
            classes,
            duration=durations.get(clip_id) if grid == "clip" else None,
        )
        for clip_id, raw in raw_scores.items()
    }


def evaluate_clip_scores(
    raw_scores,
    ground_truth,
    durations,
    classes,
    median_windows,
    grid="clip",
    num_jobs=1,
    name="",
):
    """PSDS and F1 scores of raw model scores on the clips they cover.

    Only the scored clips are evaluated (all of a set in a full pass, fewer
    in a debug run); classes without a ground-truth event among them are
    left out with a warning (PSDS is undefined for them).

    Arguments
    ---------
    raw_scores : dict
        ``{clip_id: array (frames, classes)}``.
    ground_truth : dict
        ``{clip_id: [(onset, offset, label), ...]}`` (``read_ground_truth``).
    durations : dict
        ``{clip_id: seconds}`` (``read_durations``).
    classes : sequence of str
        The class of each score column.
    median_windows : int, sequence or dict
        Per-class median filter lengths (frames).
    grid : str
        ``"clip"`` or ``"full"`` (see :func:`score_frames`).
    num_jobs : int
        Processes for the metrics.
    name : str
        Name of the set, for messages.

    Returns
    -------
    frames : dict
        The score DataFrames of every scored clip.
    metrics : dict or None
        ``evaluate_scores``' metrics plus ``score_grid``, or None if no
        scored clip has a ground-truth event.

    Example
    -------
    >>> import numpy as np
    >>> raw = {"a": np.zeros((156, 1)), "b": np.zeros((156, 1))}
    >>> raw["a"][30:46] = 0.9
    >>> gt = {"a": [(1.92, 2.944, "Dog")], "b": []}
    >>> _, metrics = evaluate_clip_scores(
    ...     raw, gt, {"a": 10.0, "b": 10.0}, ["Dog"], 1
    ... )
    >>> round(metrics["psds1"], 3), metrics["score_grid"]
    (1.0, 'clip')
    """
    classes = list(classes)
    frames = score_frames(raw_scores, classes, median_windows, durations, grid)
    gt = {k: v for k, v in ground_truth.items() if k in frames}
    dur = {k: v for k, v in durations.items() if k in frames}
    present = {event[2] for events in gt.values() for event in events}
    evaluated = [c for c in classes if c in present]
    if not evaluated:
        logger.warning(f"No ground-truth event in the scored {name} clips")
        return frames, None
    if len(evaluated) < len(classes):
        logger.warning(
            f"{name}: no event of {sorted(set(classes) - present)} among the "
            "scored clips; the metrics are computed without them"
        )
    metrics = evaluate_scores(
        {k: v for k, v in frames.items() if k in dur},
        gt,
        dur,
        classes=evaluated,
        num_jobs=num_jobs,
    )
    metrics["score_grid"] = grid
    return frames, metrics
