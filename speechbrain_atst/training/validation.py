"""What a validation or test pass of SEDBrain records, and its metrics.

Validation batches mix three subsets (the ``subset`` field of an item is
its index in :data:`~speechbrain_atst.training.dataio.VALID_SUBSETS`):

* ``synth_valid`` (:data:`SCORED_SUBSET`): both models' frame scores are
  kept for PSDS (:func:`psds_stats`);
* every subset: the teacher's BCE (frames; clips for ``weak_valid``) is
  accumulated, for the stage-1 objective.

Test batches have no ``subset`` field: every clip is scored (and counted
as :data:`SCORED_SUBSET`). Clip sets are scored with
:func:`speechbrain_atst.evaluation.evaluate_clip_scores` (median filter,
score frames, PSDS and F1), the one path shared with the quickstart.

Authors
 * speechbrain-atst team 2026
"""

import os

import torch

from speechbrain_atst import evaluation
from speechbrain_atst.training.dataio import VALID_SUBSETS
from speechbrain_atst.training.losses import summed_bce

#: The two models of a run, in the order their scores are reported.
MODELS = ("student", "teacher")
#: The validation subset whose clips are scored for PSDS.
SCORED_SUBSET = "synth_valid"
#: Its ``subset`` index (that of every test clip).
SCORED_SUBSET_INDEX = VALID_SUBSETS.index(SCORED_SUBSET)
#: The validation subset whose BCE is computed on clip (weak) outputs.
WEAK_SUBSET = "weak_valid"


class ValidationRecord:
    """Scores and teacher BCE accumulated over a validation or test pass.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> record = ValidationRecord()
    >>> strong, weak = torch.full((2, 3, 1), 0.5), torch.full((2, 1), 0.5)
    >>> batch = SimpleNamespace(
    ...     id=["a", "b"],
    ...     subset=torch.tensor([0, 1]),
    ...     strong=SimpleNamespace(data=torch.ones(2, 3, 1)),
    ...     weak=SimpleNamespace(data=torch.ones(2, 1)),
    ... )
    >>> loss = record.add_batch(batch, (strong, weak), (strong, weak))
    >>> sorted(record.scores["teacher"]), round(float(loss), 4)
    (['a'], 0.6931)
    >>> {k: round(v, 4) for k, v in record.bce_means().items()}
    {'synth_valid': 0.6931, 'weak_valid': 0.6931}
    """

    def __init__(self):
        self.scores = {who: {} for who in MODELS}
        self.bce = {name: [0.0, 0] for name in VALID_SUBSETS}

    def add_batch(self, batch, student, teacher):
        """Keeps the scores of the scored clips and adds the teacher's BCE.

        Arguments
        ---------
        batch : PaddedBatch
            ``id``, ``strong``, ``weak`` and (validation) ``subset``.
        student : tuple of torch.Tensor
            Student frame ``[B, T, C]`` and clip ``[B, C]`` probabilities.
        teacher : tuple of torch.Tensor
            Teacher outputs.

        Returns
        -------
        torch.Tensor
            Mean over the subsets present of the teacher's mean BCE.
        """
        strong_t, weak_t = teacher
        subsets = (
            batch.subset.tolist()
            if hasattr(batch, "subset")
            else [SCORED_SUBSET_INDEX] * len(batch.id)
        )
        outputs = {"student": student[0], "teacher": strong_t}
        frames = {
            who: out.detach().float().cpu().numpy()
            for who, out in outputs.items()
        }
        for i, (clip_id, subset) in enumerate(zip(batch.id, subsets)):
            if subset == SCORED_SUBSET_INDEX:
                for who in MODELS:
                    self.scores[who][clip_id] = frames[who][i]
        losses = []
        for k, name in enumerate(VALID_SUBSETS):
            idx = [i for i, s in enumerate(subsets) if s == k]
            if not idx:
                continue
            idx_t = torch.tensor(idx, device=strong_t.device)
            if name == WEAK_SUBSET:
                pred, target = weak_t[idx_t], batch.weak.data[idx_t]
            else:
                pred, target = strong_t[idx_t], batch.strong.data[idx_t]
            bce = summed_bce(pred, target)
            acc = self.bce[name]
            acc[0] += float(bce)
            acc[1] += target.numel()
            losses.append(bce / target.numel())
        if not losses:
            return strong_t.new_zeros(())
        return torch.stack(losses).mean()

    def bce_means(self):
        """The teacher's mean BCE of each subset seen.

        Returns
        -------
        dict
            ``{subset: mean BCE}``.
        """
        return {
            name: total / count
            for name, (total, count) in self.bce.items()
            if count
        }


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


def score_clip_set(scores, files, classes, median_windows, grid, num_jobs, name):
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


def psds_stats(scores, files, classes, median_windows, num_jobs):
    """PSDS1, PSDS2 and intersection F1 of both models on synth_valid.

    Arguments
    ---------
    scores : dict
        ``{"student": {clip_id: array}, "teacher": {...}}``.
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
        ``teacher_psds1``, ``teacher_psds2``, ``teacher_intersection_f1``,
        then the student's (empty when synth_valid is not available).
    """
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
