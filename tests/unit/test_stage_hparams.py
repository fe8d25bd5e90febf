"""Tests of what the stage YAMLs declare (objective, what trains, median
windows) and of the override files applied on top of them.

Authors
 * speechbrain-atst team 2026
"""

from pathlib import Path

import pytest
import torch
import yaml
from hyperpyyaml import load_hyperpyyaml

from speechbrain_atst.evaluation import STAGE2_MEDIAN_WINDOWS
from speechbrain_atst.labels import DESED_CLASSES
from speechbrain_atst.quickstart.recipe import (
    quickstart_overrides,
    stage_overrides,
)
from speechbrain_atst.training import SEDBrain
from speechbrain_atst.training.hparams import require
from speechbrain_atst.training.objective import OFFICIAL_OBJECTIVE_MODES

ROOT = Path(__file__).resolve().parents[2]
HPARAMS = ROOT / "recipes" / "DESED" / "SED" / "hparams"
TINY = yaml.safe_load(
    (ROOT / "tests" / "integration" / "tiny.yaml").read_text()
)


def quickstart_stages():
    """The quickstart's overrides of each stage, as it passes them."""
    return stage_overrides(quickstart_overrides(), {1: None, 2: None})


def load_stage(stage, tmp_path, **overrides):
    """A stage YAML with the tiny test overrides."""
    values = dict(TINY, data_folder=str(tmp_path), output_folder=str(tmp_path))
    if stage == 2:
        values["stage1_ckpt"] = None
    values.update(overrides)
    with open(HPARAMS / f"stage{stage}.yaml", encoding="utf-8") as fin:
        return load_hyperpyyaml(fin, values)


def brain_of(hparams):
    """SEDBrain built from loaded hyperparameters, on the CPU."""
    return SEDBrain(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts={"device": "cpu", "noprogressbar": True},
    )


@pytest.mark.parametrize("stage", [1, 2])
def test_each_stage_declares_what_the_brain_reads(stage, tmp_path):
    hparams = load_stage(stage, tmp_path)
    require(hparams, SEDBrain.HPARAMS, f"stage{stage}.yaml")
    assert hparams["objective_mode"] == OFFICIAL_OBJECTIVE_MODES[stage]
    assert hparams["cpu_threads"] == 1  # tiny.yaml reaches the stage keys


def test_median_windows_are_one_mapping_per_class(tmp_path):
    stage1 = load_stage(1, tmp_path)
    stage2 = load_stage(2, tmp_path)
    assert set(stage2["median_window_per_class"]) == set(DESED_CLASSES)
    assert stage2["median_window_per_class"]["Blender"] == 20
    assert stage2["median_windows"] == STAGE2_MEDIAN_WINDOWS
    assert stage1["median_windows"] == [7] * len(DESED_CLASSES)
    # A partial mapping overrides those classes only, whatever their order.
    tuned = load_stage(2, tmp_path, median_window_per_class={"Dishes": 9})
    expected = list(STAGE2_MEDIAN_WINDOWS)
    expected[DESED_CLASSES.index("Dishes")] = 9
    assert tuned["median_windows"] == expected
    # A list for another class set replaces them (the tests' recipe runs).
    three = load_stage(
        1, tmp_path, classes=["Cat", "Dog", "Speech"], median_windows=[3, 5, 1]
    )
    assert three["median_windows"] == [3, 5, 1]


def test_quickstart_scores_both_stages_with_the_stage2_windows(tmp_path):
    for stage, quick in quickstart_stages().items():
        assert "median_windows" not in quick
        hparams = load_stage(stage, tmp_path, **quick)
        assert hparams["median_windows"] == STAGE2_MEDIAN_WINDOWS


def test_trainable_layers_alone_decide_what_trains(tmp_path):
    frozen = brain_of(load_stage(1, tmp_path))
    atst = frozen.raw_student.atst
    assert atst.freeze and not any(p.requires_grad for p in atst.parameters())
    trained = brain_of(load_stage(2, tmp_path))
    atst = trained.raw_student.atst
    assert not atst.freeze
    assert all(p.requires_grad for p in atst.blocks.parameters())
    # The same switch in the other direction.
    brain = brain_of(load_stage(2, tmp_path, tfm_trainable_layers=0))
    assert brain.raw_student.atst.freeze
    assert not any(p.requires_grad for p in brain.raw_teacher.parameters())


def test_every_override_names_a_stage_key(tmp_path):
    stages = quickstart_stages()
    for stage, quick in stages.items():
        load_stage(stage, tmp_path, **quick)  # unknown keys would fail
    # Stage 1 on strong clips only; stage 2 on all four parts (the
    # semi-supervised half of the method), with its own epochs.
    assert stages[1]["batch_sizes"][2:] == [0, 0]
    assert all(n > 0 for n in stages[2]["batch_sizes"])
    assert stages[1]["number_of_epochs"] != stages[2]["number_of_epochs"]
    stage2 = load_stage(2, tmp_path)
    assert stage2["objective_terms"] == ["teacher_psds1", "teacher_psds2"]
    assert isinstance(stage2["student"], torch.nn.Module)
