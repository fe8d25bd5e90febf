"""What a training, validation or test pass of SEDBrain records.

* :class:`TrainingRecord`: running means of the step statistics (losses,
  consistency weight, gradient norm...) shown in the train log;
* :class:`ValidationRecord`: validation batches mix three subsets (the
  ``subset`` field of an item is its index in
  :data:`~speechbrain_atst.training.dataio.VALID_SUBSETS`): the frame
  scores of both models are kept for the clips of ``synth_valid``
  (:data:`SCORED_SUBSET`, for PSDS), and the teacher's BCE (frames; clips
  for ``weak_valid``) is accumulated for every subset (the stage-1
  objective). Test batches have no ``subset`` field: every clip is scored.

Authors
 * speechbrain-atst team 2026
"""

import time

import torch

from speechbrain_atst.training.dataio import VALID_SUBSETS
from speechbrain_atst.training.losses import summed_bce

#: The two models of a run, in the order their scores are written.
MODELS = ("student", "teacher")
#: The validation subset whose clips are scored for PSDS.
SCORED_SUBSET = "synth_valid"
#: Its ``subset`` index (that of every test clip).
SCORED_SUBSET_INDEX = VALID_SUBSETS.index(SCORED_SUBSET)
#: The validation subset whose BCE is computed on clip (weak) outputs.
WEAK_SUBSET = "weak_valid"
#: Training statistics logged as fractions of the steps (rounded).
STEP_FRACTIONS = ("ict_steps", "warp_steps")


class StageRecord:
    """What a stage records; it knows when it started."""

    def __init__(self):
        self.start = time.time()

    def seconds(self):
        """Seconds since the stage started (to 0.1 s).

        Returns
        -------
        float
            The duration.
        """
        return round(time.time() - self.start, 1)


class TrainingRecord(StageRecord):
    """Running means of the training statistics of an epoch.

    Tensors are summed on their device (no host synchronisation per step)
    and read once at the end of the epoch.

    Example
    -------
    >>> record = TrainingRecord()
    >>> record.add({"loss_self": torch.tensor(1.0), "ict_steps": 1.0})
    >>> record.add({"loss_self": torch.tensor(2.0), "ict_steps": 0.0})
    >>> stats = record.epoch_stats(0.5)
    >>> stats["loss"], stats["loss_self"], stats["ict_steps"]
    (0.5, 1.5, 0.5)
    """

    def __init__(self):
        super().__init__()
        self.sums = {}

    def add(self, values):
        """Adds one step's statistics.

        Arguments
        ---------
        values : dict
            ``{name: float or scalar tensor}``.
        """
        for key, value in values.items():
            total, count = self.sums.get(key, (0.0, 0))
            self.sums[key] = (total + value, count + 1)

    def epoch_stats(self, loss):
        """The means, the epoch's loss and its duration.

        Arguments
        ---------
        loss : float
            Average loss of the epoch.

        Returns
        -------
        dict
            ``loss``, the mean of each statistic, ``seconds``.
        """
        stats = {"loss": loss}
        for key, (total, count) in self.sums.items():
            stats[key] = float(total) / max(count, 1)
        for key in STEP_FRACTIONS:
            if key in stats:
                stats[key] = round(stats[key], 3)
        stats["seconds"] = self.seconds()
        return stats


class ValidationRecord(StageRecord):
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
        super().__init__()
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
