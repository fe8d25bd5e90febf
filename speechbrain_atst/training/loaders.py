"""The training loader of ATST-SED: batches of fixed per-subset sizes.

Every training batch holds ``batch_sizes`` items of each of the four
training subsets, in the official order
(:data:`~speechbrain_atst.training.dataio.TRAIN_SUBSETS`: real strong,
synthetic, weak, unlabeled), drawn by
:class:`~speechbrain_atst.training.sampler.SubsetBatchSampler` from the
``ConcatDataset`` of the subsets; the sampler shards the batches between
DDP processes and is reseeded every epoch by ``Brain.fit``.

Authors
 * speechbrain-atst team 2026
"""

import torch
from speechbrain.dataio.batch import PaddedBatch
from speechbrain.dataio.dataloader import make_dataloader

from speechbrain_atst.training.dataio import TRAIN_SUBSETS
from speechbrain_atst.training.sampler import SubsetBatchSampler

#: DataLoader arguments a batch sampler replaces.
SAMPLING_ARGUMENTS = ("batch_size", "shuffle", "sampler", "drop_last")


def is_subset_concat(dataset):
    """Whether ``dataset`` is a concatenation of subsets (the training set
    of :func:`~speechbrain_atst.training.dataio.build_datasets`, or a
    validation set of several subsets).

    Arguments
    ---------
    dataset : Dataset
        The dataset.

    Returns
    -------
    bool
        True for a ``ConcatDataset``.

    Example
    -------
    >>> is_subset_concat(torch.utils.data.ConcatDataset([[1], [2]]))
    True
    """
    return isinstance(dataset, torch.utils.data.ConcatDataset)


def training_loader(dataset, batch_sizes, seed, **loader_kwargs):
    """A loader of fixed-composition batches of the training subsets.

    Arguments
    ---------
    dataset : torch.utils.data.ConcatDataset
        The training subsets, in :data:`TRAIN_SUBSETS` order.
    batch_sizes : sequence of int
        Items of each subset per batch.
    seed : int
        Seed of the sampler (reseeded with the epoch).
    **loader_kwargs : dict
        DataLoader arguments; ``batch_sampler`` replaces the
        :class:`SubsetBatchSampler`, the arguments it makes meaningless
        (:data:`SAMPLING_ARGUMENTS`) are dropped, ``collate_fn`` defaults to
        ``PaddedBatch``.

    Returns
    -------
    loader : DataLoader
        The loader (saveable for intra-epoch checkpoints).
    sampler : SubsetBatchSampler
        Its batch sampler.

    Example
    -------
    >>> data = torch.utils.data.ConcatDataset(
    ...     [[{"x": i}] * 4 for i in range(4)]
    ... )
    >>> loader, sampler = training_loader(data, [1, 1, 1, 1], seed=0)
    >>> len(sampler), [int(x) for x in next(iter(loader)).x]
    (4, [0, 1, 2, 3])
    """
    loader_kwargs.setdefault("collate_fn", PaddedBatch)
    for key in SAMPLING_ARGUMENTS:
        loader_kwargs.pop(key, None)
    sampler = loader_kwargs.pop("batch_sampler", None)
    if sampler is None:
        sampler = SubsetBatchSampler(
            [len(d) for d in dataset.datasets],
            batch_sizes,
            seed=int(seed),
            names=TRAIN_SUBSETS,
        )
    return make_dataloader(
        dataset, batch_sampler=sampler, **loader_kwargs
    ), sampler
