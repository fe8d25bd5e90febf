"""The checkpoint formats of the official ATST code, read into our models.

:class:`~speechbrain_atst.lobes.atst_frame.ATSTFrame` and
:class:`~speechbrain_atst.lobes.atst_sed.ATSTSED` keep the official key
names, so an official file maps to them by prefixes:

* ``atst_as2M.ckpt``, the released ATST-Frame: a Lightning ``state_dict``
  whose transformer keys start with ``encoder.encoder.``;
* raw SSL pretraining checkpoints: ``model.teacher.encoder.`` (its
  ``encoder.norm.`` is our ``norm_frame.``; the ``cls_token`` is dropped);
  ATST-C2F: ``encoder.encoder.frame_encoder.`` (its
  ``encoder.encoder.teacher_module.`` is skipped);
* official ATST-SED stage-1 / stage-2 checkpoints: student and mean
  teacher as top-level ``sed_student`` / ``sed_teacher`` dicts and in the
  Lightning ``state_dict`` with ``sed_student.`` / ``sed_teacher.``
  prefixes, each with our ATSTSED keys (the transformer under
  ``atst_frame.atst.``);
* ``total_ops`` / ``total_params`` buffers, added by the ``thop``
  profiler to some of these files, are always dropped.

Stage 2 starts from a stage-1 result: the best checkpoint of one of our
runs or an official ATST-SED file (:func:`load_stage1_weights`).

This module reads files and maps keys into the module it is given; it
imports no model code (the lobes call it, never the other way round).

Authors
 * speechbrain-atst team 2026
"""

from pathlib import Path

from speechbrain.utils.logger import get_logger

from speechbrain_atst.checkpoints import (
    NETWORKS,
    CheckpointError,
    find_best_checkpoint,
    load_checkpoint,
    load_state_dict_strict,
)

logger = get_logger(__name__)

#: Buffers added by the ``thop`` profiler to some official checkpoints.
THOP_KEYS = ("total_ops", "total_params")
#: Prefix of the transformer keys inside an ATST-SED (CRNN) state dict.
ATSTSED_PREFIX = "atst_frame.atst."
#: A key only a state dict of the whole ATST-SED model holds.
ATSTSED_KEY = "cnn.cnn.conv0.weight"
#: Key prefix of the transformer in raw SSL pretraining checkpoints.
SSL_PREFIX = "model.teacher.encoder."
#: Key prefix of the transformer in ``atst_as2M.ckpt`` (fine-tuned on
#: AudioSet-2M); ATST-C2F checkpoints nest ``frame_encoder.`` (the frame
#: transformer) and ``teacher_module.`` (their clip teacher) under it.
AS2M_PREFIX = "encoder.encoder."


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


def map_official_key(key):
    """Our ATSTFrame key for a key of an official transformer checkpoint.

    Arguments
    ---------
    key : str
        A key of an official checkpoint (see the module's description)
        or of a state dict of our ATSTSED (``atst_frame.atst.`` prefix).

    Returns
    -------
    tuple
        ``(matched, new_key)``: whether a rule applies, and the ATSTFrame
        key (None for a key to drop, or when no rule applies).

    Example
    -------
    >>> map_official_key("encoder.encoder.blocks.0.attn.qkv.weight")
    (True, 'blocks.0.attn.qkv.weight')
    >>> map_official_key("model.teacher.encoder.norm.bias")
    (True, 'norm_frame.bias')
    >>> map_official_key("head.1.weight")
    (False, None)
    """
    if SSL_PREFIX in key:
        if "encoder.norm." in key:
            return True, "norm_frame." + key.split("encoder.norm.", 1)[1]
        if "cls_token" in key:
            return True, None
        return True, key.split(SSL_PREFIX, 1)[1]
    if AS2M_PREFIX + "frame_encoder." in key:
        return True, key.split(AS2M_PREFIX + "frame_encoder.", 1)[1]
    if AS2M_PREFIX + "teacher_module." in key:
        return True, None
    if AS2M_PREFIX in key:
        return True, key.split(AS2M_PREFIX, 1)[1]
    if key.startswith(ATSTSED_PREFIX):
        return True, key[len(ATSTSED_PREFIX) :]
    return False, None


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
    if which not in NETWORKS:
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


def _is_atstsed_state_dict(obj):
    """Whether ``obj`` is a plain state dict of the whole ATSTSED."""
    return isinstance(obj, dict) and ATSTSED_KEY in obj


def sed_weights(obj, which="teacher", source="checkpoint"):
    """The ATSTSED weights of an official ATST-SED checkpoint.

    Arguments
    ---------
    obj : dict
        The object read from the checkpoint: an official ATST-SED
        checkpoint (see :func:`sed_state_dict`) or a plain state dict of
        ATSTSED (the same for both networks).
    which : str
        ``"student"`` or ``"teacher"``.
    source : str
        File name, for error messages.

    Returns
    -------
    dict
        The state dict for ATSTSED, without thop buffers.

    Raises
    ------
    CheckpointError
        If ``obj`` holds no ATST-SED model.

    Example
    -------
    >>> ckpt = {"sed_student": {"dense.bias": 1, "dense.total_ops": 0}}
    >>> sed_weights(ckpt, "student")
    {'dense.bias': 1}
    """
    state = sed_state_dict(obj, which, source, required=False)
    if state is None and _is_atstsed_state_dict(obj):
        state = obj
    if state is None:
        sed_state_dict(obj, which, source)  # raises, naming the file
    return drop_thop_keys(state)


def atst_state_dict(obj, which="teacher", source="checkpoint"):
    """Extracts ATSTFrame weights, with our key names, from a checkpoint.

    Recognised layouts (first match wins):

    * ATST-SED checkpoint: a top-level ``sed_teacher`` / ``sed_student``
      dict, or a Lightning ``state_dict`` with ``sed_teacher.`` /
      ``sed_student.`` prefixes; the transformer keys are those under
      ``atst_frame.atst.``.
    * Keys of ``obj["state_dict"]`` (Lightning) or of ``obj``, mapped one
      by one with :func:`map_official_key` (``atst_as2M.ckpt``, raw SSL
      and ATST-C2F checkpoints, a state dict of our ATSTSED); all other
      keys (classifier heads, student branches, ...) are ignored.
    * Otherwise ``obj`` is taken as a plain ATSTFrame state dict.

    ``total_ops`` / ``total_params`` profiler buffers are always dropped.

    Arguments
    ---------
    obj : dict
        The object read from the checkpoint file.
    which : str
        ``"teacher"`` or ``"student"`` for ATST-SED checkpoints.
    source : str
        File name, for error messages.

    Returns
    -------
    dict
        The state dict for ATSTFrame.

    Example
    -------
    >>> ckpt = {
    ...     "state_dict": {
    ...         "encoder.encoder.norm_frame.weight": 0,
    ...         "head.1.weight": 0,
    ...     }
    ... }
    >>> list(atst_state_dict(ckpt))
    ['norm_frame.weight']
    """
    if not isinstance(obj, dict):
        raise CheckpointError(
            f"{source}: expected a dict of tensors, got {type(obj).__name__}"
        )
    sed = sed_state_dict(obj, which=which, source=source, required=False)
    if sed is None and _has_sed_models(obj):
        sed_state_dict(obj, which=which, source=source)  # raises, names it
    if sed is not None:
        state = {
            k[len(ATSTSED_PREFIX) :]: v
            for k, v in sed.items()
            if k.startswith(ATSTSED_PREFIX)
        }
        if not state:
            raise CheckpointError(
                f"{source}: the ATST-SED {which} holds no "
                f"'{ATSTSED_PREFIX}*' keys"
            )
        return drop_thop_keys(state)
    flat = obj.get("state_dict", obj)
    if not isinstance(flat, dict):
        raise CheckpointError(f"{source}: 'state_dict' is not a dict")
    flat = drop_thop_keys(flat)
    mapped, matched = {}, False
    for key, value in flat.items():
        hit, new_key = map_official_key(key)
        matched = matched or hit
        if new_key is None:
            continue
        if new_key in mapped:
            raise CheckpointError(
                f"{source}: two keys map to '{new_key}' (the second is '{key}')"
            )
        mapped[new_key] = value
    return mapped if matched else flat


def _has_sed_models(obj):
    """Whether ``obj`` holds ATST-SED student / teacher weights at all."""
    flat = obj.get("state_dict")
    keys = list(obj) + (list(flat) if isinstance(flat, dict) else [])
    names = {f"sed_{which}" for which in NETWORKS}
    return any(isinstance(k, str) and k.split(".")[0] in names for k in keys)


def arch_hint(state):
    """Describes the transformer size an ATSTFrame state dict seems to have.

    Arguments
    ---------
    state : dict
        An ATSTFrame state dict.

    Returns
    -------
    str
        A sentence for error messages (empty without ``pos_embed``).

    Example
    -------
    >>> import torch
    >>> arch_hint({"pos_embed": torch.zeros(1, 251, 128), "blocks.1.x": 0})
    'The checkpoint looks like embed_dim=128, depth=2, 251 positional ...'
    """
    pos = state.get("pos_embed")
    blocks = {
        int(k.split(".")[1])
        for k in state
        if k.startswith("blocks.") and k.split(".")[1].isdigit()
    }
    if pos is None or not hasattr(pos, "shape") or pos.dim() != 3:
        return ""
    depth = max(blocks) + 1 if blocks else 0
    heads = max(1, pos.shape[-1] // 64)
    return (
        f"The checkpoint looks like embed_dim={pos.shape[-1]}, "
        f"depth={depth}, {pos.shape[1]} positional rows (num_heads is not "
        f"stored; usually embed_dim // 64 = {heads}); pass matching "
        "architecture arguments"
    )


def load_atst_weights(atst, path, which="teacher", trust_checkpoint=False):
    """Loads the transformer of any supported checkpoint into an ATSTFrame.

    Arguments
    ---------
    atst : ATSTFrame
        The transformer, loaded strictly.
    path : str or os.PathLike
        Checkpoint file in any layout of :func:`atst_state_dict`.
    which : str
        ``"teacher"`` or ``"student"``: the model to take from an ATST-SED
        checkpoint.
    trust_checkpoint : bool
        Allow full unpickling (see
        :func:`speechbrain_atst.checkpoints.load_checkpoint`).

    Returns
    -------
    ATSTFrame
        ``atst``.

    Example
    -------
    >>> import torch
    >>> from speechbrain_atst.lobes.atst_frame import ATSTFrame
    >>> path = getfixture("tmp_path") / "as2M.ckpt"
    >>> small = dict(embed_dim=16, depth=1, num_heads=2)
    >>> sd = ATSTFrame(**small).state_dict()
    >>> official = {f"encoder.encoder.{k}": v for k, v in sd.items()}
    >>> torch.save({"state_dict": official}, path)
    >>> atst = load_atst_weights(ATSTFrame(**small), path)
    >>> torch.equal(atst.pos_embed, sd["pos_embed"])
    True
    """
    obj = load_checkpoint(path, trust_checkpoint=trust_checkpoint)
    state = atst_state_dict(obj, which=which, source=str(path))
    load_state_dict_strict(atst, state, str(path), arch_hint(state))
    return atst


def load_sed_weights(model, path, which="teacher", trust_checkpoint=False):
    """Loads an official ATST-SED checkpoint into an ATSTSED (strictly).

    Arguments
    ---------
    model : ATSTSED
        The model, loaded strictly.
    path : str or os.PathLike
        Official stage-1 / stage-2 checkpoint, or a plain state dict of
        ATSTSED (see :func:`sed_weights`).
    which : str
        ``"student"`` or ``"teacher"``.
    trust_checkpoint : bool
        Allow full unpickling (only for trusted files).

    Returns
    -------
    ATSTSED
        ``model``.

    Example
    -------
    >>> import torch
    >>> from speechbrain_atst.lobes.atst_sed import ATSTSED
    >>> path = getfixture("tmp_path") / "Stage2.ckpt"
    >>> arch = dict(embed_dim=16, depth=1, num_heads=2)
    >>> sd = ATSTSED(**arch).state_dict()
    >>> flat = {f"sed_teacher.{k}": v for k, v in sd.items()}
    >>> torch.save({"state_dict": flat}, path)
    >>> model = load_sed_weights(ATSTSED(**arch), path)
    >>> torch.equal(model.dense.weight, sd["dense.weight"])
    True
    """
    obj = load_checkpoint(path, trust_checkpoint=trust_checkpoint)
    load_state_dict_strict(
        model,
        sed_weights(obj, which=which, source=str(path)),
        str(path),
        hint=(
            "Check n_classes and the transformer size (atst_kwargs "
            "embed_dim, depth, num_heads)"
        ),
    )
    return model


def resolve_stage1_checkpoint(path):
    """Finds the student and teacher weights of a stage-1 result.

    Arguments
    ---------
    path : str or os.PathLike
        A stage-1 ``output_folder`` (with ``model_config.json`` and
        ``save/``; its best checkpoint by the objective, else its latest),
        a ``save/`` folder, a ``CKPT+*`` folder, or a file.

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
    files = {name: path / f"{name}.ckpt" for name in NETWORKS}
    if not all(file.is_file() for file in files.values()):
        ckpt, config = find_best_checkpoint(path, allow_latest=True)
        files = {name: ckpt.paramfiles[name] for name in NETWORKS}
        key = config.get("objective_key", "objective")
        logger.info(
            f"Stage-1 weights: {ckpt.path} (objective {ckpt.meta.get(key)})"
        )
    return {name: str(files[name]) for name in ("student", "teacher")}


def load_stage1_weights(student, teacher, path, trust_checkpoint=False):
    """Loads a stage-1 result into student and teacher (strictly).

    Arguments
    ---------
    student : ATSTSED
        The student model.
    teacher : ATSTSED
        The teacher model.
    path : str or os.PathLike
        See :func:`resolve_stage1_checkpoint`. A file is an official
        ATST-SED checkpoint (student and teacher), or a state dict of
        ATSTSED from which both start.
    trust_checkpoint : bool
        Allow full unpickling of an official (Lightning) checkpoint.

    Returns
    -------
    dict
        What was loaded (paths).

    Example
    -------
    >>> import torch
    >>> from speechbrain_atst.lobes.atst_sed import ATSTSED
    >>> arch = dict(embed_dim=16, depth=1, num_heads=2)
    >>> student, teacher = ATSTSED(**arch), ATSTSED(**arch)
    >>> folder = getfixture("tmp_path")
    >>> for name in ("student", "teacher"):
    ...     torch.save(ATSTSED(**arch).state_dict(), folder / f"{name}.ckpt")
    >>> sorted(load_stage1_weights(student, teacher, folder))
    ['student', 'teacher']
    """
    files = resolve_stage1_checkpoint(path)
    models = {"student": student, "teacher": teacher}
    if "file" not in files:
        for name, model in models.items():
            state = drop_thop_keys(load_checkpoint(files[name]))
            load_state_dict_strict(model, state, files[name])
        return files
    source = files["file"]
    obj = load_checkpoint(source, trust_checkpoint=trust_checkpoint)
    if _is_atstsed_state_dict(obj):
        logger.warning(
            f"{source} is a single model's state dict: student and teacher "
            "both start from it"
        )
    for name, model in models.items():
        load_state_dict_strict(model, sed_weights(obj, name, source), source)
    return files
