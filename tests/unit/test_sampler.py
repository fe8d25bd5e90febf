"""Tests of the fixed-composition batch sampler.

Authors
 * speechbrain-atst team 2026
"""

import pytest
import torch

from speechbrain_atst.training.sampler import SubsetBatchSampler

LENGTHS = [10, 30, 16, 40]
SIZES = [2, 3, 4, 5]


def _subset_of(index):
    """Subset of a global index of the concatenation of LENGTHS."""
    bounds = torch.tensor(LENGTHS).cumsum(0).tolist()
    return next(i for i, b in enumerate(bounds) if index < b)


def test_per_subset_counts_and_epoch_length():
    sampler = SubsetBatchSampler(LENGTHS, SIZES, seed=7)
    batches = list(sampler)
    # The weak-like subset (16 // 4 = 4 batches) ends the epoch.
    assert len(sampler) == len(batches) == 4
    for batch in batches:
        assert len(batch) == sum(SIZES)
        subsets = [_subset_of(i) for i in batch]
        assert subsets == [0] * 2 + [1] * 3 + [2] * 4 + [3] * 5
    flat = [i for b in batches for i in b]
    assert len(set(flat)) == len(flat)  # no repeat within an epoch


def test_order_changes_across_epochs_and_is_reproducible():
    sampler = SubsetBatchSampler(LENGTHS, SIZES, seed=7)
    sampler.set_epoch(1)
    first = list(sampler)
    sampler.set_epoch(2)
    second = list(sampler)
    assert first != second
    again = SubsetBatchSampler(LENGTHS, SIZES, seed=7, epoch=1)
    assert list(again) == first
    other_seed = SubsetBatchSampler(LENGTHS, SIZES, seed=8, epoch=1)
    assert list(other_seed) != first


def test_zero_batch_size_and_empty_subset():
    sampler = SubsetBatchSampler([0, 12, 8, 20], [0, 3, 2, 4], seed=0)
    assert len(sampler) == 4
    for batch in sampler:
        assert len(batch) == 9
        assert all(i >= 0 for i in batch)
        assert all(0 <= i < 12 for i in batch[:3])
        assert all(12 <= i < 20 for i in batch[3:5])
    with pytest.raises(ValueError, match="not all 0"):
        SubsetBatchSampler([4, 4], [0, 0])
    with pytest.raises(ValueError, match="'weak'"):
        SubsetBatchSampler([4, 2], [1, 3], names=["strong", "weak"])


def test_ddp_ranks_draw_disjoint_equal_batches():
    ranks = [
        SubsetBatchSampler(LENGTHS, SIZES, seed=3, rank=r, num_replicas=2)
        for r in range(2)
    ]
    for s in ranks:
        s.set_epoch(5)
    b0, b1 = list(ranks[0]), list(ranks[1])
    assert len(b0) == len(b1) == len(ranks[0]) == 2  # (16 // 2) // 4
    assert all(len(b) == sum(SIZES) for b in b0 + b1)
    flat0 = {i for b in b0 for i in b}
    flat1 = {i for b in b1 for i in b}
    assert not flat0 & flat1
    # Same epoch order on every rank: the union is one shuffled share.
    single = SubsetBatchSampler(LENGTHS, SIZES, seed=3, epoch=5)
    assert single.epoch == 5
