"""Tests of what ATST-SED trains and of its optimizer's parameter groups.

Authors
 * speechbrain-atst team 2026
"""

import copy

import pytest
import torch

from speechbrain_atst.lobes.atst_sed import ATSTSED
from speechbrain_atst.training.param_groups import (
    check_shared_transformer,
    clip_gradients,
    logged_learning_rates,
    n_trainable_groups,
    optimizer_groups,
    set_trainable,
)


def _models(depth=2):
    torch.manual_seed(0)
    student = ATSTSED(n_classes=3, embed_dim=16, depth=depth, num_heads=2)
    return student, copy.deepcopy(student)


def test_layer_wise_learning_rates_top_down():
    student, teacher = _models(depth=2)  # 4 groups: norm, 2 blocks, embed
    set_trainable(student, teacher, 14)
    groups = optimizer_groups(student, 1e-3, 2e-3, 2e-4, 0.5, 14)
    assert [g["name"] for g in groups] == [
        "cnn",
        "rnn",
        "tfm_0",
        "tfm_1",
        "tfm_2",
        "tfm_3",
    ]
    for j in range(4):
        assert groups[2 + j]["max_lr"] == pytest.approx(2e-4 * 0.5**j)
    atst = student.atst
    assert {id(p) for p in groups[2]["params"]} == {
        id(p) for p in atst.norm_frame.parameters()
    }
    assert {id(p) for p in groups[3]["params"]} == {
        id(p) for p in atst.blocks[-1].parameters()
    }
    # Every trained student parameter is in exactly one group.
    in_groups = [id(p) for g in groups for p in g["params"]]
    trained = [id(p) for p in student.parameters() if p.requires_grad]
    assert sorted(in_groups) == sorted(trained)
    assert id(atst.mask_embed) not in in_groups


def test_trainable_layers_is_the_one_switch():
    student, teacher = _models()
    set_trainable(student, teacher, 1)
    assert n_trainable_groups(student.atst, 1) == 1
    assert all(p.requires_grad for p in student.atst.norm_frame.parameters())
    assert not any(p.requires_grad for p in student.atst.blocks.parameters())
    assert not any(p.requires_grad for p in teacher.parameters())
    names = [g["name"] for g in optimizer_groups(student, 1, 1, 1, 0.5, 1)]
    assert names == ["cnn", "rnn", "tfm_0"]
    # 0 freezes the transformer: eval mode kept through .train().
    set_trainable(student, teacher, 0)
    student.train()
    assert student.atst.freeze and not student.atst.training
    assert not any(p.requires_grad for p in student.atst.parameters())
    names = [g["name"] for g in optimizer_groups(student, 1, 1, 1, 0.5, 0)]
    assert names == ["cnn", "rnn"]
    with pytest.raises(ValueError, match=">= 0"):
        n_trainable_groups(student.atst, -1)


def test_clip_gradients_over_all_groups():
    a = torch.nn.Parameter(torch.zeros(1))
    b = torch.nn.Parameter(torch.zeros(1))
    a.grad, b.grad = torch.tensor([3.0]), torch.tensor([4.0])
    opt = torch.optim.SGD(
        [{"params": [a], "lr": 0.1}, {"params": [b], "lr": 0.2}]
    )
    assert clip_gradients([opt], 2.5) == pytest.approx(5.0)
    # One global norm over both groups (SpeechBrain clips group 0 only).
    assert float(a.grad) == pytest.approx(1.5)
    assert float(b.grad) == pytest.approx(2.0)
    a.grad = torch.tensor([float("inf")])
    assert clip_gradients([opt], 0.0) == float("inf")  # measured only


def test_logged_learning_rates():
    student, teacher = _models()
    set_trainable(student, teacher, 14)
    opt = torch.optim.Adam(optimizer_groups(student, 1e-3, 2e-3, 4e-4, 0.5, 14))
    assert logged_learning_rates(opt) == {
        "lr_cnn": 1e-3,
        "lr_rnn": 2e-3,
        "lr_tfm_0": 4e-4,
    }


def test_shared_transformer_must_be_equal():
    student, teacher = _models()
    check_shared_transformer(student, teacher)
    with torch.no_grad():
        teacher.atst.norm_frame.weight.add_(1.0)
    with pytest.raises(RuntimeError, match="initialise the teacher"):
        check_shared_transformer(student, teacher)
