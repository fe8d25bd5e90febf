"""Unit tests of the streaming detector: equal to offline, bounded.

A tiny ATSTSED (embed_dim 32, depth 1, 2 heads, random weights) runs on
synthesized recordings (gated tones over noise) fed in chunks of random
sizes; the finalised frame scores and events must equal those of
``SEDInterface.frame_scores_batch`` / ``scores_to_events`` on the whole
recording. The thresholds are the median offline score of each class, so
that the random model yields many events.

Authors
 * speechbrain-atst team 2026
"""

import io

import numpy as np
import pytest
import soundfile as sf
import torch

from speechbrain_atst.data.audio import resample
from speechbrain_atst.inference import SEDInterface
from speechbrain_atst.inference.stream import (
    Event,
    EventDecoder,
    FrameScores,
    StreamingDetector,
    StreamResampler,
    stream_file,
    stream_stdin,
)
from speechbrain_atst.inference.windowing import FRAME_SAMPLES
from speechbrain_atst.lobes.atst_sed import ATSTSED

SR = 16000
CLASSES = ["low", "mid", "high"]
FREQS = [500.0, 1500.0, 4000.0]
HOP = 3.0  # seconds (47 frames), so that the windows overlap irregularly


@pytest.fixture(scope="module")
def sed():
    """An interface around a tiny random ATSTSED, median windows 3/7/1."""
    torch.manual_seed(0)
    model = ATSTSED(
        n_classes=len(CLASSES), embed_dim=32, depth=1, num_heads=2
    ).eval()
    from speechbrain_atst.features import ATSTFrontEnd, CNNFrontEnd

    return SEDInterface(
        modules={
            "cnn_frontend": CNNFrontEnd(),
            "atst_frontend": ATSTFrontEnd(),
            "model": model,
        },
        hparams={
            "sample_rate": SR,
            "classes": CLASSES,
            "median_windows": [3, 7, 1],
            "threshold": 0.5,
            "window_seconds": 10.0,
            "hop_seconds": HOP,
            "batch_size": 4,
        },
        run_opts={"device": "cpu"},
    )


def recording(seconds, sample_rate=SR, channels=1, seed=0):
    """Gated tones at random times over faint noise, ``[samples(, ch)]``."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sample_rate))
    t = np.arange(n) / sample_rate
    x = 0.01 * rng.standard_normal((n, channels))
    for _ in range(max(2, int(seconds / 2))):
        on = rng.uniform(0, seconds)
        off = on + rng.uniform(0.3, 4.0)
        gate = ((t >= on) & (t < off)).astype(float)
        freq = FREQS[rng.integers(len(FREQS))]
        x += (0.3 * gate * np.sin(2 * np.pi * freq * t))[:, None]
    x = x.astype(np.float32)
    return x[:, 0] if channels == 1 else x


def random_chunks(n, rng):
    """Chunk boundaries of random sizes, with empty and 1-sample chunks."""
    sizes = [0, 1, 1, 0]
    while sum(sizes) < n:
        sizes.append(int(rng.choice([0, 1, 17, 1023, 1024, 5000, 40000])))
        sizes.append(int(rng.integers(1, 30000)))
    bounds = np.minimum(np.cumsum([0] + sizes), n)
    return list(zip(bounds[:-1], bounds[1:]))


def collect(updates):
    """Concatenated frame scores (checked contiguous) and event tuples."""
    scores, events, frame = [], [], 0
    for update in updates:
        if isinstance(update, FrameScores):
            assert update.start_frame == frame
            frame += update.scores.shape[0]
            scores.append(update.scores)
        else:
            assert isinstance(update, Event)
            events.append(tuple(update))
    return np.concatenate(scores), sorted(events)


def offline(sed, wav):
    """Offline frame scores of a 16 kHz mono waveform and thresholds: the
    median score of each class (so that the random model has events)."""
    scores = sed.frame_scores_batch(torch.as_tensor(wav))[0]
    return scores, [float(t) for t in np.median(scores, 0)]


def offline_events(sed, scores, duration, threshold):
    """Offline event tuples of frame scores."""
    frame = sed.scores_to_events(scores, duration, threshold)
    events = frame[["onset", "offset", "event_label", "score"]]
    return sorted(events.itertuples(index=False, name=None))


def energy_model(sed):
    """A cheap stand-in for ``_run_windows``: frame energy as scores."""

    def run(windows):  # NumPy in and out, as _run_windows
        frames = np.asarray(windows)[:, : sed.window_frames * FRAME_SAMPLES]
        frames = frames.reshape(len(frames), sed.window_frames, -1)
        level = np.clip((frames**2).mean(-1, keepdims=True) * 40, 0, 1)
        return np.repeat(level, len(CLASSES), axis=-1)

    return run


def assert_events_equal(found, truth, tol=1e-5):
    """Same events (times exactly, scores within ``tol``)."""
    assert [e[:3] for e in found] == [e[:3] for e in truth]
    for (*_, got), (*_, want) in zip(found, truth):
        assert abs(got - want) <= tol


@pytest.mark.parametrize(
    "seconds",
    [3.0, 10.0, 10.01, 16.0, pytest.param(37.0, marks=pytest.mark.slow)],
)
def test_stream_equals_offline(sed, seconds):
    """Random chunks (empty, 1-sample...) give the offline scores/events."""
    wav = recording(seconds, seed=int(seconds))
    want_scores, threshold = offline(sed, wav)
    det = sed.stream(threshold=threshold)
    rng = np.random.default_rng(1)
    updates = []
    for lo, hi in random_chunks(len(wav), rng):
        chunk = wav[lo:hi]
        updates += det.feed(torch.from_numpy(chunk) if lo % 2 else chunk)
    updates += det.flush()
    scores, events = collect(updates)
    want_events = offline_events(sed, want_scores, seconds, threshold)
    assert scores.shape == want_scores.shape
    assert np.abs(scores - want_scores).max() <= 1e-5
    assert len(want_events) > 0
    assert_events_equal(events, want_events)


def test_stereo_44k_input(sed):
    """Stereo 44.1 kHz chunks: averaged, resampled like the offline path
    (the stream resampler equals the whole-file one to float rounding)."""
    wav = recording(14.0, sample_rate=44100, channels=2, seed=3)
    mono = resample(torch.from_numpy(wav.mean(axis=1)), 44100, SR)
    want_scores, threshold = offline(sed, mono.numpy())
    det = StreamingDetector(
        sed, threshold=threshold, input_rate=44100, channels=2
    )
    updates = []
    for lo, hi in random_chunks(len(wav), np.random.default_rng(2)):
        updates += det.feed(wav[lo:hi])
    scores, events = collect(updates + det.flush())
    want_events = offline_events(sed, want_scores, len(mono) / SR, threshold)
    assert scores.shape == want_scores.shape
    assert np.abs(scores - want_scores).max() <= 1e-4
    assert_events_equal(events, want_events, tol=1e-4)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_stream_resampler_equals_whole_signal(rate):
    """Chunk-wise resampling equals resampling the whole signal."""
    x = torch.randn(3 * rate + 123)
    res = StreamResampler(rate, SR)
    parts = [
        res.feed(x[lo:hi])
        for lo, hi in random_chunks(len(x), np.random.default_rng(rate))
    ]
    y = torch.cat(parts + [res.flush()])
    want = resample(x, rate, SR)
    assert y.shape == want.shape
    assert float((y - want).abs().max()) <= 1e-5
    assert res.kept_samples < rate  # only the filter's context is kept


def test_bad_input_raises(sed):
    """NaN/inf samples, wrong shapes and feeding after flush are refused."""
    det = StreamingDetector(sed)
    det.feed(np.zeros(1000, np.float32))
    with pytest.raises(ValueError, match="NaN or inf"):
        det.feed(np.array([0.0, np.nan], np.float32))
    with pytest.raises(ValueError, match="NaN or inf"):
        det.feed(torch.tensor([np.inf]))
    with pytest.raises(ValueError, match="samples, 1"):
        det.feed(np.zeros((10, 2), np.float32))
    with pytest.raises(TypeError, match="float"):
        det.feed(np.zeros(10, np.int16))
    assert StreamingDetector(sed).flush() == []  # nothing fed: nothing
    det.flush()
    with pytest.raises(ValueError, match="flushed"):
        det.feed(np.zeros(10, np.float32))


def test_flush_emits_the_last_events(sed):
    """An event running to the end of the audio comes out at flush only."""
    wav = recording(15.0, seed=5)
    scores, threshold = offline(sed, wav)
    # The class that is above threshold on the last frame.
    threshold = [
        min(t, float(scores[-1, c]) - 1e-3) for c, t in enumerate(threshold)
    ]
    det = StreamingDetector(sed, threshold=threshold)
    before = [u for u in det.feed(wav) if isinstance(u, Event)]
    after = [u for u in det.flush() if isinstance(u, Event)]
    assert any(e.offset == 15.0 for e in after)
    assert not any(e.offset == 15.0 for e in before)
    want = offline_events(sed, scores, 15.0, threshold)
    assert_events_equal(sorted(tuple(e) for e in before + after), want)


def test_latency_is_bounded(sed, monkeypatch):
    """Every event is out no later than hop + one window after its end;
    more precisely within one window plus the median look-ahead (a cheap
    stand-in model: this checks the scheduling)."""
    monkeypatch.setattr(sed, "_run_windows", energy_model(sed))
    wav = recording(60.0, seed=37)
    det = StreamingDetector(sed, threshold=0.5)
    chunk = 400
    window = det.window_samples
    emitted = []
    for lo in range(0, len(wav), chunk):
        for update in det.feed(wav[lo : lo + chunk]):
            if isinstance(update, Event):
                emitted.append((update, det.samples))
            else:
                last = (update.start_frame + len(update.scores)) * 1024
                # Frames are final about one window after their audio.
                assert det.samples <= last + window + (det.margin + 1) * 1024
    assert len(emitted) > 5
    hop = det.hop_frames * FRAME_SAMPLES
    for event, fed in emitted:
        end = event.offset * SR
        assert fed <= end + hop + window + chunk
        assert fed <= end + window + (det.margin + 2) * 1024 + chunk


def test_memory_is_constant_over_an_hour(sed, monkeypatch):
    """An hour in 10 s chunks: every buffer stays bounded (the model is
    replaced by a cheap stand-in; its calls are counted)."""
    calls = []
    model = energy_model(sed)

    def fake_run(windows):
        calls.append(windows.shape[0])
        return model(windows)

    monkeypatch.setattr(sed, "_run_windows", fake_run)
    det = StreamingDetector(sed, hop_seconds=8.0)
    rng = np.random.default_rng(0)
    chunk = 10 * SR
    sizes, frames = [], 0
    for i in range(360):
        wav = rng.uniform(-0.1, 0.1, chunk).astype(np.float32) * (i % 7)
        for update in det.feed(wav):
            if isinstance(update, FrameScores):
                frames += len(update.scores)
        sizes.append(det.buffer_sizes)
    for update in det.flush():
        if isinstance(update, FrameScores):
            frames += len(update.scores)
    assert frames == -(-3600 * SR // 1024)
    # One window per hop, plus the last one.
    assert sum(calls) == (3600 - 10) // 8 + 1 + 1
    late = sizes[len(sizes) // 2 :]
    for key in sizes[0]:
        assert max(s[key] for s in late) <= max(s[key] for s in sizes[:20])
    biggest = {key: max(s[key] for s in sizes) for key in sizes[0]}
    assert biggest["audio_samples"] <= det.window_samples + chunk + 2048
    assert biggest["windows"] <= -(-det.window_frames // det.hop_frames) + 1
    assert biggest["merged_frames"] <= chunk // 1024 + 2 * det.margin + 2


def test_event_decoder_matches_offline_decoding(sed):
    """Stretch-by-stretch decoding equals scores_to_events on the whole."""
    rng = np.random.default_rng(4)
    scores = rng.uniform(0, 1, (300, 3)).astype(np.float32)
    scores[100:180, 1] = 0.9  # a long event across stretches
    for duration in (300 * 0.064, 299.5 * 0.064):
        dec = EventDecoder(CLASSES, np.full(3, 0.6), 0.064)
        found, start = [], 0
        for stop in sorted(rng.choice(np.arange(1, 300), 20, False)) + [300]:
            found += dec.push(start, scores[start:stop])
            start = stop
        found += dec.close(duration)
        frame = sed.scores_to_events(scores, duration, 0.6)
        want = frame[["onset", "offset", "event_label", "score"]]
        assert sorted(tuple(e) for e in found) == sorted(
            want.itertuples(index=False, name=None)
        )


def test_stream_file_and_stdin(sed, tmp_path, monkeypatch):
    """The CLI helpers give the offline events of a file / of raw PCM."""
    wav = recording(12.0, sample_rate=22050, channels=2, seed=8)
    path = tmp_path / "rec.wav"
    sf.write(path, wav, 22050, subtype="FLOAT")
    want = sed.detect_file(path, threshold=0.5)
    want = sorted(
        want[["onset", "offset", "event_label", "score"]].itertuples(
            index=False, name=None
        )
    )
    _, events = collect(stream_file(sed, path, chunk_seconds=0.7))
    assert_events_equal(events, want, tol=1e-4)
    ints = np.clip(wav * 32768, -32768, 32767).astype(np.int16)
    pcm = io.BytesIO(ints.astype("<i2").tobytes())
    monkeypatch.setattr(sed, "_run_windows", energy_model(sed))
    det = StreamingDetector(sed, input_rate=22050, channels=2)
    direct = det.feed(ints.astype(np.float32) / 32768) + det.flush()
    from_stdin = stream_stdin(
        sed, 22050, 2, "int16", chunk_seconds=0.3, source=pcm
    )
    found = collect(from_stdin)
    assert found[1] == collect(direct)[1] and len(found[1]) > 0
