"""Weights a training run starts from, and the run's ``model_config.json``.

* Stage 1 starts from a pretrained ATST-Frame (``atst_ckpt``) in a random
  CRNN; the teacher starts as a copy of the student.
* Stage 2 starts from stage 1: :func:`resolve_stage1_checkpoint` accepts a
  stage-1 run folder (its best checkpoint by objective), a ``save/``
  folder, a ``CKPT+*`` folder or a checkpoint file (an official ATST-SED
  checkpoint with ``sed_student`` / ``sed_teacher``, or a plain state
  dict); :func:`load_stage1_weights` loads student and teacher strictly.

Authors
 * speechbrain-atst team 2026
"""

import json
import os
import zipfile
from pathlib import Path

from speechbrain.utils.checkpoints import Checkpointer
from speechbrain.utils.logger import get_logger

from speechbrain_atst.checkpoints import (
    drop_thop_keys,
    load_checkpoint,
    load_state_dict_strict,
    sed_state_dict,
)

logger = get_logger(__name__)

#: Meta key of the model-selection objective in training checkpoints.
OBJECTIVE_KEY = "objective"


#: Files every complete training checkpoint holds (the optimizer is saved
#: last by SpeechBrain's checkpointer).
REQUIRED_RECOVERABLES = ("student", "teacher", "counter", "brain", "optimizer")


def is_complete_checkpoint(ckpt, required=REQUIRED_RECOVERABLES):
    """Whether a checkpoint was written completely.

    SpeechBrain writes a checkpoint's ``CKPT.yaml`` first, then one file
    per recoverable; a run killed meanwhile leaves a partial folder. A
    checkpoint is complete when every required file exists and every
    ``torch.save`` (zip) file has its end-of-archive record.

    Arguments
    ---------
    ckpt : speechbrain.utils.checkpoints.Checkpoint
        The checkpoint (``path`` is its folder).
    required : sequence of str
        Recoverable names that must have a file.

    Returns
    -------
    bool
        True if complete.

    Example
    -------
    >>> import torch
    >>> from types import SimpleNamespace
    >>> folder = getfixture("tmp_path")
    >>> torch.save({"w": torch.ones(1)}, folder / "student.ckpt")
    >>> is_complete_checkpoint(SimpleNamespace(path=folder), ["student"])
    True
    >>> _ = (folder / "teacher.ckpt").write_bytes(b"PK\x03\x04trunc")
    >>> is_complete_checkpoint(SimpleNamespace(path=folder), ["student"])
    False
    """
    folder = Path(ckpt.path)
    for name in required:
        path = folder / f"{name}.ckpt"
        if not path.is_file() or path.stat().st_size == 0:
            return False
    for path in folder.glob("*.ckpt"):
        with open(path, "rb") as fin:
            zipped = fin.read(2) == b"PK"
        if zipped and not zipfile.is_zipfile(path):
            return False
    return True


def find_resume_checkpoint(checkpointer):
    """The latest complete checkpoint of a run, or None.

    Arguments
    ---------
    checkpointer : speechbrain.utils.checkpoints.Checkpointer
        The run's checkpointer.

    Returns
    -------
    Checkpoint or None
        What a resumed run would load.
    """
    return checkpointer.find_checkpoint(ckpt_predicate=is_complete_checkpoint)


class WeightsConfigError(ValueError):
    """The run is missing (or misuses) its initial weights options."""


def check_weight_sources(hparams):
    """Refuses to start a run without its initial weights.

    Arguments
    ---------
    hparams : dict
        Loaded hyperparameters (``stage``, ``atst_ckpt``,
        ``atst_random_init``, ``stage1_ckpt`` for stage 2).

    Raises
    ------
    WeightsConfigError
        With a message explaining the options.

    Example
    -------
    >>> check_weight_sources({"stage": 1, "atst_random_init": True})
    >>> check_weight_sources({"stage": 1})
    Traceback (most recent call last):
    ...
    speechbrain_atst.training.initialization.WeightsConfigError: ...
    """
    stage = int(hparams.get("stage", 1))
    atst_ckpt = hparams.get("atst_ckpt")
    random_ok = bool(hparams.get("atst_random_init", False))
    if stage == 2 and hparams.get("stage1_ckpt"):
        path = hparams["stage1_ckpt"]
        if not os.path.exists(path):
            raise WeightsConfigError(f"--stage1_ckpt {path} does not exist")
        return
    if atst_ckpt:
        if not os.path.isfile(atst_ckpt):
            raise WeightsConfigError(f"--atst_ckpt {atst_ckpt} is not a file")
        return
    if random_ok:
        logger.warning(
            "Training with a RANDOMLY INITIALISED ATST-Frame transformer "
            "(atst_random_init: True)"
        )
        return
    if stage == 2:
        raise WeightsConfigError(
            "Stage 2 starts from stage 1: pass --stage1_ckpt=<stage-1 "
            "output folder, CKPT folder or .ckpt file>. Without it, pass "
            "--atst_ckpt=<pretrained ATST-Frame> (or --atst_random_init=True "
            "to train a random transformer on purpose)."
        )
    raise WeightsConfigError(
        "No pretrained ATST-Frame given: pass --atst_ckpt=<path to "
        "atst_as2M.ckpt> (the checkpoint released with ATST-SED). To train "
        "with a randomly initialised transformer on purpose (tests, "
        "ablations), pass --atst_random_init=True."
    )


def _ckpt_dir_files(folder):
    """student/teacher files of a SpeechBrain CKPT folder, or None."""
    folder = Path(folder)
    student, teacher = folder / "student.ckpt", folder / "teacher.ckpt"
    if student.is_file() and teacher.is_file():
        return {"student": str(student), "teacher": str(teacher)}
    return None


def _best_in_save_folder(save_dir, mode=None):
    """Best checkpoint of a SpeechBrain save folder by its objective."""
    checkpointer = Checkpointer(save_dir)
    ckpts = [
        c for c in checkpointer.list_checkpoints() if OBJECTIVE_KEY in c.meta
    ]
    if not ckpts:
        latest = checkpointer.find_checkpoint()
        if latest is None:
            raise FileNotFoundError(f"No checkpoint in {save_dir}")
        logger.warning(
            f"No checkpoint of {save_dir} records an objective; using the "
            f"latest, {latest.path}"
        )
        return latest
    if mode is None:
        mode = ckpts[-1].meta.get("objective_mode", "min")
    return checkpointer.find_checkpoint(**{f"{mode}_key": OBJECTIVE_KEY})


def resolve_stage1_checkpoint(path):
    """Finds the student and teacher weights of a stage-1 result.

    Arguments
    ---------
    path : str or os.PathLike
        A stage-1 ``output_folder`` (with ``model_config.json`` and
        ``save/``), a ``save/`` folder, a ``CKPT+*`` folder, or a file.

    Returns
    -------
    dict
        ``{"student": path, "teacher": path}`` for SpeechBrain checkpoints,
        or ``{"file": path}`` for a single checkpoint file.

    Example
    -------
    >>> resolve_stage1_checkpoint(__file__)["file"] == __file__
    True
    """
    path = Path(path)
    if path.is_file():
        return {"file": str(path)}
    if not path.is_dir():
        raise FileNotFoundError(f"Stage-1 checkpoint not found: {path}")
    files = _ckpt_dir_files(path)
    if files:
        return files
    mode = None
    config = path / "model_config.json"
    save_dir = path
    if config.is_file():
        with open(config, encoding="utf-8") as fin:
            mode = json.load(fin).get("objective_mode")
        save_dir = path / "save"
    elif (path / "save").is_dir():
        save_dir = path / "save"
    ckpt = _best_in_save_folder(save_dir, mode)
    files = _ckpt_dir_files(ckpt.path)
    if files is None:
        raise FileNotFoundError(
            f"{ckpt.path} holds no student.ckpt and teacher.ckpt"
        )
    logger.info(
        f"Stage-1 weights: {ckpt.path} (objective "
        f"{ckpt.meta.get(OBJECTIVE_KEY)})"
    )
    return files


def load_stage1_weights(student, teacher, path, trust_checkpoint=False):
    """Loads a stage-1 result into student and teacher (strictly).

    Arguments
    ---------
    student : ATSTSED
        The student model.
    teacher : ATSTSED
        The teacher model.
    path : str or os.PathLike
        See :func:`resolve_stage1_checkpoint`.
    trust_checkpoint : bool
        Allow full unpickling of an official (Lightning) checkpoint.

    Returns
    -------
    dict
        What was loaded (paths).
    """
    files = resolve_stage1_checkpoint(path)
    if "file" not in files:
        for name, model in (("student", student), ("teacher", teacher)):
            state = load_checkpoint(files[name])
            load_state_dict_strict(model, drop_thop_keys(state), files[name])
        return files
    source = files["file"]
    obj = load_checkpoint(source, trust_checkpoint=trust_checkpoint)
    official = sed_state_dict(obj, "student", source, required=False)
    if official is not None:
        for which, model in (("student", student), ("teacher", teacher)):
            state = sed_state_dict(obj, which, source)
            load_state_dict_strict(model, drop_thop_keys(state), source)
        return files
    if isinstance(obj, dict) and "cnn.cnn.conv0.weight" in obj:
        logger.warning(
            f"{source} is a single model's state dict: student and teacher "
            "both start from it"
        )
        for model in (student, teacher):
            load_state_dict_strict(model, drop_thop_keys(obj), source)
        return files
    raise ValueError(
        f"{source}: neither an ATST-SED checkpoint (sed_student / "
        "sed_teacher) nor a state dict of the model"
    )


def initialize_models(hparams):
    """Sets the initial weights of student and teacher for a new run.

    Arguments
    ---------
    hparams : dict
        Loaded hyperparameters (``student``, ``teacher``, ``stage``,
        ``atst_ckpt``, ``stage1_ckpt``, ``trust_checkpoint``).

    Returns
    -------
    str
        A description of the initial weights.
    """
    student, teacher = hparams["student"], hparams["teacher"]
    trust = bool(hparams.get("trust_checkpoint", False))
    stage1 = hparams.get("stage1_ckpt") if int(hparams["stage"]) == 2 else None
    if stage1:
        load_stage1_weights(student, teacher, stage1, trust_checkpoint=trust)
        return f"stage-1 weights from {stage1}"
    origin = "random transformer"
    if hparams.get("atst_ckpt"):
        student.atst.load_pretrained(
            hparams["atst_ckpt"], trust_checkpoint=trust
        )
        origin = f"pretrained transformer {hparams['atst_ckpt']}"
    teacher.load_state_dict(student.state_dict())
    return origin


def model_config(hparams):
    """The ``model_config.json`` content of a run (see the contracts).

    Arguments
    ---------
    hparams : dict
        Loaded hyperparameters.

    Returns
    -------
    dict
        Classes, transformer size, median windows, stage and objective.

    Example
    -------
    >>> cfg = model_config(
    ...     {
    ...         "classes": ["Dog"],
    ...         "atst_embed_dim": 8,
    ...         "atst_depth": 1,
    ...         "atst_num_heads": 2,
    ...         "median_windows": [7],
    ...         "stage": 2,
    ...     }
    ... )
    >>> cfg["objective_mode"], cfg["n_classes"]
    ('max', 1)
    """
    stage = int(hparams["stage"])
    return {
        "classes": list(hparams["classes"]),
        "n_classes": len(hparams["classes"]),
        "atst": {
            "embed_dim": int(hparams["atst_embed_dim"]),
            "depth": int(hparams["atst_depth"]),
            "num_heads": int(hparams["atst_num_heads"]),
        },
        "median_windows": [int(w) for w in hparams["median_windows"]],
        "stage": stage,
        "objective_key": OBJECTIVE_KEY,
        "objective_mode": "min" if stage == 1 else "max",
        "objective": (
            "mean of the teacher's weak BCE on weak_valid and strong BCE on "
            "strong_valid"
            if stage == 1
            else "teacher PSDS1 + PSDS2 on synth_valid"
        ),
    }


def write_model_config(hparams):
    """Writes ``<output_folder>/model_config.json``.

    Arguments
    ---------
    hparams : dict
        Loaded hyperparameters.

    Returns
    -------
    str
        The file written.
    """
    path = os.path.join(hparams["output_folder"], "model_config.json")
    os.makedirs(hparams["output_folder"], exist_ok=True)
    with open(path, "w", encoding="utf-8") as fout:
        json.dump(model_config(hparams), fout, indent=2)
    return path
