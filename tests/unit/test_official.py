"""Tests of the official checkpoint formats (:mod:`speechbrain_atst.official`).

The ``atst_parity`` fixture (tests/conftest.py) holds files in the layouts
the official code writes: ``atst_frame_as2M_format.ckpt`` (a Lightning
``state_dict`` with ``encoder.encoder.`` keys, as ``atst_as2M.ckpt``) and
``atst_sed_stage_format.ckpt`` (``sed_student`` / ``sed_teacher``, top
level and prefixed in ``state_dict``), for a small transformer.

Authors
 * speechbrain-atst team 2026
"""

import json

import pytest
import torch
from speechbrain.utils.checkpoints import Checkpointer

from speechbrain_atst.checkpoints import NETWORKS, RUN_CONFIG, CheckpointError
from speechbrain_atst.lobes.atst_frame import ATSTFrame
from speechbrain_atst.lobes.atst_sed import ATSTSED
from speechbrain_atst.official import (
    ATSTSED_PREFIX,
    atst_state_dict,
    drop_thop_keys,
    load_stage1_weights,
    map_official_key,
    resolve_stage1_checkpoint,
    sed_state_dict,
    sed_weights,
)

ARCH = {"embed_dim": 64, "depth": 2, "num_heads": 4}
TINY = {"embed_dim": 16, "depth": 1, "num_heads": 2}


@pytest.fixture(scope="module")
def as2m(atst_parity):
    path = atst_parity / "atst_frame_as2M_format.ckpt"
    return torch.load(path, weights_only=True)


@pytest.fixture(scope="module")
def stage(atst_parity):
    path = atst_parity / "atst_sed_stage_format.ckpt"
    return torch.load(path, weights_only=True)


# ------------------------------------------------------- key mapping ---
@pytest.mark.parametrize(
    "key, expected",
    [
        ("encoder.encoder.blocks.0.mlp.fc1.weight", "blocks.0.mlp.fc1.weight"),
        ("model.teacher.encoder.pos_embed", "pos_embed"),
        ("model.teacher.encoder.norm.weight", "norm_frame.weight"),
        ("model.teacher.encoder.cls_token", None),
        ("encoder.encoder.frame_encoder.norm_frame.bias", "norm_frame.bias"),
        ("encoder.encoder.teacher_module.blocks.0.norm1.weight", None),
        ("atst_frame.atst.patch_embed.patch_embed.weight", None),
    ],
)
def test_official_key_rules(key, expected):
    if key.startswith(ATSTSED_PREFIX):
        expected = key[len(ATSTSED_PREFIX) :]
    assert map_official_key(key) == (True, expected)


def test_keys_of_other_modules_are_not_mapped():
    for key in ("head.1.weight", "cnn.cnn.conv0.weight", "pos_embed"):
        assert map_official_key(key) == (False, None)


def test_as2m_layout_maps_onto_atst_frame(as2m):
    state = atst_state_dict(as2m, source="as2M.ckpt")
    assert set(state) == set(ATSTFrame(**ARCH).state_dict())
    for key, value in state.items():
        assert value is as2m["state_dict"]["encoder.encoder." + key]


def test_raw_ssl_layout_maps_like_as2m(as2m):
    """The same weights in the SSL pretraining layout give the same dict."""
    expected = atst_state_dict(as2m)
    ssl = {"model.teacher.encoder.cls_token": torch.zeros(1, 1, 64)}
    for key, value in expected.items():
        key = key.replace("norm_frame.", "norm.")
        ssl["model.teacher.encoder." + key] = value
    ssl["model.student.encoder.pos_embed"] = torch.zeros(1)
    assert atst_state_dict({"state_dict": ssl}) == expected


def test_thop_buffers_are_dropped(as2m, stage):
    flat = dict(as2m["state_dict"])
    flat["encoder.encoder.blocks.0.total_ops"] = torch.zeros(1)
    flat["total_params"] = torch.zeros(1)
    assert atst_state_dict({"state_dict": flat}) == atst_state_dict(as2m)
    student = {**stage["sed_student"], "cnn.total_ops": torch.zeros(1)}
    assert (
        sed_weights({"sed_student": student}, "student")
        == (stage["sed_student"])
    )
    assert drop_thop_keys({"a.total_ops": 0, "a.w": 1}) == {"a.w": 1}


def test_two_keys_mapping_to_the_same_name():
    state = {
        "model.teacher.encoder.norm.weight": torch.zeros(1),
        "model.teacher.encoder.norm_frame.weight": torch.zeros(1),
    }
    with pytest.raises(CheckpointError, match="x.ckpt.*norm_frame.weight"):
        atst_state_dict(state, source="x.ckpt")


# ------------------------------------------------------ ATST-SED files ---
@pytest.mark.parametrize("which", NETWORKS)
def test_stage_layout_maps_onto_atst_sed(stage, which):
    state = sed_weights(stage, which, "stage.ckpt")
    assert set(state) == set(ATSTSED(**ARCH).state_dict())
    # The Lightning state_dict holds the same tensors under a prefix.
    lightning = sed_state_dict({"state_dict": stage["state_dict"]}, which)
    assert lightning.keys() == state.keys()
    for key, value in state.items():
        assert torch.equal(lightning[key], value), key
    # Its transformer is what ATSTFrame reads from the same file.
    atst = atst_state_dict(stage, which)
    assert atst == {
        k[len(ATSTSED_PREFIX) :]: v
        for k, v in state.items()
        if k.startswith(ATSTSED_PREFIX)
    }


def test_student_and_teacher_differ(stage):
    student, teacher = (sed_weights(stage, which) for which in NETWORKS)
    assert any(not torch.equal(student[k], teacher[k]) for k in student)


def test_top_level_wins_and_absence_is_reported():
    ckpt = {
        "sed_student": {"x": 1},
        "state_dict": {"sed_student.x": 2, "sed_teacher.x": 3},
    }
    assert sed_state_dict(ckpt, "student") == {"x": 1}
    assert sed_state_dict(ckpt, "teacher") == {"x": 3}
    assert sed_state_dict({"w": 1}, required=False) is None
    with pytest.raises(CheckpointError, match="f.ckpt: no ATST-SED teacher"):
        sed_state_dict({"w": 1}, source="f.ckpt")
    with pytest.raises(ValueError, match="'student' or 'teacher'"):
        sed_state_dict(ckpt, "ema")


def test_plain_state_dict_of_atst_sed(stage):
    plain = stage["sed_teacher"]
    assert sed_weights(plain, "student") == plain
    with pytest.raises(CheckpointError, match="other.ckpt: no ATST-SED"):
        sed_weights({"encoder.w": torch.zeros(1)}, "teacher", "other.ckpt")


# --------------------------------------------------- stage-1 results ---
def _tiny(seed):
    torch.manual_seed(seed)
    return ATSTSED(n_classes=3, **TINY)


def _stage1_run(folder, objectives):
    """A stage-1 run: ``model_config.json`` (objective minimised) and
    one checkpoint per objective, the networks seeded by position."""
    networks = {"student": _tiny(0), "teacher": _tiny(1)}
    checkpointer = Checkpointer(folder / "save", networks)
    for i, objective in enumerate(objectives):
        networks["student"].load_state_dict(_tiny(10 + i).state_dict())
        networks["teacher"].load_state_dict(_tiny(20 + i).state_dict())
        meta = {}
        if objective is not None:  # as SEDBrain records it
            meta = {"objective": objective, "objective_mode": "min"}
        checkpointer.save_checkpoint(name=str(i), meta=meta)
    config = {"objective_key": "objective", "objective_mode": "min"}
    (folder / RUN_CONFIG).write_text(json.dumps(config))
    return folder


def _same(model, reference):
    return all(
        torch.equal(value, reference.state_dict()[key])
        for key, value in model.state_dict().items()
    )


def test_stage1_run_resolves_to_its_best_checkpoint(tmp_path):
    run = _stage1_run(tmp_path, [0.5, 0.2, 0.3])
    best = run / "save" / "CKPT+1"
    expected = {name: str(best / f"{name}.ckpt") for name in NETWORKS}
    for path in (run, run / "save"):
        assert resolve_stage1_checkpoint(path) == expected
    assert resolve_stage1_checkpoint(best) == expected
    student, teacher = _tiny(5), _tiny(6)
    assert load_stage1_weights(student, teacher, run) == expected
    assert _same(student, _tiny(11)) and _same(teacher, _tiny(21))


def test_stage1_run_without_objective_uses_its_latest(tmp_path):
    run = _stage1_run(tmp_path, [None, None])
    files = resolve_stage1_checkpoint(run)
    assert files["teacher"] == str(run / "save" / "CKPT+1" / "teacher.ckpt")


def test_stage1_from_official_and_plain_files(tmp_path, stage):
    path = tmp_path / "Stage1.ckpt"
    torch.save(stage, path)
    student, teacher = ATSTSED(**ARCH), ATSTSED(**ARCH)
    assert load_stage1_weights(student, teacher, path) == {"file": str(path)}
    for which, model in (("student", student), ("teacher", teacher)):
        for key, value in model.state_dict().items():
            assert torch.equal(value, stage[f"sed_{which}"][key]), key
    torch.save(stage["sed_teacher"], path)
    load_stage1_weights(student, teacher, path)
    assert _same(student, teacher)
    torch.save({"state_dict": {"head.w": torch.zeros(1)}}, path)
    with pytest.raises(CheckpointError, match="Stage1.ckpt: no ATST-SED"):
        load_stage1_weights(student, teacher, path)
    with pytest.raises(FileNotFoundError, match="Stage-1 checkpoint"):
        load_stage1_weights(student, teacher, tmp_path / "missing")
