"""Unit tests of the inference interface: windowing, merging, resampling.

A deterministic stand-in replaces ATSTSED: a front-end giving plain dB
mels and a tone detector per class (no context, no positional limit), so
the windowing and merging of long audio are checked against events at
known times and against one pass over the whole file.

Authors
 * speechbrain-atst team 2026
"""

import numpy as np
import pytest
import soundfile as sf
import torch

from speechbrain_atst.features import ATSTFrontEnd, CNNFrontEnd
from speechbrain_atst.inference import (
    SEDInterface,
    merge_weights,
    resolve_source,
    window_plan,
)
from speechbrain_atst.labels import SAMPLE_RATE, FrameGrid

FRAME = 0.064
CLASSES = ["low_tone", "high_tone"]
FREQS = {"low_tone": 1000.0, "high_tone": 3000.0}


class DBFrontEnd(CNNFrontEnd):
    """The CNN mel in dB without the per-window min-max normalisation."""

    def forward(self, wav):
        """Waveforms to ``[batch, 128, frames]`` dB mels."""
        return 20.0 * torch.log10(self.spectrogram(wav).clamp(min=1e-5))


class ToneDetector(torch.nn.Module):
    """Stand-in for ATSTSED: per-class band level above a threshold.

    Each class looks at the loudest mel bin of its band; a mel frame is
    active when it is within 6 dB of the level of a steady tone, and the
    output frame averages 4 mel frames like the CNN's time pooling.
    """

    def __init__(self, bands, level_db):
        super().__init__()
        self.bands = bands
        self.level_db = level_db

    def forward(self, cnn_feats, atst_feats=None):
        """``(strong [B, frames // 4, C], weak [B, C])``."""
        band = torch.stack(
            [cnn_feats[:, lo:hi].amax(1) for lo, hi in self.bands], 1
        )
        active = torch.sigmoid((band - (self.level_db - 6.0)) / 0.5)
        strong = torch.nn.functional.avg_pool1d(active, 4).transpose(1, 2)
        return strong, strong.amax(1)


def tone_signal(events, duration, sample_rate, seed=0):
    """Gated sine tones (5 ms ramps) at known times over faint noise."""
    t = np.arange(int(round(duration * sample_rate))) / sample_rate
    rng = np.random.default_rng(seed)
    x = 1e-3 * rng.standard_normal(t.shape)
    ramp = 0.005
    for onset, offset, label in events:
        gate = np.clip(np.minimum(t - onset, offset - t) / ramp + 0.5, 0, 1)
        x += 0.5 * gate * np.sin(2 * np.pi * FREQS[label] * t)
    return x.astype(np.float32)


def _band(freq):
    """Mel bins around the peak bin of a pure tone."""
    wav = torch.from_numpy(tone_signal([(0, 2, freq)], 2, SAMPLE_RATE))
    level = DBFrontEnd()(wav[None])[0, :, 20:-20].mean(1)
    peak = int(level.argmax())
    return (peak - 3, peak + 4), float(level.max())


@pytest.fixture(scope="module")
def detector():
    """The stand-in model with its bands and the tone level."""
    (lo, lo_level) = _band("low_tone")
    (hi, hi_level) = _band("high_tone")
    return ToneDetector([lo, hi], min(lo_level, hi_level))


def make_interface(model, hop_seconds=8.0, merge="crossfade", **hparams):
    """An interface around the stand-in model (no median filter)."""
    values = {
        "sample_rate": SAMPLE_RATE,
        "classes": CLASSES,
        "median_windows": 1,
        "threshold": 0.5,
        "window_seconds": 10.0,
        "hop_seconds": hop_seconds,
        "batch_size": 4,
        "merge": merge,
    }
    values.update(hparams)
    return SEDInterface(
        modules={
            "cnn_frontend": DBFrontEnd(),
            "atst_frontend": ATSTFrontEnd(),
            "model": model,
        },
        hparams=values,
        run_opts={"device": "cpu"},
    )


def on_grid(onset, offset):
    """Event boundaries on the label grid (the frames the event touches)."""
    fps = FrameGrid().frames_per_second
    return np.floor(onset * fps) * FRAME, np.ceil(offset * fps) * FRAME


def assert_events_match(found, truth, tolerance=FRAME + 1e-6):
    """Same events per class, boundaries within one frame of the grid."""
    for label in CLASSES:
        want = sorted(
            on_grid(on, off) for on, off, lab in truth if lab == label
        )
        got = found[found["event_label"] == label]
        got = sorted(zip(got["onset"], got["offset"]))
        assert len(got) == len(want), (label, got, want)
        for (on, off), (t_on, t_off) in zip(got, want):
            assert abs(on - t_on) <= tolerance, (label, on, t_on)
            assert abs(off - t_off) <= tolerance, (label, off, t_off)


def test_window_plan_is_on_the_frame_grid():
    """Window starts are whole frames; the last window ends the audio."""
    for seconds in (10.5, 17.3, 95.0, 3600.0):
        n = int(seconds * SAMPLE_RATE)
        starts, n_frames = window_plan(n, 160000, 156, 125, 1024)
        assert n_frames == int(np.ceil(n / 1024))
        assert starts[0] == 0 and starts[-1] + 156 == n_frames
        assert all(b - a <= 125 for a, b in zip(starts, starts[1:]))
        assert sorted(set(starts)) == starts
        # The last window runs past the audio by less than 1280 samples.
        assert starts[-1] * 1024 + 160000 - n < 1280
    # 8 s hop: 0.375 of the windows of the official 3 s hop per hour.
    hour = window_plan(3600 * SAMPLE_RATE, 160000, 156, 125, 1024)[0]
    assert len(hour) == 450
    assert window_plan(160000, 160000, 156, 125, 1024) == ([0], 156)
    assert window_plan(1, 160000, 156, 125, 1024) == ([0], 1)


def test_merge_weights_cross_fade_sums_to_one():
    """Cross-fade weights of overlapping windows are complementary."""
    starts = [0, 125, 250, 300]
    weights = merge_weights(starts, 156)
    total = np.zeros(456)
    for start, w in zip(starts, weights):
        total[start : start + 156] += w
    # Overlaps with two windows sum to one; the tail covered by three
    # windows is normalised by the interface.
    assert np.allclose(total[:300], 1.0)
    assert (weights > 0).all() and (weights <= 1).all()
    assert (merge_weights(starts, 156, "mean") == 1).all()
    with pytest.raises(ValueError, match="merge"):
        merge_weights(starts, 156, "max")


@pytest.mark.parametrize("merge", ["crossfade", "mean"])
def test_long_file_events_across_window_boundaries(tmp_path, detector, merge):
    """95 s file: events at known times, within one frame, any window."""
    truth = [
        (7.3, 12.1, "low_tone"),  # across the 8-10 s overlap
        (30.5, 33.0, "low_tone"),
        (55.2, 56.1, "low_tone"),  # ends inside the overlap at 56 s
        (91.0, 94.6, "low_tone"),  # in the end-aligned last window
        (15.0, 26.3, "high_tone"),  # spans three windows
        (63.97, 64.5, "high_tone"),  # starts at a window start
        (79.0, 80.2, "high_tone"),
    ]
    path = tmp_path / "long.wav"
    sf.write(path, tone_signal(truth, 95.0, SAMPLE_RATE), SAMPLE_RATE)
    sed = make_interface(detector, merge=merge)
    events = sed.detect_file(path)
    assert set(events["filename"]) == {"long.wav"}
    assert_events_match(events, truth)

    # The merged scores equal one pass over the whole file (the stand-in
    # has no length limit): windows sit exactly on the global grid.
    wav = sed.load_audio(path)
    merged = sed.frame_scores_batch(wav[None])[0]
    with torch.inference_mode():
        full, _ = detector(DBFrontEnd()(wav[None]))
    # (One pass has no frame for the last, partly covered 64 ms.)
    assert merged.shape == (int(np.ceil(95 * 16000 / 1024)), 2)
    full = full[0].numpy()
    assert full.shape[0] == merged.shape[0] - 1
    diff = np.abs(merged[:-1] - full)
    assert diff.max() < 1e-3

    frame = sed.scores_file(path)
    assert len(frame) == merged.shape[0]
    assert float(frame["offset"].iloc[-1]) == pytest.approx(95.0)
    assert np.allclose(frame[CLASSES].to_numpy(), merged, atol=1e-6)


def test_short_file_scores_stop_at_its_duration(tmp_path, detector):
    """A 3 s clip is padded to 10 s, its scores cut to 3 s."""
    truth = [(1.0, 2.5, "high_tone")]
    path = tmp_path / "short.wav"
    sf.write(path, tone_signal(truth, 3.0, SAMPLE_RATE), SAMPLE_RATE)
    sed = make_interface(detector)
    frame = sed.scores_file(path)
    assert len(frame) == FrameGrid().valid_frames(3.0) == 47
    assert float(frame["offset"].iloc[-1]) == 3.0
    assert float(frame["onset"].iloc[-1]) < 3.0
    events = sed.detect_file(path)
    assert_events_match(events, truth)
    assert (events["offset"] <= 3.0).all()
    # An event running to the end is cut at the clip's end.
    truth = [(2.0, 3.0, "low_tone")]
    sf.write(path, tone_signal(truth, 3.0, SAMPLE_RATE), SAMPLE_RATE)
    assert_events_match(sed.detect_file(path), truth)


def test_any_rate_and_channels_give_the_same_events(tmp_path, detector):
    """8, 44.1 and 48 kHz (stereo) files give the 16 kHz mono events."""
    truth = [
        (1.0, 2.5, "low_tone"),
        (4.2, 9.5, "high_tone"),
        (10.1, 11.0, "low_tone"),
    ]
    sed = make_interface(detector)
    reference = tmp_path / "ref16k.wav"
    sf.write(reference, tone_signal(truth, 12.0, 16000), 16000)
    ref_events = sed.detect_file(reference)
    assert_events_match(ref_events, truth)
    ref_scores = sed.frame_scores_file(reference)
    for rate, channels in ((8000, 1), (44100, 2), (48000, 2)):
        x = tone_signal(truth, 12.0, rate)
        if channels == 2:
            x = np.stack([x, 0.9 * x], axis=1)
        path = tmp_path / f"{rate}_{channels}.wav"
        sf.write(path, x, rate)
        events = sed.detect_file(path)
        assert_events_match(events, truth)
        assert_events_match(
            events, list(ref_events[["onset", "offset", "event_label"]].values)
        )
        scores = sed.frame_scores_file(path)
        assert scores.shape == ref_scores.shape
        assert (np.abs(scores - ref_scores) > 0.5).mean() < 0.01


def test_batch_api_matches_files(detector):
    """detect_batch with relative lengths equals separate signals."""
    a = torch.from_numpy(tone_signal([(0.5, 1.5, "low_tone")], 2.0, 16000))
    b = torch.from_numpy(tone_signal([(3.0, 14.0, "high_tone")], 15.0, 16000))
    wavs = torch.zeros(2, b.shape[0])
    wavs[0, : a.shape[0]] = a
    wavs[1] = b
    lens = torch.tensor([a.shape[0] / b.shape[0], 1.0])
    sed = make_interface(detector)
    both = sed.frame_scores_batch(wavs, lens)
    assert np.allclose(both[0], sed.frame_scores_batch(a[None])[0])
    assert np.allclose(both[1], sed.frame_scores_batch(b[None])[0])
    events = sed.detect_batch(wavs, lens, filenames=["a", "b"])
    assert list(events["filename"]) == ["a", "b"]
    assert events["score"].between(0.5, 1.0).all()
    frames = sed.scores_batch(wavs, lens)
    assert [len(f) for f in frames] == [32, int(np.ceil(15 * 16000 / 1024))]


def test_thresholds(detector):
    """Scalar, per-class and per-name thresholds; unknown names fail."""
    sed = make_interface(detector, threshold=[0.4, 0.6])
    assert sed.thresholds().tolist() == [0.4, 0.6]
    assert sed.thresholds(0.3).tolist() == [0.3, 0.3]
    assert sed.thresholds([0.1, 0.2]).tolist() == [0.1, 0.2]
    assert sed.thresholds({"high_tone": 0.9}).tolist() == [0.4, 0.9]
    with pytest.raises(KeyError, match="Dog"):
        sed.thresholds({"Dog": 0.5})
    with pytest.raises(ValueError, match="2"):
        sed.thresholds([0.1, 0.2, 0.3])
    scores = np.array([[0.2, 0.7], [0.5, 0.95], [0.45, 0.2]])
    events = sed.scores_to_events(scores, 0.192, filename="x")
    assert events.values.tolist() == [
        ["x", 0.0, 0.128, "high_tone", 0.95],
        ["x", 0.064, 0.192, "low_tone", 0.5],
    ]


def test_hop_must_fit_the_window(detector):
    """Hops are whole frames between one frame and one window."""
    assert make_interface(detector, hop_seconds=5.0).hop_seconds == 4.992
    with pytest.raises(ValueError, match="hop_seconds"):
        make_interface(detector, hop_seconds=12.0)
    with pytest.raises(ValueError, match="sample_rate"):
        make_interface(detector, sample_rate=8000)


def test_unreadable_files_name_the_file(tmp_path, detector):
    """Missing, empty and corrupt files raise errors naming them."""
    sed = make_interface(detector)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk" * 4)
    for path in (tmp_path / "missing.wav", empty, corrupt):
        with pytest.raises((FileNotFoundError, ValueError)) as info:
            sed.detect_file(path)
        assert path.name in str(info.value)


def test_resolve_source(tmp_path):
    """Local folders, hub ids, and typos that must not become hub ids."""
    assert resolve_source(tmp_path) == (str(tmp_path.resolve()), True)
    assert resolve_source("org/model") == ("org/model", False)
    for typo in (tmp_path / "nope", "./nope", "nope", "a/b/c"):
        with pytest.raises(FileNotFoundError, match="nope|a/b/c"):
            resolve_source(typo)
    (tmp_path / "file.yaml").write_text("x: 1")
    with pytest.raises(NotADirectoryError):
        resolve_source(tmp_path / "file.yaml")


def test_windowing_frame_is_the_model_frame():
    """The torch-free windowing module agrees with the label grid."""
    from speechbrain_atst.inference.windowing import FRAME_SAMPLES
    from speechbrain_atst.labels import CNN_HOP, NET_POOLING

    assert FRAME_SAMPLES == CNN_HOP * NET_POOLING
    assert FrameGrid().frame_seconds * SAMPLE_RATE == FRAME_SAMPLES
