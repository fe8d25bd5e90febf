"""Tests of the stage-1 transformer cache.

Authors
 * speechbrain-atst team 2026
"""

import torch

from speechbrain_atst.training.cache import EmbeddingCache, weights_fingerprint


def _encoder(calls):
    def encode(indices):
        calls.append(list(indices))
        return torch.stack([torch.full((4, 3), float(i)) for i in indices])

    return encode


def test_disk_cache_is_exact_shared_and_invalidated(tmp_path):
    folder = tmp_path / "cache"
    calls = []
    cache = EmbeddingCache(str(folder), fingerprint="abc")
    keys = ["a.wav@0", "b.wav@16000"]
    first = cache.get_or_compute(keys, _encoder(calls))
    # A second process (or a restarted run) reads the same entries.
    other = EmbeddingCache(str(folder), fingerprint="abc")
    second = other.get_or_compute(keys, _encoder(calls))
    assert calls == [[0, 1]]
    assert torch.equal(first, second) and len(other) == 2
    # Different crop start: a different window, computed.
    other.get_or_compute(["b.wav@0"], _encoder(calls))
    assert calls[-1] == [0]
    # Other weights: the folder is emptied.
    fresh = EmbeddingCache(str(folder), fingerprint="xyz")
    assert len(fresh) == 0


def test_weights_fingerprint_changes_with_weights():
    model = torch.nn.Linear(3, 3)
    before = weights_fingerprint(model)
    with torch.no_grad():
        model.weight[0, 0] += 1e-3
    assert weights_fingerprint(model) != before
