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
import shutil
from pathlib import Path

from speechbrain.utils.logger import get_logger

from speechbrain_atst.checkpoints import (
    checkpoint_problem,
    drop_thop_keys,
    load_checkpoint,
    load_state_dict_strict,
    sed_state_dict,
    usable_checkpoints,
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
    per recoverable; a run killed meanwhile leaves a partial folder. See
    :func:`speechbrain_atst.checkpoints.checkpoint_problem` for the
    checks.

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
    >>> _ = (folder / "CKPT.yaml").write_text(
    ...     "end-of-epoch: true\\nunixtime: 1"
    ... )
    >>> torch.save({"w": torch.ones(1)}, folder / "student.ckpt")
    >>> is_complete_checkpoint(SimpleNamespace(path=folder), ["student"])
    True
    >>> _ = (folder / "teacher.ckpt").write_bytes(b"PK\\x03\\x04trunc")
    >>> is_complete_checkpoint(SimpleNamespace(path=folder), ["student"])
    False
    """
    return checkpoint_problem(ckpt.path, required) is None


def remove_incomplete_checkpoints(save_dir, required=REQUIRED_RECOVERABLES):
    """Deletes the checkpoint folders a killed run left partial.

    Run before a run resumes (on the main process only): a partial folder
    is never loaded, and removing it keeps SpeechBrain's checkpointer,
    which reads every ``CKPT.yaml`` and fails on an empty one, from
    tripping over it, and keeps it from being kept as the "best"
    checkpoint in place of a complete one.

    Arguments
    ---------
    save_dir : str or os.PathLike
        The run's ``save/`` folder.
    required : sequence of str
        Recoverables every complete checkpoint holds.

    Returns
    -------
    list of (pathlib.Path, str)
        The folders removed and why.

    Example
    -------
    >>> remove_incomplete_checkpoints(getfixture("tmp_path"))
    []
    """
    _, rejected = usable_checkpoints(save_dir, required)
    for folder, problem in rejected:
        logger.warning(
            f"Deleting the incomplete checkpoint {folder} ({problem}; the "
            "run was interrupted while writing it)"
        )
        shutil.rmtree(folder, ignore_errors=True)
    return rejected


def find_resume_checkpoint(checkpointer, required=REQUIRED_RECOVERABLES):
    """The latest complete checkpoint of a run, or None.

    Arguments
    ---------
    checkpointer : speechbrain.utils.checkpoints.Checkpointer
        The run's checkpointer.
    required : sequence of str
        Recoverables every complete checkpoint holds.

    Returns
    -------
    Checkpoint or None
        What a resumed run would load.
    """
    good, _ = usable_checkpoints(checkpointer.checkpoints_dir, required)
    return good[-1] if good else None


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
    """Best complete checkpoint of a SpeechBrain save folder by its
    objective (partial ones, left by a killed run, are ignored)."""
    good, rejected = usable_checkpoints(save_dir, ("student", "teacher"))
    for folder, problem in rejected:
        logger.warning(
            f"Ignoring the incomplete checkpoint {folder}: {problem}"
        )
    ckpts = [c for c in good if OBJECTIVE_KEY in c.meta]
    if not ckpts:
        latest = good[-1] if good else None
        if latest is None:
            raise FileNotFoundError(f"No complete checkpoint in {save_dir}")
        logger.warning(
            f"No checkpoint of {save_dir} records an objective; using the "
            f"latest, {latest.path}"
        )
        return latest
    if mode is None:
        mode = ckpts[-1].meta.get("objective_mode", "min")
    sign = 1.0 if mode == "max" else -1.0
    # The latest wins among equal objectives (as SpeechBrain's find).
    return max(reversed(ckpts), key=lambda c: sign * c.meta[OBJECTIVE_KEY])


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
