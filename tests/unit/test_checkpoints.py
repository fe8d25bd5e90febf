"""Tests of the safe checkpoint reader.

Authors
 * speechbrain-atst team 2026
"""

import argparse
import sys
import types

import pytest
import torch

from speechbrain_atst.checkpoints import (
    CheckpointError,
    UntrustedCheckpointError,
    drop_thop_keys,
    load_checkpoint,
    load_state_dict_strict,
    sed_state_dict,
)


def test_plain_checkpoint(tmp_path):
    path = tmp_path / "w.ckpt"
    torch.save({"state_dict": {"w": torch.ones(2)}, "epoch": 3}, path)
    obj = load_checkpoint(path)
    assert obj["epoch"] == 3
    assert torch.equal(obj["state_dict"]["w"], torch.ones(2))


def test_pickled_objects_need_trust(tmp_path):
    path = tmp_path / "lightning.ckpt"
    hparams = argparse.Namespace(lr=0.1)
    torch.save({"state_dict": {"w": torch.ones(2)}, "hp": hparams}, path)
    with pytest.raises(UntrustedCheckpointError) as err:
        load_checkpoint(path)
    message = str(err.value)
    assert str(path) in message
    assert "trust_checkpoint=True" in message
    assert "argparse.Namespace" in message
    obj = load_checkpoint(path, trust_checkpoint=True)
    assert obj["hp"].lr == 0.1


def test_trusted_checkpoint_with_uninstalled_classes(tmp_path, monkeypatch):
    module = types.ModuleType("not_installed_lightning")

    class AttributeDict(dict):
        pass

    class Callback:
        def __init__(self):
            self.best = torch.tensor(1.0)

    for cls in (AttributeDict, Callback):
        cls.__module__ = module.__name__
        cls.__qualname__ = cls.__name__
        setattr(module, cls.__name__, cls)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    path = tmp_path / "old.ckpt"
    torch.save(
        {
            "state_dict": {"w": torch.ones(2)},
            "hyper_parameters": AttributeDict(lr=1),
            "callbacks": Callback(),
        },
        path,
    )
    monkeypatch.delitem(sys.modules, module.__name__)
    with pytest.raises(UntrustedCheckpointError):
        load_checkpoint(path)
    obj = load_checkpoint(path, trust_checkpoint=True)
    assert torch.equal(obj["state_dict"]["w"], torch.ones(2))
    assert obj["hyper_parameters"]["lr"] == 1


@pytest.mark.parametrize(
    "content", [b"", b"not a checkpoint\n", b"PK\x03\x04garbage"]
)
def test_unreadable_files(tmp_path, content):
    path = tmp_path / "bad.ckpt"
    path.write_bytes(content)
    for trust in (False, True):
        with pytest.raises(CheckpointError, match="bad.ckpt"):
            load_checkpoint(path, trust_checkpoint=trust)


def test_truncated_file(tmp_path):
    path = tmp_path / "cut.ckpt"
    torch.save({"w": torch.randn(1000)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 300])
    with pytest.raises(CheckpointError, match="cut.ckpt.*truncated"):
        load_checkpoint(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.ckpt"):
        load_checkpoint(tmp_path / "nothing.ckpt")


def test_drop_thop_keys():
    state = {"a.total_ops": 0, "a.total_params": 0, "a.weight": 1}
    assert drop_thop_keys(state) == {"a.weight": 1}


def test_sed_state_dict_prefers_top_level_and_reports_absence():
    ckpt = {
        "sed_student": {"x": 1},
        "state_dict": {"sed_student.x": 2, "sed_teacher.x": 3},
    }
    assert sed_state_dict(ckpt, "student") == {"x": 1}
    assert sed_state_dict(ckpt, "teacher") == {"x": 3}
    assert sed_state_dict({"w": 1}, required=False) is None
    with pytest.raises(CheckpointError, match="no ATST-SED teacher"):
        sed_state_dict({"w": 1}, source="f.ckpt")


def test_strict_load_message():
    lin = torch.nn.Linear(3, 2)
    state = {"weight": torch.zeros(2, 4), "extra": torch.zeros(1)}
    with pytest.raises(CheckpointError) as err:
        load_state_dict_strict(lin, state, "f.ckpt", hint="Check sizes")
    message = str(err.value)
    assert message.startswith("f.ckpt:")
    assert "1 missing: bias" in message
    assert "1 unexpected: extra" in message
    assert "weight (2, 4) vs (2, 3)" in message
    assert message.endswith("Check sizes")
