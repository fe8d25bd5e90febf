"""The one reader of the DESED / DCASE metadata TSVs (``data/tsv.py``).

Every repair rule (with its counted warning) and every error (naming the
file and the line) of the strong-label, weak-label and durations readers,
and the proof that the preparation and the evaluation read the same TSV
into the same events.

Authors
 * speechbrain-atst team 2026
"""

import json
import re

import numpy as np
import pytest
import soundfile as sf

from speechbrain_atst.data import DESED_LAYOUT
from speechbrain_atst.data.desed import (
    prepare_desed,
    read_strong_tsv,
    read_weak_tsv,
)
from speechbrain_atst.data.tsv import (
    audio_id,
    read_clip_durations,
    read_strong_labels,
    read_weak_labels,
)
from speechbrain_atst.evaluation import read_durations, read_ground_truth

HEADER = "filename\tonset\toffset\tevent_label"


def write(tmp_path, rows, header=HEADER, name="strong.tsv"):
    """Writes a TSV of ``header`` and ``rows``; returns its path."""
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def errors(path, reader=read_strong_labels, **kwargs):
    """The message of the ValueError that ``reader`` raises on ``path``."""
    with pytest.raises(ValueError) as err:
        reader(path, **kwargs)
    return str(err.value)


# ----------------------------------------------------- strong: repairs ---
def test_repairs_are_counted_and_name_their_lines(tmp_path, caplog):
    path = write(
        tmp_path,
        [
            "a.wav\t0.1\t0.4\tDog",
            "a.wav\t0.3\t0.6\tDog",  # overlaps line 2
            "a.wav\t0.6\t0.7\tDog",  # touches the merged event
            "a.wav\t0.2\t0.5\tCat",  # another class: kept apart
            "b.wav\t0.5\t1.3\tCat",
            "b.wav\t0.50\t1.300\tCat",  # the same event: a duplicate
            "c.wav\t0.4\t0.4\tCat",  # zero length
            "d.wav\t\t\t",  # a clip without events
            "e.wav",  # the same, its tabs stripped
        ],
    )
    with caplog.at_level("WARNING"):
        clips = read_strong_labels(path)
    assert clips == {
        "a.wav": [(0.1, 0.7, "Dog"), (0.2, 0.5, "Cat")],
        "b.wav": [(0.5, 1.3, "Cat")],
        "c.wav": [],
        "d.wav": [],
        "e.wav": [],
    }
    log = caplog.text
    assert f"{path}: 1 duplicate rows dropped (line 7)" in log
    assert (
        f"{path}: 1 zero-length events (onset = offset) dropped (line 8)"
        in (log)
    )
    assert re.search(
        re.escape(f"{path}: 2 events merged into an overlapping or touching")
        + r".*\(lines 3, 4\)",
        log,
    )


def test_nothing_to_repair_is_silent(tmp_path, caplog):
    path = write(tmp_path, ["a.wav\t0\t1\tDog", "a.wav\t1.5\t2\tDog"])
    with caplog.at_level("WARNING"):
        assert read_strong_labels(path) == {
            "a.wav": [(0.0, 1.0, "Dog"), (1.5, 2.0, "Dog")]
        }
    assert not caplog.text


def test_many_repairs_are_summarised(tmp_path, caplog):
    rows = [f"a.wav\t{i}\t{i}\tDog" for i in range(8)]
    with caplog.at_level("WARNING"):
        read_strong_labels(write(tmp_path, rows))
    assert "8 zero-length events" in caplog.text
    assert "(lines 2, 3, 4, 5, 6 and 3 more)" in caplog.text


def test_a_duplicate_zero_length_event_counts_as_a_duplicate(tmp_path, caplog):
    path = write(tmp_path, ["a.wav\t1\t1\tDog", "a.wav\t1\t1\tDog"])
    with caplog.at_level("WARNING"):
        assert read_strong_labels(path) == {"a.wav": []}
    assert "1 duplicate rows dropped (line 3)" in caplog.text
    assert "1 zero-length events (onset = offset) dropped (line 2)" in (
        caplog.text
    )


def test_dict_input_follows_the_same_rules(caplog):
    gt = {
        "a": [(0.0, 2.0, "Dog"), (0.0, 2.0, "Dog"), (1.0, 3.0, " Dog ")],
        "b": [(1.0, 1.0, "Cat")],
        "c.d": [],
    }
    with caplog.at_level("WARNING"):
        clips = read_strong_labels(gt, audio_ids=True)
    assert clips == {"a": [(0.0, 3.0, "Dog")], "b": [], "c.d": []}
    assert "ground truth: 1 duplicate rows dropped (clip a)" in caplog.text
    assert "zero-length events (onset = offset) dropped (clip b)" in (
        caplog.text
    )


# ------------------------------------------------------ strong: errors ---
@pytest.mark.parametrize(
    "row, problem",
    [
        ("\t0.1\t0.5\tDog", "empty filename"),
        ("b.wav\t0.1\t0.5\t", "incomplete event ['0.1', '0.5', '']"),
        ("b.wav\t0.1\t\tDog", "incomplete event"),
        ("b.wav\tabc\t0.5\tDog", "cannot parse onset 'abc' as a number"),
        ("b.wav\t0.1\t1,5\tDog", "cannot parse offset '1,5' as a number"),
        ("b.wav\tnan\t0.5\tDog", "onset is 'nan'"),
        ("b.wav\t0.1\tNaN\tDog", "offset is 'NaN'"),
        ("b.wav\t0.1\tinf\tDog", "offset is 'inf'"),
        ("b.wav\t-0.1\t0.5\tDog", "negative onset -0.1"),
        ("b.wav\t-0.5\t-0.1\tDog", "negative onset -0.5"),
        ("b.wav\t0.6\t0.2\tDog", "onset 0.6 >= offset 0.2"),
        ("b.wav\t0.1\t0.5\tBird", "unknown event label 'Bird'"),
        ("b.wav\t0.1\t0.5\tDog\tCat", "5 fields for 4 columns"),
        ("b.wav 0.1 0.5 Dog", "no tab in 'b.wav 0.1 0.5 Dog'"),
        ("b.wav,0.1,0.5,Dog", "separated by commas"),
        ("b.flac\t0.1\t0.5\tDog", "b.flac and b.wav (line 3)"),
    ],
)
def test_errors_name_the_file_and_the_line(tmp_path, row, problem):
    path = write(tmp_path, ["a.wav\t0\t1\tDog", "b.wav\t\t\t", row])
    message = errors(path, classes=["Dog", "Cat"], audio_ids=True)
    assert message.startswith(f"{path}, line 4: ")
    assert problem in message


def test_labels_are_free_without_classes(tmp_path):
    path = write(tmp_path, ["a.wav\t0\t1\tBird"])
    assert read_strong_labels(path) == {"a.wav": [(0.0, 1.0, "Bird")]}
    assert "known classes: Dog, Cat" in errors(path, classes="Dog,Cat")
    # The DESED readers of the preparation know DESED's ten classes.
    assert "unknown event label 'Bird'" in errors(path, read_strong_tsv)


@pytest.mark.parametrize(
    "events, problem",
    [
        ([(0.1, 0.5, "")], "clip a: incomplete event"),
        ([(None, 0.5, "Dog")], "clip a: cannot parse onset None"),
        ([(float("nan"), 0.5, "Dog")], "clip a: onset is nan"),
        ([(0.6, 0.5, "Dog")], "clip a: onset 0.6 >= offset 0.5"),
        ([(-1, 0.5, "Dog")], "clip a: negative onset"),
        ([(0.1, 0.5, "Bird")], "clip a: unknown event label 'Bird'"),
    ],
)
def test_dict_errors_name_the_clip(events, problem):
    with pytest.raises(ValueError, match=re.escape(problem)):
        read_ground_truth({"a": events}, classes=["Dog"])


# -------------------------------------------------------- strong: text ---
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_bom_crlf_quotes_spaces_and_extra_columns(tmp_path, encoding):
    text = (
        '"filename"\tonset\toffset\tevent_label\tcomment\r\n'
        '"a.wav"\t 0.1 \t"0.5"\t Dog \tfrom an editor\r\n'
        "\r\n"
        "b.wav\t\t\t\r\n"
    )
    path = tmp_path / "gt.tsv"
    path.write_bytes(text.encode(encoding))
    assert read_strong_labels(path) == {
        "a.wav": [(0.1, 0.5, "Dog")],
        "b.wav": [],
    }


@pytest.mark.parametrize(
    "raw, problem",
    [
        (b"", "empty file"),
        (b"filename\tonset\toffset\n", "line 1: missing column(s) ['event"),
        (
            b"filename,onset,offset,event_label\na.wav,0,1,Dog\n",
            "line 1: missing column(s)",
        ),
        (b"\x00\x01binary", "not a text file"),
        (b"filename\tonset\n\xe9t\xe9.wav\t1\n", "line 2: not utf-8 text"),
    ],
)
def test_unreadable_tables(tmp_path, raw, problem):
    path = tmp_path / "gt.tsv"
    path.write_bytes(raw)
    message = errors(path)
    assert message.startswith(str(path)) and problem in message
    with pytest.raises(FileNotFoundError, match="missing"):
        read_strong_labels(tmp_path / "nope.tsv")


# ----------------------------------------------------------------- weak ---
def test_weak_labels(tmp_path, caplog):
    path = write(
        tmp_path,
        [
            "a.wav\t Dog, Cat ,Dog",  # spaces and a repeat ignored
            "b.wav\t",  # no label
            "a.wav\tCat,Dog",  # the same labels: a duplicate
        ],
        header="filename\tevent_labels",
    )
    with caplog.at_level("WARNING"):
        assert read_weak_labels(path) == {"a.wav": ["Dog", "Cat"], "b.wav": []}
    assert f"{path}: 1 duplicate rows dropped (line 4)" in caplog.text
    assert read_weak_tsv(path) == read_weak_labels(path)


# ------------------------------------------------------------ durations ---
def test_durations(tmp_path, caplog):
    path = write(
        tmp_path,
        ["a.wav\t10", "b.x.wav\t9.5", "a.wav\t10.000"],
        header="filename\tduration",
    )
    with caplog.at_level("WARNING"):
        assert read_clip_durations(path) == {"a.wav": 10.0, "b.x.wav": 9.5}
    assert f"{path}: 1 duplicate rows dropped (line 4)" in caplog.text
    assert read_durations(path) == {"a": 10.0, "b.x": 9.5}
    assert read_durations({"a": 10, "b.x": "9.5"}) == {"a": 10.0, "b.x": 9.5}
    with pytest.raises(ValueError, match="durations, clip a: duration"):
        read_durations({"a": 0})


WEAK = ("filename\tevent_labels", "a.wav\tDog,Cat")
DURATIONS = ("filename\tduration", "a.wav\t10")


@pytest.mark.parametrize(
    "table, row, problem",
    [
        (WEAK, "a.wav\tDog", "a.wav already listed on line 2 with the labels"),
        (WEAK, "b.wav\tDog,Bird", "unknown event label 'Bird'"),
        (WEAK, "\tDog", "empty filename"),
        (WEAK, "b.wav\tDog\tCat", "3 fields for 2 columns"),
        (DURATIONS, "a.wav\t9", "a already listed on line 2 with the duration"),
        (DURATIONS, "b.wav\t0", "duration 0.0 is not positive"),
        (DURATIONS, "b.wav\t-3", "duration -3.0 is not positive"),
        (DURATIONS, "b.wav\tten", "cannot parse duration 'ten' as a number"),
        (DURATIONS, "b.wav\tnan", "duration is 'nan'"),
        (DURATIONS, "b.wav", "cannot parse duration '' as a number"),
        (DURATIONS, "a.flac\t10", "a.flac and a.wav (line 2) have the same"),
    ],
)
def test_weak_and_duration_errors(tmp_path, table, row, problem):
    header, first = table
    path = write(tmp_path, [first, row], header=header)
    if table is WEAK:
        message = errors(path, read_weak_labels, classes=["Dog", "Cat"])
    else:
        message = errors(path, read_durations)
    assert message.startswith(f"{path}, line 3: ") and problem in message


def test_audio_id_keeps_the_dots_of_desed_names():
    assert audio_id("Y-0_1.000_11.000.wav") == "Y-0_1.000_11.000"
    assert audio_id("plain") == "plain"


# ------------------------------------- preparation == evaluation reading ---
MESSY = [
    "Y-a_0.000_10.000.wav\t0.5\t2.0\tDog",
    "Y-a_0.000_10.000.wav\t1.5\t3.0\tDog",  # overlap: merged
    "Y-a_0.000_10.000.wav\t1.5\t3.0\tDog",  # duplicate
    "Y-a_0.000_10.000.wav\t4.0\t4.0\tCat",  # zero length
    "Y-a_0.000_10.000.wav\t3.0\t9.0\tCat",
    "b.wav\t\t\t",
    "c.wav\t0\t1\tBlender",
]


def test_preparation_and_evaluation_read_the_same_events(tmp_path):
    path = write(tmp_path, MESSY)
    prepared = read_strong_tsv(path)
    evaluated = read_ground_truth(path)
    assert {audio_id(k): v for k, v in prepared.items()} == evaluated
    assert evaluated["Y-a_0.000_10.000"] == [
        (0.5, 3.0, "Dog"),
        (3.0, 9.0, "Cat"),
    ]


def test_the_real_desed_validation_reads_the_same(desed_validation_real):
    path = desed_validation_real / "validation.tsv"
    prepared = read_strong_tsv(path)
    evaluated = read_ground_truth(path)
    assert len(evaluated) == 1168
    assert sum(len(v) for v in evaluated.values()) == 4239 - 15
    assert {audio_id(k): v for k, v in prepared.items()} == evaluated
    durations = read_durations(
        desed_validation_real / "validation_durations.tsv"
    )
    assert set(durations) == set(evaluated)


def test_prepared_files_read_back_as_the_source_events(tmp_path):
    """prepare_desed writes the manifest and ground truth of what the one
    reader read; the evaluation reads that ground truth back the same."""
    spec = DESED_LAYOUT["validation"]
    (tmp_path / spec["audio"]).mkdir(parents=True)
    for name in ("Y-a_0.000_10.000.wav", "b.wav", "c.wav"):
        sf.write(tmp_path / spec["audio"] / name, np.zeros(160000), 16000)
    source = write(tmp_path, MESSY)
    (tmp_path / spec["tsv"]).parent.mkdir(parents=True)
    source.rename(tmp_path / spec["tsv"])
    out = prepare_desed(tmp_path, tmp_path / "save")
    expected = read_ground_truth(tmp_path / spec["tsv"])
    with open(out["validation"], encoding="utf-8") as fin:
        manifest = json.load(fin)
    assert {
        k: [tuple(e) for e in v["events"]] for k, v in manifest.items()
    } == (expected)
    with_events = {k: v for k, v in expected.items() if v}
    assert read_ground_truth(out["validation_gt"]) == with_events
    assert read_durations(out["validation_durations"]) == dict.fromkeys(
        expected, 10.0
    )
