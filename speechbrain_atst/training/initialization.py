"""Weights a training run starts from, and the run's ``model_config.json``.

* Stage 1 starts from a pretrained ATST-Frame (``atst_ckpt``) in a random
  CRNN; the teacher starts as a copy of the student.
* Stage 2 starts from stage 1: a stage-1 run folder (its best checkpoint
  by objective), a ``save/`` folder, a ``CKPT+*`` folder or a checkpoint
  file (an official ATST-SED checkpoint with ``sed_student`` /
  ``sed_teacher``, or a plain state dict), read by
  :func:`speechbrain_atst.official.load_stage1_weights`.

Authors
 * speechbrain-atst team 2026
"""

import json
import os

from speechbrain.utils.logger import get_logger

from speechbrain_atst.checkpoints import OBJECTIVE_KEY, RUN_CONFIG
from speechbrain_atst.official import load_stage1_weights

logger = get_logger(__name__)


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
    path = os.path.join(hparams["output_folder"], RUN_CONFIG)
    os.makedirs(hparams["output_folder"], exist_ok=True)
    with open(path, "w", encoding="utf-8") as fout:
        json.dump(model_config(hparams), fout, indent=2)
    return path
