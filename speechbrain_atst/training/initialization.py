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

from speechbrain_atst.checkpoints import RUN_CONFIG
from speechbrain_atst.labels import per_class_values
from speechbrain_atst.official import load_stage1_weights
from speechbrain_atst.training.hparams import require
from speechbrain_atst.training.objective import Objective

logger = get_logger(__name__)

#: The key of the stage-1 result a stage starts from; a stage YAML that
#: declares it (stage2.yaml) starts from stage 1.
STAGE1_CKPT = "stage1_ckpt"
#: Hyperparameters naming the initial weights of every stage.
WEIGHT_SOURCES = ("atst_ckpt", "atst_random_init")


class WeightsConfigError(ValueError):
    """The run is missing (or misuses) its initial weights options."""


def check_weight_sources(hparams):
    """Refuses to start a run without its initial weights.

    Arguments
    ---------
    hparams : dict
        Loaded hyperparameters (``atst_ckpt``, ``atst_random_init``, and
        ``stage1_ckpt`` for a stage that starts from stage 1: its YAML
        declares that key).

    Raises
    ------
    WeightsConfigError
        With a message explaining the options.

    Example
    -------
    >>> check_weight_sources({"atst_ckpt": None, "atst_random_init": True})
    >>> check_weight_sources({"atst_ckpt": None, "atst_random_init": False})
    Traceback (most recent call last):
    ...
    speechbrain_atst.training.initialization.WeightsConfigError: ...
    """
    require(hparams, WEIGHT_SOURCES, "The initial weights")
    atst_ckpt = hparams["atst_ckpt"]
    from_stage1 = STAGE1_CKPT in hparams
    if from_stage1 and hparams[STAGE1_CKPT]:
        path = hparams[STAGE1_CKPT]
        if not os.path.exists(path):
            raise WeightsConfigError(f"--stage1_ckpt {path} does not exist")
        return
    if atst_ckpt:
        if not os.path.isfile(atst_ckpt):
            raise WeightsConfigError(f"--atst_ckpt {atst_ckpt} is not a file")
        return
    if hparams["atst_random_init"]:
        logger.warning(
            "Training with a RANDOMLY INITIALISED ATST-Frame transformer "
            "(atst_random_init: True)"
        )
        return
    if from_stage1:
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
        Loaded hyperparameters (``student``, ``teacher``, ``atst_ckpt``,
        ``stage1_ckpt`` for a stage that starts from stage 1, and
        ``trust_checkpoint``: a checkpoint is never trusted without it).

    Returns
    -------
    str
        A description of the initial weights.
    """
    require(hparams, ("student", "teacher", "atst_ckpt"), "The models")
    student, teacher = hparams["student"], hparams["teacher"]
    trust = bool(hparams.get("trust_checkpoint", False))
    stage1 = hparams.get(STAGE1_CKPT)
    if stage1:
        load_stage1_weights(student, teacher, stage1, trust_checkpoint=trust)
        return f"stage-1 weights from {stage1}"
    origin = "random transformer"
    if hparams["atst_ckpt"]:
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
        Classes, transformer size, median windows (one per class, in class
        order), stage and the objective the stage declares (see
        :class:`~speechbrain_atst.training.objective.Objective`).

    Example
    -------
    >>> cfg = model_config(
    ...     {
    ...         "classes": ["Dog"],
    ...         "atst_embed_dim": 8,
    ...         "atst_depth": 1,
    ...         "atst_num_heads": 2,
    ...         "median_windows": {"Dog": 7},
    ...         "stage": 2,
    ...         "objective_mode": "max",
    ...         "objective_terms": ["teacher_psds1", "teacher_psds2"],
    ...         "objective_reduce": "sum",
    ...         "objective_fallback": [],
    ...     }
    ... )
    >>> cfg["objective_mode"], cfg["n_classes"], cfg["median_windows"]
    ('max', 1, [7])
    """
    objective = Objective.from_hparams(hparams)
    windows = per_class_values(hparams["median_windows"], hparams["classes"])
    return {
        "classes": list(hparams["classes"]),
        "n_classes": len(hparams["classes"]),
        "atst": {
            "embed_dim": int(hparams["atst_embed_dim"]),
            "depth": int(hparams["atst_depth"]),
            "num_heads": int(hparams["atst_num_heads"]),
        },
        "median_windows": [int(w) for w in windows],
        "stage": int(hparams["stage"]),
        "objective_key": objective.key,
        "objective_mode": objective.mode,
        "objective": objective.describe(),
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
