"""Training on a user's own dataset: datasets, batches and schedule.

The own-data recipe (``recipes/Custom/SED``) reads a folder written by
``speechbrain-atst prepare-custom`` (:mod:`speechbrain_atst.data.custom`):
``strong_train.json``, ``weak_train.json``, ``unlabeled.json`` (any of
them may be absent), ``valid.json`` (the held-out strong files, maybe
absent), ``classes.txt`` and ``dataset.json``. This module turns it into

* the training set of :class:`~speechbrain_atst.training.SEDBrain`: the
  four batch parts ``[strong, synthetic, weak, unlabeled]`` with no
  synthetic part, each part present getting an even share of the batch
  (:func:`part_batch_sizes`);
* the held-out set, whole files
  (:func:`~speechbrain_atst.training.whole_files.make_whole_file_dataset`);
* a schedule scaled with the amount of data
  (:func:`resolve_schedule`, :func:`~speechbrain_atst.training.schedules.
  scaled_schedule`).

Authors
 * speechbrain-atst team 2026
"""

import json
import os

from speechbrain_atst.data.custom import SUMMARY_FILE, VALID_SUBSET
from speechbrain_atst.labels import CLIP_SECONDS, FrameGrid, ManyHotEncoder
from speechbrain_atst.training.dataio import (
    TRAIN_SUBSETS,
    build_train_set,
    manifest_paths,
)
from speechbrain_atst.training.sampler import SubsetBatchSampler
from speechbrain_atst.training.schedules import scaled_schedule
from speechbrain_atst.training.whole_files import make_whole_file_dataset


class PreparedDataError(ValueError):
    """The data folder is not a usable ``prepare-custom`` output."""


def read_dataset_summary(folder):
    """Reads ``dataset.json`` of a prepared folder.

    Arguments
    ---------
    folder : str or os.PathLike
        The folder written by ``speechbrain-atst prepare-custom``.

    Returns
    -------
    dict
        Its content (classes, files and hours per subset, per-class counts).

    Raises
    ------
    PreparedDataError
        If the folder was not written by ``prepare-custom``.
    """
    path = os.path.join(folder, SUMMARY_FILE)
    if not os.path.isfile(path):
        raise PreparedDataError(
            f"{folder} is not a prepared dataset (no {SUMMARY_FILE}): run "
            "`speechbrain-atst prepare-custom` first"
        )
    with open(path, encoding="utf-8") as fin:
        try:
            return json.load(fin)
        except json.JSONDecodeError as err:
            raise PreparedDataError(f"{path}: invalid JSON ({err})") from None


def part_batch_sizes(lengths, batch_size):
    """Items of each training part per batch.

    The parts present (non-empty) share ``batch_size`` evenly (the first
    parts get the remainder); no part gets more than it holds.

    Arguments
    ---------
    lengths : sequence of int
        Items of each part, in :data:`TRAIN_SUBSETS` order.
    batch_size : int
        Items per batch in all.

    Returns
    -------
    list of int
        The batch sizes.

    Example
    -------
    >>> part_batch_sizes([30, 0, 100, 500], 24)
    [8, 0, 8, 8]
    >>> part_batch_sizes([5, 0, 0, 40], 24)
    [5, 0, 0, 12]
    """
    present = [i for i, n in enumerate(lengths) if n > 0]
    if not present:
        raise PreparedDataError("The dataset has no training file")
    sizes = [0] * len(lengths)
    share, extra = divmod(int(batch_size), len(present))
    for rank, i in enumerate(present):
        sizes[i] = max(1, min(share + (rank < extra), int(lengths[i])))
    return sizes


def build_own_datasets(folder, classes, batch_size, train_clip_seconds=None):
    """The training and held-out sets of a prepared folder.

    Arguments
    ---------
    folder : str
        The prepared folder.
    classes : sequence of str
        The class list.
    batch_size : int
        Items per training batch in all (see :func:`part_batch_sizes`).
    train_clip_seconds : float, optional
        Training window length (10 s by default).

    Returns
    -------
    dict
        ``train`` (ConcatDataset of the four parts), ``valid`` (whole files
        or None), ``batch_sizes`` and ``lengths`` (items of each part).
    """
    read_dataset_summary(folder)
    encoder = ManyHotEncoder(classes)
    if train_clip_seconds and float(train_clip_seconds) != CLIP_SECONDS:
        encoder = ManyHotEncoder(
            classes, FrameGrid(clip_seconds=float(train_clip_seconds))
        )
    manifests = manifest_paths(folder, [*TRAIN_SUBSETS, VALID_SUBSET])
    # Every present part once, to count its items (strong files without
    # events are left out of training, as in the DESED recipe).
    present = [int(bool(manifests[name])) for name in TRAIN_SUBSETS]
    full = build_train_set(manifests, present, encoder, "")
    lengths = [len(d) for d in full.datasets]
    sizes = part_batch_sizes(lengths, batch_size)
    valid = None
    if manifests[VALID_SUBSET]:
        valid = make_whole_file_dataset(manifests[VALID_SUBSET])
    return {
        "train": full,
        "valid": valid,
        "batch_sizes": sizes,
        "lengths": lengths,
    }


def steps_per_epoch(lengths, batch_sizes):
    """Optimizer steps of one epoch (on every process).

    Arguments
    ---------
    lengths : sequence of int
        Items of each part.
    batch_sizes : sequence of int
        Items of each part per batch.

    Returns
    -------
    int
        Batches of an epoch of :class:`SubsetBatchSampler`.

    Example
    -------
    >>> steps_per_epoch([30, 0, 100, 500], [8, 0, 8, 8])
    3
    """
    return len(SubsetBatchSampler(lengths, batch_sizes, names=TRAIN_SUBSETS))


def resolve_schedule(hparams, n_steps):
    """Sets the run's epochs, warmup and validation interval.

    ``epochs: auto`` scales the epochs with the data (see
    :func:`~speechbrain_atst.training.schedules.scaled_schedule` and the
    ``auto_*`` keys); an integer fixes them. The values go into
    ``hparams`` (``number_of_epochs``, ``warmup_epochs``, ``valid_every``,
    and ``ema_decay`` if it is ``auto``) and into the objects built from
    them (the epoch counter and the learning-rate schedule).

    Arguments
    ---------
    hparams : dict
        Loaded hyperparameters of the own-data recipe.
    n_steps : int
        Optimizer steps per epoch.

    Returns
    -------
    dict
        See ``scaled_schedule``.
    """
    epochs = hparams["epochs"]
    auto = str(epochs).strip().lower() == "auto"
    plan = scaled_schedule(
        n_steps,
        hparams["auto_epochs"] if auto else int(epochs),
        hparams["auto_min_steps"] if auto else 0,
        hparams["auto_max_steps"] if auto else 2**62,
        hparams["auto_warmup_fraction"],
        hparams["auto_validations"],
    )
    hparams["number_of_epochs"] = plan["number_of_epochs"]
    hparams["warmup_epochs"] = plan["warmup_epochs"]
    hparams["valid_every"] = plan["valid_every"]
    if str(hparams["ema_decay"]).strip().lower() == "auto":
        hparams["ema_decay"] = plan["ema_decay"]
    hparams["epoch_counter"].limit = plan["number_of_epochs"]
    scheduler = hparams["lr_scheduler"]
    scheduler.n_epochs = plan["number_of_epochs"]
    scheduler.warmup_epochs = float(plan["warmup_epochs"])
    return plan
