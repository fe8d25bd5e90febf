"""The shipped DESED recipe as the quickstart runs it.

The quickstart trains with ``recipes/DESED/SED/train.py`` and
``hparams/stage{1,2}.yaml`` plus the overrides of
``hparams/quickstart.yaml``; the recipe ships with the package
(:mod:`speechbrain_atst.resources`), so this works from a wheel too. This
module finds the recipe, assembles its hyperparameter values and command
line, and loads its hyperparameters in-process (for the untrained
baseline).

Authors
 * speechbrain-atst team 2026
"""

import sys
from pathlib import Path

from speechbrain_atst.quickstart.layout import QuickstartError
from speechbrain_atst.resources import DESED_RECIPE, shipped_path

#: The override file of the recipe used by the quickstart.
OVERRIDES_FILE = "quickstart.yaml"
#: Sections of the override file that apply to one stage: ``{stage: key}``.
STAGE_SECTIONS = {1: "stage1", 2: "stage2"}
#: The transformer's size in the overrides: ``{summary name: key}``.
ARCH_KEYS = {
    "embed_dim": "atst_embed_dim",
    "depth": "atst_depth",
    "num_heads": "atst_num_heads",
}


def recipe_dir():
    """The DESED training recipe folder that the quickstart runs.

    The recipe ``recipes/DESED/SED`` ships with the package (see
    :mod:`speechbrain_atst.resources`), so the quickstart runs from a wheel
    as from a source checkout; it writes only into its output folder.

    Returns
    -------
    pathlib.Path
        The folder of ``train.py`` and ``hparams/``.

    Raises
    ------
    QuickstartError
        If files of the recipe are missing from this installation.

    Example
    -------
    >>> (recipe_dir() / "train.py").is_file()
    True
    """
    try:
        folder = shipped_path(*DESED_RECIPE)
    except FileNotFoundError as err:
        raise QuickstartError(str(err)) from None
    needed = [
        folder / "train.py",
        folder / "hparams" / "stage1.yaml",
        folder / "hparams" / "stage2.yaml",
        folder / "hparams" / OVERRIDES_FILE,
    ]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise QuickstartError(
            "This installation of speechbrain-atst lacks files of the "
            f"training recipe: {', '.join(missing)}"
        )
    return folder


def stage_hparams_file(stage):
    """The recipe's hyperparameters file of a stage.

    Arguments
    ---------
    stage : int
        1 or 2.

    Returns
    -------
    pathlib.Path
        ``<recipe>/hparams/stage<stage>.yaml``.

    Example
    -------
    >>> stage_hparams_file(2).name
    'stage2.yaml'
    """
    return recipe_dir() / "hparams" / f"stage{stage}.yaml"


def quickstart_overrides(extra=None):
    """The recipe overrides of the quickstart (``hparams/quickstart.yaml``).

    Top-level keys apply to both stages; the mappings under
    :data:`STAGE_SECTIONS` (``stage1:``, ``stage2:``) to one stage only
    (see :func:`stage_overrides`).

    Arguments
    ---------
    extra : dict, optional
        Keys to add or replace, in both stages (they win over the
        per-stage keys of the file).

    Returns
    -------
    dict
        ``{hyperparameter: value}``, with the per-stage sections.

    Example
    -------
    >>> values = quickstart_overrides({"batch_sizes": [1, 1, 1, 1]})
    >>> values["atst_random_init"], "batch_sizes" in values["stage2"]
    (True, False)
    """
    from speechbrain_atst.training.recipe_args import load_overrides

    path = recipe_dir() / "hparams" / OVERRIDES_FILE
    values = load_overrides(path)
    for section in STAGE_SECTIONS.values():
        part = values.get(section) or {}
        if not isinstance(part, dict):
            raise QuickstartError(
                f"{path}: '{section}' must be a mapping of overrides of "
                f"that stage, got {part!r}"
            )
        values[section] = {
            k: v for k, v in part.items() if k not in (extra or {})
        }
    values.update(extra or {})
    return values


def stage_overrides(overrides, epochs):
    """The overrides of each stage, with its number of epochs if given.

    Arguments
    ---------
    overrides : dict
        Overrides of both stages, and of one stage under the keys of
        :data:`STAGE_SECTIONS`.
    epochs : dict
        ``{1: int or None, 2: int or None}``; None keeps ``overrides``'.

    Returns
    -------
    dict
        ``{1: overrides, 2: overrides}`` (copies, without the sections).

    Example
    -------
    >>> values = {"number_of_epochs": 15, "stage2": {"batch_sizes": [1]}}
    >>> out = stage_overrides(values, {1: 2, 2: None})
    >>> out[1], out[2]
    ({'number_of_epochs': 2}, {'number_of_epochs': 15, 'batch_sizes': [1]})
    """
    common = {
        k: v for k, v in overrides.items() if k not in STAGE_SECTIONS.values()
    }
    out = {}
    for stage, n_epochs in epochs.items():
        out[stage] = {**common, **(overrides.get(STAGE_SECTIONS[stage]) or {})}
        if n_epochs is not None:
            out[stage]["number_of_epochs"] = int(n_epochs)
    return out


def transformer_arch(overrides):
    """The size of the quickstart's transformer, from its overrides.

    Arguments
    ---------
    overrides : dict
        Recipe overrides (see :func:`quickstart_overrides`).

    Returns
    -------
    dict
        ``embed_dim``, ``depth``, ``num_heads``.

    Example
    -------
    >>> transformer_arch(quickstart_overrides())
    {'embed_dim': 64, 'depth': 2, 'num_heads': 4}
    """
    return {name: overrides.get(key) for name, key in ARCH_KEYS.items()}


def recipe_values(layout, seed, output_folder, overrides, **extra):
    """Hyperparameter values of a run of the recipe on the quickstart data.

    Arguments
    ---------
    layout : dict
        See :func:`~speechbrain_atst.quickstart.layout.output_layout`.
    seed : int
        Training seed.
    output_folder : str or os.PathLike
        The run's output folder.
    overrides : dict
        Recipe overrides (they win over everything else).
    **extra
        More values (``skip_prep``, ``stage1_ckpt``...).

    Returns
    -------
    dict
        ``data_folder``, ``manifest_folder``, ``output_folder`` (absolute
        paths), ``seed``, ``extra`` and ``overrides``.

    Example
    -------
    >>> from speechbrain_atst.quickstart.layout import output_layout
    >>> values = recipe_values(output_layout("qs"), 7, "qs/x", {"lr": 1})
    >>> values["seed"], values["lr"], values["output_folder"].endswith("x")
    (7, 1, True)
    """
    values = {
        "data_folder": str(layout["data"].resolve()),
        "manifest_folder": str(layout["manifests"].resolve()),
        "output_folder": str(Path(output_folder).resolve()),
        "seed": int(seed),
        **extra,
    }
    values.update(overrides)
    return values


def stage_command(stage, layout, seed, device, overrides):
    """The command line of one training stage.

    Stage 2 starts from the stage-1 run (its best checkpoint).

    Arguments
    ---------
    stage : int
        1 or 2.
    layout : dict
        See :func:`~speechbrain_atst.quickstart.layout.output_layout`.
    seed : int
        Training seed.
    device : str
        ``cpu``, ``cuda:0``...
    overrides : dict
        Recipe overrides (see :func:`quickstart_overrides`).

    Returns
    -------
    list of str
        ``python train.py hparams/stageN.yaml --key=value...``.

    Example
    -------
    >>> from speechbrain_atst.quickstart.layout import output_layout
    >>> cmd = stage_command(2, output_layout("qs"), 42, "cpu", {})
    >>> cmd[1:4] == [
    ...     str(recipe_dir() / "train.py"),
    ...     str(stage_hparams_file(2)),
    ...     "--device=cpu",
    ... ]
    True
    >>> any(arg.startswith("--stage1_ckpt=") for arg in cmd)
    True
    """
    from speechbrain_atst.training.recipe_args import to_arguments

    extra = {"skip_prep": True}
    if stage == 2:
        extra["stage1_ckpt"] = str(layout["stage1"].resolve())
    values = recipe_values(
        layout, seed, layout[f"stage{stage}"], overrides, **extra
    )
    return [
        sys.executable,
        str(recipe_dir() / "train.py"),
        str(stage_hparams_file(stage)),
        f"--device={device}",
        *to_arguments(values),
    ]


def load_stage_hparams(layout, seed, overrides, stage=1):
    """The hyperparameters of a stage, loaded as the recipe loads them.

    Loading them seeds the random generators with ``seed`` and builds the
    student and teacher exactly as a new run of the recipe does; the
    output folder is the untrained baseline's.

    Arguments
    ---------
    layout : dict
        See :func:`~speechbrain_atst.quickstart.layout.output_layout`.
    seed : int
        Training seed.
    overrides : dict
        Recipe overrides.
    stage : int
        1 or 2.

    Returns
    -------
    dict
        The loaded hyperparameters.
    """
    from hyperpyyaml import load_hyperpyyaml

    extra = {"stage1_ckpt": None} if stage == 2 else {}
    values = recipe_values(
        layout, seed, layout["untrained"], overrides, **extra
    )
    with open(stage_hparams_file(stage), encoding="utf-8") as fin:
        return load_hyperpyyaml(fin, values)
