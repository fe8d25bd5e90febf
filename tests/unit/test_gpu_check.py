"""The GPU code paths, run on the CPU.

``SEDInterface`` cuts windows on the model's device when the model is on a
GPU (``device_windows``); forced on here, it must give the windows, scores
and errors of the NumPy path exactly. ``benchmarks/gpu_check.py
--cpu-smoke`` (every measurement of the GPU check, tiny, on the CPU) is
tested with the other benchmark scripts in ``test_benchmarks.py``.

Authors
 * speechbrain-atst team 2026
"""

import numpy as np
import pytest
import torch

from speechbrain_atst.features import ATSTFrontEnd, CNNFrontEnd
from speechbrain_atst.inference import SEDInterface

SR = 16000


class Loudness(torch.nn.Module):
    """A stand-in for ATSTSED whose scores follow its input's windows."""

    def forward(self, cnn_feats, atst_feats=None):
        x = (
            cnn_feats.mean(1, keepdim=True)
            + atst_feats.mean(1, keepdim=True)[
                ..., : cnn_feats.shape[-1]
            ].mean()
        )
        x = torch.nn.functional.avg_pool1d(x, 4)
        strong = torch.sigmoid(x.transpose(1, 2)).repeat(1, 1, 2)
        return strong, strong.mean(1)


def interface(device_windows, batch_size=2):
    sed = SEDInterface(
        modules={
            "cnn_frontend": CNNFrontEnd(),
            "atst_frontend": ATSTFrontEnd(),
            "model": Loudness(),
        },
        hparams={
            "sample_rate": SR,
            "classes": ["a", "b"],
            "median_windows": 3,
            "threshold": 0.5,
            "window_seconds": 10.0,
            "hop_seconds": 8.0,
            "batch_size": batch_size,
        },
        run_opts={"device": "cpu"},
    )
    sed.device_windows = device_windows
    return sed


@pytest.fixture(scope="module")
def pair():
    return interface(False), interface(True)


def both(pair, method, *args, **kwargs):
    host, device = pair
    return (
        getattr(host, method)(*args, **kwargs),
        getattr(device, method)(*args, **kwargs),
    )


def assert_same_scores(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_array_equal(x, y)


def test_device_path_is_off_on_the_cpu_by_default():
    sed = interface(None)
    assert not sed._on_device(torch.zeros(1, 10))
    sed.device_windows = True
    assert sed._on_device(torch.zeros(1, 10))
    assert not sed._on_device(torch.zeros(1, 10, dtype=torch.int16))
    assert sed._on_device(np.zeros((1, 10)))
    assert not sed._on_device([[0.0] * 10])


def test_whole_windows_are_the_batch_itself(pair):
    wavs = 0.1 * torch.randn(
        3, 10 * SR, generator=torch.Generator().manual_seed(0)
    )
    host, device = pair
    batch, lengths = device._batch(wavs, None)
    windows = device._cut_windows(batch, lengths, [(0, 0), (1, 0)])
    assert windows.data_ptr() == batch.data_ptr()  # no copy
    assert_same_scores(*both(pair, "frame_scores_batch", wavs))
    assert_same_scores(*both(pair, "frame_scores_batch", wavs, median=False))


def test_short_and_long_waveforms_give_the_numpy_windows(pair):
    gen = torch.Generator().manual_seed(1)
    wavs = 0.1 * torch.randn(4, 27 * SR + 123, generator=gen)
    lens = torch.tensor([1.0, 0.2, 0.5, 0.37])
    host, device = pair
    h_batch, h_lengths = host._batch(wavs, lens)
    d_batch, d_lengths = device._batch(wavs, lens)
    assert h_lengths == d_lengths
    jobs = [(0, 0), (0, 125), (0, 250), (0, 279), (1, 0), (3, 0), (3, 5)]
    for chunk in (jobs, jobs[4:6], jobs[3:4], jobs[4:5]):
        np.testing.assert_array_equal(
            host._cut_windows(h_batch, h_lengths, chunk),
            device._cut_windows(d_batch, d_lengths, chunk).numpy(),
        )
    assert_same_scores(*both(pair, "frame_scores_batch", wavs, lens))
    # Clips of one window each, shorter than it: padded at once.
    short = wavs[:, : 6 * SR]
    lens = torch.tensor([1.0, 0.5, 0.9, 0.1])
    assert_same_scores(*both(pair, "frame_scores_batch", short, lens))
    h, d = both(pair, "detect_batch", short, lens, threshold=0.3)
    assert h.equals(d)
    h, d = both(pair, "scores_batch", wavs[:2], torch.tensor([0.3, 1.0]))
    assert all(x.equals(y) for x, y in zip(h, d))


def test_other_inputs_give_the_numpy_scores(pair):
    gen = torch.Generator().manual_seed(2)
    wav = 0.1 * torch.randn(20 * SR, generator=gen)
    for x in (wav, wav.double().numpy(), wav.to(torch.bfloat16), wav[None]):
        assert_same_scores(*both(pair, "frame_scores_batch", x))
    # Whole 10 s windows of a reversed (negative-stride) array.
    clips = np.flip(wav[: 20 * SR].reshape(2, 10 * SR).numpy(), axis=1)
    assert_same_scores(*both(pair, "frame_scores_batch", clips))
    expected = interface(False).frame_scores_batch(clips.copy())
    assert_same_scores(both(pair, "frame_scores_batch", clips)[0], expected)


@pytest.mark.parametrize(
    "wavs, lens, match",
    [
        (torch.zeros(2, 3, SR), None, r"got \(2, 3, 16000\)"),
        (torch.ones(2, SR), torch.tensor([1.0, 0.0]), r"empty waveform \(1\)"),
        (torch.ones(3, SR), torch.tensor([1.0, 1.0, -1.0]), r"empty.*\(2\)"),
    ],
)
def test_device_path_raises_the_numpy_errors(pair, wavs, lens, match):
    for sed in pair:
        with pytest.raises(ValueError, match=match):
            sed.frame_scores_batch(wavs, lens)


def test_first_bad_waveform_is_named_whatever_the_path(pair):
    wavs = torch.ones(4, 2 * SR)
    wavs[1, 100] = float("nan")
    wavs[3, -1] = float("inf")
    lens = torch.tensor([1.0, 1.0, 0.0, 1.0])
    for sed in pair:
        with pytest.raises(ValueError, match="Waveform 1 of the batch"):
            sed.frame_scores_batch(wavs, lens)
        # NaN in the padding past a waveform's length is no error.
        sed.frame_scores_batch(wavs[1:2], torch.tensor([0.001]))
        with pytest.raises(ValueError, match=r"empty waveform \(2\)"):
            sed.frame_scores_batch(wavs[[0, 0, 2, 3]], lens)
        # Finite samples whose sum overflows are no error either.
        big = torch.full((1, SR), 3e38)
        with pytest.raises(ValueError, match="model produced NaN or inf"):
            sed.frame_scores_batch(big)
