"""Initial weights of a fine-tuning run on new classes (transfer learning).

A fine-tuning run (``recipes/Custom/SED``) starts from a trained model and
a class list of its own. :func:`init_source` tells what ``init_model``
points to:

* ``"model"``: a model folder written by ``speechbrain-atst export`` or
  ``convert`` (``hyperparams.yaml`` + ``model.ckpt``);
* ``"run"``: the output folder of a training run of this package (its best
  checkpoint by the run's objective; student and teacher);
* ``"sed_checkpoint"``: an official ATST-SED checkpoint (student and
  teacher) or a plain state dict of
  :class:`~speechbrain_atst.lobes.atst_sed.ATSTSED`;
* ``"atst_checkpoint"``: a pretrained ATST-Frame alone (``atst_as2M.ckpt``):
  only the transformer is transferred (the paper's stage 1 follows).

:func:`transfer_weights` copies every weight except the class-dependent
output layers (:data:`CLASS_LAYERS`), which keep their fresh initialisation
for the new class count (or are copied too when the class lists are the
same). Anything else that does not fit (another transformer size, a CNN of
other width) is an error naming the file and the architecture it holds.

Authors
 * speechbrain-atst team 2026
"""

from pathlib import Path

from speechbrain_atst.checkpoints import (
    NETWORKS,
    RUN_CONFIG,
    CheckpointError,
    find_best_checkpoint,
    load_checkpoint,
    read_run_config,
)
from speechbrain_atst.inference.export import HPARAMS_FILE, WEIGHTS_FILE
from speechbrain_atst.official import (
    atst_state_dict,
    drop_thop_keys,
    sed_weights,
)
from speechbrain_atst.training.recipe_args import read_plain_keys

#: Parameters whose shape depends on the class count (the two heads).
CLASS_LAYERS = ("dense.", "dense_softmax.")
#: Kinds of initial weights (see the module docstring).
INIT_KINDS = ("model", "run", "sed_checkpoint", "atst_checkpoint")
#: Transformer size keys of a model folder's hyperparams.yaml.
ARCH_KEYS = ("embed_dim", "depth", "num_heads")


class TransferError(ValueError):
    """The initial weights do not fit the model the recipe builds."""


def _read_model_hparams(folder):
    """The plain values of a model folder's hyperparams.yaml (its tags are
    not built: only the filled keys are read)."""
    path = Path(folder) / HPARAMS_FILE
    values = read_plain_keys(path, ("classes", *ARCH_KEYS))
    missing = [k for k in ("classes", *ARCH_KEYS) if k not in values]
    if missing:
        raise TransferError(f"{path}: no {', '.join(missing)}")
    return values


def init_source(path, trust_checkpoint=False):
    """Describes the initial weights ``path`` points to.

    Arguments
    ---------
    path : str or os.PathLike
        A model folder, a run folder or a checkpoint file.
    trust_checkpoint : bool
        Allow full unpickling of official (Lightning) checkpoints.

    Returns
    -------
    dict
        ``kind`` (one of :data:`INIT_KINDS`), ``path``, and when known
        ``classes`` and ``arch`` (``{"embed_dim", "depth", "num_heads"}``).

    Example
    -------
    >>> import torch
    >>> from speechbrain_atst.lobes.atst_sed import ATSTSED
    >>> path = getfixture("tmp_path") / "sed.ckpt"
    >>> torch.save(
    ...     ATSTSED(
    ...         n_classes=3, embed_dim=16, depth=1, num_heads=2
    ...     ).state_dict(),
    ...     path,
    ... )
    >>> info = init_source(path)
    >>> info["kind"], info["arch"], info["n_classes"]
    ('sed_checkpoint', {'embed_dim': 16, 'depth': 1, 'num_heads': None}, 3)
    """
    path = Path(path)
    if path.is_dir():
        if (path / HPARAMS_FILE).is_file() and (path / WEIGHTS_FILE).is_file():
            values = _read_model_hparams(path)
            return {
                "kind": "model",
                "path": str(path),
                "classes": list(values["classes"]),
                "n_classes": len(values["classes"]),
                "arch": {k: int(values[k]) for k in ARCH_KEYS},
            }
        if (path / RUN_CONFIG).is_file():
            config = read_run_config(path)
            return {
                "kind": "run",
                "path": str(path),
                "classes": list(config["classes"]),
                "n_classes": len(config["classes"]),
                "arch": {k: int(config["atst"][k]) for k in ARCH_KEYS},
            }
        raise TransferError(
            f"{path} is a folder but neither a model folder ({HPARAMS_FILE} "
            f"and {WEIGHTS_FILE}, from `speechbrain-atst export` or "
            f"`convert`) nor a training run ({RUN_CONFIG})"
        )
    if not path.is_file():
        raise FileNotFoundError(f"Initial model not found: {path}")
    obj = load_checkpoint(path, trust_checkpoint=trust_checkpoint)
    try:
        state = sed_weights(obj, "student", str(path))
    except CheckpointError:
        state = None
    if state is not None:
        atst = {
            k[len("atst_frame.atst.") :]: v
            for k, v in state.items()
            if k.startswith("atst_frame.atst.")
        }
        return {
            "kind": "sed_checkpoint",
            "path": str(path),
            "n_classes": int(state["dense.weight"].shape[0]),
            "arch": _arch_of(atst),
        }
    try:
        state = atst_state_dict(obj, source=str(path))
    except CheckpointError as err:
        raise TransferError(
            f"{path} holds neither an ATST-SED model nor an ATST-Frame "
            f"transformer: {err}"
        ) from None
    if "pos_embed" not in state:
        raise TransferError(
            f"{path} holds neither an ATST-SED model nor an ATST-Frame "
            f"transformer (no pos_embed); its keys: {list(state)[:8]}"
        )
    return {
        "kind": "atst_checkpoint",
        "path": str(path),
        "arch": _arch_of(state),
    }


def _arch_of(atst_state):
    """Transformer size of ATSTFrame weights (our key names); the number
    of heads is not stored in weights (None)."""
    pos = atst_state.get("pos_embed")
    blocks = {
        int(k.split(".")[1])
        for k in atst_state
        if k.startswith("blocks.") and k.split(".")[1].isdigit()
    }
    return {
        "embed_dim": None if pos is None else int(pos.shape[-1]),
        "depth": max(blocks) + 1 if blocks else 0,
        "num_heads": None,
    }


def check_architecture(source, embed_dim, depth, num_heads):
    """Refuses initial weights of another transformer size.

    Arguments
    ---------
    source : dict
        See :func:`init_source`.
    embed_dim, depth, num_heads : int
        The recipe's transformer (``atst_embed_dim``, ``atst_depth``,
        ``atst_num_heads``).

    Raises
    ------
    TransferError
        Naming both architectures and the overrides that would fit.

    Example
    -------
    >>> src = {
    ...     "path": "m",
    ...     "arch": {"embed_dim": 16, "depth": 1, "num_heads": 2},
    ... }
    >>> check_architecture(src, 16, 1, 2)
    >>> check_architecture(src, 768, 12, 12)
    Traceback (most recent call last):
    ...
    speechbrain_atst.training.transfer.TransferError: m holds ...
    """
    wanted = {"embed_dim": embed_dim, "depth": depth, "num_heads": num_heads}
    found = source.get("arch") or {}
    differ = {
        k: (found[k], int(v))
        for k, v in wanted.items()
        if found.get(k) is not None and int(found[k]) != int(v)
    }
    if differ:
        fits = " ".join(f"--atst_{k}={found[k]}" for k in differ)
        raise TransferError(
            f"{source['path']} holds a transformer with "
            + ", ".join(f"{k}={a}" for k, (a, _) in differ.items())
            + " but the recipe builds "
            + ", ".join(f"{k}={b}" for k, (_, b) in differ.items())
            + f"; pass {fits} to the recipe (speechbrain-atst finetune "
            "does so by itself)"
        )


def _pair_states(source, trust_checkpoint):
    """``{"student": state, "teacher": state}`` of a SED source."""
    kind, path = source["kind"], source["path"]
    if kind == "model":
        state = load_checkpoint(Path(path) / WEIGHTS_FILE)
        return dict.fromkeys(NETWORKS, state)
    if kind == "run":
        ckpt, _ = find_best_checkpoint(path, allow_latest=True)
        return {
            name: drop_thop_keys(load_checkpoint(ckpt.paramfiles[name]))
            for name in NETWORKS
        }
    obj = load_checkpoint(path, trust_checkpoint=trust_checkpoint)
    return {name: sed_weights(obj, name, path) for name in NETWORKS}


def transfer_state(model, state, source, keep_heads):
    """Loads ``state`` into ``model`` except, unless ``keep_heads``, the
    class-dependent layers; every other key must match exactly.

    Arguments
    ---------
    model : torch.nn.Module
        An ATSTSED.
    state : dict
        Its weights from another model.
    source : str
        Name of the weights (messages).
    keep_heads : bool
        Also copy the class layers (same class list).

    Returns
    -------
    list of str
        The keys left at their initial values.

    Example
    -------
    >>> import torch
    >>> from speechbrain_atst.lobes.atst_sed import ATSTSED
    >>> arch = dict(embed_dim=16, depth=1, num_heads=2)
    >>> old, new = ATSTSED(n_classes=10, **arch), ATSTSED(n_classes=3, **arch)
    >>> transfer_state(new, old.state_dict(), "old", keep_heads=False)
    ['dense.bias', 'dense.weight', 'dense_softmax.bias', 'dense_softmax.weight']
    >>> torch.equal(new.cat_tf.weight, old.cat_tf.weight)
    True
    """
    own = model.state_dict()
    state = {
        k: v
        for k, v in state.items()
        if keep_heads or not k.startswith(CLASS_LAYERS)
    }
    kept = sorted(k for k in own if k not in state)
    unexpected = sorted(k for k in state if k not in own)
    wrong = sorted(
        k for k in state if k in own and own[k].shape != state[k].shape
    )
    other = [k for k in kept if not k.startswith(CLASS_LAYERS)]
    if unexpected or wrong or other:
        detail = []
        for name, keys in (
            ("missing", other),
            ("unexpected", unexpected),
            ("of another shape", wrong),
        ):
            if keys:
                shown = ", ".join(keys[:6]) + (" ..." if len(keys) > 6 else "")
                detail.append(f"{len(keys)} keys {name} ({shown})")
        raise TransferError(
            f"{source}: the weights do not fit the recipe's model: "
            + "; ".join(detail)
            + ". Check the transformer size (atst_embed_dim, atst_depth, "
            "atst_num_heads) and the CNN of the recipe."
        )
    model.load_state_dict(state, strict=False)
    return kept


def transfer_weights(student, teacher, source, classes, trust_checkpoint=False):
    """Initialises student and teacher of a fine-tuning run.

    Arguments
    ---------
    student, teacher : ATSTSED
        The run's models (its class count).
    source : dict
        See :func:`init_source`.
    classes : sequence of str
        The run's classes: when a SED source has the same list (in the same
        order), its heads are kept too.
    trust_checkpoint : bool
        Allow full unpickling of official (Lightning) checkpoints.

    Returns
    -------
    str
        What was transferred (for the log).
    """
    if source["kind"] == "atst_checkpoint":
        student.atst.load_pretrained(
            source["path"], trust_checkpoint=trust_checkpoint
        )
        teacher.load_state_dict(student.state_dict())
        return f"pretrained transformer {source['path']} (CRNN and heads new)"
    same = list(source.get("classes") or []) == list(classes)
    states = _pair_states(source, trust_checkpoint)
    for name, model in (("student", student), ("teacher", teacher)):
        transfer_state(model, states[name], source["path"], keep_heads=same)
    heads = (
        "heads kept (same classes)"
        if same
        else f"heads new for {len(classes)} classes"
    )
    return f"{source['kind']} {source['path']}: all weights but the {heads}"


def check_run_classes(run_config, classes, prepared):
    """Refuses to resume a run whose classes differ from the data's.

    Arguments
    ---------
    run_config : dict or None
        The run's ``model_config.json`` (None for a new run).
    classes : sequence of str
        The classes of the prepared folder.
    prepared : str
        The prepared folder (messages).

    Raises
    ------
    TransferError
        Naming both class lists.

    Example
    -------
    >>> check_run_classes({"classes": ["a", "b"]}, ["a", "b"], "data")
    >>> check_run_classes({"classes": ["a", "b"]}, ["a", "c"], "data")
    Traceback (most recent call last):
    ...
    speechbrain_atst.training.transfer.TransferError: The run to resume ...
    """
    if run_config is None or list(run_config["classes"]) == list(classes):
        return
    raise TransferError(
        f"The run to resume was trained on the classes "
        f"{list(run_config['classes'])} but {prepared} has "
        f"{list(classes)}: prepare the data again with the run's classes "
        "(--classes) or give the run another output folder"
    )
