"""Safe reading of checkpoint files and state-dict checks.

Checkpoints are read with ``torch.load(..., weights_only=True)``, which
cannot run code hidden in the file. Official Lightning checkpoints may also
hold pickled Python objects (hyper-parameters, callbacks); reading those
requires full unpickling, which can execute arbitrary code, so it is only
done when the caller opts in with ``trust_checkpoint=True``. In that mode,
classes from packages that are not installed (e.g. ``pytorch_lightning``)
are replaced by inert placeholders, since only the tensors are needed.

Authors
 * speechbrain-atst team 2026
"""

import os
import pickle
import types

import torch

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
        If ``path`` is not a file.
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
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Checkpoint file not found: {path}")
    if os.path.getsize(path) == 0:
        raise CheckpointError(f"{path}: empty file, not a checkpoint")
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
