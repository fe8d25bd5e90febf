"""Tests of the EMA teacher (decay schedule and update).

Authors
 * speechbrain-atst team 2026
"""

import copy

import pytest
import torch

from speechbrain_atst.training import schedules
from speechbrain_atst.training.ema import (
    ema_decay,
    ema_update,
    stage1_ema_decay,
)


def test_decay_with_and_without_warmup():
    # Stage 1: min(1 - 1/(step + 1), max); stage 2: fixed.
    assert ema_decay(1, 0.999, warmup=True) == 0.5
    assert ema_decay(9, 0.999, warmup=True) == pytest.approx(0.9)
    assert ema_decay(10**6, 0.999, warmup=True) == 0.999
    assert ema_decay(1, 0.99, warmup=False) == 0.99
    assert ema_decay(5, "0.99", warmup=False) == 0.99


def test_one_home_for_the_ema():
    # schedules re-exports the EMA functions; they are the same objects.
    assert schedules.ema_update is ema_update
    assert schedules.stage1_ema_decay is stage1_ema_decay


def test_update_skips_frozen_parameters_and_keeps_buffers():
    student = torch.nn.Sequential(
        torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2)
    )
    teacher = torch.nn.Sequential(
        torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2)
    )
    with torch.no_grad():
        for p in student.parameters():
            p.fill_(1.0)
        for p in teacher.parameters():
            p.fill_(0.0)
        student[1].running_mean.fill_(5.0)
    student[0].bias.requires_grad_(False)
    ema_update(teacher, student, 0.75, trainable_only=True)
    assert torch.allclose(teacher[0].weight, torch.full((2, 2), 0.25))
    assert torch.equal(teacher[0].bias, torch.zeros(2))  # frozen: skipped
    assert torch.equal(teacher[1].running_mean, torch.zeros(2))  # kept
    ema_update(teacher, student, 0.75, buffers="copy")
    assert torch.equal(teacher[1].running_mean, torch.full((2,), 5.0))
    with pytest.raises(ValueError, match="'keep' or 'copy'"):
        ema_update(teacher, student, 0.5, buffers="average")


def reference_ema(teacher, student, decay):
    """The official per-parameter update: ``mul_(decay).add_(s, 1 - decay)``."""
    with torch.no_grad():
        for t, s in zip(teacher.parameters(), student.parameters()):
            t.mul_(decay).add_(s, alpha=1.0 - decay)


def test_update_matches_the_per_parameter_loop_over_50_steps():
    # The multi-tensor update against the official loop: 50 steps of a
    # moving student, stage 1's warmup decay then stage 2's fixed one.
    torch.manual_seed(0)
    student = torch.nn.Sequential(
        torch.nn.Conv1d(3, 8, 3), torch.nn.GRU(8, 4), torch.nn.Linear(4, 2)
    )
    fast = torch.nn.Sequential(
        torch.nn.Conv1d(3, 8, 3), torch.nn.GRU(8, 4), torch.nn.Linear(4, 2)
    )
    fast.load_state_dict(student.state_dict())
    with torch.no_grad():
        for p in fast.parameters():
            p.add_(torch.randn_like(p))
    slow = copy.deepcopy(fast)
    start = torch.nn.utils.parameters_to_vector(fast.parameters()).clone()
    for step in range(1, 51):
        with torch.no_grad():
            for p in student.parameters():
                p.add_(0.01 * torch.randn_like(p))
        decay = ema_decay(step, 0.999, warmup=step <= 25)
        ema_update(fast, student, decay)
        reference_ema(slow, student, decay)
    for a, b in zip(fast.parameters(), slow.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    # The teacher moved (a test of something).
    end = torch.nn.utils.parameters_to_vector(fast.parameters())
    assert (end - start).abs().max() > 0.1


def test_update_of_mixed_dtypes_falls_back_to_mul_add():
    student = torch.nn.Linear(2, 2).double()
    teacher = torch.nn.Linear(2, 2)
    with torch.no_grad():
        for p in student.parameters():
            p.fill_(1.0)
        for p in teacher.parameters():
            p.fill_(0.0)
    ema_update(teacher, student, 0.75)
    assert teacher.weight.dtype == torch.float32
    assert torch.equal(teacher.weight, torch.full((2, 2), 0.25))
