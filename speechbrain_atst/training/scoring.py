"""Scoring a set of clips during training: PSDS of student and teacher.

Validation scores both models on synth_valid (:func:`validation_stats`), the
test pass on DESED's validation set (see
:mod:`~speechbrain_atst.training.testing`); both go through
:func:`speechbrain_atst.evaluation.evaluate_clip_scores` (median filter,
score frames, PSDS and F1), the one path shared with the quickstart.
The ground truth and durations of each set are the ``eval_sets``
hyperparameter (:func:`eval_set_files`).

Authors
 * speechbrain-atst team 2026
"""

import os

from speechbrain.utils.distributed import run_on_main

from speechbrain_atst import evaluation
from speechbrain_atst.training.records import MODELS, SCORED_SUBSET


def eval_set_files(eval_sets, name):
    """Ground truth and durations files of an evaluation set, or None.

    Arguments
    ---------
    eval_sets : dict or None
        ``{name: {"ground_truth": path, "durations": path}}`` (the
        ``eval_sets`` hyperparameter).
    name : str
        The set.

    Returns
    -------
    tuple of str or None
        ``(ground_truth, durations)`` if both files exist.

    Example
    -------
    >>> eval_set_files({"validation": {"ground_truth": "absent.tsv"}}, "x")
    """
    entry = (eval_sets or {}).get(name)
    if not entry:
        return None
    gt, dur = entry.get("ground_truth"), entry.get("durations")
    if not (gt and dur and os.path.isfile(gt) and os.path.isfile(dur)):
        return None
    return gt, dur


def score_clip_set(
    scores, files, classes, median_windows, grid, num_jobs, name
):
    """Score frames and metrics of raw scores on an evaluation set.

    Arguments
    ---------
    scores : dict
        ``{clip_id: array (frames, classes)}``.
    files : tuple of str or None
        See :func:`eval_set_files`.
    classes : sequence of str
        The classes.
    median_windows : list of int
        Median filter length of each class.
    grid : str
        ``"clip"`` or ``"full"`` (see ``evaluation.score_frames``).
    num_jobs : int
        Processes of the PSDS computation.
    name : str
        Name of the set (messages).

    Returns
    -------
    tuple or None
        ``(frames, metrics)`` of ``evaluate_clip_scores``; None when the
        set is not configured, nothing was scored or no scored clip has an
        event.
    """
    if files is None or not scores:
        return None
    frames, metrics = evaluation.evaluate_clip_scores(
        scores,
        evaluation.read_ground_truth(files[0]),
        evaluation.read_durations(files[1]),
        classes,
        median_windows,
        grid=grid,
        num_jobs=num_jobs,
        name=name,
    )
    return None if metrics is None else (frames, metrics)


def _psds_stats(scores, files, classes, median_windows, num_jobs):
    """PSDS1, PSDS2 and intersection F1 of the teacher, then of the
    student (see :func:`validation_stats`)."""
    stats = {}
    for who in reversed(MODELS):
        out = score_clip_set(
            scores[who],
            files,
            classes,
            median_windows,
            "clip",
            num_jobs,
            SCORED_SUBSET,
        )
        if out is None:
            continue
        metrics = out[1]
        stats[f"{who}_psds1"] = float(metrics["psds1"])
        stats[f"{who}_psds2"] = float(metrics["psds2"])
        stats[f"{who}_intersection_f1"] = float(
            metrics["intersection_f1_macro"]
        )
    return stats


def validation_stats(record, loss, files, classes, median_windows, num_jobs):
    """Statistics of a validation pass: loss, the teacher's BCE per
    subset and the PSDS of both models on synth_valid.

    Call on every process: the PSDS is computed on the main one only (the
    others get the loss and BCE).

    Arguments
    ---------
    record : ValidationRecord
        The validation pass.
    loss : float
        Its average loss.
    files : tuple of str or None
        synth_valid's ground truth and durations.
    classes : sequence of str
        The classes.
    median_windows : list of int
        Median filter length of each class.
    num_jobs : int
        Processes of the PSDS computation.

    Returns
    -------
    dict
        ``loss``, ``teacher_bce_<subset>``, then ``teacher_psds1``,
        ``teacher_psds2``, ``teacher_intersection_f1`` and the student's
        (no PSDS without synth_valid's ground truth or scores).

    Example
    -------
    >>> from speechbrain_atst.training.records import ValidationRecord
    >>> record = ValidationRecord()
    >>> record.bce["weak_valid"] = [0.75, 3]
    >>> validation_stats(record, 0.2, None, ["Dog"], [1], 1)
    {'loss': 0.2, 'teacher_bce_weak_valid': 0.25}
    """
    stats = {"loss": loss}
    for name, value in record.bce_means().items():
        stats[f"teacher_bce_{name}"] = value
    psds = run_on_main(
        _psds_stats,
        args=[record.scores, files, classes, median_windows, num_jobs],
    )
    stats.update(psds or {})
    return stats
