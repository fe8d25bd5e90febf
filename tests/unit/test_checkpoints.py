"""Tests of the checkpoint module: safe reading, strict loading, complete
checkpoints, resuming, and the best checkpoint of a run.

Authors
 * speechbrain-atst team 2026
"""

import argparse
import json
import os
import sys
import types
from pathlib import Path

import pytest
import speechbrain as sb
import torch
import yaml
from speechbrain.utils.checkpoints import Checkpointer
from speechbrain.utils.epoch_loop import EpochCounter

from speechbrain_atst.checkpoints import (
    CKPT_META,
    NETWORKS,
    RECOVERABLES,
    RUN_CONFIG,
    CheckpointError,
    UntrustedCheckpointError,
    find_best_checkpoint,
    find_resume_checkpoint,
    find_run,
    is_complete_checkpoint,
    load_checkpoint,
    load_state_dict_strict,
    read_run_config,
    remove_incomplete_checkpoints,
    run_resumes,
)
from speechbrain_atst.training.schedules import WarmupCosineLR

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "DESED" / "SED"


def test_plain_checkpoint(tmp_path):
    path = tmp_path / "w.ckpt"
    torch.save({"state_dict": {"w": torch.ones(2)}, "epoch": 3}, path)
    obj = load_checkpoint(path)
    assert obj["epoch"] == 3
    assert torch.equal(obj["state_dict"]["w"], torch.ones(2))


def test_pickled_objects_need_trust(tmp_path):
    path = tmp_path / "lightning.ckpt"
    hparams = argparse.Namespace(lr=0.1)
    torch.save({"state_dict": {"w": torch.ones(2)}, "hp": hparams}, path)
    with pytest.raises(UntrustedCheckpointError) as err:
        load_checkpoint(path)
    message = str(err.value)
    assert str(path) in message
    assert "trust_checkpoint=True" in message
    assert "argparse.Namespace" in message
    obj = load_checkpoint(path, trust_checkpoint=True)
    assert obj["hp"].lr == 0.1


def test_trusted_checkpoint_with_uninstalled_classes(tmp_path, monkeypatch):
    module = types.ModuleType("not_installed_lightning")

    class AttributeDict(dict):
        pass

    class Callback:
        def __init__(self):
            self.best = torch.tensor(1.0)

    for cls in (AttributeDict, Callback):
        cls.__module__ = module.__name__
        cls.__qualname__ = cls.__name__
        setattr(module, cls.__name__, cls)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    path = tmp_path / "old.ckpt"
    torch.save(
        {
            "state_dict": {"w": torch.ones(2)},
            "hyper_parameters": AttributeDict(lr=1),
            "callbacks": Callback(),
        },
        path,
    )
    monkeypatch.delitem(sys.modules, module.__name__)
    with pytest.raises(UntrustedCheckpointError):
        load_checkpoint(path)
    obj = load_checkpoint(path, trust_checkpoint=True)
    assert torch.equal(obj["state_dict"]["w"], torch.ones(2))
    assert obj["hyper_parameters"]["lr"] == 1


@pytest.mark.parametrize(
    "content", [b"", b"not a checkpoint\n", b"PK\x03\x04garbage"]
)
def test_unreadable_files(tmp_path, content):
    path = tmp_path / "bad.ckpt"
    path.write_bytes(content)
    for trust in (False, True):
        with pytest.raises(CheckpointError, match="bad.ckpt"):
            load_checkpoint(path, trust_checkpoint=trust)


def test_truncated_file(tmp_path):
    path = tmp_path / "cut.ckpt"
    torch.save({"w": torch.randn(1000)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 300])
    with pytest.raises(CheckpointError, match="cut.ckpt.*truncated"):
        load_checkpoint(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.ckpt"):
        load_checkpoint(tmp_path / "nothing.ckpt")


def test_strict_load_message():
    lin = torch.nn.Linear(3, 2)
    state = {"weight": torch.zeros(2, 4), "extra": torch.zeros(1)}
    with pytest.raises(CheckpointError) as err:
        load_state_dict_strict(lin, state, "f.ckpt", hint="Check sizes")
    message = str(err.value)
    assert message.startswith("f.ckpt:")
    assert "1 missing: bias" in message
    assert "1 unexpected: extra" in message
    assert "weight (2, 4) vs (2, 3)" in message
    assert message.endswith("Check sizes")


# ------------------------------------------------ complete checkpoints ---
class _TagIgnoringLoader(yaml.SafeLoader):
    """Reads a HyperPyYAML file as plain data (tags are ignored)."""


_TagIgnoringLoader.add_multi_constructor(
    "!",
    lambda loader, suffix, node: (
        loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.MappingNode)
        else None
    ),
)


def _recipe_recoverables(stage):
    """Names of the Checkpointer recoverables of a stage's hparams."""
    text = (RECIPE / "hparams" / f"stage{stage}.yaml").read_text("utf-8")
    hparams = yaml.load(text, Loader=_TagIgnoringLoader)
    return list(hparams["checkpointer"]["recoverables"])


def _recipe_checkpointer(save_dir):
    """A Checkpointer with the recoverables of a recipe run: those of
    the hparams file, then those ``Brain`` adds (itself, the optimizer)
    and the training loader's position."""
    student, teacher = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    recoverables = {
        "student": student,
        "teacher": teacher,
        "lr_scheduler": WarmupCosineLR(n_epochs=3, warmup_epochs=1, cos_down=0),
        "counter": EpochCounter(limit=3),
    }
    checkpointer = Checkpointer(save_dir, recoverables)
    brain = sb.Brain(
        modules={"student": student},
        opt_class=lambda params: torch.optim.Adam(params, lr=1e-3),
        run_opts={"device": "cpu"},
        checkpointer=checkpointer,
    )
    brain.init_optimizers()
    loader = sb.dataio.dataloader.SaveableDataLoader(list(range(4)))
    checkpointer.add_recoverable("dataloader-TRAIN", loader)
    return checkpointer


@pytest.mark.parametrize("stage", [1, 2])
def test_recoverables_are_those_of_a_recipe_run(stage, tmp_path):
    assert _recipe_recoverables(stage) == [
        "student",
        "teacher",
        "lr_scheduler",
        "counter",
    ]
    checkpointer = _recipe_checkpointer(tmp_path)
    required = {
        name
        for name in checkpointer.recoverables
        if not checkpointer.optional_recoverables.get(name, False)
        and not name.startswith("dataloader")
    }
    assert required == set(RECOVERABLES)
    assert set(NETWORKS) < set(RECOVERABLES)


def _break(ckpt, kind):
    """Damages a saved checkpoint the way a killed run can."""
    folder = Path(ckpt.path)
    if kind == "no_lr_scheduler":
        os.remove(folder / "lr_scheduler.ckpt")
    elif kind == "no_optimizer":
        os.remove(folder / "optimizer.ckpt")
    elif kind == "empty_meta":
        (folder / CKPT_META).write_text("")
    elif kind == "truncated_teacher":
        data = (folder / "teacher.ckpt").read_bytes()
        (folder / "teacher.ckpt").write_bytes(data[: len(data) // 2])
    elif kind == "empty_brain":
        (folder / "brain.ckpt").write_text("")
    elif kind == "cut_brain":
        (folder / "brain.ckpt").write_text("step: 3\n")
    elif kind == "bad_counter":
        (folder / "counter.ckpt").write_text("step: 3\n")
    elif kind == "empty_loader_position":
        (folder / "dataloader-TRAIN.ckpt").write_text("")
    else:
        raise ValueError(kind)


DAMAGES = [
    "no_lr_scheduler",
    "no_optimizer",
    "empty_meta",
    "truncated_teacher",
    "empty_brain",
    "cut_brain",
    "bad_counter",
    "empty_loader_position",
]


@pytest.mark.parametrize("kind", DAMAGES)
def test_a_damaged_checkpoint_is_not_complete(tmp_path, kind):
    checkpointer = _recipe_checkpointer(tmp_path)
    ckpt = checkpointer.save_checkpoint()
    assert is_complete_checkpoint(ckpt)
    _break(ckpt, kind)
    assert not is_complete_checkpoint(ckpt)


def test_the_loader_position_is_not_required(tmp_path):
    checkpointer = _recipe_checkpointer(tmp_path)
    ckpt = checkpointer.save_checkpoint()
    os.remove(ckpt.paramfiles["dataloader-TRAIN"])
    assert is_complete_checkpoint(ckpt)
    with pytest.warns(UserWarning, match="dataloader-TRAIN"):
        assert checkpointer.recover_if_possible() is not None


def test_remove_incomplete_checkpoints(tmp_path):
    checkpointer = _recipe_checkpointer(tmp_path)
    kept = checkpointer.save_checkpoint(name="good")
    damaged = {
        kind: checkpointer.save_checkpoint(name=kind)
        for kind in ("no_lr_scheduler", "empty_meta")
    }
    for kind, ckpt in damaged.items():
        _break(ckpt, kind)
    (tmp_path / "CKPT+not_a_checkpoint").mkdir()  # no CKPT.yaml
    removed = remove_incomplete_checkpoints(tmp_path)
    assert sorted((p.name, why) for p, why in removed) == [
        ("CKPT+empty_meta", "CKPT.yaml is incomplete"),
        ("CKPT+no_lr_scheduler", "lr_scheduler.ckpt is missing"),
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "CKPT+good",
        "CKPT+not_a_checkpoint",
    ]
    assert is_complete_checkpoint(kept)
    assert remove_incomplete_checkpoints(tmp_path / "nothing_here") == []


@pytest.mark.parametrize(
    "history",
    [
        [],
        ["complete"],
        ["no_lr_scheduler"],
        ["complete", "no_lr_scheduler"],
        ["complete", "empty_meta"],
        ["complete", "truncated_teacher", "no_optimizer"],
        ["no_optimizer", "complete"],
    ],
)
def test_recipe_and_brain_agree_on_resuming(tmp_path, history):
    """``run_resumes`` (the recipes' test) says the run resumes exactly when
    the Brain's recovery (``recover_if_possible`` with
    :func:`is_complete_checkpoint`) loads a checkpoint, the one
    :func:`find_resume_checkpoint` names."""
    checkpointer = _recipe_checkpointer(tmp_path)
    for i, kind in enumerate(history):
        ckpt = checkpointer.save_checkpoint(name=f"{i}_{kind}")
        if kind != "complete":
            _break(ckpt, kind)
    resumes = run_resumes(checkpointer)
    expected = find_resume_checkpoint(checkpointer)
    loaded = checkpointer.recover_if_possible(
        ckpt_predicate=is_complete_checkpoint
    )
    assert resumes == ("complete" in history)
    assert resumes == (loaded is not None) == (expected is not None)
    if resumes:
        assert loaded.path == expected.path
        assert loaded.path.name == f"CKPT+{history.index('complete')}_complete"


def test_debug_runs_never_resume(tmp_path):
    checkpointer = _recipe_checkpointer(tmp_path)
    checkpointer.save_checkpoint()
    assert not run_resumes(checkpointer, debug=True)


# --------------------------------------------------- best of a run ---
def _run(tmp_path, objectives, config=None, meta=None):
    """A run folder whose checkpoints record ``objectives`` (oldest
    first; None records none)."""
    networks = {name: torch.nn.Linear(1, 1) for name in NETWORKS}
    checkpointer = Checkpointer(tmp_path / "save", networks)
    for i, objective in enumerate(objectives):
        extra = {} if objective is None else {"objective": objective}
        checkpointer.save_checkpoint(
            name=f"{i}", meta={**extra, **(meta or {})}
        )
    if config is not None:
        (tmp_path / RUN_CONFIG).write_text(json.dumps(config))
    return tmp_path


@pytest.mark.parametrize(
    "mode, config, best",
    [
        ("max", True, "CKPT+1"),
        ("min", True, "CKPT+2"),
        ("max", False, "CKPT+1"),
        ("min", False, "CKPT+2"),
    ],
)
def test_best_by_min_or_max(tmp_path, mode, config, best):
    """The direction comes from model_config.json, else from the meta."""
    objectives = [0.3, 0.5, 0.1, 0.2]
    if config:
        run = _run(tmp_path, objectives, config={"objective_mode": mode})
    else:
        run = _run(tmp_path, objectives, meta={"objective_mode": mode})
    ckpt, found = find_best_checkpoint(run)
    assert ckpt.path.name == best
    assert found == ({"objective_mode": mode} if config else {})
    if not config:  # the save folder itself
        assert find_best_checkpoint(run / "save")[0].path.name == best


def test_best_ties_go_to_the_latest_and_partial_ones_are_ignored(tmp_path):
    run = _run(tmp_path, [0.5, 0.5, 0.2, 0.9], config={})
    partial = run / "save" / "CKPT+3"
    data = (partial / "teacher.ckpt").read_bytes()
    (partial / "teacher.ckpt").write_bytes(data[:100])
    assert find_best_checkpoint(run)[0].path.name == "CKPT+1"
    os.remove(run / "save" / "CKPT+1" / "student.ckpt")
    assert find_best_checkpoint(run)[0].path.name == "CKPT+0"


def test_best_without_objective(tmp_path):
    run = _run(tmp_path, [None, None])
    with pytest.raises(FileNotFoundError, match="records the objective"):
        find_best_checkpoint(run)
    assert find_best_checkpoint(run, allow_latest=True)[0].path.name == (
        "CKPT+1"
    )
    empty = tmp_path / "empty"
    (empty / "save").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="No complete checkpoint"):
        find_best_checkpoint(empty, allow_latest=True)


def test_runs_are_found_and_their_config_checked(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a training run"):
        read_run_config(tmp_path)
    with pytest.raises(FileNotFoundError, match="folder not found"):
        find_run(tmp_path / "missing")
    (tmp_path / RUN_CONFIG).write_text('{"objective_mode": "best"}')
    with pytest.raises(ValueError, match="objective_mode must be"):
        find_run(tmp_path)
    (tmp_path / RUN_CONFIG).write_text("{not json")
    with pytest.raises(ValueError, match="invalid JSON"):
        find_run(tmp_path)
    (tmp_path / RUN_CONFIG).write_text("{}")
    with pytest.raises(FileNotFoundError, match="save does not exist"):
        find_run(tmp_path)
