"""Tests of the stage-1 transformer cache and of checkpoint completeness.

Authors
 * speechbrain-atst team 2026
"""

from types import SimpleNamespace

import torch

from speechbrain_atst.training.cache import EmbeddingCache, weights_fingerprint
from speechbrain_atst.training.initialization import is_complete_checkpoint


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


def test_checkpoint_completeness(tmp_path):
    ckpt = SimpleNamespace(path=tmp_path)
    names = ("student", "teacher")
    (tmp_path / "CKPT.yaml").write_text("end-of-epoch: true\nunixtime: 1\n")
    assert not is_complete_checkpoint(ckpt, names)
    for name in names:
        torch.save({"w": torch.ones(2)}, tmp_path / f"{name}.ckpt")
    assert is_complete_checkpoint(ckpt, names)
    # A meta file left empty by a kill right after it was created.
    (tmp_path / "CKPT.yaml").write_text("")
    assert not is_complete_checkpoint(ckpt, names)
    (tmp_path / "CKPT.yaml").write_text("end-of-epoch: true\nunixtime: 1\n")
    data = (tmp_path / "teacher.ckpt").read_bytes()
    (tmp_path / "teacher.ckpt").write_bytes(data[: len(data) // 2])
    assert not is_complete_checkpoint(ckpt, names)
