"""Checkpoints: safe reading, complete checkpoints, runs and their best.

* Files are read with ``torch.load(..., weights_only=True)``, which cannot
  run code hidden in the file (:func:`load_checkpoint`). Official
  Lightning checkpoints may also hold pickled Python objects
  (hyper-parameters, callbacks); reading those requires full unpickling,
  which can execute arbitrary code, so it is only done when the caller
  opts in with ``trust_checkpoint=True``. In that mode, classes from
  packages that are not installed (e.g. ``pytorch_lightning``) are
  replaced by inert placeholders, since only the tensors are needed.
* Weights are loaded strictly, with errors that list the differences and
  name the file (:func:`load_state_dict_strict`).
* A SpeechBrain checkpoint folder is *intact* when its ``CKPT.yaml`` and
  every file in it were written to the end (a run killed while saving
  leaves a partial folder), and *complete* when it is intact and holds
  every file of :data:`RECOVERABLES`: only a complete checkpoint is
  resumed from (:func:`is_complete_checkpoint`,
  :func:`find_resume_checkpoint`, :func:`remove_incomplete_checkpoints`).
* A training run (``model_config.json`` and ``save/``) is published or
  continued from its best intact checkpoint by the objective
  (:func:`find_best_checkpoint`).

Official checkpoint layouts and key names are in
:mod:`speechbrain_atst.official`.

Authors
 * speechbrain-atst team 2026
"""

import json
import os
import pickle
import shutil
import types
import zipfile
from pathlib import Path

import torch
import yaml
from speechbrain.utils.logger import get_logger

logger = get_logger(__name__)


class CheckpointError(ValueError):
    """A checkpoint file cannot be read or does not fit the model."""


class UntrustedCheckpointError(CheckpointError):
    """A checkpoint needs full unpickling, which the caller did not allow."""


def load_checkpoint(path, trust_checkpoint=False):
    """Reads a checkpoint file onto the CPU.

    Arguments
    ---------
    path : str or os.PathLike
        The file written by ``torch.save``.
    trust_checkpoint : bool
        If False (default), only tensors, numbers, strings and containers
        are read (``weights_only=True``); a file holding other Python
        objects raises :class:`UntrustedCheckpointError`. If True, the file
        is fully unpickled (only do this for files from a trusted source);
        objects of classes that cannot be imported become placeholders.

    Returns
    -------
    object
        The loaded object (usually a dict).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist (``IsADirectoryError`` for a folder).
    CheckpointError
        If the file is empty, truncated, corrupt or not a checkpoint.
    UntrustedCheckpointError
        If the file needs full unpickling and ``trust_checkpoint`` is False.

    Example
    -------
    >>> path = getfixture("tmp_path") / "w.ckpt"
    >>> torch.save({"w": torch.ones(2)}, path)
    >>> load_checkpoint(path)
    {'w': tensor([1., 1.])}
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(
            f"Expected a checkpoint file, got a folder: {path}"
        )
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Checkpoint file not found: {path}")
    if os.path.getsize(path) == 0:
        raise CheckpointError(f"{path}: empty file, not a checkpoint")
    _check_format(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "Weights only load failed" not in str(err):
            raise _unreadable(path, err) from err
        if not trust_checkpoint:
            raise UntrustedCheckpointError(
                f"{path}: the file holds pickled Python objects besides "
                f"tensors{_globals_note(path)}. Loading them runs code from "
                "the file, so it is refused by default. If you trust the "
                "source of this checkpoint, pass trust_checkpoint=True, or "
                "convert it once to a plain state dict."
            ) from err
    except Exception as err:
        raise _unreadable(path, err) from err
    try:
        return torch.load(
            path,
            map_location="cpu",
            weights_only=False,
            pickle_module=_lenient_pickle,
        )
    except Exception as err:
        raise _unreadable(path, err) from err


#: First bytes of a ``torch.save`` file: a zip archive (PyTorch >= 1.6),
#: or the pickled magic number of the legacy format.
_ZIP_HEAD = b"PK\x03\x04"
_LEGACY_MAGIC = torch.serialization.MAGIC_NUMBER.to_bytes(10, "little")


def _check_format(path):
    """Refuses a file that ``torch.save`` cannot have written.

    Without this, ``torch.load(weights_only=True)`` reads any other file
    as a legacy pickle and fails with "Weights only load failed", which
    would wrongly suggest that trusting the file could help.
    """
    with open(path, "rb") as fin:
        head = fin.read(64)
    if head.startswith(_ZIP_HEAD) or _LEGACY_MAGIC in head[:32]:
        return
    if head.startswith(b"version https://git-lfs"):
        raise CheckpointError(
            f"{path}: a Git LFS pointer, not the checkpoint itself; fetch "
            "the file with `git lfs pull` (or download it directly)"
        )
    raise CheckpointError(
        f"{path}: cannot read the checkpoint; the file is truncated, "
        "corrupt or not a PyTorch checkpoint (it starts with "
        f"{head[:16]!r}, neither a zip archive nor a legacy torch.save "
        "file)"
    )


def load_state_dict_strict(module, state_dict, source, hint=""):
    """Loads ``state_dict`` into ``module`` requiring an exact match.

    Unlike ``Module.load_state_dict`` the error lists the missing and
    unexpected keys and the shape mismatches in a readable way and names
    the checkpoint file.

    Arguments
    ---------
    module : torch.nn.Module
        The module to load into.
    state_dict : dict
        Tensors keyed like ``module.state_dict()``.
    source : str
        Where the tensors come from (file name), for error messages.
    hint : str
        Extra sentence appended to the error message.

    Raises
    ------
    CheckpointError
        If keys or shapes differ.

    Example
    -------
    >>> lin = torch.nn.Linear(2, 2)
    >>> load_state_dict_strict(lin, lin.state_dict(), "memory")
    >>> load_state_dict_strict(lin, {"weight": lin.weight}, "memory")
    Traceback (most recent call last):
    ...
    speechbrain_atst.checkpoints.CheckpointError: memory: ... missing: bias
    """
    expected = module.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    shapes = [
        f"{k} {tuple(state_dict[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state_dict
        and hasattr(state_dict[k], "shape")
        and tuple(state_dict[k].shape) != tuple(v.shape)
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing: {_short_list(missing)}")
    if unexpected:
        problems.append(
            f"{len(unexpected)} unexpected: {_short_list(unexpected)}"
        )
    if shapes:
        problems.append(
            f"{len(shapes)} with another shape (file vs model): "
            f"{_short_list(shapes)}"
        )
    if problems:
        message = f"{source}: the weights do not fit the model; " + "; ".join(
            problems
        )
        raise CheckpointError(message + (f". {hint}" if hint else ""))
    module.load_state_dict(state_dict, strict=True)


def _short_list(items, limit=8):
    """Joins the first ``limit`` items and counts the rest."""
    text = ", ".join(items[:limit])
    if len(items) > limit:
        text += f", ... ({len(items) - limit} more)"
    return text


def _unreadable(path, err):
    """The error for a file torch cannot read."""
    reason = str(err).strip().splitlines()
    reason = reason[0] if reason else ""
    return CheckpointError(
        f"{path}: cannot read the checkpoint; the file is truncated, "
        f"corrupt or not a PyTorch checkpoint ({type(err).__name__}: "
        f"{reason[:200]})"
    )


def _globals_note(path):
    """Lists the Python objects a zip checkpoint needs, if it can."""
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception:
        return ""
    return f" ({', '.join(names)})" if names else ""


class _Placeholder(dict):
    """Stands in for an object whose class cannot be imported."""

    def __init__(self, *args, **kwargs):
        super().__init__()
        self.args = args
        self.kwargs = kwargs

    def __setstate__(self, state):
        self.state = state


class _LenientUnpickler(pickle.Unpickler):
    """Unpickler that replaces classes of missing packages by placeholders."""

    def find_class(self, module, name):
        """Resolves ``module.name`` or returns a placeholder class."""
        try:
            return super().find_class(module, name)
        except (ImportError, AttributeError):
            return type(name, (_Placeholder,), {"__module__": module})


_lenient_pickle = types.SimpleNamespace(
    Unpickler=_LenientUnpickler,
    load=pickle.load,
    __name__="speechbrain_atst_lenient_pickle",
)


# ------------------------------------------------ checkpoint folders ---
#: Meta file of a SpeechBrain checkpoint folder (written first).
CKPT_META = "CKPT.yaml"
#: The two networks of a run, as named in its checkpoints (``teacher.ckpt``,
#: ``student.ckpt``) and, as ``sed_<name>``, in official ATST-SED
#: checkpoints; the teacher, usually the better one, first.
NETWORKS = ("teacher", "student")
#: The files of a complete training checkpoint: the recoverables of the
#: recipe's Checkpointer (``hparams/stage{1,2}.yaml``: the networks,
#: ``lr_scheduler``, ``counter``) and those ``Brain`` adds (``brain``, its
#: step counters, and ``optimizer``). Data-loader positions
#: (``dataloader-TRAIN``) are not required: SpeechBrain loads a
#: checkpoint without them.
RECOVERABLES = (*NETWORKS, "lr_scheduler", "counter", "brain", "optimizer")
#: Meta key of the model-selection objective in training checkpoints.
OBJECTIVE_KEY = "objective"
#: The description of a training run, in its output folder.
RUN_CONFIG = "model_config.json"
#: The folder of a run's checkpoints, in its output folder.
SAVE_FOLDER = "save"


def checkpoint_problem(folder, required=()):
    """Why a SpeechBrain checkpoint folder cannot be used (None if it can).

    SpeechBrain writes ``CKPT.yaml`` first, then one file per recoverable,
    with no atomic rename: a run killed meanwhile leaves a partial folder.
    A folder is intact when its ``CKPT.yaml`` parses (with ``unixtime``
    and ``end-of-epoch``), no file is empty, every ``torch.save`` file (a
    zip archive) has its end-of-archive record and the text files
    SpeechBrain writes parse; it is usable when, besides, every
    ``required`` file exists.

    Arguments
    ---------
    folder : str or os.PathLike
        A ``CKPT+*`` folder.
    required : sequence of str
        Recoverable names that must have a ``<name>.ckpt`` file.

    Returns
    -------
    str or None
        The problem, or None for a usable checkpoint.

    Example
    -------
    >>> folder = getfixture("tmp_path")
    >>> _ = (folder / "CKPT.yaml").write_text(
    ...     "end-of-epoch: true\\nunixtime: 1\\n"
    ... )
    >>> torch.save({"w": torch.ones(1)}, folder / "student.ckpt")
    >>> checkpoint_problem(folder, ["student"]) is None
    True
    >>> checkpoint_problem(folder, ["student", "optimizer"])
    'optimizer.ckpt is missing'
    >>> _ = (folder / "teacher.ckpt").write_bytes(b"PK\\x03\\x04trunc")
    >>> checkpoint_problem(folder, ["student"])
    'teacher.ckpt is truncated (no end-of-archive record)'
    """
    folder = Path(folder)
    try:
        meta = yaml.safe_load((folder / CKPT_META).read_text("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        return f"{CKPT_META} cannot be read ({type(err).__name__})"
    if not isinstance(meta, dict) or not {"unixtime", "end-of-epoch"} <= set(
        meta
    ):
        return f"{CKPT_META} is incomplete"
    for name in required:
        if not (folder / f"{name}.ckpt").is_file():
            return f"{name}.ckpt is missing"
    for path in sorted(folder.glob("*.ckpt")):
        problem = _file_problem(path)
        if problem:
            return f"{path.name} {problem}"
    return None


def _file_problem(path):
    """Why one file of a checkpoint folder is partial (None if it is not)."""
    if path.stat().st_size == 0:
        return "is empty"
    with open(path, "rb") as fin:
        head = fin.read(4)
    if head.startswith(b"PK"):
        if not zipfile.is_zipfile(path):
            return "is truncated (no end-of-archive record)"
        return None
    if path.stem not in ("brain", "counter"):
        return None
    try:
        state = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        state = None
    if path.stem == "brain":
        keys = {"step", "optimizer_step", "avg_train_loss"}
        ok = isinstance(state, dict) and keys <= set(state)
    else:
        ok = isinstance(state, int)
    return None if ok else "is incomplete"


def usable_checkpoints(save_dir, required=()):
    """The usable checkpoints of a SpeechBrain save folder.

    Unlike ``Checkpointer.list_checkpoints``, a folder whose ``CKPT.yaml``
    is empty or cut short does not make the listing fail: it is set aside
    with the other partial checkpoints (see :func:`checkpoint_problem`).

    Arguments
    ---------
    save_dir : str or os.PathLike
        The folder holding ``CKPT+*`` folders.
    required : sequence of str
        Recoverable names every usable checkpoint must hold.

    Returns
    -------
    tuple
        ``(checkpoints, rejected)``: SpeechBrain ``Checkpoint`` tuples
        (``path``, ``meta``, ``paramfiles``), oldest first, and
        ``(folder, problem)`` pairs of the unusable ones.

    Example
    -------
    >>> usable_checkpoints(getfixture("tmp_path"))
    ([], [])
    """
    from speechbrain.utils.checkpoints import Checkpoint

    save_dir = Path(save_dir)
    good, rejected = [], []
    if not save_dir.is_dir():
        return good, rejected
    for folder in sorted(save_dir.iterdir()):
        if not folder.name.startswith("CKPT") or not folder.is_dir():
            continue
        if not (folder / CKPT_META).exists():
            continue  # not a checkpoint (SpeechBrain ignores it too)
        problem = checkpoint_problem(folder, required)
        if problem:
            rejected.append((folder, problem))
            continue
        meta = yaml.safe_load((folder / CKPT_META).read_text("utf-8"))
        files = {p.stem: p for p in folder.glob("*.ckpt")}
        good.append(Checkpoint(folder, meta, files))
    good.sort(key=lambda ckpt: ckpt.meta["unixtime"])
    return good, rejected


def is_complete_checkpoint(ckpt):
    """Whether a training run can resume from a checkpoint.

    It can when the folder is intact and holds every file of
    :data:`RECOVERABLES` (see :func:`checkpoint_problem`). This is the
    ``ckpt_predicate`` of every recovery of a training run, and what
    :func:`find_resume_checkpoint` looks for.

    Arguments
    ---------
    ckpt : speechbrain.utils.checkpoints.Checkpoint
        The checkpoint (``path`` is its folder).

    Returns
    -------
    bool
        True if complete.

    Example
    -------
    >>> from speechbrain.utils.checkpoints import Checkpointer
    >>> networks = {name: torch.nn.Linear(1, 1) for name in RECOVERABLES}
    >>> checkpointer = Checkpointer(getfixture("tmp_path"), networks)
    >>> ckpt = checkpointer.save_checkpoint()
    >>> is_complete_checkpoint(ckpt)
    True
    >>> os.remove(ckpt.paramfiles["lr_scheduler"])
    >>> is_complete_checkpoint(ckpt)
    False
    """
    return checkpoint_problem(ckpt.path, RECOVERABLES) is None


def remove_incomplete_checkpoints(save_dir):
    """Deletes the checkpoint folders that are not complete.

    Run before a run resumes (on the main process only): such a folder,
    left partial by a run killed while writing it, is never loaded, and
    removing it keeps SpeechBrain's checkpointer, which reads every
    ``CKPT.yaml`` and fails on an empty one, from tripping over it, and
    from keeping it as the "best" checkpoint in place of a complete one.

    Arguments
    ---------
    save_dir : str or os.PathLike
        The run's ``save/`` folder.

    Returns
    -------
    list of (pathlib.Path, str)
        The folders removed and why.

    Example
    -------
    >>> partial = getfixture("tmp_path") / "CKPT+killed"
    >>> partial.mkdir()
    >>> _ = (partial / CKPT_META).write_text("")
    >>> [why for _, why in remove_incomplete_checkpoints(partial.parent)]
    ['CKPT.yaml is incomplete']
    >>> partial.exists()
    False
    """
    _, rejected = usable_checkpoints(save_dir, RECOVERABLES)
    for folder, problem in rejected:
        logger.warning(
            f"Deleting the incomplete checkpoint {folder} ({problem}; the "
            "run was interrupted while writing it)"
        )
        shutil.rmtree(folder, ignore_errors=True)
    return rejected


def find_resume_checkpoint(checkpointer):
    """The checkpoint a training run resumes from: its latest complete one.

    The same as ``checkpointer.recover_if_possible(ckpt_predicate=``
    :func:`is_complete_checkpoint` ``)`` loads, but without loading it and
    without failing on a partial folder.

    Arguments
    ---------
    checkpointer : speechbrain.utils.checkpoints.Checkpointer
        The run's checkpointer.

    Returns
    -------
    Checkpoint or None
        What a resumed run would load; None for a new run.

    Example
    -------
    >>> from speechbrain.utils.checkpoints import Checkpointer
    >>> checkpointer = Checkpointer(getfixture("tmp_path"))
    >>> find_resume_checkpoint(checkpointer) is None
    True
    """
    good, _ = usable_checkpoints(checkpointer.checkpoints_dir, RECOVERABLES)
    return good[-1] if good else None


# -------------------------------------------------------------- runs ---
def run_resumes(checkpointer, debug=False):
    """Whether a recipe run resumes from a checkpoint of its own.

    Folders a killed run left partial are deleted first (on the main
    process), never loaded.

    Arguments
    ---------
    checkpointer : speechbrain.utils.checkpoints.Checkpointer
        The run's checkpointer.
    debug : bool
        SpeechBrain's debug mode (checkpoints go to a temporary folder:
        never a resume).

    Returns
    -------
    bool
        True if the run's save folder holds a usable checkpoint.
    """
    from speechbrain.utils.distributed import run_on_main

    if debug:
        return False
    run_on_main(
        remove_incomplete_checkpoints, args=[checkpointer.checkpoints_dir]
    )
    return find_resume_checkpoint(checkpointer) is not None


def read_run_config(run_dir):
    """Reads the ``model_config.json`` of a training run.

    Arguments
    ---------
    run_dir : str or os.PathLike
        The run's ``output_folder``.

    Returns
    -------
    dict
        Classes, transformer size, median windows, stage and objective
        (``objective_key``, ``objective_mode``).

    Raises
    ------
    FileNotFoundError
        If the folder is not a training run.
    ValueError
        If the file is not valid JSON or its ``objective_mode`` is neither
        ``"min"`` nor ``"max"``.

    Example
    -------
    >>> run = getfixture("tmp_path")
    >>> _ = (run / RUN_CONFIG).write_text('{"objective_mode": "max"}')
    >>> read_run_config(run)
    {'objective_mode': 'max'}
    """
    path = Path(run_dir) / RUN_CONFIG
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: {run_dir} is not a training run folder "
            "(output_folder of recipes/DESED/SED/train.py)"
        )
    try:
        with open(path, encoding="utf-8") as fin:
            config = json.load(fin)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: invalid JSON ({err})") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path}: expected a JSON object")
    mode = config.get("objective_mode", "max")
    if mode not in ("max", "min"):
        raise ValueError(
            f"{path}: objective_mode must be 'max' or 'min', got {mode!r}"
        )
    return config


def find_run(path):
    """The checkpoint folder and configuration of a training run.

    Arguments
    ---------
    path : str or os.PathLike
        The run's ``output_folder`` (``model_config.json`` and ``save/``),
        a folder holding ``save/``, or the ``save/`` folder itself.

    Returns
    -------
    tuple
        ``(save_dir, config)``: the folder of the ``CKPT+*`` folders
        (``pathlib.Path``) and the run's ``model_config.json`` (``{}``
        when the folder has none).

    Raises
    ------
    FileNotFoundError
        If ``path`` or the run's ``save/`` folder does not exist.

    Example
    -------
    >>> run = getfixture("tmp_path")
    >>> (run / SAVE_FOLDER).mkdir()
    >>> save_dir, config = find_run(run)
    >>> save_dir.name, config
    ('save', {})
    """
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"Training run folder not found: {path}")
    is_run = (path / RUN_CONFIG).is_file()
    config = read_run_config(path) if is_run else {}
    save_dir = path / SAVE_FOLDER
    if not is_run and not save_dir.is_dir():
        save_dir = path
    if not save_dir.is_dir():
        raise FileNotFoundError(f"No checkpoints: {save_dir} does not exist")
    return save_dir, config


def find_best_checkpoint(path, allow_latest=False):
    """The best checkpoint of a training run, by its objective.

    Only intact checkpoints holding both networks are considered (see
    :func:`checkpoint_problem`); partial ones, left by a killed run, are
    ignored with a warning. The objective's key and direction come from
    the run's ``model_config.json`` (``objective_key``,
    ``objective_mode``), else from the checkpoints' meta
    (``objective_mode``), else the objective is maximised. The latest
    checkpoint wins among equal objectives (as SpeechBrain's).

    Arguments
    ---------
    path : str or os.PathLike
        A run folder, see :func:`find_run`.
    allow_latest : bool
        If no checkpoint records the objective: return the latest
        checkpoint (with a warning) when True, raise when False.

    Returns
    -------
    tuple
        ``(checkpoint, config)``: a SpeechBrain ``Checkpoint`` (``path``,
        ``meta``, ``paramfiles``) and the run's ``model_config.json``
        (``{}`` if none).

    Raises
    ------
    FileNotFoundError
        If the folder holds no usable checkpoint (recording the
        objective, unless ``allow_latest``).

    Example
    -------
    >>> from speechbrain.utils.checkpoints import Checkpointer
    >>> networks = {name: torch.nn.Linear(1, 1) for name in NETWORKS}
    >>> checkpointer = Checkpointer(getfixture("tmp_path"), networks)
    >>> for loss in (0.3, 0.1, 0.2):
    ...     _ = checkpointer.save_checkpoint(
    ...         meta={"objective": loss, "objective_mode": "min"}
    ...     )
    >>> ckpt, config = find_best_checkpoint(getfixture("tmp_path"))
    >>> ckpt.meta["objective"], config
    (0.1, {})
    """
    save_dir, config = find_run(path)
    key = config.get("objective_key", OBJECTIVE_KEY)
    good, rejected = usable_checkpoints(save_dir, NETWORKS)
    for folder, problem in rejected:
        logger.warning(
            f"Ignoring the incomplete checkpoint {folder}: {problem}"
        )
    ckpts = [c for c in good if key in c.meta]
    if not ckpts:
        if allow_latest and good:
            logger.warning(
                f"No checkpoint of {save_dir} records the objective "
                f"'{key}'; using the latest, {good[-1].path}"
            )
            return good[-1], config
        raise FileNotFoundError(
            f"No complete checkpoint in {save_dir}"
            + (f" records the objective '{key}'" if good else "")
        )
    mode = config.get("objective_mode")
    if mode is None:
        mode = ckpts[-1].meta.get("objective_mode", "max")
    sign = -1.0 if mode == "min" else 1.0
    # Newest first, so the latest wins among equal objectives.
    return max(reversed(ckpts), key=lambda c: sign * c.meta[key]), config
