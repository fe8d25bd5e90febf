"""Tests of the DESED preparation: manifests, splits, TSVs and errors.

Authors
 * speechbrain-atst team 2026
"""

import importlib.util
import json
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from speechbrain.dataio.dataio import load_data_json

from speechbrain_atst.cli import main as cli_main
from speechbrain_atst.data import DESED_LAYOUT
from speechbrain_atst.data.desed import (
    MANIFESTS,
    OPTIONS_FILE,
    prepare_desed,
    read_strong_tsv,
    read_weak_tsv,
)
from speechbrain_atst.data.synth import synthesize_mini_desed

REPO = Path(__file__).resolve().parents[2]
VALID = DESED_LAYOUT["validation"]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    data = tmp_path_factory.mktemp("desed")
    synthesize_mini_desed(data, scale=0.5, seed=3)
    save = tmp_path_factory.mktemp("manifests")
    return data, save, prepare_desed(data, save)


def _load(out, name):
    with open(out[name], encoding="utf-8") as fin:
        return json.load(fin)


def _tsv(data, name):
    return pd.read_csv(data / DESED_LAYOUT[name]["tsv"], sep="\t")


def test_all_outputs_written(prepared):
    _, save, out = prepared
    for name in MANIFESTS:
        assert Path(out[name]).is_file(), name
    for name in ("synth_valid", "strong_valid", "validation"):
        assert Path(out[f"{name}_gt"]).is_file()
        assert Path(out[f"{name}_durations"]).is_file()
    assert "missing_files" not in out
    assert (save / OPTIONS_FILE).is_file()


def test_counts_equal_tsv_counts(prepared):
    data, _, out = prepared
    for manifest, subset in [
        ("synth_train", "synth_train"),
        ("synth_valid", "synth_valid"),
        ("validation", "validation"),
    ]:
        assert (
            len(_load(out, manifest)) == _tsv(data, subset).filename.nunique()
        )
    n_strong = _tsv(data, "strong").filename.nunique()
    strong_train, strong_valid = (
        _load(out, "strong_train"),
        _load(out, "strong_valid"),
    )
    assert len(strong_train) + len(strong_valid) == n_strong
    assert not set(strong_train) & set(strong_valid)
    n_unlabeled = len(
        list((data / DESED_LAYOUT["unlabeled"]["audio"]).iterdir())
    )
    assert len(_load(out, "unlabeled")) == n_unlabeled


def test_weak_split_reproduces_pandas_sample(prepared):
    data, _, out = prepared
    weak = _tsv(data, "weak")
    train = weak.sample(frac=0.9, random_state=42)
    valid = weak.drop(train.index)
    stem = {f: f.rsplit(".", 1)[0] for f in weak.filename}
    assert set(_load(out, "weak_train")) == {stem[f] for f in train.filename}
    assert set(_load(out, "weak_valid")) == {stem[f] for f in valid.filename}
    assert len(_load(out, "weak_train")) == round(0.9 * len(weak))


def test_strong_split_sizes(prepared):
    data, _, out = prepared
    n = _tsv(data, "strong").filename.nunique()
    assert len(_load(out, "strong_train")) == round(0.9 * n)


def test_entries_match_the_tsvs(prepared):
    data, _, out = prepared
    validation = _load(out, "validation")
    truth = read_strong_tsv(data / VALID["tsv"])
    assert len(validation) == len(truth)
    for fname, events in truth.items():
        entry = validation[fname.rsplit(".", 1)[0]]
        assert entry["wav"] == "{data_root}/" + VALID["audio"] + "/" + fname
        assert entry["sample_rate"] == 16000
        info = sf.info(data / VALID["audio"] / fname)
        assert entry["duration"] == pytest.approx(info.frames / 16000)
        assert [tuple(e) for e in entry["events"]] == events
    assert any(e["events"] == [] for e in validation.values())
    assert any(e["duration"] < 10.0 for e in validation.values())
    weak = read_weak_tsv(data / DESED_LAYOUT["weak"]["tsv"])
    manifest = {**_load(out, "weak_train"), **_load(out, "weak_valid")}
    for fname, labels in weak.items():
        assert manifest[fname.rsplit(".", 1)[0]]["labels"] == labels
    for entry in _load(out, "unlabeled").values():
        assert set(entry) == {"wav", "duration", "sample_rate"}


def test_manifest_loads_in_speechbrain(prepared):
    data, _, out = prepared
    for name in MANIFESTS:
        entries = load_data_json(out[name], {"data_root": str(data)})
        for entry in entries.values():
            assert os.path.isfile(entry["wav"])


def test_eval_tsvs(prepared):
    from speechbrain_atst.evaluation.compat import sed_scores_eval

    io = sed_scores_eval().io

    data, _, out = prepared
    for name in ("synth_valid", "strong_valid", "validation"):
        manifest = _load(out, name)
        gt = io.read_ground_truth_events(out[f"{name}_gt"])
        durations = io.read_audio_durations(out[f"{name}_durations"])
        assert set(durations) == set(manifest)
        with_events = {k for k, v in manifest.items() if v["events"]}
        assert set(gt) == with_events  # event rows only
        for clip, events in gt.items():
            assert sorted(map(tuple, events)) == sorted(
                map(tuple, manifest[clip]["events"])
            )
            assert durations[clip] == pytest.approx(manifest[clip]["duration"])


def test_skips_when_up_to_date(prepared):
    data, save, out = prepared
    stamp = os.stat(out["validation"]).st_mtime_ns
    assert prepare_desed(data, save) == out
    assert os.stat(out["validation"]).st_mtime_ns == stamp


def test_reruns_when_options_change(prepared, tmp_path):
    data, _, _ = prepared
    out = prepare_desed(data, tmp_path, weak_split=0.5)
    assert len(_load(out, "weak_train")) == round(0.5 * len(_tsv(data, "weak")))
    out = prepare_desed(data, tmp_path, weak_split=1.0)
    assert _load(out, "weak_valid") == {}


# --- small hand-made trees for the error cases ------------------------------


def _tree(root, rows, wavs=("a.wav", "b.wav"), header=None, sr=16000):
    """A tree with only the validation set: tiny wavs and a strong TSV."""
    audio = root / VALID["audio"]
    audio.mkdir(parents=True, exist_ok=True)
    for name in wavs:
        sf.write(audio / name, np.zeros(sr // 2, np.float32), sr)
    tsv = root / VALID["tsv"]
    tsv.parent.mkdir(parents=True, exist_ok=True)
    header = header or "filename\tonset\toffset\tevent_label"
    tsv.write_text(header + "\n" + "".join(r + "\n" for r in rows), "utf-8")
    return tsv


@pytest.mark.parametrize(
    "row, message",
    [
        ("b.wav\t0.1\t0.3\tBird", "unknown event label 'Bird'"),
        ("b.wav\t0.4\t0.2\tDog", "onset 0.4 >= offset 0.2"),
        ("b.wav\tabc\t0.2\tDog", "cannot parse onset 'abc'"),
        ("b.wav\t0.1\t1,5\tDog", "cannot parse offset '1,5'"),
        ("b.wav\t0.1\tnan\tDog", "offset is 'nan'"),
        ("b.wav\t-0.1\t0.2\tDog", "negative onset"),
        ("b.wav\t0.1\t\tDog", "incomplete event"),
        ("b.wav\t0.1\t0.2\tDog\tCat", "5 fields for 4 columns"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, row, message):
    tsv = _tree(tmp_path, ["a.wav\t0.0\t0.5\tDog", row])
    with pytest.raises(ValueError) as err:
        prepare_desed(tmp_path, tmp_path / "save")
    text = str(err.value)
    assert str(tsv) in text and "line 3" in text and message in text


def test_missing_columns(tmp_path):
    tsv = _tree(tmp_path, ["a.wav 0.0 0.5 Dog"], header="filename onset")
    with pytest.raises(ValueError, match="line 1: missing column") as err:
        prepare_desed(tmp_path, tmp_path / "save")
    assert str(tsv) in str(err.value)


def test_weak_errors(tmp_path):
    path = tmp_path / "weak.tsv"
    path.write_text("filename\tevent_labels\na.wav\tDog,Bird\n")
    with pytest.raises(ValueError, match=r"weak.tsv, line 2: unknown .*Bird"):
        read_weak_tsv(path)
    path.write_text("filename\tevent_labels\na.wav\tDog\na.wav\tCat\n")
    with pytest.raises(ValueError, match="line 3: a.wav already listed"):
        read_weak_tsv(path)


def test_bom_crlf_whitespace_and_blank_lines(tmp_path):
    path = tmp_path / "x.tsv"
    path.write_bytes(
        b"\xef\xbb\xbffilename\tonset\toffset\tevent_label \r\n"
        b"a.wav\t0.000\t0.500 \tDog  \r\n\r\n"
        b"a.wav\t0.000\t0.500\tDog\r\n"  # duplicate event kept once
        b"b.wav\t\t\t\r\n"
        b"c.wav\r\n"
    )
    assert read_strong_tsv(path) == {
        "a.wav": [(0.0, 0.5, "Dog")],
        "b.wav": [],
        "c.wav": [],
    }
    weak = tmp_path / "w.tsv"
    weak.write_bytes(
        b"\xef\xbb\xbffilename\tevent_labels\r\na.wav\t Dog, Cat \r\n"
    )
    assert read_weak_tsv(weak) == {"a.wav": ["Dog", "Cat"]}


def test_missing_audio(tmp_path):
    rows = [
        "a.wav\t0.0\t0.5\tDog",
        "gone1.wav\t0.0\t0.5\tCat",
        "gone2.wav\t\t\t",
    ]
    _tree(tmp_path, rows)
    save = tmp_path / "save"
    with pytest.raises(FileNotFoundError) as err:
        prepare_desed(tmp_path, save)
    text = str(err.value)
    assert "2 audio files" in text and "gone1.wav" in text
    assert "--skip_missing" in text
    listed = (save / "missing_files.txt").read_text().split()
    assert listed == [
        f"{VALID['audio']}/gone1.wav",
        f"{VALID['audio']}/gone2.wav",
    ]
    assert not (save / OPTIONS_FILE).exists()

    out = prepare_desed(tmp_path, save, skip_missing=True)
    assert list(_load(out, "validation")) == ["a"]
    assert out["missing_files"] == str(save / "missing_files.txt")
    gt = pd.read_csv(out["validation_gt"], sep="\t")
    assert list(gt.filename) == ["a.wav"]


def test_validation_required_and_other_sets_optional(tmp_path, caplog):
    with pytest.raises(FileNotFoundError, match="validation set is required"):
        prepare_desed(tmp_path, tmp_path / "save")
    _tree(tmp_path, ["a.wav\t0.0\t0.5\tDog", "b.wav\t\t\t"])
    with caplog.at_level(logging.WARNING):
        out = prepare_desed(tmp_path, tmp_path / "save")
    assert "Skipping the weak set" in caplog.text
    assert set(out) == {"validation", "validation_gt", "validation_durations"}
    assert _load(out, "validation")["b"]["events"] == []


def test_other_sample_rates_recorded(tmp_path):
    _tree(tmp_path, ["a.wav\t0.0\t0.5\tDog"], wavs=("a.wav",), sr=44100)
    out = prepare_desed(tmp_path, tmp_path / "save")
    entry = _load(out, "validation")["a"]
    assert entry["sample_rate"] == 44100
    assert entry["duration"] == pytest.approx(0.5, abs=1e-4)


def test_corrupt_audio_named(tmp_path):
    _tree(tmp_path, ["a.wav\t0.0\t0.5\tDog"], wavs=())
    (tmp_path / VALID["audio"] / "a.wav").write_text("not audio")
    with pytest.raises(ValueError, match="a.wav"):
        prepare_desed(tmp_path, tmp_path / "save")


def test_fixed_strong_split_and_classes(tmp_path):
    _tree(tmp_path, ["a.wav\t0.0\t0.5\tDog"], wavs=("a.wav",))
    strong = tmp_path / DESED_LAYOUT["strong"]["audio"]
    strong.mkdir(parents=True)
    for name in ("s1.wav", "s2.wav", "s3.wav"):
        sf.write(strong / name, np.zeros(800, np.float32), 16000)
    head = "filename\tonset\toffset\tevent_label\n"
    (tmp_path / "tr.tsv").write_text(head + "s1.wav\t0\t0.05\tDog\n")
    (tmp_path / "va.tsv").write_text(head + "s2.wav\t0\t0.05\tCat\n")
    # audioset_strong.tsv may be absent when the split TSVs are given.
    out = prepare_desed(
        tmp_path,
        tmp_path / "save",
        classes="Dog,Cat",
        strong_train_tsv=tmp_path / "tr.tsv",
        strong_valid_tsv=tmp_path / "va.tsv",
    )
    assert list(_load(out, "strong_train")) == ["s1"]
    assert list(_load(out, "strong_valid")) == ["s2"]
    with pytest.raises(ValueError, match="unknown event label 'Dog'"):
        prepare_desed(tmp_path, tmp_path / "save2", classes="Cat")
    with pytest.raises(ValueError, match="both"):
        prepare_desed(tmp_path, tmp_path / "s3", strong_train_tsv="tr.tsv")


def test_cli_and_recipe_script(prepared, tmp_path, capsys):
    data, _, _ = prepared
    # Synthesized clips are not in ATST-SED's lists: random strong split.
    split = ["--strong_split_lists", "random"]
    assert cli_main(["prepare", str(data), str(tmp_path / "cli"), *split]) == 0
    assert "validation" in capsys.readouterr().out
    script = REPO / "recipes" / "DESED" / "SED" / "desed_prepare.py"
    spec = importlib.util.spec_from_file_location("desed_prepare", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.prepare_desed is prepare_desed
    argv = ["--data_folder", str(data), "--save_folder", str(tmp_path / "r")]
    assert module.main([*argv, *split]) == 0
    for name in MANIFESTS:
        assert (tmp_path / "r" / f"{name}.json").read_text() == (
            tmp_path / "cli" / f"{name}.json"
        ).read_text()


def test_reads_the_real_desed_validation_tsv(desed_validation_real):
    """The DESED validation metadata: 1168 clips, 4239 rows, 15 empty."""
    fixture = desed_validation_real
    clips = read_strong_tsv(fixture / "validation.tsv")
    assert len(clips) == 1168
    assert sum(len(ev) for ev in clips.values()) == 4239 - 15
    assert sum(1 for ev in clips.values() if not ev) == 15
    durations = pd.read_csv(fixture / "validation_durations.tsv", sep="\t")
    assert set(durations.filename) == set(clips)
