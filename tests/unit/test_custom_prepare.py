"""Tests of the preparation of a user's own dataset (``prepare-custom``).

Authors
 * speechbrain-atst team 2026
"""

import json
import logging
import os
import random
import shutil

import numpy as np
import pytest
import soundfile as sf
from speechbrain.dataio.dataio import load_data_json

from speechbrain_atst.cli import main as cli_main
from speechbrain_atst.data.custom import (
    CustomDataError,
    list_audio_files,
    prepare_custom,
    stratified_split,
)
from speechbrain_atst.evaluation import read_durations, read_ground_truth

HEADER = "filename\tonset\toffset\tevent_label\n"
WEAK_HEADER = "filename\tevent_labels\n"
#: Strong files: name -> (seconds, rate, channels, events).
STRONG_AUDIO = {
    "site1/s0.wav": (4, 16000, 1, [(0.5, 1.5, "Dog"), (2, 3, "Cat")]),
    "site1/s1.flac": (2, 44100, 2, [(0, 1, "Dog")]),
    "site2/s2.wav": (3, 22050, 1, [(1, 2.5, "Cat")]),
    "site2/s3.wav": (5, 8000, 2, [(0, 1, "Bird"), (1, 4, "Dog")]),
    "s4.wav": (6, 16000, 1, [(2, 3, "Bird"), (4, 6.5, "Cat")]),
    "s5.wav": (2, 16000, 1, []),
    "s6.wav": (2, 8000, 1, [(0, 2, "Dog")]),
    "s7.flac": (1, 16000, 1, [(0, 0.5, "Horn")]),
    "s8.wav": (1, 8000, 1, [(0, 1, "Cat")]),
    "s9.wav": (1, 8000, 1, [(0.2, 0.8, "Bird")]),
}
#: Weak files: name -> (seconds, rate, channels, labels).
WEAK_AUDIO = {
    "w0.wav": (12, 8000, 1, "Dog,Cat"),
    "w1.flac": (2, 16000, 2, "Bird"),
    "w2.wav": (1, 8000, 1, ""),
}
UNLABELED_AUDIO = {"u0.wav": (1, 8000, 1), "sub/u1.flac": (2, 22050, 2)}


def _wav(path, seconds, rate=8000, channels=1):
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (int(seconds * rate), channels) if channels > 1 else seconds * rate
    sf.write(path, np.zeros(shape, dtype=np.float32), rate)


def _strong_tsv(path, audio):
    rows = []
    for name, (*_, events) in audio.items():
        rows += [f"{name}\t{on}\t{off}\t{lab}\n" for on, off, lab in events]
        rows += [] if events else [f"{name}\n"]
    path.write_text(HEADER + "".join(rows))
    return path


@pytest.fixture
def data(tmp_path):
    """Audio folder (strong, weak and unlabeled files) and label TSVs."""
    audio = tmp_path / "audio"
    for name, (seconds, rate, channels, _) in STRONG_AUDIO.items():
        _wav(audio / name, seconds, rate, channels)
    for name, (seconds, rate, channels, _) in WEAK_AUDIO.items():
        _wav(audio / name, seconds, rate, channels)
    for name, (seconds, rate, channels) in UNLABELED_AUDIO.items():
        _wav(audio / name, seconds, rate, channels)
    (audio / "._u0.wav").write_bytes(b"\x00\x05macOS")  # hidden: ignored
    (audio / "notes.txt").write_text("not audio")
    strong = _strong_tsv(tmp_path / "strong.tsv", STRONG_AUDIO)
    weak = tmp_path / "weak.tsv"
    weak.write_text(
        WEAK_HEADER + "".join(f"{n}\t{v[3]}\n" for n, v in WEAK_AUDIO.items())
    )
    return {
        "root": tmp_path,
        "audio": audio,
        "strong": strong,
        "weak": weak,
        "out": tmp_path / "prepared",
    }


def _load(folder, name):
    with open(folder / name, encoding="utf-8") as fin:
        return json.load(fin)


def _classes_of(manifest):
    return {e[2] for entry in manifest.values() for e in entry["events"]}


def _assert_clean(parent, out):
    """Nothing of a failed run: no output folder, no temporary folder."""
    assert not out.exists()
    assert not [p.name for p in parent.iterdir() if p.name.startswith(".")]


# ---------------------------------------------------------------------------
# Happy paths
# ---------------------------------------------------------------------------


def test_full_preparation(data, caplog):
    with caplog.at_level(logging.WARNING):
        summary = prepare_custom(
            data["out"],
            [data["audio"]],
            strong=data["strong"],
            weak=data["weak"],
            unlabeled_dir=data["audio"],
        )
    out = data["out"]
    assert summary == _load(out, "dataset.json")
    assert summary["classes"] == ["Bird", "Cat", "Dog", "Horn"]
    assert (out / "classes.txt").read_text() == "Bird\nCat\nDog\nHorn\n"
    assert sorted(p.name for p in out.iterdir()) == [
        "classes.txt",
        "dataset.json",
        "strong_train.json",
        "unlabeled.json",
        "valid.json",
        "valid_durations.tsv",
        "valid_gt.tsv",
        "weak_train.json",
    ]
    train, valid = _load(out, "strong_train.json"), _load(out, "valid.json")
    ids = {name.rsplit(".", 1)[0] for name in STRONG_AUDIO}
    assert set(train) | set(valid) == ids and not set(train) & set(valid)
    # Stratified: every class of two files or more in both parts.
    assert _classes_of(valid) == {"Bird", "Cat", "Dog"}
    assert _classes_of(train) == {"Bird", "Cat", "Dog", "Horn"}
    assert len(valid) == 2
    entries = {**train, **valid}
    s1 = entries["site1/s1"]
    assert s1 == {
        "wav": str(data["audio"] / "site1/s1.flac"),
        "duration": 2.0,
        "sample_rate": 44100,
        "channels": 2,
        "events": [[0.0, 1.0, "Dog"]],
    }
    assert entries["s5"]["events"] == []
    assert entries["s4"]["events"] == [[2.0, 3.0, "Bird"], [4.0, 6.0, "Cat"]]
    cut = [r for r in caplog.records if "past the end" in r.getMessage()]
    assert len(cut) == 1 and "1 events" in cut[0].getMessage()
    weak = _load(out, "weak_train.json")
    assert weak["w0"]["labels"] == ["Dog", "Cat"]
    assert weak["w2"]["labels"] == []
    assert weak["w1"]["channels"] == 2 and "events" not in weak["w1"]
    unlabeled = _load(out, "unlabeled.json")
    assert sorted(unlabeled) == ["sub/u1", "u0"]
    assert set(unlabeled["u0"]) == {
        "wav",
        "duration",
        "sample_rate",
        "channels",
    }
    # Summary.
    assert summary["subsets"]["strong_train"]["files"] == 8
    assert summary["subsets"]["unlabeled"] == {"files": 2, "hours": 0.000833}
    dog = summary["per_class"]["Dog"]
    assert dog["strong_train_files"] + dog["valid_files"] == 4
    assert dog["weak_train_files"] == 1
    assert summary["per_class"]["Horn"]["valid_files"] == 0
    assert sum(summary["sample_rates"].values()) == 15
    assert summary["sample_rates"]["8000"] == 7
    assert summary["channels"] == {"1": 11, "2": 4}
    assert summary["options"]["seed"] == 42
    assert summary["version"] == 1


def test_valid_tsvs_read_back(data):
    prepare_custom(data["out"], data["audio"], strong=data["strong"])
    valid = _load(data["out"], "valid.json")
    gt = read_ground_truth(str(data["out"] / "valid_gt.tsv"))
    durations = read_durations(str(data["out"] / "valid_durations.tsv"))
    assert set(durations) == set(valid)
    for clip, entry in valid.items():
        assert durations[clip] == entry["duration"]
        events = [tuple(e) for e in entry["events"]]
        assert gt.get(clip, []) == events
    header = (data["out"] / "valid_gt.tsv").read_text().splitlines()[0]
    assert header == "filename\tonset\toffset\tevent_label"
    first = (data["out"] / "valid_gt.tsv").read_text().splitlines()[1]
    assert first.split("\t")[0] in STRONG_AUDIO  # with its extension


def test_split_is_deterministic(data):
    runs = []
    for seed in (42, 42, 7):
        out = data["root"] / f"out{len(runs)}"
        prepare_custom(out, data["audio"], strong=data["strong"], seed=seed)
        runs.append(sorted(_load(out, "valid.json")))
    assert runs[0] == runs[1]
    assert all(len(r) == 2 for r in runs)


def test_stratified_split_keeps_classes_in_both_parts():
    rng = random.Random(0)
    classes = [f"c{i}" for i in range(6)]
    for trial in range(30):
        files = {
            f"f{i}": set(rng.sample(classes, rng.randint(0, 3)))
            for i in range(rng.randint(2, 25))
        }
        train, valid = stratified_split(files, 0.2, seed=trial)
        assert sorted(train + valid) == sorted(files)
        assert valid, files
        assert train == [f for f in files if f in train]  # input order
        for cls in classes:
            holders = [f for f in files if cls in files[f]]
            in_train = [f for f in holders if f in train]
            assert len(holders) == 0 or in_train  # never lost for training
            if len(holders) >= 2:
                # In both parts unless every file holding it is needed in
                # training by a class of a single file.
                assert len(in_train) < len(holders) or all(
                    any(
                        sum(c in files[g] for g in files) == 1 for c in files[f]
                    )
                    for f in holders
                )
        assert stratified_split(files, 0.2, seed=trial) == (train, valid)
    assert stratified_split({"a": {"x"}}, 0.5) == (["a"], [])
    assert stratified_split({"a": set(), "b": set()}, 0.0) == (["a", "b"], [])
    with pytest.raises(ValueError, match="valid_fraction"):
        stratified_split({"a": set()}, 1.0)


def test_strong_only(data):
    summary = prepare_custom(
        data["out"], data["audio"], strong=data["strong"], valid_fraction=0.3
    )
    assert sorted(summary["subsets"]) == ["strong_train", "valid"]
    assert summary["subsets"]["valid"]["files"] == 3
    assert not (data["out"] / "weak_train.json").exists()
    assert not (data["out"] / "unlabeled.json").exists()


def test_weak_and_unlabeled_only(data):
    unlabeled = data["root"] / "unlabeled"
    _wav(unlabeled / "deep/x.ogg", 1, 16000)
    _wav(unlabeled / "y.wav", 2, 8000)
    summary = prepare_custom(
        data["out"],
        data["audio"],
        weak=data["weak"],
        unlabeled_dir=unlabeled,
    )
    assert sorted(summary["subsets"]) == ["unlabeled", "weak_train"]
    assert summary["classes"] == ["Bird", "Cat", "Dog"]
    assert sorted(_load(data["out"], "unlabeled.json")) == ["deep/x", "y"]
    assert not (data["out"] / "valid.json").exists()
    assert not (data["out"] / "valid_gt.tsv").exists()
    assert any("no validation set" in n for n in summary["notes"])


def test_valid_set_given(data):
    valid_audio = data["root"] / "valid_audio"
    _wav(valid_audio / "v0.wav", 3, 16000, 2)
    _wav(valid_audio / "v1.flac", 2, 22050)
    valid_tsv = data["root"] / "valid.tsv"
    valid_tsv.write_text(
        HEADER + "v0.wav\t0.5\t1\tDog\nv0.wav\t1\t2\tCat\nv1.flac\n"
    )
    summary = prepare_custom(
        data["out"],
        data["audio"],
        strong=data["strong"],
        valid_strong=valid_tsv,
        valid_audio_dir=valid_audio,
    )
    assert summary["subsets"]["strong_train"]["files"] == len(STRONG_AUDIO)
    valid = _load(data["out"], "valid.json")
    assert sorted(valid) == ["v0", "v1"]
    assert valid["v0"]["wav"] == str(valid_audio / "v0.wav")
    assert read_durations(str(data["out"] / "valid_durations.tsv")) == {
        "v0": 3.0,
        "v1": 2.0,
    }
    assert summary["per_class"]["Dog"]["valid_events"] == 1
    assert any("valid_fraction not used" in n for n in summary["notes"])


def test_weak_with_valid_set(data):
    valid_tsv = _strong_tsv(
        data["root"] / "valid.tsv", {"s0.wav": STRONG_AUDIO["site1/s0.wav"]}
    )
    _wav(data["root"] / "va/s0.wav", 4, 16000)
    summary = prepare_custom(
        data["out"],
        data["audio"],
        weak=data["weak"],
        valid_strong=valid_tsv,
        valid_audio_dir=data["root"] / "va",
    )
    assert sorted(summary["subsets"]) == ["valid", "weak_train"]


def test_classes_option_and_order(data, tmp_path):
    classes = tmp_path / "classes.txt"
    classes.write_text("Horn\nDog\nCat\nBird\n")
    summary = prepare_custom(
        data["out"], data["audio"], strong=data["strong"], classes=classes
    )
    assert summary["classes"] == ["Horn", "Dog", "Cat", "Bird"]
    assert list(summary["per_class"]) == summary["classes"]
    summary = prepare_custom(
        data["out"],
        data["audio"],
        strong=data["strong"],
        classes="Dog,Cat,Bird,Horn",
    )
    assert summary["classes"] == ["Dog", "Cat", "Bird", "Horn"]


def test_rerun_replaces_earlier_output(data):
    prepare_custom(
        data["out"], data["audio"], strong=data["strong"], weak=data["weak"]
    )
    assert (data["out"] / "weak_train.json").exists()
    prepare_custom(data["out"], data["audio"], strong=data["strong"])
    assert not (data["out"] / "weak_train.json").exists()
    _assert_clean(data["root"], data["root"] / "absent")


def test_braces_in_paths_survive_speechbrain_loading(tmp_path):
    audio = tmp_path / "rec{1}"
    _wav(audio / "a.wav", 1)
    _wav(audio / "b.wav", 1)
    strong = tmp_path / "s.tsv"
    strong.write_text(HEADER + "a.wav\t0\t1\tDog\nb.wav\t0\t1\tDog\n")
    prepare_custom(tmp_path / "out", audio, strong=strong)
    data = load_data_json(
        str(tmp_path / "out/strong_train.json"), {"data_root": "/x"}
    )
    assert next(iter(data.values()))["wav"].startswith(str(audio))


def test_list_audio_files(data):
    names = list_audio_files(data["audio"])
    assert "notes.txt" not in names and "._u0.wav" not in names
    assert "site1/s1.flac" in names and "sub/u1.flac" in names


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


def _fails(data, match, **kwargs):
    """Runs the preparation, expects an error, checks nothing is left."""
    kwargs.setdefault("strong", data["strong"])
    with pytest.raises(CustomDataError, match=match) as info:
        prepare_custom(
            data["out"], kwargs.pop("audio", data["audio"]), **kwargs
        )
    _assert_clean(data["root"], data["out"])
    return str(info.value)


def _write(data, name, text):
    path = data["root"] / name
    path.write_text(text)
    return path


def test_label_outside_class_list(data):
    message = _fails(data, "unknown event label 'Horn'", classes="Dog,Cat,Bird")
    assert "strong.tsv, line 12" in message
    message = _fails(
        data,
        "unknown event label 'Bird'",
        strong=None,
        weak=data["weak"],
        classes="Dog,Cat",
    )
    assert "weak.tsv, line 3" in message


def test_bad_times(data, caplog):
    bad = {
        "onset 2.0 >= offset 1.0": "s5.wav\t2\t1\tDog\n",
        "negative onset": "s5.wav\t-1\t1\tDog\n",
        "cannot parse onset 'abc'": "s5.wav\tabc\t1\tDog\n",
        "cannot parse offset '1,5'": "s5.wav\t0\t1,5\tDog\n",
    }
    for match, row in bad.items():
        tsv = _write(data, "bad.tsv", HEADER + "s6.wav\t0\t1\tDog\n" + row)
        message = _fails(data, match, strong=tsv)
        assert "bad.tsv, line 3" in message
    tsv = _write(
        data, "zero.tsv", HEADER + "s6.wav\t0\t1\tDog\ns5.wav\t1\t1\tDog\n"
    )
    with caplog.at_level(logging.WARNING):
        prepare_custom(data["out"], data["audio"], strong=tsv)
    assert any(
        "zero-length" in r.getMessage() and "line 3" in r.getMessage()
        for r in caplog.records
    )


def test_events_past_the_end_are_cut(data, caplog):
    tsv = _write(
        data,
        "late.tsv",
        HEADER
        + "s6.wav\t1\t9\tDog\ns8.wav\t0.5\t3\tDog\n"
        + "s9.wav\t5\t6\tDog\ns9.wav\t0\t0.5\tDog\n",
    )
    with caplog.at_level(logging.WARNING):
        prepare_custom(data["out"], data["audio"], strong=tsv)
    warnings = [r.getMessage() for r in caplog.records if "past" in r.msg]
    assert len(warnings) == 1
    assert "2 events run past" in warnings[0] and "1 start at" in warnings[0]
    entries = {
        **_load(data["out"], "strong_train.json"),
        **_load(data["out"], "valid.json"),
    }
    assert entries["s6"]["events"] == [[1.0, 2.0, "Dog"]]
    assert entries["s8"]["events"] == [[0.5, 1.0, "Dog"]]
    assert entries["s9"]["events"] == [[0.0, 0.5, "Dog"]]
    gt = read_ground_truth(str(data["out"] / "valid_gt.tsv"))
    for clip, events in gt.items():
        assert all(off <= entries[clip]["duration"] for _, off, _ in events)


def test_missing_audio(data):
    tsv = _write(
        data,
        "missing.tsv",
        HEADER + "s6.wav\t0\t1\tDog\nnope1.wav\t0\t1\tDog\n"
        "s8.wav\t0\t1\tDog\nsite9/nope2.wav\n",
    )
    message = _fails(data, "2 audio files", strong=tsv)
    assert "missing.tsv, line 3: nope1.wav" in message
    assert "missing.tsv, line 5: site9/nope2.wav" in message
    summary = prepare_custom(
        data["out"], data["audio"], strong=tsv, skip_missing=True
    )
    assert (data["out"] / "missing_files.txt").read_text().split() == [
        "nope1.wav",
        "site9/nope2.wav",
    ]
    assert summary["subsets"]["strong_train"]["files"] == 1
    assert any("missing" in note for note in summary["notes"])


def test_unreadable_audio(data):
    (data["audio"] / "broken.wav").write_bytes(b"RIFF not really audio")
    tsv = _write(
        data,
        "broken.tsv",
        HEADER + "s6.wav\t0\t1\tDog\nbroken.wav\t0\t1\tDog\ns8.wav\n",
    )
    message = _fails(data, "cannot be read", strong=tsv)
    assert str(data["audio"] / "broken.wav") in message
    prepare_custom(data["out"], data["audio"], strong=tsv, skip_missing=True)
    listed = (data["out"] / "unreadable_files.txt").read_text()
    assert listed.startswith(str(data["audio"] / "broken.wav") + "\t")
    # Unreadable unlabeled files are errors too.
    (data["audio"] / "broken.wav").rename(data["audio"] / "sub/broken.wav")
    shutil.rmtree(data["out"])
    _fails(data, "sub/broken.wav", unlabeled_dir=data["audio"])


def test_empty_tsv(data):
    _fails(data, "no data rows", strong=_write(data, "h.tsv", HEADER))
    _fails(
        data,
        "no data rows",
        strong=None,
        weak=_write(data, "w.tsv", WEAK_HEADER + "\n\n"),
    )
    _fails(data, "empty file", strong=_write(data, "e.tsv", ""))


def test_class_without_training_example(data):
    message = _fails(
        data, "no training example", classes="Bird,Cat,Dog,Horn,Owl"
    )
    assert message.split(":")[1].strip().startswith("Owl")
    valid_tsv = _write(data, "v.tsv", HEADER + "v.wav\t0\t1\tOwl\n")
    _wav(data["root"] / "va/v.wav", 2)
    _fails(
        data,
        "no training example.*Owl",
        valid_strong=valid_tsv,
        valid_audio_dir=data["root"] / "va",
    )


def test_weak_tsv_with_other_separators(data):
    cases = {
        "filename,event_labels\nw0.wav,Dog\n": "line 1.*separated by commas",
        WEAK_HEADER + "w0.wav,Dog\n": "line 2: no tab.*commas",
        WEAK_HEADER + "w0.wav;Dog\n": "line 2: no tab.*semicolons",
        WEAK_HEADER + "w1.flac\tBird\nw0.wav\tDog;Cat\n": "line 3.*';'",
        WEAK_HEADER + "w0.wav\tDog Cat\n": "line 2.*separated by spaces",
    }
    for text, match in cases.items():
        weak = _write(data, "w.tsv", text)
        kwargs = {"classes": "Dog,Cat"} if " " in text else {}
        _fails(data, match, strong=None, weak=weak, **kwargs)


def test_same_file_in_two_audio_folders(data):
    other = data["root"] / "more"
    _wav(other / "s6.wav", 1)
    message = _fails(
        data, "more than one audio folder", audio=[data["audio"], other]
    )
    assert str(data["audio"] / "s6.wav") in message
    assert str(other / "s6.wav") in message


def test_two_files_with_the_same_id(data):
    _wav(data["audio"] / "s6.flac", 1)
    tsv = _write(data, "ids.tsv", HEADER + "s6.wav\t0\t1\tDog\ns6.flac\n")
    _fails(data, "line 3: s6.flac and s6.wav .*same id 's6'", strong=tsv)


def test_validation_files_in_training(data):
    valid_tsv = _write(data, "v.tsv", HEADER + "s6.wav\t0\t1\tDog\n")
    _fails(data, "also in the strong training TSV", valid_strong=valid_tsv)


def test_option_errors(data, tmp_path):
    _fails(data, "strong labels .* or weak labels", strong=None)
    _fails(data, "is not a folder", audio=tmp_path / "nowhere")
    _fails(data, "needs valid_strong", valid_audio_dir=data["audio"])
    _fails(data, "valid_fraction", valid_fraction=1.0)
    _fails(data, "Class list file", classes="missing_classes.txt")
    _fails(data, "label 'a{b}'", classes="Dog,a{b}")


def test_failed_run_keeps_earlier_output(data):
    prepare_custom(data["out"], data["audio"], strong=data["strong"])
    before = {p.name: p.read_bytes() for p in data["out"].iterdir()}
    with pytest.raises(CustomDataError):
        prepare_custom(
            data["out"], data["audio"], strong=data["strong"], classes="Dog"
        )
    assert {p.name: p.read_bytes() for p in data["out"].iterdir()} == before
    assert not [p for p in data["root"].iterdir() if p.name.startswith(".")]


def test_refuses_foreign_output_folder(data):
    (data["root"] / "mine").mkdir()
    (data["root"] / "mine/thesis.tex").write_text("precious")
    with pytest.raises(CustomDataError, match="not empty"):
        prepare_custom(
            data["root"] / "mine", data["audio"], strong=data["strong"]
        )
    assert (data["root"] / "mine/thesis.tex").read_text() == "precious"
    with pytest.raises(CustomDataError, match="holds the input"):
        prepare_custom(data["audio"], data["audio"], strong=data["strong"])


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def test_cli(data, capsys):
    argv = [
        "prepare-custom",
        str(data["out"]),
        "--audio_dir",
        str(data["audio"]),
        "--strong",
        str(data["strong"]),
        "--weak",
        str(data["weak"]),
        "--unlabeled_dir",
        str(data["audio"]),
        "--seed",
        "3",
    ]
    assert cli_main(argv) == 0
    printed = capsys.readouterr().out
    assert "strong_train" in printed and "Horn" in printed
    assert _load(data["out"], "dataset.json")["options"]["seed"] == 3
    bad = argv[:2] + ["--audio_dir", str(data["audio"]), "--strong"]
    bad.append(str(_write(data, "h.tsv", HEADER)))
    assert cli_main(bad) == 1
    err = capsys.readouterr().err
    assert err.startswith("ERROR: ") and "no data rows" in err
    assert os.path.isfile(data["out"] / "dataset.json")  # kept


def test_file_names_outside_the_audio_folders(data):
    for name in ("/etc/passwd.wav", "../elsewhere/a.wav"):
        tsv = _write(data, "out.tsv", HEADER + f"{name}\t0\t1\tDog\n")
        _fails(
            data, "out.tsv, line 2: file name .* not a path inside", strong=tsv
        )
    _fails(data, "Metadata file .* missing", strong=data["root"] / "no.tsv")
