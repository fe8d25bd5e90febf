"""Initial weights of a fine-tuning on new classes (training/transfer.py)."""

import pytest
import torch

from speechbrain_atst.inference.export import (
    convert_official,
    write_model_folder,
)
from speechbrain_atst.lobes.atst_sed import ATSTSED
from speechbrain_atst.training.transfer import (
    CLASS_LAYERS,
    TransferError,
    check_architecture,
    check_run_classes,
    init_source,
    transfer_state,
    transfer_weights,
)

ARCH = {"embed_dim": 32, "depth": 1, "num_heads": 2}
DESED10 = [f"c{i}" for i in range(10)]


def _model(n_classes, seed=0, **arch):
    torch.manual_seed(seed)
    return ATSTSED(n_classes=n_classes, **{**ARCH, **arch})


def _assert_transferred(new, old, heads_equal):
    for key, value in new.state_dict().items():
        same = (
            torch.equal(value, old.state_dict()[key])
            if (value.shape == old.state_dict()[key].shape)
            else False
        )
        if key.startswith(CLASS_LAYERS):
            assert same == heads_equal, key
        elif value.is_floating_point() and value.numel() > 1:
            assert same, key


def _official_checkpoint(path, student, teacher):
    """An official ATST-SED (Lightning) checkpoint, thop buffers included."""
    flat = {}
    for name, model in (("sed_student", student), ("sed_teacher", teacher)):
        for key, value in model.state_dict().items():
            flat[f"{name}.{key}"] = value
        flat[f"{name}.dense.total_ops"] = torch.zeros(1)
    torch.save({"state_dict": flat, "epoch": 3}, path)
    return path


def test_official_checkpoint_to_three_classes(tmp_path):
    """Student and teacher of an official checkpoint both transfer, heads
    excepted (3 classes instead of 10)."""
    student10, teacher10 = _model(10, seed=1), _model(10, seed=2)
    ckpt = _official_checkpoint(tmp_path / "s2.ckpt", student10, teacher10)
    source = init_source(ckpt)
    assert source["kind"] == "sed_checkpoint"
    assert source["n_classes"] == 10
    student, teacher = _model(3, seed=5), _model(3, seed=6)
    fresh_head = student.dense.weight.clone()
    text = transfer_weights(student, teacher, source, ["a", "b", "c"])
    assert "heads new for 3 classes" in text
    _assert_transferred(student, student10, heads_equal=False)
    _assert_transferred(teacher, teacher10, heads_equal=False)
    assert torch.equal(student.dense.weight, fresh_head)
    assert student.dense.weight.shape == (3, 256)


def test_converted_model_folder_keeps_heads_for_the_same_classes(tmp_path):
    """A converted official model with DESED's classes keeps its heads when
    fine-tuned on the same class list, and gets new ones otherwise."""
    teacher10 = _model(10, seed=3)
    ckpt = _official_checkpoint(tmp_path / "s2.ckpt", _model(10), teacher10)
    folder = convert_official(ckpt, tmp_path / "model", **ARCH)
    source = init_source(folder)
    assert source["kind"] == "model"
    assert source["arch"] == ARCH
    classes = source["classes"]
    student, teacher = _model(10, seed=7), _model(10, seed=8)
    transfer_weights(student, teacher, source, classes)
    _assert_transferred(student, teacher10, heads_equal=True)
    other = list(reversed(classes))
    student, teacher = _model(10, seed=7), _model(10, seed=8)
    transfer_weights(student, teacher, source, other)
    _assert_transferred(teacher, teacher10, heads_equal=False)


def test_atst_checkpoint_transfers_the_transformer_only(tmp_path):
    atst = _model(10, seed=4).atst
    path = tmp_path / "atst_as2M.ckpt"
    torch.save(
        {
            "state_dict": {
                f"model.teacher.encoder.{k}": v
                for k, v in atst.state_dict().items()
            }
        },
        path,
    )
    source = init_source(path)
    assert source["kind"] == "atst_checkpoint"
    student, teacher = _model(2, seed=9), _model(2, seed=10)
    cnn_before = student.cnn.state_dict()
    transfer_weights(student, teacher, source, ["a", "b"])
    for key, value in atst.state_dict().items():
        assert torch.equal(student.atst.state_dict()[key], value), key
    for key, value in cnn_before.items():
        assert torch.equal(student.cnn.state_dict()[key], value)
    # The teacher starts as the student.
    for key, value in student.state_dict().items():
        assert torch.equal(teacher.state_dict()[key], value)


def test_other_architecture_is_refused_with_the_fitting_overrides(tmp_path):
    folder = write_model_folder(
        _model(10).state_dict(), tmp_path / "m", DESED10, 32, 1, 2, 7
    )
    source = init_source(folder)
    with pytest.raises(TransferError, match="--atst_embed_dim=32"):
        check_architecture(source, 768, 12, 12)
    check_architecture(source, 32, 1, 2)
    # Weights that do not fit the model at all (another CNN width): named.
    wide = ATSTSED(n_classes=10, nb_filters=[8] * 7, **ARCH).state_dict()
    with pytest.raises(TransferError, match="of another shape"):
        transfer_state(_model(3), wide, "wide.ckpt", keep_heads=False)


def test_init_source_errors_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        init_source(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TransferError, match="neither a model folder"):
        init_source(tmp_path / "empty")
    junk = tmp_path / "junk.ckpt"
    torch.save({"weights": torch.zeros(2)}, junk)
    with pytest.raises(TransferError, match="junk.ckpt"):
        init_source(junk)


def test_resuming_with_other_classes_is_refused():
    check_run_classes(None, ["a"], "prep")
    with pytest.raises(TransferError, match=r"\['a', 'b'\].*\['a', 'c'\]"):
        check_run_classes({"classes": ["a", "b"]}, ["a", "c"], "prep")
