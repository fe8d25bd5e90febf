"""``detect_files``: events of a list of files, going on after failures.

A tiny random ATSTSED (three classes, embed_dim 32, depth 1) in a model
folder scores good files around a file with a NaN sample and a missing
one: the bad files are reported with their name and problem, the good ones
get their events, score TSVs and PNGs. The ``detect`` command on the same
files exits with status 1 and lists the failures.

Authors
 * speechbrain-atst team 2026
"""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from speechbrain_atst.cli import main
from speechbrain_atst.inference import (
    EVENT_COLUMNS,
    SEDInterface,
    detect_files,
    write_events,
    write_model_folder,
)
from speechbrain_atst.lobes.atst_sed import ATSTSED

CLASSES = ["Dog", "Cat", "Speech"]
ARCH = {"embed_dim": 32, "depth": 1, "num_heads": 2}


def noise(seconds, seed=0, rate=16000):
    """Quiet float32 noise."""
    rng = np.random.default_rng(seed)
    return (0.05 * rng.standard_normal(int(seconds * rate))).astype(np.float32)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A model folder holding a tiny random ATSTSED."""
    torch.manual_seed(0)
    model = ATSTSED(n_classes=len(CLASSES), **ARCH)
    folder = tmp_path_factory.mktemp("tiny") / "model"
    return write_model_folder(
        model.state_dict(), folder, CLASSES, median_windows=3, **ARCH
    )


@pytest.fixture(scope="module")
def sed(model_dir):
    """The tiny model through ``SEDInterface``."""
    return SEDInterface.from_hparams(model_dir, run_opts={"device": "cpu"})


@pytest.fixture
def audio(tmp_path):
    """``a.wav`` (3 s), ``b_nan.wav`` (a NaN at 0.5 s), ``sub/c.flac``
    (2 s at 44.1 kHz), in that order, plus an absent ``d.wav``."""
    folder = tmp_path / "audio"
    (folder / "sub").mkdir(parents=True)
    sf.write(folder / "a.wav", noise(3.0), 16000)
    bad = noise(1.0, seed=1)
    bad[8000] = np.nan
    sf.write(folder / "b_nan.wav", bad, 16000, subtype="FLOAT")
    sf.write(folder / "sub" / "c.flac", noise(2.0, 2, 44100), 44100)
    return folder, [
        (folder / "a.wav", "a.wav"),
        (folder / "b_nan.wav", "b_nan.wav"),
        (folder / "sub" / "c.flac", "sub/c.flac"),
        (folder / "d.wav", "d.wav"),
    ]


def test_bad_files_are_reported_and_the_others_processed(sed, audio, tmp_path):
    folder, entries = audio
    seen, failed = [], []
    events, failures = detect_files(
        sed,
        entries,
        threshold=0.0,
        scores_dir=tmp_path / "scores",
        plot_dir=tmp_path / "plots",
        progress=lambda items: seen.extend(items) or items,
        on_failure=lambda path, err: failed.append((path.name, err)),
    )
    assert seen == [(path, name) for path, name in entries]
    assert [path for path, _ in failures] == [
        str(folder / "b_nan.wav"),
        str(folder / "d.wav"),
    ]
    nan_reason, missing_reason = (reason for _, reason in failures)
    assert "b_nan.wav" in nan_reason and "NaN or inf" in nan_reason
    assert nan_reason.startswith("ValueError: ")
    assert "d.wav" in missing_reason and "not found" in missing_reason
    assert [name for name, _ in failed] == ["b_nan.wav", "d.wav"]
    assert isinstance(failed[0][1], ValueError)

    # Threshold 0: every class is active over each whole good file.
    assert list(events.columns) == EVENT_COLUMNS
    assert sorted(set(events["filename"])) == ["a.wav", "sub/c.flac"]
    assert len(events) == 2 * len(CLASSES)
    ends = events.groupby("filename")["offset"].max()
    assert ends["a.wav"] == 3.0
    assert ends["sub/c.flac"] == pytest.approx(2.0)
    scores = sorted(p.name for p in (tmp_path / "scores").iterdir())
    assert scores == ["a.tsv", "sub__c.tsv"]
    plots = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert plots == ["a.png", "sub__c.png"]


def test_the_events_are_those_of_the_interface(sed, audio):
    folder, _ = audio
    events, failures = detect_files(sed, [folder / "a.wav"])
    assert failures == []
    want = sed.detect_file(folder / "a.wav")
    pd.testing.assert_frame_equal(events, want, check_dtype=False)


def test_nothing_processed_gives_an_empty_table(sed, tmp_path):
    events, failures = detect_files(sed, [tmp_path / "none.wav"])
    assert events.empty and list(events.columns) == EVENT_COLUMNS
    assert len(failures) == 1
    out = write_events(events, tmp_path / "out" / "events.tsv")
    assert list(pd.read_csv(out, sep="\t").columns) == EVENT_COLUMNS


def test_an_unknown_class_stops_before_any_file(sed, audio):
    _, entries = audio
    started = []
    with pytest.raises(KeyError, match="Cow"):
        detect_files(
            sed,
            entries,
            threshold={"Cow": 0.2},
            progress=lambda items: started.append(1) or items,
        )
    assert started == []


def test_detect_command_exits_1_and_lists_the_failures(
    model_dir, audio, tmp_path, capsys
):
    folder, _ = audio
    out = tmp_path / "events.tsv"
    argv = ["detect", str(folder), str(folder / "d.wav")]
    argv += ["--model", str(model_dir), "--out", str(out)]
    assert main([*argv, "--threshold", "0", "--device", "cpu"]) == 1
    captured = capsys.readouterr()
    summary = captured.err[captured.err.index("input(s) failed") :]
    assert "2 input(s) failed" in captured.err
    assert "b_nan.wav: ValueError" in summary and "NaN or inf" in summary
    assert "d.wav: FileNotFoundError" in summary
    assert "6 events in 2 file(s)" in captured.out
    events = pd.read_csv(out, sep="\t")
    assert sorted(set(events["filename"])) == ["a.wav", "sub/c.flac"]


def test_detect_stream_cli_prints_the_offline_events(
    model_dir, tmp_path, capsys, monkeypatch
):
    """``detect --stream``: events printed as TSV rows as they are final,
    equal to the offline events, for a file and for raw PCM on stdin; a
    bad input is reported and the others go on (exit status 1)."""
    import io
    import sys

    wav = noise(23.0, seed=5) * 10
    wav[16000 * 4 : 16000 * 9] *= 8  # a loud stretch: some events
    sf.write(tmp_path / "long.wav", wav, 16000)
    offline_tsv = tmp_path / "offline.tsv"
    assert (
        main(
            [
                "detect",
                str(tmp_path / "long.wav"),
                "--model",
                str(model_dir),
                "--out",
                str(offline_tsv),
            ]
        )
        == 0
    )
    offline = pd.read_csv(offline_tsv, sep="\t")
    capsys.readouterr()

    pcm = (np.clip(wav, -1, 1) * 32767).astype("<i2").tobytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(pcm)))
    stream_tsv = tmp_path / "stream.tsv"
    status = main(
        [
            "detect",
            str(tmp_path / "long.wav"),
            str(tmp_path / "none.wav"),
            "--model",
            str(model_dir),
            "--stream",
            "--chunk_seconds",
            "0.7",
            "--out",
            str(stream_tsv),
        ]
    )
    out, err = capsys.readouterr()
    assert status == 1 and "none.wav" in err
    printed = pd.read_csv(io.StringIO(out), sep="\t")
    streamed = pd.read_csv(stream_tsv, sep="\t")
    key = ["filename", "event_label", "onset"]
    assert len(offline) > 0
    pd.testing.assert_frame_equal(
        streamed.sort_values(key).reset_index(drop=True),
        offline.sort_values(key).reset_index(drop=True),
    )
    assert len(printed) == len(streamed)

    status = main(
        [
            "detect",
            "-",
            "--model",
            str(model_dir),
            "--stream",
            "--out",
            str(tmp_path / "stdin.tsv"),
        ]
    )
    stdin_events = pd.read_csv(tmp_path / "stdin.tsv", sep="\t")
    assert status == 0
    assert set(stdin_events.filename) == {"stdin"}
    assert len(stdin_events) == len(offline)
