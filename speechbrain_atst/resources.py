"""Files shipped with the package: recipes and hyperparameter templates.

The recipes (``recipes/``) and the inference template (``hparams/``) live at
the top of the repository, as in SpeechBrain. The wheel ships them inside the
package (``setup.py`` maps ``recipes/`` to ``speechbrain_atst/recipes`` and
``hparams/`` to ``speechbrain_atst/hparams``), so a regular ``pip install``
can export models and run the quickstart too. :func:`shipped_path` finds a
file in either place: inside the installed package first, then at the root of
a source checkout (an editable install).

Authors
 * speechbrain-atst team 2026
"""

from pathlib import Path

#: The package folder.
PACKAGE_DIR = Path(__file__).resolve().parent
#: Where shipped files are looked for, in order: the installed package
#: (wheel), then the root of a source checkout.
SEARCH_ROOTS = (PACKAGE_DIR, PACKAGE_DIR.parent)
#: The DESED training recipe, relative to a search root.
DESED_RECIPE = ("recipes", "DESED", "SED")
#: The own-data (fine-tuning) recipe, relative to a search root.
CUSTOM_RECIPE = ("recipes", "Custom", "SED")
#: The inference hyperparameters template, relative to a search root.
INFERENCE_TEMPLATE = ("hparams", "inference.yaml")


def shipped_path(*parts, roots=SEARCH_ROOTS):
    """Path of a file or folder shipped with the package.

    Arguments
    ---------
    *parts : str
        Path relative to the repository root, e.g. ``"hparams",
        "inference.yaml"``.
    roots : sequence of pathlib.Path
        Folders to look in, in order.

    Returns
    -------
    pathlib.Path
        The first existing ``root / parts``.

    Raises
    ------
    FileNotFoundError
        If no root has it; the message lists every place looked at.

    Example
    -------
    >>> shipped_path(*INFERENCE_TEMPLATE).name
    'inference.yaml'
    >>> (shipped_path(*DESED_RECIPE) / "train.py").is_file()
    True
    """
    candidates = [Path(root).joinpath(*parts) for root in roots]
    for path in candidates:
        if path.exists():
            return path
    raise FileNotFoundError(
        f"{'/'.join(parts)} is not shipped with this installation of "
        "speechbrain-atst; looked for " + ", ".join(str(p) for p in candidates)
    )


#: ATST-SED's fixed split of DESED's real strong clips, shipped with the
#: DESED recipe: the file names of its ``train/val_utils`` TSVs.
OFFICIAL_STRONG_SPLIT = {
    "train": "audioset_strong_train.txt",  # 3,000 clips
    "valid": "audioset_strong_val.txt",  # 373 clips
}


def official_strong_split():
    """The file-name lists of ATST-SED's real strong train/valid split.

    ATST-SED trains on a fixed list of 3,000 of DESED's real strong clips
    and validates on 373 others (``train/val_utils`` of the official
    repository); these lists ship with the DESED recipe (``splits/``).

    Returns
    -------
    tuple of pathlib.Path
        ``(train_list, valid_list)``: text files, one file name per line.

    Example
    -------
    >>> train, valid = official_strong_split()
    >>> train.name, valid.name
    ('audioset_strong_train.txt', 'audioset_strong_val.txt')
    """
    folder = shipped_path(*DESED_RECIPE, "splits")
    return tuple(folder / OFFICIAL_STRONG_SPLIT[k] for k in ("train", "valid"))
