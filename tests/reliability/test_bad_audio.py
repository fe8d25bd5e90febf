"""Broken and unusual audio through reading, preparation, training data
loading, ``SEDInterface`` and ``speechbrain-atst detect``.

Every broken file is either read (unusual but valid audio: any channel
count, rate and length) or refused with an error that names the file and
the problem; the ``detect`` command reports each failed file and carries
on with the others, then exits with status 1.

Authors
 * speechbrain-atst team 2026
"""

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from conftest import CLASSES, noise

from speechbrain_atst.cli import main as cli_main
from speechbrain_atst.data import DESED_LAYOUT
from speechbrain_atst.data.audio import audio_info, read_audio
from speechbrain_atst.data.desed import prepare_desed
from speechbrain_atst.features import ATSTFrontEnd, CNNFrontEnd
from speechbrain_atst.inference import SEDInterface
from speechbrain_atst.labels import ManyHotEncoder
from speechbrain_atst.training.dataio import make_dataset

BAD_KINDS = [
    "missing",
    "empty",
    "no_samples",
    "header_cut",
    "data_cut",
    "zero_channels",
    "text",
    "random_bytes",
    "nan",
    "inf",
]


def _problem(bad_audio, kind):
    """``(path, exception, regex naming the file and the problem)``."""
    path, exc, problem = bad_audio[kind]
    return path, exc, f"(?s)(?=.*{re.escape(str(path))})(?=.*({problem}))"


# --------------------------------------------------------------- reading ---
@pytest.mark.parametrize("kind", BAD_KINDS)
def test_read_audio_names_file_and_problem(bad_audio, kind):
    path, exc, match = _problem(bad_audio, kind)
    with pytest.raises(exc, match=match):
        read_audio(path)
    if kind not in ("nan", "inf"):  # samples are not in the header
        with pytest.raises(exc, match=match):
            audio_info(path)


def test_odd_but_valid_audio_is_mono_16k(odd_audio):
    for name, (path, seconds) in odd_audio.items():
        wav = read_audio(path)
        assert wav.dtype == torch.float32 and wav.dim() == 1, name
        assert abs(wav.shape[0] - seconds * 16000) <= 1, name
        assert bool(torch.isfinite(wav).all()), name
        info = audio_info(path)
        assert abs(info.duration - seconds) < 1e-3, name


def test_multichannel_is_the_channel_average(tmp_path):
    x = noise(0.5, rate=48000, channels=8, seed=4)
    sf.write(tmp_path / "a.wav", x, 48000, subtype="FLOAT")
    sf.write(tmp_path / "b.wav", x.mean(1), 48000, subtype="FLOAT")
    a, b = read_audio(tmp_path / "a.wav"), read_audio(tmp_path / "b.wav")
    assert a.shape == (8000,)
    torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


# ----------------------------------------------------------- preparation ---
def _validation_tree(root, names):
    """A DESED tree holding only a validation set of 1 s clips."""
    spec = DESED_LAYOUT["validation"]
    audio = root / spec["audio"]
    audio.mkdir(parents=True)
    rows = ["filename\tonset\toffset\tevent_label"]
    for i, name in enumerate(names):
        sf.write(audio / name, noise(1.0, seed=i), 16000)
        rows.append(f"{name}\t0.1\t0.5\t{CLASSES[i % 3]}")
    tsv = root / spec["tsv"]
    tsv.parent.mkdir(parents=True)
    tsv.write_text("\n".join(rows) + "\n")
    return audio, tsv


def test_prepare_reports_every_unreadable_file(tmp_path, bad_audio, caplog):
    kinds = ["empty", "no_samples", "header_cut", "data_cut", "text"]
    names = ["ok1.wav", "ok2.wav"] + [bad_audio[k][0].name for k in kinds]
    audio, _ = _validation_tree(tmp_path / "data", names)
    for kind in kinds:
        shutil.copy(bad_audio[kind][0], audio / bad_audio[kind][0].name)
    save = tmp_path / "save"
    with pytest.raises(ValueError, match="5 audio files") as err:
        prepare_desed(tmp_path / "data", save, classes=CLASSES)
    # The message shows the first problems; the list holds all of them.
    assert str(audio / "empty.wav") in str(err.value)
    assert "skip_missing=True" in str(err.value)
    listed = (save / "unreadable_files.txt").read_text().splitlines()
    assert len(listed) == 5
    for kind, line in zip(kinds, listed):
        path, _, problem = bad_audio[kind]
        assert line.startswith(f"{DESED_LAYOUT['validation']['audio']}/")
        assert path.name in line and re.search(problem, line), line
    assert not (save / "validation.json").exists()

    with caplog.at_level("WARNING"):
        out = prepare_desed(
            tmp_path / "data", save, classes=CLASSES, skip_missing=True
        )
    assert "Leaving out 5 unreadable audio files" in caplog.text
    kept = json.loads(open(out["validation"]).read())
    assert sorted(kept) == ["ok1", "ok2"]
    gt = pd.read_csv(out["validation_gt"], sep="\t")
    assert sorted(gt.filename) == ["ok1.wav", "ok2.wav"]
    # A file repaired in place (same file count) is picked up on rerun.
    sf.write(audio / "empty.wav", noise(1.0), 16000)
    out = prepare_desed(
        tmp_path / "data", save, classes=CLASSES, skip_missing=True
    )
    kept = json.loads(open(out["validation"]).read())
    assert sorted(kept) == ["empty", "ok1", "ok2"]


def test_nan_audio_passes_preparation_and_fails_on_load(
    tmp_path, bad_audio, odd_audio
):
    """Preparation reads headers only (documented); loading names the file."""
    names = ["ok.wav", "nan.wav", "ch8.wav", "sr48000.wav", "short.wav"]
    audio, _ = _validation_tree(tmp_path / "data", names)
    shutil.copy(bad_audio["nan"][0], audio / "nan.wav")
    for name in names[2:]:
        shutil.copy(odd_audio[name][0], audio / name)
    out = prepare_desed(tmp_path / "data", tmp_path / "save", classes=CLASSES)
    manifest = json.loads(open(out["validation"]).read())
    assert manifest["sr48000"]["sample_rate"] == 48000
    assert manifest["short"]["duration"] == pytest.approx(0.1)
    # Its event (0.1-0.5 s) starts at the end of the 0.1 s clip: dropped.
    assert manifest["short"]["events"] == []
    dataset = make_dataset(
        out["validation"],
        "strong",
        ManyHotEncoder(CLASSES),
        tmp_path / "data",
        train=True,
    )
    index = {item_id: i for i, item_id in enumerate(dataset.data_ids)}
    for name in ("ok", "ch8", "sr48000", "short"):
        item = dataset[index[name]]
        assert item["sig"].shape == (160000,)
        assert bool(torch.isfinite(item["sig"]).all())
    match = re.escape(str(audio / "nan.wav")) + ".*NaN or inf"
    with pytest.raises(ValueError, match=match):
        dataset[index["nan"]]


@pytest.mark.parametrize("kind", ["missing", "empty", "data_cut", "text"])
def test_training_pipeline_names_a_file_broken_after_preparation(
    tmp_path, bad_audio, kind
):
    names = ["a.wav", "b.wav"]
    audio, _ = _validation_tree(tmp_path / "data", names)
    out = prepare_desed(tmp_path / "data", tmp_path / "save", classes=CLASSES)
    path, exc, problem = bad_audio[kind]
    if kind == "missing":
        (audio / "b.wav").unlink()
    else:
        shutil.copy(path, audio / "b.wav")
    dataset = make_dataset(
        out["validation"],
        "strong",
        ManyHotEncoder(CLASSES),
        tmp_path / "data",
        train=True,
    )
    assert dataset[0]["sig"].shape == (160000,)
    with pytest.raises(exc, match=re.escape(str(audio / "b.wav"))):
        dataset[1]


def test_training_pipeline_crops_an_hour_long_file(tmp_path, long_audio):
    """A 1 h unlabeled clip: random 10 s crops, read without decoding all."""
    path, seconds = long_audio
    manifest = tmp_path / "unlabeled.json"
    manifest.write_text(
        json.dumps({"long": {"wav": str(path), "duration": seconds}})
    )
    dataset = make_dataset(
        str(manifest), "unlabeled", ManyHotEncoder(CLASSES), "", train=True
    )
    torch.manual_seed(1)
    starts = set()
    for _ in range(3):
        item = dataset[0]
        assert item["sig"].shape == (160000,)
        starts.add(int(item["crop_start"]))
    assert len(starts) == 3 and max(starts) <= seconds * 16000 - 160000


# ------------------------------------------------------------- inference ---
@pytest.mark.parametrize("kind", BAD_KINDS)
def test_detect_file_names_file_and_problem(tiny_sed, bad_audio, kind):
    path, exc, match = _problem(bad_audio, kind)
    with pytest.raises(exc, match=match):
        tiny_sed.detect_file(path)


def test_detect_batch_refuses_non_finite_waveforms(tiny_sed):
    wavs = torch.zeros(2, 16000)
    wavs[1, 5] = float("nan")
    with pytest.raises(ValueError, match="Waveform 1 .* NaN or inf"):
        tiny_sed.detect_batch(wavs)


def test_overflowing_samples_never_give_silent_nan_scores(tiny_sed, tmp_path):
    """Finite float samples of 1e20 overflow the float32 spectrogram: an
    error naming the file, not NaN scores that decode to no event."""
    path = tmp_path / "huge.wav"
    sf.write(path, noise(1.0) * 2e21, 16000, subtype="FLOAT")
    assert bool(torch.isfinite(read_audio(path)).all())
    match = re.escape(str(path)) + r".*NaN or inf scores .*magnitude"
    for method in (tiny_sed.detect_file, tiny_sed.scores_file):
        with pytest.raises(ValueError, match=match):
            method(path)


def test_detect_file_on_odd_audio(tiny_sed, odd_audio):
    for name, (path, seconds) in odd_audio.items():
        scores = tiny_sed.scores_file(path)
        assert scores["offset"].iloc[-1] == pytest.approx(seconds, abs=1e-6)
        assert np.isfinite(scores[CLASSES].to_numpy()).all(), name
        events = tiny_sed.detect_file(path)
        assert (events["filename"] == path.name).all()
        assert (events["offset"] <= seconds + 1e-6).all(), name


def test_detect_cli_reports_failures_and_carries_on(
    tmp_path, tiny_model_dir, bad_audio, odd_audio, capsys
):
    folder = tmp_path / "inputs"
    folder.mkdir()
    # Bad files sort between good ones: the command must go on after them.
    order = ["a_ok.wav", "b_empty.wav", "c_text.wav", "d_ok.wav", "e_nan.wav"]
    sf.write(folder / order[0], noise(3.0), 16000)
    shutil.copy(bad_audio["empty"][0], folder / order[1])
    shutil.copy(bad_audio["text"][0], folder / order[2])
    shutil.copy(odd_audio["sr44100.flac"][0], folder / "d_ok.flac")
    shutil.copy(bad_audio["nan"][0], folder / order[4])
    (folder / "f_broken_link.wav").symlink_to(folder / "nowhere.wav")
    out = tmp_path / "events.tsv"
    code = cli_main(
        [
            "detect",
            str(folder),
            str(tmp_path / "absent.wav"),
            "--model",
            str(tiny_model_dir),
            "--out",
            str(out),
            "--scores_dir",
            str(tmp_path / "scores"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    summary = err[err.index("input(s) failed") :]
    assert "5 input(s) failed" in err
    for name, problem in (
        ("b_empty.wav", "empty"),
        ("c_text.wav", "not audio"),
        ("e_nan.wav", "NaN or inf"),
        ("f_broken_link.wav", "not found"),
        ("absent.wav", "not found"),
    ):
        assert re.search(re.escape(name) + ".*" + problem, summary), name
    scores = sorted(p.name for p in (tmp_path / "scores").iterdir())
    assert scores == ["a_ok.tsv", "d_ok.tsv"]
    events = pd.read_csv(out, sep="\t")
    assert set(events.filename) <= {"a_ok.wav", "d_ok.flac"}


def test_detect_cli_bad_model_exits_2(tmp_path, odd_audio, capsys):
    code = cli_main(
        [
            "detect",
            str(odd_audio["ch1.wav"][0]),
            "--model",
            str(tmp_path / "no_such_model"),
        ]
    )
    assert code == 2
    assert "Model folder not found" in capsys.readouterr().err


# ------------------------------------------------------------ long audio ---
@pytest.fixture(scope="module")
def long_audio(tmp_path_factory):
    """One hour of 16 kHz noise written in chunks (115 MB), with a loud
    burst at 1800.0-1805.0 s."""
    path = tmp_path_factory.mktemp("long") / "hour.wav"
    rate, seconds = 16000, 3600
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", rate, 1, subtype="PCM_16") as fout:
        chunk = rate * 60
        for minute in range(seconds // 60):
            x = 0.01 * rng.standard_normal(chunk).astype(np.float32)
            if minute == 30:
                x[: 5 * rate] *= 40
            fout.write(x)
    return path, float(seconds)


class FrameLoudness(torch.nn.Module):
    """A stand-in for the network: one score per 64 ms frame, rising with
    the frame's loudness (cheap enough for an hour of audio)."""

    def forward(self, wav):
        """Mean absolute value of each 1024-sample frame, ``[B, 1, T]``."""
        frames = wav.shape[-1] // 1024
        x = wav[:, : frames * 1024].reshape(wav.shape[0], frames, 1024)
        return x.abs().mean(-1)[:, None]


class LoudnessModel(torch.nn.Module):
    """``(strong, weak)`` from :class:`FrameLoudness` features."""

    def forward(self, cnn_feats, atst_feats=None):
        """Scores close to 1 for loud frames, 0 for quiet ones."""
        loud = torch.sigmoid(200 * (cnn_feats[:, 0] - 0.1))  # [B, T]
        strong = torch.stack([loud, 1 - loud, 0 * loud], dim=-1)
        return strong, strong.mean(1)


def _stub_interface():
    """An SEDInterface whose front-ends and model cost almost nothing."""
    return SEDInterface(
        modules={
            "cnn_frontend": FrameLoudness(),
            "atst_frontend": FrameLoudness(),
            "model": LoudnessModel(),
        },
        hparams={
            "sample_rate": 16000,
            "classes": CLASSES,
            "median_windows": 1,
            "threshold": 0.5,
            "window_seconds": 10.0,
            "hop_seconds": 8.0,
            "batch_size": 32,
        },
        run_opts={"device": "cpu"},
    )


def test_one_hour_file_on_the_global_grid(long_audio):
    """An hour-long file: every frame scored once on the 64 ms grid, the
    burst found where it is, with constant memory per window."""
    path, seconds = long_audio
    info = audio_info(path)
    assert info.duration == seconds
    sed = _stub_interface()
    scores = sed.scores_file(path)
    assert len(scores) == int(np.ceil(seconds * 16000 / 1024))
    assert scores["offset"].iloc[-1] == pytest.approx(seconds)
    events = sed.detect_file(path)
    alarm = events[events.event_label == CLASSES[0]]
    assert len(alarm) == 1
    assert alarm.onset.iloc[0] == pytest.approx(1800.0, abs=0.07)
    assert alarm.offset.iloc[0] == pytest.approx(1805.0, abs=0.07)
    # The complementary class covers the rest of the hour in two events.
    quiet = events[events.event_label == CLASSES[1]]
    assert list(quiet.onset.round(1)) == [0.0, 1805.0]


def test_real_model_on_three_minutes(tmp_path, tiny_sed):
    """Minutes of audio through the real network (23 windows): every
    frame on the global grid, and the frames that only one window covers
    equal the network's output on that window."""
    x = noise(180.0, seed=5)
    x[16000 * 100 : 16000 * 130] *= 20
    path = tmp_path / "three_minutes.wav"
    sf.write(path, x, 16000, subtype="FLOAT")
    raw = tiny_sed.frame_scores_file(path, median=False)
    assert raw.shape == (int(np.ceil(180 * 16000 / 1024)), len(CLASSES))
    assert np.isfinite(raw).all()
    wav = read_audio(path)
    hop = tiny_sed.hop_frames  # 125 frames: windows start every 8 s
    for k in (0, 5):
        start = k * hop
        window = wav[None, start * 1024 : start * 1024 + 160000]
        with torch.inference_mode():
            strong, _ = tiny_sed.mods.model(
                CNNFrontEnd()(window), ATSTFrontEnd()(window)
            )
        alone = slice(0 if k == 0 else 156 - hop, hop)  # one window only
        np.testing.assert_allclose(
            raw[start + alone.start : start + alone.stop],
            strong[0, alone].numpy(),
            atol=1e-5,
        )
