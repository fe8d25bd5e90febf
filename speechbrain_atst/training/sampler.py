"""Batch sampler drawing a fixed number of items from each training subset.

ATST-SED batches are ``[real strong | synthetic strong | weak | unlabeled]``
with fixed per-subset counts. SpeechBrain's
:class:`~speechbrain.dataio.sampler.ConcatDatasetBatchSampler` builds such
batches, but it cannot take a zero batch size (a user without real strong
data), and under DDP :class:`~speechbrain.core.Brain` wraps it in a
``DistributedSamplerWrapper`` that splits the *batches* among processes
with its own seed. :class:`SubsetBatchSampler` does the same job with:

* zero batch sizes allowed (that subset is never drawn from, and may be
  empty);
* a new random order of every subset in each epoch, reproducible from
  ``(seed, epoch)`` (call :meth:`SubsetBatchSampler.set_epoch`);
* DDP built in: every subset's epoch order is shared by all processes and
  dealt out to them (rank ``r`` gets items ``r, r + N, ...``), so the
  processes draw disjoint items and all have the same number of batches;
  with per-process batch sizes ``bs / N``, an epoch has as many steps as a
  single process with ``bs``.

As in the official sampler, an epoch ends when the subset with the fewest
batches (``len // batch_size``) is exhausted; the others are drawn from
their own random order (a different part of it every epoch).

Authors
 * speechbrain-atst team 2026
"""

import hashlib

import torch
from torch.utils.data import Sampler


class SubsetBatchSampler(Sampler):
    """Yields batches of dataset indices with fixed per-subset counts.

    The subsets are the members of a ``torch.utils.data.ConcatDataset``
    (index offsets are their cumulative lengths); each batch lists
    ``batch_sizes[0]`` indices of subset 0, then ``batch_sizes[1]`` of
    subset 1, and so on.

    Arguments
    ---------
    lengths : sequence of int
        Number of items of each subset.
    batch_sizes : sequence of int
        Items per batch from each subset (0 allowed).
    seed : int
        Base seed of the random orders.
    epoch : int
        Initial epoch (see :meth:`set_epoch`).
    rank : int, optional
        This process's rank; from ``torch.distributed`` if initialised,
        else 0.
    num_replicas : int, optional
        Number of processes; from ``torch.distributed`` if initialised,
        else 1.
    names : sequence of str, optional
        Subset names, for error messages.

    Example
    -------
    >>> sampler = SubsetBatchSampler([5, 0, 8], [2, 0, 3], seed=1)
    >>> len(sampler)
    2
    >>> batches = list(sampler)
    >>> [len(b) for b in batches]
    [5, 5]
    >>> all(i < 5 for b in batches for i in b[:2])
    True
    >>> all(5 <= i < 13 for b in batches for i in b[2:])
    True
    """

    def __init__(
        self,
        lengths,
        batch_sizes,
        seed=0,
        epoch=0,
        rank=None,
        num_replicas=None,
        names=None,
    ):
        lengths = [int(n) for n in lengths]
        batch_sizes = [int(b) for b in batch_sizes]
        names = list(names) if names else [str(i) for i in range(len(lengths))]
        if len(batch_sizes) != len(lengths) or len(names) != len(lengths):
            raise ValueError(
                f"Got {len(lengths)} subsets, {len(batch_sizes)} batch sizes "
                f"and {len(names)} names"
            )
        if any(b < 0 for b in batch_sizes) or sum(batch_sizes) == 0:
            raise ValueError(
                f"Batch sizes must be >= 0 and not all 0: {batch_sizes}"
            )
        if rank is None or num_replicas is None:
            dist = torch.distributed
            initialised = dist.is_available() and dist.is_initialized()
            if rank is None:
                rank = dist.get_rank() if initialised else 0
            if num_replicas is None:
                num_replicas = dist.get_world_size() if initialised else 1
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} not in [0, {num_replicas})")
        for n, b, name in zip(lengths, batch_sizes, names):
            if b > 0 and n // num_replicas < b:
                raise ValueError(
                    f"Subset '{name}' has {n} items, fewer than one batch of "
                    f"{b} per process ({num_replicas} processes): lower its "
                    "batch size (0 skips the subset) or add data"
                )
        self.lengths = lengths
        self.batch_sizes = batch_sizes
        self.names = names
        self.seed = int(seed)
        self.epoch = int(epoch)
        self.rank = int(rank)
        self.num_replicas = int(num_replicas)
        self.offsets = [sum(lengths[:i]) for i in range(len(lengths))]

    def set_epoch(self, epoch):
        """Selects the random orders of ``epoch``.

        Arguments
        ---------
        epoch : int
            The epoch number.
        """
        self.epoch = int(epoch)

    def _order(self, subset):
        """This process's share of one subset's order for the epoch."""
        gen = torch.Generator()
        key = repr((self.seed, self.epoch, subset)).encode()
        digest = hashlib.sha256(key).digest()
        gen.manual_seed(int.from_bytes(digest[:8], "little") >> 1)
        order = torch.randperm(self.lengths[subset], generator=gen)
        per_rank = self.lengths[subset] // self.num_replicas
        order = order[: per_rank * self.num_replicas]
        return order[self.rank :: self.num_replicas].tolist()

    def __iter__(self):
        orders = [
            self._order(i) if b > 0 else []
            for i, b in enumerate(self.batch_sizes)
        ]
        for k in range(len(self)):
            batch = []
            for i, b in enumerate(self.batch_sizes):
                part = orders[i][k * b : (k + 1) * b]
                batch.extend(self.offsets[i] + j for j in part)
            yield batch

    def __len__(self):
        return min(
            (n // self.num_replicas) // b
            for n, b in zip(self.lengths, self.batch_sizes)
            if b > 0
        )

    def __repr__(self):
        return (
            f"SubsetBatchSampler(lengths={self.lengths}, "
            f"batch_sizes={self.batch_sizes}, seed={self.seed}, "
            f"epoch={self.epoch}, rank={self.rank}, "
            f"num_replicas={self.num_replicas})"
        )
