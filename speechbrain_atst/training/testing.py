"""The test pass of a training run: the files it writes.

Under ``<output_folder>/test/``:

* ``scores_student/`` and ``scores_teacher/``: one median-filtered score
  TSV per clip (sed_scores_eval's format);
* ``metrics.json``: one section per model (``"model": "student"`` or
  ``"teacher"``, PSDS1, PSDS2, F1 scores, ``score_grid``...), the
  checkpoint tested (``checkpoint``: its epoch and objective) and the
  ``median_windows`` used. Written only when the ground truth is available.

Authors
 * speechbrain-atst team 2026
"""

import json
import math
import os

import numpy as np

from speechbrain_atst import evaluation
from speechbrain_atst.training.records import MODELS
from speechbrain_atst.training.scoring import score_clip_set

#: The evaluation set of the test pass (``eval_sets`` key): DESED's
#: validation set.
TEST_SET = "validation"
#: Folder of the test outputs, in the run's output folder.
TEST_FOLDER = "test"
#: The metrics file, in :data:`TEST_FOLDER`.
METRICS_FILE = "metrics.json"
#: Metrics of each model the train log shows after the test.
LOGGED_METRICS = ("psds1", "psds2", "intersection_f1_macro")


def write_test_outputs(
    output_folder,
    scores,
    files,
    classes,
    median_windows,
    grid,
    num_jobs,
    checkpoint_meta,
):
    """Writes the score TSVs and ``metrics.json`` of both models.

    Arguments
    ---------
    output_folder : str or os.PathLike
        The run's output folder.
    scores : dict
        ``{"student": {clip_id: array (frames, classes)}, "teacher": ...}``.
    files : tuple of str or None
        Ground truth and durations of the test set (see
        :func:`~speechbrain_atst.training.validation.eval_set_files`).
    classes : sequence of str
        The classes.
    median_windows : list of int
        Median filter length of each class.
    grid : str
        ``"clip"`` (frames stop at each clip's end) or ``"full"`` (all 156
        frames, as the official ATST-SED test).
    num_jobs : int
        Processes of the PSDS computation.
    checkpoint_meta : dict
        What identifies the checkpoint tested (epoch, objective).

    Returns
    -------
    dict
        The content of ``metrics.json`` (empty, and no file, without
        ground truth).

    Example
    -------
    >>> out = getfixture("tmp_path")
    >>> raw = {"a": np.zeros((156, 1))}
    >>> raw["a"][30:46] = 0.9
    >>> gt, dur = out / "gt.tsv", out / "dur.tsv"
    >>> _ = gt.write_text("filename\\tonset\\toffset\\tevent_label\\n")
    >>> _ = gt.open("a").write("a.wav\\t1.92\\t2.944\\tDog\\n")
    >>> _ = dur.write_text("filename\\tduration\\na.wav\\t10.0\\n")
    >>> metrics = write_test_outputs(
    ...     out,
    ...     {"student": raw, "teacher": raw},
    ...     (str(gt), str(dur)),
    ...     ["Dog"],
    ...     [1],
    ...     "clip",
    ...     1,
    ...     {"epoch": 3},
    ... )
    >>> metrics["teacher"]["model"], round(metrics["teacher"]["psds1"], 3)
    ('teacher', 1.0)
    >>> sorted(p.name for p in (out / "test").iterdir())
    ['metrics.json', 'scores_student', 'scores_teacher']
    """
    out_dir = os.path.join(output_folder, TEST_FOLDER)
    os.makedirs(out_dir, exist_ok=True)
    durations = evaluation.read_durations(files[1]) if files else {}
    metrics = {}
    for who in MODELS:
        out = score_clip_set(
            scores[who],
            files,
            classes,
            median_windows,
            grid,
            num_jobs,
            TEST_SET,
        )
        if out is None:
            frames = evaluation.score_frames(
                scores[who], classes, median_windows, durations, grid
            )
        else:
            frames = out[0]
            metrics[who] = {"model": who, **jsonable(out[1])}
        evaluation.write_scores(frames, os.path.join(out_dir, f"scores_{who}"))
    if metrics:
        metrics["checkpoint"] = jsonable(checkpoint_meta)
        metrics["median_windows"] = list(median_windows)
        path = os.path.join(out_dir, METRICS_FILE)
        with open(path, "w", encoding="utf-8") as fout:
            json.dump(metrics, fout, indent=2)
    return metrics


def logged_test_stats(metrics, loss):
    """The test statistics the train log shows.

    Arguments
    ---------
    metrics : dict
        See :func:`write_test_outputs`.
    loss : float
        The test loss.

    Returns
    -------
    dict
        ``loss`` and ``<model>_<metric>`` for :data:`LOGGED_METRICS`.

    Example
    -------
    >>> logged_test_stats({"teacher": {"psds1": 0.5, "model": "teacher"}}, 0.1)
    {'loss': 0.1, 'teacher_psds1': 0.5}
    """
    flat = {"loss": loss}
    for who in MODELS:
        for key in LOGGED_METRICS:
            if key in metrics.get(who, {}):
                flat[f"{who}_{key}"] = metrics[who][key]
    return flat


def jsonable(obj):
    """Numpy scalars and containers made plain for ``json.dump``.

    Non-finite Python floats become None (JSON has no NaN).

    Arguments
    ---------
    obj : object
        A value of a metrics dict.

    Returns
    -------
    object
        The plain value.

    Example
    -------
    >>> jsonable({"a": np.float32(0.5), "b": (np.int64(2), float("nan"))})
    {'a': 0.5, 'b': [2, None]}
    """
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
