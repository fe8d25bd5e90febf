"""Tests of audio reading: mono mixing, resampling, segments and errors.

Authors
 * speechbrain-atst team 2026
"""

import numpy as np
import pytest
import soundfile as sf
import torch
from scipy.signal import resample_poly

from speechbrain_atst.data.audio import (
    AudioInfo,
    audio_info,
    read_audio,
    resample,
)

SR = 16000


def _tones(n, sr=SR, seed=0):
    """A band-limited test signal (a few sines below 5 kHz)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    freqs = rng.uniform(100, 5000, 6)
    x = sum(0.1 * np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in freqs)
    return x.astype(np.float32)


@pytest.fixture
def mono16k(tmp_path):
    x = _tones(SR * 2)
    path = tmp_path / "mono16k.wav"
    sf.write(path, x, SR, subtype="FLOAT")
    return path, x


def test_read_mono_16k(mono16k):
    path, x = mono16k
    wav = read_audio(path)
    assert wav.dtype == torch.float32 and wav.ndim == 1
    np.testing.assert_array_equal(wav.numpy(), x)
    assert audio_info(path) == AudioInfo(SR, 2 * SR, 1, 2.0)


def test_read_pcm16_scale(tmp_path):
    x = np.array([0.0, 0.5, -0.5, 0.25] * 100, dtype=np.float32)
    sf.write(tmp_path / "a.wav", x, SR, subtype="PCM_16")
    np.testing.assert_allclose(read_audio(tmp_path / "a.wav"), x, atol=1e-4)


def test_44k1_stereo_matches_16k_mono_original(tmp_path, mono16k):
    _, x = mono16k
    up = resample_poly(x.astype(np.float64), 441, 160).astype(np.float32)
    stereo = np.stack([up + 0.05, up - 0.05], axis=1)  # average = up
    path = tmp_path / "stereo44k.wav"
    sf.write(path, stereo, 44100, subtype="FLOAT")
    info = audio_info(path)
    assert (info.sample_rate, info.channels) == (44100, 2)
    wav = read_audio(path).numpy()
    assert wav.shape == x.shape
    inner = slice(800, -800)  # ignore the filters' edge effects
    err = np.abs(wav[inner] - x[inner]).max()
    assert err < 0.01 * np.abs(x).max()
    # The file is never misread as 16 kHz: reading at the file's own rate
    # keeps all its samples.
    assert read_audio(path, sample_rate=44100).shape[0] == up.shape[0]


def test_channels_are_averaged(tmp_path):
    left = np.full(1000, 0.5, dtype=np.float32)
    right = np.full(1000, -0.25, dtype=np.float32)
    path = tmp_path / "lr.wav"
    sf.write(path, np.stack([left, right], 1), SR, subtype="FLOAT")
    np.testing.assert_allclose(read_audio(path), np.full(1000, 0.125))


def test_segment_in_seconds(mono16k, tmp_path):
    path, x = mono16k
    seg = read_audio(path, offset=0.5, duration=1.0)
    np.testing.assert_array_equal(seg.numpy(), x[8000:24000])
    # Past the end: cut at the end of the file.
    assert read_audio(path, offset=1.5, duration=5.0).shape[0] == 8000
    # At 48 kHz the same seconds are read, then resampled.
    path48 = tmp_path / "a48.wav"
    sf.write(path48, np.zeros(48000 * 2, np.float32), 48000)
    assert read_audio(path48, offset=0.25, duration=1.0).shape[0] == SR


def test_resample_identity_and_length():
    wav = torch.randn(1000)
    assert resample(wav, SR, SR) is wav
    assert resample(torch.randn(2, 48000), 48000, SR).shape == (2, SR)


def test_missing_file(tmp_path):
    path = tmp_path / "nothere.wav"
    with pytest.raises(FileNotFoundError, match="nothere.wav"):
        read_audio(path)
    with pytest.raises(FileNotFoundError, match="not found"):
        audio_info(path)


def test_directory(tmp_path):
    with pytest.raises(ValueError, match="directory"):
        read_audio(tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty.wav.*0 bytes|0 bytes.*empty"):
        read_audio(path)


def test_zero_length_audio(tmp_path):
    path = tmp_path / "zero.wav"
    sf.write(path, np.zeros(0, np.float32), SR)
    with pytest.raises(ValueError, match="zero.wav.*no samples|no samples"):
        read_audio(path)


def test_truncated_header(tmp_path, mono16k):
    src, _ = mono16k
    path = tmp_path / "hdr.wav"
    path.write_bytes(src.read_bytes()[:30])
    with pytest.raises(ValueError, match="hdr.wav"):
        audio_info(path)


def test_truncated_data(tmp_path, mono16k):
    src, _ = mono16k
    path = tmp_path / "cut.wav"
    path.write_bytes(src.read_bytes()[:5000])
    with pytest.raises(ValueError, match="cut.wav is truncated"):
        read_audio(path)


def test_not_audio(tmp_path):
    path = tmp_path / "text.wav"
    path.write_text("this is not a wav file\n" * 20)
    with pytest.raises(ValueError, match="text.wav.*not audio"):
        read_audio(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples(tmp_path, bad):
    x = np.zeros(1000, np.float32)
    x[10] = bad
    path = tmp_path / "bad.wav"
    sf.write(path, x, SR, subtype="FLOAT")
    with pytest.raises(ValueError, match="bad.wav contains NaN or inf"):
        read_audio(path)


def test_bad_segments(mono16k):
    path, _ = mono16k
    with pytest.raises(ValueError, match="past the end"):
        read_audio(path, offset=5.0)
    with pytest.raises(ValueError, match="Invalid segment"):
        read_audio(path, offset=-1.0)
    with pytest.raises(ValueError, match="Invalid segment"):
        read_audio(path, duration=0.0)
