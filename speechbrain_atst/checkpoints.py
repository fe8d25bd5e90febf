"""Safe reading of checkpoint files and state-dict checks.

Checkpoints are read with ``torch.load(..., weights_only=True)``, which
cannot run code hidden in the file. Official Lightning checkpoints may also
hold pickled Python objects (hyper-parameters, callbacks); reading those
requires full unpickling, which can execute arbitrary code, so it is only
done when the caller opts in with ``trust_checkpoint=True``. In that mode,
classes from packages that are not installed (e.g. ``pytorch_lightning``)
are replaced by inert placeholders, since only the tensors are needed.

It also tells a complete SpeechBrain checkpoint folder from one left
partial by a run killed while writing it (:func:`checkpoint_problem`,
:func:`usable_checkpoints`), so that such a folder is never loaded.

Authors
 * speechbrain-atst team 2026
"""

import os
import pickle
import types
import zipfile
from pathlib import Path

import torch
import yaml

#: Buffers added by the ``thop`` profiler to some official checkpoints.
THOP_KEYS = ("total_ops", "total_params")


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


def drop_thop_keys(state_dict):
    """Removes the ``total_ops`` / ``total_params`` profiler buffers.

    Arguments
    ---------
    state_dict : dict
        A state dict.

    Returns
    -------
    dict
        A new dict without keys whose last component is a thop buffer.

    Example
    -------
    >>> drop_thop_keys({"a.weight": 1, "a.total_ops": 2, "total_params": 3})
    {'a.weight': 1}
    """
    return {
        k: v
        for k, v in state_dict.items()
        if k.rsplit(".", 1)[-1] not in THOP_KEYS
    }


def sed_state_dict(obj, which="teacher", source="checkpoint", required=True):
    """Returns the state dict of one ATST-SED model of an official checkpoint.

    The official stage-1 / stage-2 checkpoints keep the student and the
    mean teacher both as top-level ``sed_student`` / ``sed_teacher`` dicts
    and inside the Lightning ``state_dict`` with ``sed_student.`` /
    ``sed_teacher.`` prefixes. The top-level dict wins when both exist.

    Arguments
    ---------
    obj : dict
        The object read from the checkpoint.
    which : str
        ``"student"`` or ``"teacher"``.
    source : str
        File name, for error messages.
    required : bool
        If False, returns None when ``obj`` is not an ATST-SED checkpoint.

    Returns
    -------
    dict or None
        The model's keys without prefix (thop buffers included).

    Example
    -------
    >>> ckpt = {"state_dict": {"sed_teacher.dense.bias": 1, "sed_student.x": 2}}
    >>> sed_state_dict(ckpt, "teacher")
    {'dense.bias': 1}
    """
    if which not in ("student", "teacher"):
        raise ValueError(f"which must be 'student' or 'teacher', got {which!r}")
    name = f"sed_{which}"
    if isinstance(obj, dict):
        if isinstance(obj.get(name), dict):
            return dict(obj[name])
        flat = obj.get("state_dict")
        if isinstance(flat, dict):
            prefix = name + "."
            sub = {
                k[len(prefix) :]: v
                for k, v in flat.items()
                if isinstance(k, str) and k.startswith(prefix)
            }
            if sub:
                return sub
    if not required:
        return None
    top = list(obj)[:10] if isinstance(obj, dict) else type(obj).__name__
    raise CheckpointError(
        f"{source}: no ATST-SED {which} found (neither a top-level "
        f"'{name}' dict nor '{name}.*' keys in 'state_dict'); "
        f"top-level entries: {top}"
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


#: Meta file of a SpeechBrain checkpoint folder (written first).
CKPT_META = "CKPT.yaml"


def checkpoint_problem(folder, required=()):
    """Why a SpeechBrain checkpoint folder cannot be used (None if it can).

    SpeechBrain writes ``CKPT.yaml`` first, then one file per recoverable,
    with no atomic rename: a run killed meanwhile leaves a partial folder.
    A folder is usable when its ``CKPT.yaml`` parses (with ``unixtime``
    and ``end-of-epoch``), every ``required`` file exists and is not empty,
    every ``torch.save`` file (a zip archive) has its end-of-archive
    record, and the text files SpeechBrain writes parse.

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
        path = folder / f"{name}.ckpt"
        if not path.is_file() or path.stat().st_size == 0:
            return f"{path.name} is missing or empty"
    for path in sorted(folder.glob("*.ckpt")):
        with open(path, "rb") as fin:
            head = fin.read(4)
        if head.startswith(b"PK"):
            if not zipfile.is_zipfile(path):
                return f"{path.name} is truncated (no end-of-archive record)"
            continue
        if path.name == "brain.ckpt" or path.name == "counter.ckpt":
            try:
                state = yaml.safe_load(path.read_text("utf-8"))
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                state = None
            ok = (
                isinstance(state, dict)
                and {"step", "optimizer_step", "avg_train_loss"} <= set(state)
                if path.name == "brain.ckpt"
                else isinstance(state, int)
            )
            if not ok:
                return f"{path.name} is incomplete"
    return None


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
