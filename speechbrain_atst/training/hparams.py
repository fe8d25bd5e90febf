"""Required hyperparameters: a missing key is an error naming it.

The training code reads every hyperparameter as ``hparams.key``: the stage
YAMLs (``recipes/DESED/SED/hparams/stage{1,2}.yaml``) hold every value,
and nothing falls back on a default that could differ from them. Code that
receives hyperparameters checks them up front with :func:`require`.

Authors
 * speechbrain-atst team 2026
"""

from collections.abc import Mapping

#: Where the documented values are.
STAGE_YAMLS = "recipes/DESED/SED/hparams/stage1.yaml and stage2.yaml"


def require(hparams, keys, user="The training recipe"):
    """Checks that ``hparams`` holds every key of ``keys``.

    Arguments
    ---------
    hparams : dict or namespace
        Loaded hyperparameters.
    keys : iterable of str
        The keys needed.
    user : str
        Who needs them (for the message).

    Raises
    ------
    KeyError
        Naming every missing key.

    Example
    -------
    >>> require({"seed": 42}, ["seed"])
    >>> require({"seed": 42}, ["seed", "stage", "classes"], "SEDBrain")
    Traceback (most recent call last):
    ...
    KeyError: 'SEDBrain needs the hyperparameters stage, classes (see ...
    """
    present = hparams if isinstance(hparams, Mapping) else vars(hparams)
    missing = [key for key in keys if key not in present]
    if missing:
        raise KeyError(
            f"{user} needs the hyperparameters {', '.join(missing)} (see "
            f"{STAGE_YAMLS})"
        )
