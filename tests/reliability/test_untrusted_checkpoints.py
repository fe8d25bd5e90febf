"""Checkpoints and model folders from others.

* a crafted file that runs code when unpickled never runs it, whichever
  public path reads it (checkpoint files, official checkpoints, stage-1
  results, training runs, model folders, training recovery, the
  embedding cache), unless the caller trusts the file;
* checkpoints that hold pickled objects (official Lightning ones) are
  refused with a message that explains the risk and the opt-in;
* truncated, empty or wrong files give errors naming the file;
* a misspelt local model folder is an error, never a hub lookup.

Authors
 * speechbrain-atst team 2026
"""

import argparse
import json
import pathlib
import re
import shutil
import socket
from pathlib import Path

import pytest
import torch
from conftest import CLASSES, TINY_ARCH
from speechbrain.utils.checkpoints import Checkpointer
from speechbrain.utils.epoch_loop import EpochCounter

from speechbrain_atst.checkpoints import (
    CheckpointError,
    UntrustedCheckpointError,
    load_checkpoint,
)
from speechbrain_atst.cli import main as cli_main
from speechbrain_atst.inference import (
    SEDInterface,
    convert_official,
    export_run,
)
from speechbrain_atst.labels import DESED_CLASSES
from speechbrain_atst.lobes.atst_frame import ATSTFrame
from speechbrain_atst.lobes.atst_sed import ATSTSED
from speechbrain_atst.official import load_stage1_weights
from speechbrain_atst.training.cache import EmbeddingCache
from speechbrain_atst.training.initialization import initialize_models
from speechbrain_atst.training.schedules import WarmupCosineLR

REPO = Path(__file__).resolve().parents[2]


class CodeRunner:
    """Unpickling an instance touches ``marker``: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def _tiny_sed(n_classes=10, seed=0):
    """A tiny ATSTSED with seeded random weights."""
    torch.manual_seed(seed)
    return ATSTSED(n_classes=n_classes, **TINY_ARCH)


def _lightning_checkpoint(path, model):
    """An official-style checkpoint: prefixed weights plus pickled
    hyper-parameters (an ``argparse.Namespace``), as Lightning saves."""
    state = model.state_dict()
    flat = {f"sed_student.{k}": v for k, v in state.items()}
    flat.update({f"sed_teacher.{k}": v for k, v in state.items()})
    torch.save(
        {
            "state_dict": flat,
            "hyper_parameters": argparse.Namespace(lr=0.001, n_epochs=250),
            "epoch": 3,
        },
        path,
    )
    return path


# ------------------------------------------------------------ readme ---
def test_readme_says_hyperparams_are_code():
    readme = (REPO / "README.md").read_text("utf-8")
    section = readme[readme.index("**Security.**") :][:800]
    assert "`hyperparams.yaml` is code" in section
    assert (
        "trust_checkpoint=True" in section and "--trust_checkpoint" in section
    )
    assert "weights_only=True" in section


# ------------------------------------------------- pickled checkpoints ---
def test_lightning_checkpoint_needs_explicit_trust(tmp_path):
    model = _tiny_sed()
    path = _lightning_checkpoint(tmp_path / "Stage2.ckpt", model)
    with pytest.raises(UntrustedCheckpointError) as err:
        ATSTSED.from_official_checkpoint(path, atst_kwargs=dict(TINY_ARCH))
    text = str(err.value)
    assert str(path) in text and "argparse.Namespace" in text
    assert "runs code from the file" in text and "trust_checkpoint=True" in text
    loaded = ATSTSED.from_official_checkpoint(
        path,
        which="teacher",
        atst_kwargs=dict(TINY_ARCH),
        trust_checkpoint=True,
    )
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)


def _run_folder(folder, teacher_state):
    """A training run whose best checkpoint holds ``teacher_state``.

    Returns
    -------
    pathlib.Path
        The file of ``teacher_state``.
    """
    model = _tiny_sed(len(CLASSES))
    networks = {"student": model, "teacher": model}
    checkpointer = Checkpointer(folder / "save", networks)
    ckpt = checkpointer.save_checkpoint(
        meta={"objective": 0.5, "objective_mode": "max"}
    )
    torch.save(teacher_state, ckpt.paramfiles["teacher"])
    config = {
        "classes": CLASSES,
        "atst": TINY_ARCH,
        "median_windows": [3] * len(CLASSES),
        "stage": 2,
        "objective_key": "objective",
        "objective_mode": "max",
    }
    (folder / "model_config.json").write_text(json.dumps(config))
    return ckpt.paramfiles["teacher"]


#: Every public way to read a checkpoint someone else wrote.
LOADERS = [
    "load_checkpoint",
    "atst_frame",
    "atst_sed_init",
    "official",
    "convert_official",
    "convert_cli",
    "stage1_file",
    "stage1_run",
    "initialize_models",
    "export_run",
    "export_cli",
    "model_folder",
]


@pytest.mark.parametrize("loader", LOADERS)
def test_code_in_a_checkpoint_never_runs(tmp_path, tiny_model_dir, loader):
    marker = tmp_path / "code_ran"
    sd = _tiny_sed(len(CLASSES)).state_dict()
    payload = tmp_path / "payload.ckpt"
    hook = CodeRunner(marker)
    torch.save({"sed_student": sd, "sed_teacher": sd, "hook": hook}, payload)
    run, out = tmp_path / "run", tmp_path / "out"
    if loader in ("stage1_run", "export_run", "export_cli"):
        payload = _run_folder(run, {**sd, "hook": hook})
    elif loader == "model_folder":
        shutil.copytree(tiny_model_dir, run)
        shutil.copy(payload, run / "model.ckpt")
        payload = run / "model.ckpt"
    match = re.escape(str(payload)) + ".*refused by default.*trust_checkpoint"
    arch = dict(TINY_ARCH)
    if loader.endswith("_cli"):
        command = loader.split("_")[0]
        source = run if command == "export" else payload
        assert cli_main([command, str(source), str(out)]) == 1
        assert not out.exists()
    else:
        calls = {
            "load_checkpoint": lambda: load_checkpoint(payload),
            "atst_frame": lambda: ATSTFrame.from_checkpoint(payload, **arch),
            "atst_sed_init": lambda: ATSTSED(atst_ckpt=payload, **arch),
            "official": lambda: ATSTSED.from_official_checkpoint(
                payload, n_classes=len(CLASSES), atst_kwargs=arch
            ),
            "convert_official": lambda: convert_official(payload, out, **arch),
            "stage1_file": lambda: load_stage1_weights(
                _tiny_sed(3), _tiny_sed(3), payload
            ),
            "stage1_run": lambda: load_stage1_weights(
                _tiny_sed(3), _tiny_sed(3), run
            ),
            "initialize_models": lambda: initialize_models(
                {
                    "student": _tiny_sed(3),
                    "teacher": _tiny_sed(3),
                    "stage": 1,
                    "atst_ckpt": str(payload),
                }
            ),
            "export_run": lambda: export_run(run, out),
            "model_folder": lambda: SEDInterface.from_hparams(run),
        }
        with pytest.raises(UntrustedCheckpointError, match=match):
            calls[loader]()
        assert not out.exists()
    assert not marker.exists(), "code inside the checkpoint ran"


def test_the_crafted_file_runs_code_once_trusted(tmp_path):
    """The control: the payload above is live, and trusting a file
    really means running its code."""
    marker = tmp_path / "code_ran"
    payload = tmp_path / "payload.ckpt"
    torch.save({"hook": CodeRunner(marker)}, payload)
    load_checkpoint(payload, trust_checkpoint=True)
    assert marker.exists()


@pytest.mark.parametrize("name", ["student", "lr_scheduler", "optimizer"])
def test_training_recovery_never_unpickles(tmp_path, name):
    """A run's checkpoints are read back by SpeechBrain's checkpointer and
    the recoverables' own loaders: none runs code from the files."""
    marker = tmp_path / "code_ran"
    student = torch.nn.Linear(2, 2)
    recoverables = {
        "student": student,
        "teacher": torch.nn.Linear(2, 2),
        "lr_scheduler": WarmupCosineLR(n_epochs=2, warmup_epochs=1, cos_down=0),
        "counter": EpochCounter(limit=2),
        "optimizer": torch.optim.Adam(student.parameters()),
    }
    checkpointer = Checkpointer(tmp_path / "save", recoverables)
    ckpt = checkpointer.save_checkpoint()
    torch.save({"state": CodeRunner(marker)}, ckpt.paramfiles[name])
    with pytest.raises(Exception, match="Weights only load failed"):
        checkpointer.recover_if_possible()
    assert not marker.exists()


def test_embedding_cache_never_unpickles(tmp_path):
    """A cache entry replaced by a crafted file is recomputed, unread."""
    marker = tmp_path / "code_ran"
    folder = str(tmp_path / "cache")
    value = torch.arange(6.0).reshape(1, 2, 3)

    def encode(indices):
        return value.expand(len(indices), 2, 3)

    EmbeddingCache(folder, fingerprint="w").get_or_compute(["a@0"], encode)
    [entry] = (tmp_path / "cache").rglob("*.pt")
    torch.save(CodeRunner(marker), entry)
    cache = EmbeddingCache(folder, fingerprint="w")
    assert torch.equal(cache.get_or_compute(["a@0"], encode), value)
    assert cache.misses == 1
    assert not marker.exists()


# ----------------------------------------------------------- bad files ---
@pytest.fixture
def broken_files(tmp_path):
    """``{kind: path}``: empty, truncated zip, text, random bytes."""
    good = tmp_path / "good.ckpt"
    torch.save(_tiny_sed(3).state_dict(), good)
    raw = good.read_bytes()
    files = {
        "empty": b"",
        "truncated": raw[: len(raw) // 2],
        "text": b"version https://git-lfs.github.com/spec/v1\noid sha256:0\n",
        "random": bytes(range(256)) * 40,
    }
    out = {}
    for kind, content in files.items():
        out[kind] = tmp_path / f"{kind}.ckpt"
        out[kind].write_bytes(content)
    return out


PROBLEM = {
    "empty": "empty file, not a checkpoint",
    "truncated": "truncated, corrupt or not a PyTorch checkpoint",
    "text": "a Git LFS pointer, not the checkpoint itself",
    "random": "truncated, corrupt or not a PyTorch checkpoint",
}


@pytest.mark.parametrize("kind", sorted(PROBLEM))
def test_broken_checkpoint_files_name_file_and_problem(broken_files, kind):
    path = broken_files[kind]
    match = re.escape(str(path)) + ".*" + re.escape(PROBLEM[kind])
    with pytest.raises(CheckpointError, match=match):
        ATSTFrame.from_checkpoint(path, **TINY_ARCH)
    with pytest.raises(CheckpointError, match=match):
        ATSTSED.from_official_checkpoint(
            path, n_classes=3, atst_kwargs=dict(TINY_ARCH)
        )


def test_wrong_checkpoints_are_explained(tmp_path):
    path = tmp_path / "other.ckpt"
    torch.save({"state_dict": {"encoder.weight": torch.ones(2)}}, path)
    with pytest.raises(CheckpointError, match="no ATST-SED student found"):
        ATSTSED.from_official_checkpoint(path, atst_kwargs=dict(TINY_ARCH))
    torch.save(_tiny_sed(3).state_dict(), path)
    with pytest.raises(CheckpointError, match=r"another shape.*n_classes"):
        ATSTSED.from_official_checkpoint(
            path, n_classes=10, atst_kwargs=dict(TINY_ARCH)
        )
    torch.save(ATSTFrame(**TINY_ARCH).state_dict(), path)
    with pytest.raises(CheckpointError, match=re.escape(str(path))):
        ATSTFrame.from_checkpoint(path, embed_dim=64, depth=1, num_heads=2)


@pytest.mark.parametrize("kind", ["missing", "truncated", "wrong_model"])
def test_model_folder_with_a_bad_model_ckpt(
    tmp_path, tiny_model_dir, broken_files, kind
):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    weights = folder / "model.ckpt"
    if kind == "missing":
        weights.unlink()
        exc, problem = FileNotFoundError, "Model weights not found"
    elif kind == "truncated":
        shutil.copy(broken_files["truncated"], weights)
        exc, problem = CheckpointError, "truncated, corrupt"
    else:
        torch.save(_tiny_sed(10).state_dict(), weights)
        exc, problem = CheckpointError, "do not fit the model.*another shape"
    # The error names the model folder's file, not the link in savedir.
    match = f"(?=.*{re.escape(str(weights))})(?=.*{problem})"
    with pytest.raises(exc, match=match):
        SEDInterface.from_hparams(folder, savedir=tmp_path / "links")


@pytest.mark.parametrize(
    "kind, edit, problem",
    [
        ("empty", lambda text: "", "empty file"),
        ("syntax", lambda text: text + "\nbad: [unclosed\n", "line"),
        (
            "unknown_class",
            lambda text: text.replace("atst_sed.ATSTSED", "atst_sed.Nope"),
            "no such class",
        ),
        (
            "missing_key",
            lambda text: re.sub(r"(?m)^window_seconds:.*\n", "", text),
            "window_seconds",
        ),
    ],
)
def test_model_folder_with_a_bad_hyperparams_file(
    tmp_path, tiny_model_dir, kind, edit, problem
):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    path = folder / "hyperparams.yaml"
    path.write_text(edit(path.read_text()))
    with pytest.raises(Exception, match=re.escape(str(path)) + ".*" + problem):
        SEDInterface.from_hparams(folder)


def test_convert_cli_refuses_then_accepts_with_trust(tmp_path, capsys):
    path = _lightning_checkpoint(tmp_path / "Stage2.ckpt", _tiny_sed())
    arch = [f"--{k}={v}" for k, v in TINY_ARCH.items()]
    out = tmp_path / "model"
    assert cli_main(["convert", str(path), str(out), *arch]) == 1
    err = capsys.readouterr().err
    assert "refused by default" in err and "--trust_checkpoint" in err
    assert not out.exists()
    truncated = tmp_path / "cut.ckpt"
    truncated.write_bytes(path.read_bytes()[:5000])
    assert cli_main(["convert", str(truncated), str(out), *arch]) == 1
    err = capsys.readouterr().err
    assert str(truncated) in err and "truncated, corrupt" in err
    argv = ["convert", str(path), str(out), *arch, "--trust_checkpoint"]
    assert cli_main(argv) == 0
    assert (out / "model.ckpt").is_file()
    # The converted folder is plain tensors: it loads without trust.
    assert SEDInterface.from_hparams(out).classes == list(DESED_CLASSES)


# -------------------------------------------------------------- sources ---
@pytest.fixture
def no_network(monkeypatch):
    """Fails the test on any connection or hub download."""

    def refuse(*args, **kwargs):
        raise AssertionError("a network access was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", refuse)


def test_misspelt_local_folder_is_not_a_hub_lookup(
    tmp_path, tiny_model_dir, no_network, monkeypatch
):
    monkeypatch.chdir(tiny_model_dir.parent.parent)
    local = f"{tiny_model_dir.parent.name}/{tiny_model_dir.name}"
    assert SEDInterface.from_hparams(local).classes == CLASSES
    typo = f"{tiny_model_dir.parent.name}/modle"  # looks like org/name
    with pytest.raises(FileNotFoundError, match="taken as a local path"):
        SEDInterface.from_hparams(typo)
    for source in ("./modle", str(tmp_path / "modle"), "~/no_such_model"):
        with pytest.raises(FileNotFoundError, match="Model folder not found"):
            SEDInterface.from_hparams(source)
    with pytest.raises(NotADirectoryError, match="is a file"):
        SEDInterface.from_hparams(tiny_model_dir / "model.ckpt")
    not_a_model = tmp_path / "empty_folder"
    not_a_model.mkdir()
    with pytest.raises(FileNotFoundError, match="not a model folder"):
        SEDInterface.from_hparams(not_a_model)
