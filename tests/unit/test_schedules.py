"""Tests of the learning-rate / consistency schedules and the EMA update.

Authors
 * speechbrain-atst team 2026
"""

import math

import pytest
import torch

from speechbrain_atst.training.schedules import (
    WarmupCosineLR,
    consistency_weight,
    ema_update,
    exp_warmup,
    lr_factor,
    stage1_ema_decay,
)


def test_exponential_warmup_values():
    assert exp_warmup(0, 100) == pytest.approx(math.exp(-5))
    assert exp_warmup(50, 100) == pytest.approx(math.exp(-5 * 0.25))
    assert exp_warmup(100, 100) == 1.0
    assert exp_warmup(10**6, 100) == 1.0
    assert exp_warmup(3, 0) == 1.0
    assert consistency_weight(50, 100, 70) == pytest.approx(
        70 * math.exp(-1.25)
    )


def test_cosine_decay_to_min_scale():
    r, t = 290, 7250
    assert lr_factor(145, r, t, True) == pytest.approx(math.exp(-1.25))
    assert lr_factor(r, r, t, True) == pytest.approx(1.0)
    mid = (r + t) / 2
    assert lr_factor(mid, r, t, True) == pytest.approx(0.55)
    assert lr_factor(t, r, t, True) == pytest.approx(0.1)
    assert lr_factor(t + 100, r, t, True) == pytest.approx(0.1)
    assert lr_factor(t, r, t, False) == 1.0


def _layerwise_optimizer(n_groups=4, tfm_lr=2e-4, scale=0.5):
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in range(n_groups + 2)]
    groups = [
        {"params": [params[0]], "lr": 2e-4},
        {"params": [params[1]], "lr": 2e-3},
    ] + [
        {"params": [params[2 + j]], "lr": tfm_lr * scale**j}
        for j in range(n_groups)
    ]
    for g in groups:
        g["max_lr"] = g["lr"]
    return torch.optim.Adam(groups)


def test_group_ratios_are_kept_through_the_schedule():
    opt = _layerwise_optimizer()
    sched = WarmupCosineLR(n_epochs=10, warmup_epochs=2, cos_down=True)
    sched.configure(steps_per_epoch=5)
    assert (sched.warmup_steps, sched.total_steps) == (10, 50)
    for step in (1, 5, 10, 30, 50):
        factor = sched(opt, step)
        lrs = [g["lr"] for g in opt.param_groups]
        assert lrs[0] == pytest.approx(2e-4 * factor)
        assert lrs[1] == pytest.approx(2e-3 * factor)
        for j, lr in enumerate(lrs[2:]):
            assert lr / lrs[2] == pytest.approx(0.5**j)
    assert sched(opt, 5) == pytest.approx(math.exp(-5 * 0.25))
    assert sched(opt, 30) == pytest.approx(0.1 + 0.9 * 0.5)
    assert sched(opt, 50) == pytest.approx(0.1)


def test_scheduler_checkpoint_roundtrip(tmp_path):
    sched = WarmupCosineLR(n_epochs=4, warmup_epochs=1, cos_down=False)
    sched.configure(7)
    sched(_layerwise_optimizer(), 9)
    sched._save(tmp_path / "s.ckpt")
    fresh = WarmupCosineLR(n_epochs=4, warmup_epochs=1, cos_down=False)
    fresh._load(tmp_path / "s.ckpt", end_of_epoch=True)
    assert fresh.last_step == 9 and fresh.steps_per_epoch == 7
    assert fresh.warmup_factor(3) == sched.warmup_factor(3)
    with pytest.raises(RuntimeError):
        WarmupCosineLR(4, 1, True).factor(1)


def test_ema_update_parameters_only():
    student = torch.nn.Sequential(
        torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2)
    )
    teacher = torch.nn.Sequential(
        torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2)
    )
    for p in student.parameters():
        p.data.fill_(1.0)
    for p in teacher.parameters():
        p.data.fill_(3.0)
    student[1].running_mean.fill_(5.0)
    ema_update(teacher, student, 0.75)
    for p in teacher.parameters():
        assert torch.allclose(p, torch.full_like(p, 0.75 * 3 + 0.25 * 1))
    assert torch.equal(teacher[1].running_mean, torch.zeros(2))
    ema_update(teacher, student, 0.5, buffers="copy")
    assert torch.equal(teacher[1].running_mean, torch.full((2,), 5.0))


def test_stage1_ema_decay():
    assert stage1_ema_decay(1) == 0.5
    assert stage1_ema_decay(9) == pytest.approx(0.9)
    assert stage1_ema_decay(999) == pytest.approx(0.999)
    assert stage1_ema_decay(10**5) == 0.999
