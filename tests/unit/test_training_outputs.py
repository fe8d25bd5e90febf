"""Tests of what training records and writes: running statistics, the
validation record and metrics, the test pass's files.

Authors
 * speechbrain-atst team 2026
"""

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from speechbrain_atst.training.records import (
    SCORED_SUBSET_INDEX,
    TrainingRecord,
    ValidationRecord,
)
from speechbrain_atst.training.scoring import (
    eval_set_files,
    validation_stats,
)
from speechbrain_atst.training.testing import (
    jsonable,
    logged_test_stats,
    write_test_outputs,
)

CLASSES = ["Cat", "Dog"]


def _clip_scores(event_class, seed):
    """156 frames where ``event_class`` is active from frame 30 to 46."""
    scores = np.random.default_rng(seed).uniform(0, 0.1, (156, 2))
    scores[30:46, CLASSES.index(event_class)] = 0.9
    return scores


def _eval_set(folder):
    gt, dur = folder / "gt.tsv", folder / "dur.tsv"
    gt.write_text(
        "filename\tonset\toffset\tevent_label\n"
        "a.wav\t1.92\t2.944\tCat\nb.wav\t1.92\t2.944\tDog\n"
    )
    dur.write_text("filename\tduration\na.wav\t10.0\nb.wav\t10.0\n")
    return str(gt), str(dur)


def test_training_record_means():
    record = TrainingRecord()
    for value in (1.0, 2.0, 6.0):
        record.add({"loss_self": torch.tensor(value), "ict_steps": value > 1})
    stats = record.epoch_stats(0.25)
    assert stats["loss"] == 0.25 and stats["loss_self"] == 3.0
    assert stats["ict_steps"] == 0.667  # a fraction, rounded
    assert list(stats)[-1] == "seconds"


def test_validation_record_routes_subsets():
    record = ValidationRecord()
    strong = torch.tensor([[[0.5]], [[0.9]], [[0.2]]])
    weak = torch.tensor([[0.8], [0.3], [0.6]])
    batch = SimpleNamespace(
        id=["s", "w", "r"],
        subset=torch.tensor([SCORED_SUBSET_INDEX, 1, 2]),
        strong=SimpleNamespace(data=torch.ones(3, 1, 1)),
        weak=SimpleNamespace(data=torch.ones(3, 1)),
    )
    record.add_batch(batch, (strong * 0.5, weak), (strong, weak))
    assert list(record.scores["teacher"]) == ["s"]  # synth_valid only
    assert record.scores["student"]["s"].tolist() == [[0.25]]
    means = record.bce_means()
    assert means["synth_valid"] == pytest.approx(-np.log(0.5))
    assert means["weak_valid"] == pytest.approx(-np.log(0.3))  # clip output
    assert means["strong_valid"] == pytest.approx(-np.log(0.2))
    # A test batch has no subset: every clip is scored.
    test = ValidationRecord()
    del batch.subset
    test.add_batch(batch, (strong, weak), (strong, weak))
    assert sorted(test.scores["teacher"]) == ["r", "s", "w"]


def _stats(scores, files):
    """validation_stats of a record holding ``scores``."""
    record = ValidationRecord()
    record.scores = scores
    record.bce["weak_valid"] = [1.5, 3]
    return validation_stats(record, 0.5, files, CLASSES, [1, 1], 1)


def test_validation_stats_psds_of_both_models(tmp_path):
    files = _eval_set(tmp_path)
    good = {"a": _clip_scores("Cat", 0), "b": _clip_scores("Dog", 1)}
    wrong = {"a": _clip_scores("Dog", 2), "b": _clip_scores("Cat", 3)}
    stats = _stats({"student": wrong, "teacher": good}, files)
    assert list(stats) == [
        "loss",
        "teacher_bce_weak_valid",
        "teacher_psds1",
        "teacher_psds2",
        "teacher_intersection_f1",
        "student_psds1",
        "student_psds2",
        "student_intersection_f1",
    ]
    assert stats["loss"] == 0.5 and stats["teacher_bce_weak_valid"] == 0.5
    assert stats["teacher_psds1"] > 0.9 > stats["student_psds1"]
    # No scores or no ground truth: no PSDS.
    no_psds = {"loss": 0.5, "teacher_bce_weak_valid": 0.5}
    assert _stats({"student": {}, "teacher": {}}, files) == no_psds
    assert _stats({"student": good, "teacher": good}, None) == no_psds


def test_eval_set_files(tmp_path):
    gt, dur = _eval_set(tmp_path)
    sets = {"validation": {"ground_truth": gt, "durations": dur}}
    assert eval_set_files(sets, "validation") == (gt, dur)
    assert eval_set_files(sets, "synth_valid") is None
    sets["validation"]["durations"] = str(tmp_path / "absent.tsv")
    assert eval_set_files(sets, "validation") is None
    assert eval_set_files(None, "validation") is None


def test_test_outputs(tmp_path):
    files = _eval_set(tmp_path)
    scores = {"a": _clip_scores("Cat", 0), "b": _clip_scores("Dog", 1)}
    metrics = write_test_outputs(
        tmp_path,
        {"student": scores, "teacher": scores},
        files,
        CLASSES,
        [3, 5],
        "full",
        1,
        {"epoch": 4, "objective": np.float64(0.5)},
    )
    written = json.loads((tmp_path / "test" / "metrics.json").read_text())
    assert written == metrics
    for who in ("student", "teacher"):
        assert written[who]["model"] == who
        assert written[who]["score_grid"] == "full"
        assert (
            len(list((tmp_path / "test" / f"scores_{who}").glob("*.tsv"))) == 2
        )
    assert written["checkpoint"] == {"epoch": 4, "objective": 0.5}
    assert written["median_windows"] == [3, 5]
    flat = logged_test_stats(metrics, 0.1)
    assert (
        flat["loss"] == 0.1
        and flat["teacher_psds1"] == metrics["teacher"]["psds1"]
    )
    # Without ground truth: score files only.
    out = tmp_path / "no_gt"
    assert (
        write_test_outputs(
            out,
            {"student": scores, "teacher": scores},
            None,
            CLASSES,
            [1, 1],
            "clip",
            1,
            {},
        )
        == {}
    )
    assert not (out / "test" / "metrics.json").exists()
    assert len(list((out / "test" / "scores_teacher").glob("*.tsv"))) == 2


def test_jsonable():
    value = {1: (np.int64(2), float("inf")), "x": [np.float32(0.5)]}
    assert jsonable(value) == {"1": [2, None], "x": [0.5]}
