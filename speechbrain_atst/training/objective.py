"""The model-selection objective of a training stage, as its YAML declares.

Each stage YAML (``recipes/DESED/SED/hparams/stage{1,2}.yaml``) declares
the validation objective that ranks its checkpoints (meta key
:data:`~speechbrain_atst.checkpoints.OBJECTIVE_KEY`):

* ``objective_mode``: ``min`` or ``max``;
* ``objective_terms``: the validation statistics it is made of (names as in
  the train log: ``teacher_psds1``, ``teacher_bce_weak_valid``, ...);
* ``objective_reduce``: ``mean`` or ``sum`` of the terms that were
  computed;
* ``objective_fallback``: terms used when none of ``objective_terms`` was
  (e.g. a dataset without real strong or weak validation clips).

The official recipe minimises the teacher's mean validation BCE in stage 1
and maximises the teacher's PSDS1 + PSDS2 on synth_valid in stage 2
(:data:`OFFICIAL_OBJECTIVE_MODES`).

Authors
 * speechbrain-atst team 2026
"""

from collections.abc import Mapping

import numpy as np

from speechbrain_atst.checkpoints import OBJECTIVE_KEY
from speechbrain_atst.training.hparams import require

#: Values of ``objective_mode``.
OBJECTIVE_MODES = ("min", "max")
#: How the terms combine (``objective_reduce``).
REDUCTIONS = {"mean": np.mean, "sum": np.sum}
#: Direction of the objective of the official recipe's two stages (their
#: YAMLs declare the same ``objective_mode``).
OFFICIAL_OBJECTIVE_MODES = {1: "min", 2: "max"}


def objective_mode(stage_or_hparams):
    """``"min"`` or ``"max"``: the direction of a stage's objective.

    Arguments
    ---------
    stage_or_hparams : int or dict
        Loaded hyperparameters (their ``objective_mode``), or the number
        of a stage of the official recipe (1: validation BCE, minimised;
        2: PSDS, maximised).

    Returns
    -------
    str
        The direction of the objective.

    Example
    -------
    >>> objective_mode(1), objective_mode(2)
    ('min', 'max')
    >>> objective_mode({"objective_mode": "max"})
    'max'
    """
    if isinstance(stage_or_hparams, Mapping):
        require(stage_or_hparams, ["objective_mode"], "objective_mode()")
        return _check_mode(stage_or_hparams["objective_mode"])
    stage = int(stage_or_hparams)
    if stage not in OFFICIAL_OBJECTIVE_MODES:
        raise ValueError(f"stage must be 1 or 2, got {stage_or_hparams}")
    return OFFICIAL_OBJECTIVE_MODES[stage]


def _check_mode(mode):
    """``mode`` if it is ``"min"`` or ``"max"``, else a ValueError."""
    if mode not in OBJECTIVE_MODES:
        raise ValueError(f"objective_mode must be 'min' or 'max', got {mode!r}")
    return mode


class Objective:
    """A validation objective: terms, their reduction and the direction.

    Arguments
    ---------
    mode : str
        ``"min"`` or ``"max"``.
    terms : sequence of str
        Validation statistics forming the objective.
    reduce : str
        ``"mean"`` or ``"sum"`` of the terms present.
    fallback : sequence of str
        Terms used when none of ``terms`` is present.

    Example
    -------
    >>> objective = Objective("max", ["teacher_psds1", "teacher_psds2"], "sum")
    >>> objective({"teacher_psds1": 0.25, "teacher_psds2": 0.5, "loss": 1})
    0.75
    >>> objective.checkpoint_keys()
    {'max_key': 'objective'}
    >>> objective.describe()
    'sum of teacher_psds1, teacher_psds2 (max)'
    """

    key = OBJECTIVE_KEY
    #: The hyperparameters of :meth:`from_hparams`.
    HPARAMS = (
        "objective_mode",
        "objective_terms",
        "objective_reduce",
        "objective_fallback",
    )

    def __init__(self, mode, terms, reduce="mean", fallback=()):
        _check_mode(mode)
        if reduce not in REDUCTIONS:
            raise ValueError(
                f"objective_reduce must be one of {sorted(REDUCTIONS)}, got "
                f"{reduce!r}"
            )
        if not terms:
            raise ValueError("objective_terms must name at least one term")
        self.mode = mode
        self.terms = list(terms)
        self.reduce = reduce
        self.fallback = list(fallback or ())

    @classmethod
    def from_hparams(cls, hparams):
        """The objective a stage YAML declares.

        Arguments
        ---------
        hparams : dict or namespace
            With ``objective_mode``, ``objective_terms``,
            ``objective_reduce`` and ``objective_fallback``.

        Returns
        -------
        Objective
            The objective.

        Example
        -------
        >>> Objective.from_hparams({"objective_mode": "min"})
        Traceback (most recent call last):
        ...
        KeyError: 'The objective needs the hyperparameters objective_terms, ...
        """
        require(hparams, cls.HPARAMS, "The objective")
        values = hparams if isinstance(hparams, Mapping) else vars(hparams)
        return cls(*(values[key] for key in cls.HPARAMS))

    def __call__(self, stats):
        """The objective of a set of validation statistics.

        Arguments
        ---------
        stats : dict
            Validation statistics.

        Returns
        -------
        float or None
            The objective, or None when no term is in ``stats``.
        """
        for names in (self.terms, self.fallback):
            values = [stats[name] for name in names if name in stats]
            if values:
                return float(REDUCTIONS[self.reduce](values))
        return None

    def checkpoint_keys(self):
        """Arguments that select the best checkpoint by this objective.

        Returns
        -------
        dict
            ``{"min_key": "objective"}`` or ``{"max_key": "objective"}``
            (for ``Checkpointer`` and ``Brain.evaluate``).
        """
        return {f"{self.mode}_key": self.key}

    def checkpoint_meta(self, epoch, valid_stats, keep=()):
        """The meta of an end-of-epoch checkpoint.

        Arguments
        ---------
        epoch : int
            The epoch.
        valid_stats : dict or None
            The epoch's validation statistics (None: not validated).
        keep : sequence of str
            More validation statistics to store with the objective.

        Returns
        -------
        dict
            ``epoch``; with a computed objective also the objective,
            ``objective_mode`` and the ``keep`` statistics present.

        Example
        -------
        >>> objective = Objective("min", ["teacher_bce_weak_valid"])
        >>> objective.checkpoint_meta(3, {"objective": 0.5, "loss": 1.0})
        {'epoch': 3, 'objective': 0.5, 'objective_mode': 'min'}
        >>> objective.checkpoint_meta(4, None)
        {'epoch': 4}
        """
        meta = {"epoch": int(epoch)}
        if valid_stats is not None and self.key in valid_stats:
            meta[self.key] = float(valid_stats[self.key])
            meta["objective_mode"] = self.mode
            for name in keep:
                if name in valid_stats:
                    meta[name] = float(valid_stats[name])
        return meta

    def keep_keys(self):
        """Arguments of ``Checkpointer.save_and_keep_only`` that keep the
        best checkpoint by this objective.

        Returns
        -------
        dict
            ``{"min_keys": ["objective"]}`` or ``{"max_keys": [...]}``.
        """
        return {f"{self.mode}_keys": [self.key]}

    def describe(self):
        """A one-line description (``model_config.json``).

        Returns
        -------
        str
            E.g. ``"mean of teacher_bce_weak_valid, ... (min)"``.
        """
        text = f"{self.reduce} of {', '.join(self.terms)}"
        if self.fallback:
            text += f" (else {', '.join(self.fallback)})"
        return f"{text} ({self.mode})"

    def __repr__(self):
        return (
            f"Objective(mode={self.mode!r}, terms={self.terms}, "
            f"reduce={self.reduce!r}, fallback={self.fallback})"
        )
