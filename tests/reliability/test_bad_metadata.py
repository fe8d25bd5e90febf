"""Broken metadata through ``prepare_desed``, the evaluation readers and
``speechbrain-atst evaluate``.

Malformed files are errors naming the file, the line and the problem;
harmless problems that real DESED metadata has (duplicate rows, events
running past their clip, overlapping events of one class) are repaired
with a warning that counts them.

Authors
 * speechbrain-atst team 2026
"""

import json
import re

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from conftest import CLASSES, noise

from speechbrain_atst.cli import main as cli_main
from speechbrain_atst.data import DESED_LAYOUT
from speechbrain_atst.data.desed import prepare_desed
from speechbrain_atst.evaluation import (
    read_durations,
    read_ground_truth,
    scores_to_dataframe,
    write_scores,
)

HEADER = "filename\tonset\toffset\tevent_label"
ALARM, FRYING, VACUUM = CLASSES


def desed_tree(root, strong_rows, weak_rows=None, header=HEADER, raw=None):
    """A DESED tree with a validation set of 1 s clips ``a.wav``-``d.wav``
    (and a weak set of ``w1.wav``, ``w2.wav`` if ``weak_rows``); returns
    the validation TSV path. ``raw`` (bytes) replaces its whole text."""
    spec = DESED_LAYOUT["validation"]
    (root / spec["audio"]).mkdir(parents=True)
    for i, name in enumerate("abcd"):
        sf.write(
            root / spec["audio"] / f"{name}.wav", noise(1.0, seed=i), 16000
        )
    tsv = root / spec["tsv"]
    tsv.parent.mkdir(parents=True)
    if raw is None:
        raw = ("\n".join([header, *strong_rows]) + "\n").encode()
    tsv.write_bytes(raw)
    if weak_rows is not None:
        weak = DESED_LAYOUT["weak"]
        (root / weak["audio"]).mkdir(parents=True)
        for name in ("w1.wav", "w2.wav"):
            sf.write(root / weak["audio"] / name, noise(1.0), 16000)
        text = "\n".join(["filename\tevent_labels", *weak_rows]) + "\n"
        (root / weak["tsv"]).parent.mkdir(parents=True, exist_ok=True)
        (root / weak["tsv"]).write_text(text)
    return tsv


def prepare(root):
    """prepare_desed of the tree with the three test classes."""
    return prepare_desed(
        root, root / "save", classes=CLASSES, weak_split=0.5, seed=1
    )


def manifest_events(out):
    """``{id: events}`` of the prepared validation manifest."""
    data = json.loads(open(out["validation"]).read())
    return {k: v["events"] for k, v in data.items()}


def gt_rows(out):
    """Rows of the prepared validation ground truth, as tuples."""
    table = pd.read_csv(out["validation_gt"], sep="\t")
    return sorted(map(tuple, table.itertuples(index=False)))


# ---------------------------------------------------------------- errors ---
@pytest.mark.parametrize(
    "rows, header, problem",
    [
        ([], "filename\tonset\toffset", r"line 1: missing column.*label"),
        (
            ["a.wav,0.1,0.5,Frying"],
            HEADER.replace("\t", ","),
            r"line 1: missing column.*separated by commas",
        ),
        (
            ["a.wav;0.1;0.5;Frying"],
            HEADER.replace("\t", ";"),
            r"line 1: missing column.*separated by semicolons",
        ),
        (
            ["a.wav 0.1 0.5 Frying"],
            HEADER.replace("\t", " "),
            r"line 1: missing column.*separated by spaces",
        ),
        (
            ["a.wav\t0.1\t0.5\tFrying", "b.wav 0.1 0.5 Frying"],
            HEADER,
            r"line 3: no tab .*separated by spaces",
        ),
        (
            ["a.wav\t0.1\t0.5\tFrying", "b.wav,0.1,0.5,Frying"],
            HEADER,
            r"line 3: no tab .*separated by commas",
        ),
        (
            ["a.wav\t0.1\t0.5\tFrying", "b.wav\t0.1\t0.5\tBird"],
            HEADER,
            r"line 3: unknown event label 'Bird'",
        ),
        (
            ["a.wav\t0.1\t0.5\tFrying", "b.wav\t0.6\t0.2\tFrying"],
            HEADER,
            r"line 3: onset 0.6 >= offset 0.2",
        ),
        (
            ["a.wav\t0.1\t0.5\tFrying", "", "b.wav\t-0.1\t0.2\tFrying"],
            HEADER,
            r"line 4: negative onset",
        ),
        (
            ["a.wav\t0.1\t0.5\tFrying", "b.wav\t0.1\t\tFrying"],
            HEADER,
            r"line 3: incomplete event",
        ),
        (
            ["a.wav\t0.1\t0,5\tFrying"],
            HEADER,
            r"line 2: cannot parse offset '0,5'",
        ),
    ],
)
def test_prepare_errors_name_file_and_line(tmp_path, rows, header, problem):
    tsv = desed_tree(tmp_path, rows, header=header)
    with pytest.raises(ValueError, match=re.escape(str(tsv)) + ", " + problem):
        prepare(tmp_path)
    assert not (tmp_path / "save" / "validation.json").exists()


@pytest.mark.parametrize(
    "raw, problem",
    [
        (b"filename\tonset\n\xe9t\xe9.wav\t1\n", r"line 2: not utf-8 text"),
        (b"\x00\x01\x02PK binary", r"not a text file"),
        (b"\n\n", r"empty file"),
    ],
)
def test_prepare_refuses_non_text_files(tmp_path, raw, problem):
    tsv = desed_tree(tmp_path, [], raw=raw)
    with pytest.raises(ValueError, match=re.escape(str(tsv)) + ".*" + problem):
        prepare(tmp_path)


def test_weak_duplicates_dropped_and_conflicts_refused(tmp_path, caplog):
    rows = [
        f"w1.wav\t{FRYING},{ALARM}",
        f"w2.wav\t{VACUUM}",
        f"w1.wav\t{ALARM}, {FRYING}",  # the same labels: a duplicate
    ]
    desed_tree(tmp_path / "ok", ["a.wav\t0.1\t0.5\tFrying"], weak_rows=rows)
    with caplog.at_level("WARNING"):
        out = prepare(tmp_path / "ok")
    assert re.search(
        r"weak.tsv: 1 duplicate rows dropped \(line 4\)", caplog.text
    )
    weak = {}
    for name in ("weak_train", "weak_valid"):
        weak.update(json.loads(open(out[name]).read()))
    assert weak["w1"]["labels"] == [FRYING, ALARM]
    rows[2] = f"w1.wav\t{VACUUM}"
    desed_tree(tmp_path / "bad", ["a.wav\t0.1\t0.5\tFrying"], weak_rows=rows)
    with pytest.raises(
        ValueError, match=r"weak.tsv, line 4: w1.wav already listed on line 2"
    ):
        prepare(tmp_path / "bad")


# --------------------------------------------------------------- repairs ---
def test_prepare_repairs_harmless_problems_with_counts(tmp_path, caplog):
    rows = [
        f"a.wav\t0.1\t0.4\t{FRYING}",
        f"a.wav\t0.3\t0.6\t{FRYING}",  # overlaps the previous one
        f"a.wav\t0.6\t0.7\t{FRYING}",  # touches it
        f"a.wav\t0.2\t0.5\t{ALARM}",  # another class: kept apart
        f"b.wav\t0.5\t1.3\t{VACUUM}",  # ends 0.3 s after the 1 s clip
        f"b.wav\t0.5\t1.3\t{VACUUM}",  # exact duplicate
        f"b.wav\t1.2\t1.5\t{ALARM}",  # starts after the clip
        f"c.wav\t0.4\t0.4\t{ALARM}",  # zero length
        "d.wav\t\t\t",  # no event
    ]
    desed_tree(tmp_path, rows)
    with caplog.at_level("WARNING"):
        out = prepare(tmp_path)
    log = caplog.text
    assert "validation.tsv: 1 duplicate rows dropped (line 7)" in log
    assert "1 zero-length events (onset = offset) dropped (line 9)" in log
    assert re.search(
        r"2 events merged into an overlapping .*\(lines 3, 4\)", log
    )
    assert re.search(
        r"validation: 1 events end after their clip \(by up to 0.300 s\)", log
    )
    assert "validation: 1 events start at or after the end of their clip" in log
    assert manifest_events(out) == {
        "a": [[0.1, 0.7, FRYING], [0.2, 0.5, ALARM]],
        "b": [[0.5, 1.0, VACUUM]],  # cut at the end of the clip
        "c": [],
        "d": [],
    }
    # The ground truth keeps the late offset (as DCASE evaluates it) and
    # is accepted by sed_scores_eval (no overlapping events).
    assert gt_rows(out) == [
        ("a.wav", 0.1, 0.7, FRYING),
        ("a.wav", 0.2, 0.5, ALARM),
        ("b.wav", 0.5, 1.3, VACUUM),
    ]
    durations = read_durations(out["validation_durations"])
    assert durations == {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0}


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32"])
def test_prepare_reads_byte_order_marks_and_crlf(tmp_path, encoding):
    text = "\r\n".join(
        [
            ' "filename"\tonset\toffset\tevent_label ',
            f"a.wav\t0.1\t0.5\t{FRYING}",
        ]
    )
    desed_tree(tmp_path, [], raw=(text + "\r\n").encode(encoding))
    out = prepare(tmp_path)
    assert manifest_events(out) == {"a": [[0.1, 0.5, FRYING]]}


# ------------------------------------------------------ evaluation files ---
def test_read_ground_truth_errors_name_file_and_line(tmp_path):
    path = tmp_path / "gt.tsv"
    cases = [
        ("filename\tonset\toffset\n", r"line 1: missing column"),
        (
            "filename,onset,offset,event_label\na.wav,0,1,Dog\n",
            r"line 1: missing column.*separated by commas",
        ),
        (f"{HEADER}\na.wav 0.1 0.5 Dog\n", r"line 2: no tab"),
        (
            f"{HEADER}\na.wav\t0.1\t0.5\tDog\nb.wav\t0.7\t0.5\tDog\n",
            r"line 3: onset 0.7 >= offset 0.5",
        ),
        (f"{HEADER}\na.wav\tx\t0.5\tDog\n", r"line 2: cannot parse onset 'x'"),
        (
            f"{HEADER}\na.wav\t0.1\t0.5\tBird\n",
            r"line 2: unknown event label 'Bird'",
        ),
    ]
    for text, problem in cases:
        path.write_text(text)
        with pytest.raises(
            ValueError, match=re.escape(str(path)) + ", " + problem
        ):
            read_ground_truth(path, classes=["Dog", "Cat"])


def test_read_ground_truth_repairs_with_counts(tmp_path, caplog):
    path = tmp_path / "gt.tsv"
    text = "\n".join(
        [
            HEADER,
            "a.wav\t0.0\t2.0\tDog",
            "a.wav\t0.0\t2.0\tDog",  # duplicate
            "a.wav\t1.5\t3.0\tDog",  # overlap
            "a.wav\t1.0\t1.0\tCat",  # zero length
            "a.wav\t5.0\t6.0\tDog",
            "b.wav\t\t\t",
        ]
    )
    path.write_bytes((text + "\n").encode("utf-16"))
    with caplog.at_level("WARNING"):
        gt = read_ground_truth(path)
    assert gt == {"a": [(0.0, 3.0, "Dog"), (5.0, 6.0, "Dog")], "b": []}
    assert "1 duplicate rows dropped (line 3)" in caplog.text
    assert (
        "1 zero-length events (onset = offset) dropped (line 5)" in caplog.text
    )
    assert re.search(r"1 events merged .*\(line 4\)", caplog.text)


def test_read_durations_errors_and_duplicates(tmp_path, caplog):
    path = tmp_path / "durations.tsv"
    path.write_text("filename\tduration\na.wav\t10.0\nb.wav\t9.5\na.wav\t10\n")
    with caplog.at_level("WARNING"):
        assert read_durations(path) == {"a": 10.0, "b": 9.5}
    assert "1 duplicate rows dropped (line 4)" in caplog.text
    for text, problem in (
        (
            "filename\tduration\na.wav\t10\na.wav\t9\n",
            r"line 3: a already listed on line 2 with the duration 10.0",
        ),
        ("filename\tduration\na.wav\t0\n", r"line 2: duration 0.0 is not po"),
        (
            "filename\tduration\na.wav\tten\n",
            r"line 2: cannot parse duration 'ten'",
        ),
        ("filename,duration\na.wav,10\n", r"line 1: missing column.*commas"),
        ("filename\tlength\na.wav\t10\n", r"line 1: missing column"),
    ):
        path.write_text(text)
        with pytest.raises(
            ValueError, match=re.escape(str(path)) + ", " + problem
        ):
            read_durations(path)


@pytest.fixture
def eval_files(tmp_path):
    """Scores of three 10 s clips, their durations and a good ground truth."""
    rng = np.random.default_rng(0)
    scores = {
        name: scores_to_dataframe(rng.random((156, 3)), CLASSES, duration=10.0)
        for name in ("a", "b", "c")
    }
    write_scores(scores, tmp_path / "scores")
    (tmp_path / "dur.tsv").write_text(
        "filename\tduration\na.wav\t10\nb.wav\t10\nc.wav\t10\n"
    )
    rows = [
        f"a.wav\t1.0\t3.0\t{ALARM}",
        f"b.wav\t2.0\t6.0\t{FRYING}",
        f"c.wav\t0.0\t10.0\t{VACUUM}",
    ]
    return tmp_path, rows


def _evaluate(folder, gt_text, capsys):
    """Runs ``speechbrain-atst evaluate``; returns (code, stderr)."""
    (folder / "gt.tsv").write_text(gt_text)
    code = cli_main(
        [
            "evaluate",
            "--scores",
            str(folder / "scores"),
            "--ground_truth",
            str(folder / "gt.tsv"),
            "--durations",
            str(folder / "dur.tsv"),
            "--out",
            str(folder / "metrics.json"),
        ]
    )
    return code, capsys.readouterr().err


def test_evaluate_cli_repairs_and_errors(eval_files, capsys, caplog):
    folder, rows = eval_files
    repaired = rows + [rows[1], f"b.wav\t5.0\t7.0\t{FRYING}"]
    with caplog.at_level("WARNING"):
        code, err = _evaluate(folder, "\n".join([HEADER, *repaired]), capsys)
    assert code == 0, err
    assert re.search(
        r"gt.tsv: 1 duplicate rows dropped \(line 5\)", caplog.text
    )
    assert re.search(r"gt.tsv: 1 events merged .*\(line 6\)", caplog.text)
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["n_events"] == 3 and 0 <= metrics["psds1"] <= 1

    bad = rows + ["c.wav\t1.0\t2.0\tBird"]
    code, err = _evaluate(folder, "\n".join([HEADER, *bad]), capsys)
    assert code == 1
    assert re.search(r"gt.tsv, line 5: unknown event label 'Bird'", err)
    code, err = _evaluate(
        folder, "\n".join([HEADER.replace("\t", ","), "a.wav,1,3,x"]), capsys
    )
    assert code == 1 and re.search(
        r"gt.tsv, line 1: .*separated by commas", err
    )
    (folder / "dur.tsv").write_text("filename\tduration\na.wav\t10\na.wav\t8\n")
    code, err = _evaluate(folder, "\n".join([HEADER, *rows]), capsys)
    assert code == 1 and re.search(r"dur.tsv, line 3: a already listed", err)
