"""Tests of the ATST-SED losses against hand-computed values.

Authors
 * speechbrain-atst team 2026
"""

import pytest
import torch
import torch.nn.functional as F

from speechbrain_atst.augment import MixupPlan, SliceMix
from speechbrain_atst.training.losses import (
    ICT_SLICE_DIVISOR,
    ICT_WEIGHT_DIVISOR,
    ict_consistency,
    ict_loss,
    mean_teacher_consistency,
    mean_teacher_loss,
    safe_bce,
    summed_bce,
    supervised_bce,
)


def test_mean_teacher_loss_by_hand():
    s = torch.tensor([[[0.2, 0.9]]])
    t = torch.tensor([[[0.4, 0.5]]])
    ws, wt = torch.tensor([[0.1, 0.3]]), torch.tensor([[0.5, 0.3]])
    expected = ((0.2**2 + 0.4**2) / 2) + 0.5 * ((0.4**2 + 0.0) / 2)
    got = mean_teacher_loss(s, ws, t, wt, weak_weight=0.5)
    assert float(got) == pytest.approx(expected)
    weighted = mean_teacher_consistency(s, ws, t, wt, 70.0, 0.5)
    assert float(weighted) == pytest.approx(70.0 * expected)


def test_ict_loss_by_hand():
    # Two slices; teacher outputs mixed with each slice's own draw.
    plan = MixupPlan(
        [
            SliceMix(0, 2, 0.25, torch.tensor([1, 0])),
            SliceMix(2, 3, 0.6, torch.tensor([0])),
        ]
    )
    t_strong = torch.tensor([[[0.0]], [[1.0]], [[0.5]]])
    t_weak = torch.tensor([[0.2], [0.6], [0.9]])
    s_strong = torch.tensor([[[0.5]], [[0.5]], [[0.1]]])
    s_weak = torch.tensor([[0.4], [0.4], [0.9]])
    # Slice 1 targets: 0.25 * t + 0.75 * t[perm].
    tgt_s1 = [0.25 * 0.0 + 0.75 * 1.0, 0.25 * 1.0 + 0.75 * 0.0]
    tgt_w1 = [0.25 * 0.2 + 0.75 * 0.6, 0.25 * 0.6 + 0.75 * 0.2]
    l1 = ((0.5 - tgt_s1[0]) ** 2 + (0.5 - tgt_s1[1]) ** 2) / 2
    l1 += 0.5 * ((0.4 - tgt_w1[0]) ** 2 + (0.4 - tgt_w1[1]) ** 2) / 2
    # Slice 2 has one item: mixing with itself changes nothing.
    l2 = (0.1 - 0.5) ** 2 + 0.5 * 0.0
    got = ict_loss(s_strong, s_weak, t_strong, t_weak, plan, weak_weight=0.5)
    assert float(got) == pytest.approx(l1 + l2)
    # The official weighting: sum / 6 * w / 4, i.e. w / 24 per slice.
    weighted = ict_consistency(
        s_strong, s_weak, t_strong, t_weak, plan, 70.0, 0.5
    )
    assert float(weighted) == pytest.approx((l1 + l2) * 70.0 / 24.0)
    assert ICT_SLICE_DIVISOR * ICT_WEIGHT_DIVISOR == 24.0


def test_supervised_bce_uses_its_slices_only():
    strong_s = torch.tensor([[[0.9]], [[0.2]], [[0.5]], [[0.5]]])
    weak_s = torch.tensor([[0.5], [0.5], [0.7], [0.1]])
    strong_y, weak_y = torch.ones(2, 1, 1), torch.tensor([[1.0], [0.0]])
    loss_strong, loss_weak = supervised_bce(
        strong_s, weak_s, strong_y, weak_y, n_strong=2, n_weak=2
    )
    assert float(loss_strong) == pytest.approx(
        float(F.binary_cross_entropy(strong_s[:2], strong_y))
    )
    assert float(loss_weak) == pytest.approx(
        float(F.binary_cross_entropy(weak_s[2:], weak_y))
    )
    # Empty slices give exactly 0.
    none_strong, none_weak = supervised_bce(
        strong_s, weak_s, strong_y[:0], weak_y[:0], n_strong=0, n_weak=0
    )
    assert float(none_strong) == 0.0 and float(none_weak) == 0.0


def test_safe_bce_reports_nan_without_crashing():
    pred = torch.tensor([0.3, float("nan")], requires_grad=True)
    loss = safe_bce(pred, torch.tensor([1.0, 0.0]))
    assert torch.isnan(loss)  # reported, not an error
    finite = torch.tensor([0.3, 0.6], requires_grad=True)
    loss = safe_bce(finite, torch.tensor([1.0, 0.0]))
    reference = F.binary_cross_entropy(finite, torch.tensor([1.0, 0.0]))
    assert float(loss.detach()) == float(reference.detach())
    (grad,) = torch.autograd.grad(loss, finite)
    (ref_grad,) = torch.autograd.grad(reference, finite)
    assert torch.equal(grad, ref_grad)


def test_consistency_terms_run_in_float32_under_autocast():
    s = torch.rand(2, 3, 2).bfloat16()
    t = torch.rand(2, 3, 2).bfloat16()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = mean_teacher_consistency(s, s[:, 0], t, t[:, 0], 2.0, 0.5)
    assert loss.dtype == torch.float32
    expected = mean_teacher_loss(
        s.float(), s[:, 0].float(), t.float(), t[:, 0].float(), 0.5
    )
    assert float(loss) == pytest.approx(2.0 * float(expected))


def test_summed_bce_is_a_sum():
    pred, target = torch.full((2, 3), 0.25), torch.ones(2, 3)
    assert float(summed_bce(pred, target)) == pytest.approx(
        6 * float(F.binary_cross_entropy(pred, target))
    )
