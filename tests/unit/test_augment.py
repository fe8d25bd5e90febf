"""Tests of slice-wise mixup and frequency warping.

Authors
 * speechbrain-atst team 2026
"""

import pytest
import torch

from speechbrain_atst.augment import (
    FrequencyWarp,
    Mixup,
    MixupPlan,
    SliceMix,
    crop_resize_freq,
    draw_beta,
)


def test_beta_draws_are_reproducible_and_u_shaped():
    g = torch.Generator().manual_seed(3)
    draws = torch.tensor(
        [draw_beta(0.2, g) for _ in range(2000)], dtype=torch.float64
    )
    assert bool(((draws >= 0) & (draws <= 1)).all())
    # Beta(0.2, 0.2) is symmetric and concentrated near 0 and 1.
    assert abs(float(draws.mean()) - 0.5) < 0.05
    assert float(((draws < 0.1) | (draws > 0.9)).float().mean()) > 0.6
    again = torch.Generator().manual_seed(3)
    assert draw_beta(0.2, again) == float(draws[0])


def test_plan_mixes_each_slice_with_its_own_draw():
    g = torch.Generator().manual_seed(0)
    plan = MixupPlan.draw([3, 0, 4], alpha=0.2, generator=g)
    assert [(s.start, s.stop) for s in plan.slices] == [(0, 3), (3, 7)]
    x = torch.randn(7, 5)
    out = plan.apply(x)
    for s in plan.slices:
        assert sorted(s.perm.tolist()) == list(range(s.stop - s.start))
        part = x[s.start : s.stop]
        expected = s.coef * part + (1 - s.coef) * part[s.perm]
        assert torch.allclose(out[s.start : s.stop], expected)
    # Items never leave their slice.
    assert plan.slice_at(3).stop == 7 and plan.slice_at(1) is None


def test_soft_labels_are_clamped():
    mix = SliceMix(0, 2, 0.7, torch.tensor([1, 0]))
    y = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    out = mix.mix_labels(y)
    assert torch.allclose(out, torch.tensor([[1.0, 0.3], [1.0, 0.7]]))
    assert float(out.max()) <= 1.0
    with pytest.raises(ValueError, match="Slice"):
        mix.mix(torch.zeros(3, 2))


def test_one_plan_shared_by_both_branches():
    """The same coefficient and permutation mix CNN and ATST inputs."""
    plan = Mixup(alpha=0.2, prob=1.0).draw([2, 3], torch.Generator())
    cnn_mel = torch.rand(5, 128, 9)
    atst_mel = torch.rand(5, 64, 13)
    out_cnn, out_atst = plan.apply(cnn_mel), plan.apply(atst_mel)
    for s in plan.slices:
        c, p, a, b = s.coef, s.perm, s.start, s.stop
        assert torch.allclose(
            out_cnn[a:b], c * cnn_mel[a:b] + (1 - c) * cnn_mel[a:b][p]
        )
        assert torch.allclose(
            out_atst[a:b], c * atst_mel[a:b] + (1 - c) * atst_mel[a:b][p]
        )


def test_mixup_probability():
    g = torch.Generator().manual_seed(1)
    mixup = Mixup(alpha=0.2, prob=0.5)
    mixed = sum(mixup.draw([2, 2], g) is not None for _ in range(400))
    assert 150 < mixed < 250
    assert Mixup(prob=0.0).draw([2], g) is None
    with pytest.raises(ValueError):
        Mixup(prob=1.5)


def test_warp_band_range():
    warp = FrequencyWarp()
    g = torch.Generator().manual_seed(0)
    bands = [warp.draw_band(64, g) for _ in range(3000)]
    heights = {h for _, h in bands}
    assert min(heights) == 38 and max(heights) == 63
    assert all(0 <= i and i + h <= 64 for i, h in bands)
    starts_of_38 = {i for i, h in bands if h == 38}
    assert 0 in starts_of_38 or 26 in starts_of_38  # both ends reachable
    assert max(i for i, _ in bands) <= 26


def test_crop_resize_matches_bicubic_and_keeps_time():
    x = torch.randn(3, 64, 21)
    out = crop_resize_freq(x, 10, 40)
    band = x[:, 10:50, :].unsqueeze(1)
    ref = torch.nn.functional.interpolate(
        band, size=(64, 21), mode="bicubic", align_corners=True
    ).squeeze(1)
    assert out.shape == x.shape
    assert torch.allclose(out, ref)
    # Band edges map onto the first and last bins exactly.
    assert torch.allclose(out[:, 0], x[:, 10], atol=1e-5)
    assert torch.allclose(out[:, -1], x[:, 49], atol=1e-5)
    assert torch.allclose(crop_resize_freq(x, 0, 64), x, atol=1e-5)
    with pytest.raises(ValueError):
        crop_resize_freq(x, 30, 40)


def test_warp_shares_the_band_within_a_slice():
    x = torch.randn(6, 64, 11)
    warp = FrequencyWarp(prob=1.0)
    out = warp.apply(x, [2, 0, 4], torch.Generator().manual_seed(5))
    assert out.shape == x.shape
    g = torch.Generator().manual_seed(5)
    first = warp.draw_band(64, g)
    second = warp.draw_band(64, g)
    assert torch.allclose(out[:2], crop_resize_freq(x[:2], *first))
    assert torch.allclose(out[2:], crop_resize_freq(x[2:], *second))
    assert not FrequencyWarp(prob=0.0).active(torch.Generator())
