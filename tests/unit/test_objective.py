"""Tests of the model-selection objective and of ``model_config.json``.

Authors
 * speechbrain-atst team 2026
"""

import json

import pytest

from speechbrain_atst.checkpoints import read_run_config
from speechbrain_atst.training import model_config, objective_mode
from speechbrain_atst.training.initialization import write_model_config
from speechbrain_atst.training.objective import Objective

STAGE1 = {
    "objective_mode": "min",
    "objective_reduce": "mean",
    "objective_terms": ["teacher_bce_weak_valid", "teacher_bce_strong_valid"],
    "objective_fallback": ["teacher_bce_synth_valid"],
}
STAGE2 = {
    "objective_mode": "max",
    "objective_reduce": "sum",
    "objective_terms": ["teacher_psds1", "teacher_psds2"],
    "objective_fallback": [],
}


def test_stage1_objective_is_the_mean_teacher_bce():
    objective = Objective.from_hparams(STAGE1)
    stats = {
        "teacher_bce_weak_valid": 0.25,
        "teacher_bce_strong_valid": 0.5,
        "teacher_bce_synth_valid": 9.0,
        "teacher_psds1": 0.7,
    }
    assert objective(stats) == 0.375
    # Only one of the terms computed: that one.
    assert objective({"teacher_bce_strong_valid": 0.5}) == 0.5
    # Neither: the fallback; nothing at all: no objective.
    assert objective({"teacher_bce_synth_valid": 0.4}) == 0.4
    assert objective({"loss": 1.0}) is None


def test_stage2_objective_is_the_teacher_psds_sum():
    objective = Objective.from_hparams(STAGE2)
    stats = {"teacher_psds1": 0.25, "teacher_psds2": 0.5, "student_psds1": 1}
    assert objective(stats) == 0.75
    assert objective({"teacher_bce_weak_valid": 0.1}) is None
    assert objective.checkpoint_keys() == {"max_key": "objective"}
    assert objective.keep_keys() == {"max_keys": ["objective"]}
    meta = objective.checkpoint_meta(
        2,
        {"objective": 0.75, "teacher_psds1": 0.25, "loss": 3.0},
        keep=["teacher_psds1", "student_psds1"],
    )
    assert meta == {
        "epoch": 2,
        "objective": 0.75,
        "objective_mode": "max",
        "teacher_psds1": 0.25,
    }


def test_declarations_are_checked():
    with pytest.raises(ValueError, match="'min' or 'max'"):
        Objective("lowest", ["loss"])
    with pytest.raises(ValueError, match="objective_reduce"):
        Objective("min", ["loss"], reduce="median")
    with pytest.raises(ValueError, match="at least one term"):
        Objective("min", [])
    with pytest.raises(KeyError, match="objective_fallback"):
        Objective.from_hparams(
            {k: v for k, v in STAGE1.items() if k != "objective_fallback"}
        )


def test_objective_mode_of_a_stage_or_of_hparams():
    assert objective_mode(1) == "min" and objective_mode("2") == "max"
    assert objective_mode(STAGE2) == "max"
    with pytest.raises(ValueError, match="stage must be 1 or 2"):
        objective_mode(3)
    with pytest.raises(KeyError, match="objective_mode"):
        objective_mode({"stage": 1})


def test_model_config_stays_readable_by_export(tmp_path):
    hparams = {
        "classes": ["Cat", "Dog"],
        "atst_embed_dim": 8,
        "atst_depth": 1,
        "atst_num_heads": 2,
        "median_windows": {"Dog": 5, "Cat": 3},
        "stage": 2,
        "output_folder": str(tmp_path),
        **STAGE2,
    }
    config = model_config(hparams)
    assert config["median_windows"] == [3, 5]  # class order
    assert config["objective_key"] == "objective"
    assert config["objective_mode"] == "max" and config["stage"] == 2
    assert "teacher_psds1" in config["objective"]
    write_model_config(hparams)
    assert read_run_config(tmp_path) == json.loads(
        (tmp_path / "model_config.json").read_text()
    )
    stage1 = dict(hparams, stage=1, median_windows=[7, 7], **STAGE1)
    assert model_config(stage1)["objective_mode"] == "min"
