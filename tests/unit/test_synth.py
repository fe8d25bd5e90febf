"""Tests of the mini-DESED synthesizer: layout, formats, content, seeds.

Authors
 * speechbrain-atst team 2026
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from speechbrain_atst.cli import main as cli_main
from speechbrain_atst.data import DESED_LAYOUT
from speechbrain_atst.data.synth import SCALES, synthesize_mini_desed
from speechbrain_atst.labels import DESED_CLASSES

STRONG_SETS = ("synth_train", "strong", "synth_valid", "validation")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("desed")
    return synthesize_mini_desed(out_dir, scale="small", seed=0)


def _strong(summary, name):
    root = Path(summary["data_folder"])
    return pd.read_csv(root / DESED_LAYOUT[name]["tsv"], sep="\t")


def _wavs(summary, name):
    root = Path(summary["data_folder"])
    return sorted(
        p.name for p in (root / DESED_LAYOUT[name]["audio"]).iterdir()
    )


def test_layout_and_counts(small):
    root = Path(small["data_folder"])
    for name, spec in DESED_LAYOUT.items():
        assert len(_wavs(small, name)) == SCALES["small"][name]
        assert small["counts"][name] == SCALES["small"][name]
        for key in ("tsv", "durations"):
            if spec[key]:
                assert (root / spec[key]).is_file()
    assert not (root / "metadata/train/unlabel_in_domain.tsv").exists()
    # DESED-like names: numbered synthetic soundscapes, YouTube-style real.
    assert "0.wav" in _wavs(small, "synth_train")
    assert all(
        n.startswith("Y") and n.count("_") >= 2 for n in _wavs(small, "weak")
    )


def test_audio_format(small):
    root = Path(small["data_folder"])
    for name, spec in DESED_LAYOUT.items():
        for fname in _wavs(small, name)[:3]:
            info = sf.info(root / spec["audio"] / fname)
            assert info.samplerate == 16000 and info.channels == 1
            assert info.subtype == "PCM_16"


def test_strong_tsv_format(small):
    for name in STRONG_SETS:
        df = _strong(small, name)
        assert list(df.columns) == [
            "filename",
            "onset",
            "offset",
            "event_label",
        ]
        assert set(df["filename"]) == set(_wavs(small, name))
        events = df.dropna()
        assert set(events["event_label"]) <= set(DESED_CLASSES)
        assert (events["onset"] >= 0).all()
        assert (events["onset"] < events["offset"]).all()


def test_weak_tsv_format(small):
    root = Path(small["data_folder"])
    df = pd.read_csv(root / DESED_LAYOUT["weak"]["tsv"], sep="\t")
    assert list(df.columns) == ["filename", "event_labels"]
    assert set(df["filename"]) == set(_wavs(small, "weak"))
    labels = {lab for row in df["event_labels"] for lab in row.split(",")}
    assert labels == set(DESED_CLASSES)


def test_sed_scores_eval_reads_validation(small):
    from speechbrain_atst.evaluation.compat import sed_scores_eval

    io = sed_scores_eval().io

    root = Path(small["data_folder"])
    for name in ("validation", "synth_valid"):
        gt = io.read_ground_truth_events(root / DESED_LAYOUT[name]["tsv"])
        durations = io.read_audio_durations(
            root / DESED_LAYOUT[name]["durations"]
        )
        ids = {f.rsplit(".", 1)[0] for f in _wavs(small, name)}
        assert set(gt) == set(durations) == ids
        assert any(len(ev) == 0 for ev in gt.values())  # clips without events
        for clip, events in gt.items():
            for onset, offset, _ in events:
                assert 0 <= onset < offset <= durations[clip] + 1e-9


def test_durations_match_audio(small):
    root = Path(small["data_folder"])
    for name in ("validation", "synth_valid"):
        spec = DESED_LAYOUT[name]
        df = pd.read_csv(root / spec["durations"], sep="\t")
        for fname, duration in zip(df["filename"], df["duration"]):
            info = sf.info(root / spec["audio"] / fname)
            assert info.frames / info.samplerate == pytest.approx(duration)


def test_all_classes_in_every_labelled_set(small):
    for name in STRONG_SETS:
        assert set(_strong(small, name)["event_label"].dropna()) == set(
            DESED_CLASSES
        ), name


def test_short_and_empty_clips(small):
    root = Path(small["data_folder"])
    df = pd.read_csv(root / DESED_LAYOUT["validation"]["durations"], sep="\t")
    short = df[df["duration"] < 10.0]["duration"]
    assert len(short) >= 1 and (short >= 3.0).all() and (short < 9.91).all()
    for name in STRONG_SETS:
        df = _strong(small, name)
        empty = df[df["event_label"].isna()]
        assert len(empty) >= 1, name
        # An event-less clip has exactly one row, with all three empty.
        assert empty["onset"].isna().all() and empty["offset"].isna().all()
        assert not set(empty["filename"]) & set(df.dropna()["filename"])
    # Real-like sets have short clips, as the DESED validation set does.
    lengths = [
        sf.info(root / DESED_LAYOUT["strong"]["audio"] / f).duration
        for f in _wavs(small, "strong")
    ]
    assert min(lengths) < 10.0 and max(lengths) == 10.0


def test_events_must_be_localised(small):
    """Events do not span whole clips: a detector has to find boundaries."""
    df = pd.concat(
        [_strong(small, n).assign(subset=n) for n in STRONG_SETS]
    ).dropna()
    length = df["offset"] - df["onset"]
    full = (df["onset"] == 0) & (df["offset"] >= 9.99)
    assert full.mean() < 0.2
    medians = length.groupby(df["event_label"]).median()
    for label in ("Speech", "Dog", "Dishes", "Cat"):
        assert medians[label] < 2.5, label
    for label in ("Vacuum_cleaner", "Frying", "Running_water", "Blender"):
        assert medians[label] > medians["Dishes"] * 4, label
    # Overlapping events exist (of different classes only).
    overlaps = 0
    for _, clip in df.groupby(["subset", "filename"]):
        rows = clip.sort_values("onset").to_numpy()
        for i in range(len(rows)):
            for j in range(i + 1, len(rows)):
                if rows[j][1] < rows[i][2]:
                    overlaps += 1
                    assert rows[i][3] != rows[j][3]
    assert overlaps > 0


def test_events_are_audible(small):
    """Annotated spans are louder than the rest of the clip."""
    root = Path(small["data_folder"])
    df = _strong(small, "synth_train").dropna()
    ratios = []
    for fname, clip in df.groupby("filename"):
        wav, sr = sf.read(root / DESED_LAYOUT["synth_train"]["audio"] / fname)
        mask = np.zeros(len(wav), dtype=bool)
        for onset, offset in zip(clip["onset"], clip["offset"]):
            mask[int(onset * sr) : int(offset * sr)] = True
        if mask.mean() < 0.95:
            ratios.append(np.mean(wav[mask] ** 2) / np.mean(wav[~mask] ** 2))
    assert np.median(ratios) > 4.0  # more than 6 dB


def test_deterministic_for_a_seed(tmp_path):
    a = synthesize_mini_desed(tmp_path / "a", scale=0.25, seed=7)
    b = synthesize_mini_desed(tmp_path / "b", scale=0.25, seed=7)
    c = synthesize_mini_desed(tmp_path / "c", scale=0.25, seed=8)
    files = sorted(
        p.relative_to(tmp_path / "a")
        for p in (tmp_path / "a").rglob("*")
        if p.is_file()
    )
    assert len(files) > 30
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (
            tmp_path / "b" / rel
        ).read_bytes(), rel
    # Another seed: other audio (compared where names agree) and labels.
    synth = tmp_path / "a" / DESED_LAYOUT["synth_train"]["audio"]
    for wav in synth.iterdir():
        other = tmp_path / "c" / wav.relative_to(tmp_path / "a")
        assert wav.read_bytes() != other.read_bytes()
    tsv = DESED_LAYOUT["validation"]["tsv"]
    assert (tmp_path / "a" / tsv).read_text() != (
        tmp_path / "c" / tsv
    ).read_text()
    assert a["counts"] == b["counts"] == c["counts"]


def test_refuses_to_mix_with_existing_data(tmp_path):
    synthesize_mini_desed(tmp_path, scale=0.1)
    with pytest.raises(FileExistsError, match="overwrite"):
        synthesize_mini_desed(tmp_path, scale=0.1, seed=1)
    out = synthesize_mini_desed(tmp_path, scale=0.1, seed=1, overwrite=True)
    assert len(_wavs(out, "weak")) == out["counts"]["weak"]


def test_class_subset_and_bad_arguments(tmp_path):
    out = synthesize_mini_desed(tmp_path / "a", scale=0.2, classes="Dog,Cat")
    labels = set(_strong(out, "synth_train")["event_label"].dropna())
    assert labels == {"Dog", "Cat"}
    with pytest.raises(ValueError, match="No synthesizer"):
        synthesize_mini_desed(tmp_path / "b", classes="Dog,Bird")
    with pytest.raises(ValueError, match="Unknown scale"):
        synthesize_mini_desed(tmp_path / "c", scale="huge")
    with pytest.raises(ValueError, match="positive"):
        synthesize_mini_desed(tmp_path / "d", scale=-1)


def test_cli_synth(tmp_path, capsys):
    assert (
        cli_main(["synth", str(tmp_path), "--scale", "0.1", "--seed", "3"]) == 0
    )
    assert "validation" in capsys.readouterr().out
    assert (tmp_path / DESED_LAYOUT["validation"]["tsv"]).is_file()
    assert (tmp_path / "synth_info.json").is_file()
