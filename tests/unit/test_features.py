"""Tests of the two front-ends against the official reference features.

Authors
 * speechbrain-atst team 2026
"""

import pytest
import torch

from speechbrain_atst.features import (
    ATST_DB_MAX,
    ATST_DB_MIN,
    ATSTFrontEnd,
    CNNFrontEnd,
)
from speechbrain_atst.labels import FrameGrid

ATOL = 1e-5


@pytest.fixture(scope="module")
def ref(atst_parity):
    """Reference tensors of the official code (tests/fixtures/README.md)."""
    return torch.load(atst_parity / "reference_io.pt", weights_only=True)


@pytest.fixture(scope="module")
def cnn_front():
    return CNNFrontEnd()


@pytest.fixture(scope="module")
def atst_front():
    return ATSTFrontEnd()


def test_cnn_features_match_reference(ref, cnn_front):
    feats = cnn_front(ref["wav"])
    assert feats.shape == (3, 128, 626)
    assert feats.dtype == torch.float32
    torch.testing.assert_close(feats, ref["cnn_feats"], atol=ATOL, rtol=0)


def test_atst_features_match_reference(ref, atst_front):
    feats = atst_front(ref["wav"])
    assert feats.shape == (3, 64, 1001)
    torch.testing.assert_close(feats, ref["atst_feats"], atol=ATOL, rtol=0)


def test_atst_features_short_clip(ref, atst_front):
    feats = atst_front(ref["wav_short"][None])
    assert feats.shape == (1, 64, 421)
    torch.testing.assert_close(
        feats, ref["atst_feats_short"], atol=ATOL, rtol=0
    )


def test_atst_floor_is_per_clip(ref, atst_front):
    # The three reference clips have very different loudness: with a
    # batch-wide 80 dB floor the quiet ones would change with the batch.
    batch = atst_front(ref["wav"])
    for i in range(3):
        alone = atst_front(ref["wav"][i : i + 1])
        torch.testing.assert_close(alone[0], batch[i], atol=1e-6, rtol=0)


def test_cnn_minmax_is_per_clip(ref, cnn_front):
    feats = cnn_front(ref["wav"])
    assert torch.allclose(feats.amin(dim=(1, 2)), torch.zeros(3))
    assert torch.allclose(feats.amax(dim=(1, 2)), torch.ones(3))
    alone = cnn_front(ref["wav"][1:2])
    torch.testing.assert_close(alone[0], feats[1], atol=1e-6, rtol=0)


@pytest.mark.parametrize("front_cls", [CNNFrontEnd, ATSTFrontEnd])
def test_forward_is_normalize_of_spectrogram(front_cls):
    torch.manual_seed(0)
    front = front_cls()
    wav = torch.randn(2, 8000)
    mel = front.spectrogram(wav)
    assert bool((mel >= 0).all())
    assert torch.equal(front(wav), front.normalize(mel))


def test_linear_mels_can_be_mixed_before_normalize(atst_front):
    torch.manual_seed(0)
    wav = torch.randn(2, 8000)
    mel = atst_front.spectrogram(wav)
    mixed = 0.3 * mel[0:1] + 0.7 * mel[1:2]
    feats = atst_front.normalize(mixed)
    assert feats.shape == (1, 64, 51)
    assert torch.isfinite(feats).all()


def test_value_ranges(atst_front):
    torch.manual_seed(0)
    loud = 100.0 * torch.randn(1, 16000)
    feats = atst_front(loud)
    low = (-50.0 - ATST_DB_MIN) / (ATST_DB_MAX - ATST_DB_MIN) * 2 - 1
    high = (80.0 - ATST_DB_MIN) / (ATST_DB_MAX - ATST_DB_MIN) * 2 - 1
    assert float(feats.min()) >= low - 1e-6
    assert float(feats.max()) <= high + 1e-6
    assert low == pytest.approx(-0.5450, abs=1e-4)
    assert high == pytest.approx(1.4499, abs=1e-4)


@pytest.mark.parametrize("front_cls", [CNNFrontEnd, ATSTFrontEnd])
def test_silence_gives_finite_features(front_cls):
    feats = front_cls()(torch.zeros(2, 4000))
    assert torch.isfinite(feats).all()


@pytest.mark.parametrize("front_cls", [CNNFrontEnd, ATSTFrontEnd])
def test_float32_under_autocast(front_cls):
    torch.manual_seed(0)
    front = front_cls()
    wav = torch.randn(2, 8000)
    expected = front(wav)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mel = front.spectrogram(wav)
        feats = front(wav)
        normed = front.normalize(mel.bfloat16())
    assert mel.dtype == feats.dtype == normed.dtype == torch.float32
    torch.testing.assert_close(feats, expected, atol=1e-6, rtol=0)


def test_frame_counts_follow_the_label_grid(cnn_front, atst_front):
    grid = FrameGrid()
    wav = torch.zeros(1, grid.clip_samples)
    assert cnn_front(wav).shape[-1] == 1 + grid.clip_samples // grid.hop_length
    assert atst_front(wav).shape[-1] == 1001


def test_front_ends_accept_float64_and_half():
    wav = torch.randn(1, 4000, dtype=torch.float64)
    assert CNNFrontEnd()(wav).dtype == torch.float32
    assert ATSTFrontEnd()(wav.half()).dtype == torch.float32
