"""Step-wise schedules of ATST-SED: exponential warmup, cosine decay.

* :func:`exp_warmup` is the ramp ``r(step) = exp(-5 (1 - min(step, R) / R)^2)``
  shared by the learning rates and the consistency-loss weight.
* :class:`WarmupCosineLR` scales every parameter group's own ``max_lr`` by
  ``r(step)`` during warmup, then keeps it (stage 1) or decays it along a
  cosine to ``min_lr_scale * max_lr`` (stage 2). Ratios between groups (the
  layer-wise decay of the transformer) are therefore preserved, unlike
  SpeechBrain's step schedulers, which write one value into every group.
* The EMA decay of the mean teacher is in
  :mod:`speechbrain_atst.training.ema` (re-exported here: ``ema_update``,
  ``stage1_ema_decay``).

Step numbers count optimizer steps from 1: the learning rate used by the
n-th optimizer step is ``max_lr * factor(n)``.

Authors
 * speechbrain-atst team 2026
"""

import math

import torch
from speechbrain.utils.checkpoints import (
    mark_as_loader,
    mark_as_saver,
    register_checkpoint_hooks,
)

from speechbrain_atst.training.ema import (  # noqa: F401 (re-exported)
    ema_update,
    stage1_ema_decay,
)


def exp_warmup(step, warmup_steps):
    """Exponential ramp-up ``exp(-5 (1 - min(step, R) / R)^2)``.

    Arguments
    ---------
    step : int or float
        Current step (from 1).
    warmup_steps : int or float
        Ramp length ``R``; ``R <= 0`` gives 1 at every step.

    Returns
    -------
    float
        The factor in ``(0, 1]``; 1 from ``step >= R`` on.

    Example
    -------
    >>> round(exp_warmup(0, 10), 6)
    0.006738
    >>> exp_warmup(10, 10), exp_warmup(25, 10)
    (1.0, 1.0)
    """
    if warmup_steps <= 0:
        return 1.0
    frac = 1.0 - min(float(step), float(warmup_steps)) / float(warmup_steps)
    return math.exp(-5.0 * frac * frac)


def consistency_weight(step, warmup_steps, const_max):
    """Weight of the consistency losses: ``const_max * r(step)``.

    Arguments
    ---------
    step : int
        Current optimizer step (from 1).
    warmup_steps : int
        Ramp length.
    const_max : float
        Weight after warmup (2 in stage 1, 70 in stage 2).

    Returns
    -------
    float
        The weight.

    Example
    -------
    >>> consistency_weight(100, 50, 70.0)
    70.0
    """
    return float(const_max) * exp_warmup(step, warmup_steps)


def lr_factor(step, warmup_steps, total_steps, cos_down, min_lr_scale=0.1):
    """Multiplier of ``max_lr`` at a given step.

    Arguments
    ---------
    step : int
        Optimizer step (from 1).
    warmup_steps : int
        ``R``: exponential warmup length.
    total_steps : int
        ``T``: length of the whole schedule.
    cos_down : bool
        After warmup, decay along a cosine (True) or stay constant (False).
    min_lr_scale : float
        Factor reached at ``T`` by the cosine decay.

    Returns
    -------
    float
        ``r(step)`` during warmup, then 1 or
        ``min + (1 - min) (1 + cos(pi (step - R) / (T - R))) / 2``.

    Example
    -------
    >>> lr_factor(10, 10, 110, cos_down=True)
    1.0
    >>> round(lr_factor(60, 10, 110, cos_down=True), 6)
    0.55
    >>> round(lr_factor(110, 10, 110, cos_down=True), 6)
    0.1
    >>> lr_factor(110, 10, 110, cos_down=False)
    1.0
    """
    if step < warmup_steps or not cos_down:
        return exp_warmup(step, warmup_steps)
    span = max(total_steps - warmup_steps, 1)
    progress = min(max(step - warmup_steps, 0), span) / span
    cosine = (1.0 + math.cos(math.pi * progress)) / 2.0
    return min_lr_scale + (1.0 - min_lr_scale) * cosine


@register_checkpoint_hooks
class WarmupCosineLR:
    """Per-group learning-rate schedule: exponential warmup, then constant
    or cosine decay, applied to each group's own ``max_lr``.

    Each optimizer parameter group must carry a ``"max_lr"`` entry (the
    :class:`~speechbrain_atst.training.brain.SEDBrain` sets it when it builds
    the groups; a group without one takes its current ``lr`` as ``max_lr``
    the first time it is seen). The schedule is defined in epochs and turned
    into steps by :meth:`configure` once the number of optimizer steps per
    epoch is known.

    Arguments
    ---------
    n_epochs : int
        Length of the schedule ``T`` in epochs.
    warmup_epochs : int
        Warmup length ``R`` in epochs.
    cos_down : bool
        Cosine decay after warmup (stage 2) or constant (stage 1).
    min_lr_scale : float
        Final factor of the cosine decay.

    Example
    -------
    >>> model = torch.nn.Linear(2, 2)
    >>> opt = torch.optim.Adam(
    ...     [
    ...         {"params": [model.weight], "lr": 1e-3, "max_lr": 1e-3},
    ...         {"params": [model.bias], "lr": 5e-4, "max_lr": 5e-4},
    ...     ]
    ... )
    >>> sched = WarmupCosineLR(n_epochs=10, warmup_epochs=1, cos_down=True)
    >>> sched.configure(steps_per_epoch=4)
    >>> sched(opt, step=4)
    1.0
    >>> [g["lr"] for g in opt.param_groups]
    [0.001, 0.0005]
    """

    def __init__(self, n_epochs, warmup_epochs, cos_down, min_lr_scale=0.1):
        self.n_epochs = int(n_epochs)
        self.warmup_epochs = float(warmup_epochs)
        self.cos_down = bool(cos_down)
        self.min_lr_scale = float(min_lr_scale)
        self.steps_per_epoch = None
        self.warmup_steps = None
        self.total_steps = None
        self.last_step = 0
        self.last_factor = None

    def configure(self, steps_per_epoch):
        """Fixes the number of optimizer steps per epoch.

        Arguments
        ---------
        steps_per_epoch : int
            Optimizer steps in one epoch (on one process).
        """
        steps_per_epoch = int(steps_per_epoch)
        if steps_per_epoch <= 0:
            raise ValueError("An epoch must have at least one optimizer step")
        self.steps_per_epoch = steps_per_epoch
        self.warmup_steps = int(round(self.warmup_epochs * steps_per_epoch))
        self.total_steps = self.n_epochs * steps_per_epoch

    def factor(self, step):
        """Learning-rate multiplier at ``step``.

        Arguments
        ---------
        step : int
            Optimizer step (from 1).

        Returns
        -------
        float
            The factor.
        """
        if self.total_steps is None:
            raise RuntimeError("Call configure(steps_per_epoch) first")
        return lr_factor(
            step,
            self.warmup_steps,
            self.total_steps,
            self.cos_down,
            self.min_lr_scale,
        )

    def warmup_factor(self, step):
        """The exponential ramp alone (used by the consistency weight).

        Arguments
        ---------
        step : int
            Optimizer step (from 1).

        Returns
        -------
        float
            ``r(step)``.
        """
        if self.warmup_steps is None:
            raise RuntimeError("Call configure(steps_per_epoch) first")
        return exp_warmup(step, self.warmup_steps)

    def __call__(self, optimizer, step):
        """Sets every group's ``lr`` to ``max_lr * factor(step)``.

        Arguments
        ---------
        optimizer : torch.optim.Optimizer
            The optimizer whose groups are updated.
        step : int
            The optimizer step about to be taken (from 1).

        Returns
        -------
        float
            The factor applied.
        """
        factor = self.factor(step)
        for group in optimizer.param_groups:
            group.setdefault("max_lr", group["lr"])
            group["lr"] = group["max_lr"] * factor
        self.last_step = int(step)
        self.last_factor = factor
        return factor

    @mark_as_saver
    def _save(self, path):
        torch.save(
            {
                "last_step": self.last_step,
                "steps_per_epoch": self.steps_per_epoch,
                "n_epochs": self.n_epochs,
                "warmup_epochs": self.warmup_epochs,
            },
            path,
        )

    @mark_as_loader
    def _load(self, path, end_of_epoch=False):
        del end_of_epoch
        state = torch.load(path, weights_only=True)
        self.last_step = int(state["last_step"])
        if state["steps_per_epoch"] is not None:
            self.configure(state["steps_per_epoch"])

    def __repr__(self):
        return (
            f"WarmupCosineLR(n_epochs={self.n_epochs}, "
            f"warmup_epochs={self.warmup_epochs}, cos_down={self.cos_down}, "
            f"min_lr_scale={self.min_lr_scale})"
        )


#: Time constant of a scaled schedule's EMA teacher, as a part of the run.
EMA_RUN_FRACTION = 0.05


def scaled_schedule(
    steps_per_epoch,
    target_epochs,
    min_steps,
    max_steps,
    warmup_fraction,
    validations,
):
    """Epochs, warmup and validation interval for a dataset's size.

    A dataset of 30 files and one of 30,000 have epochs of a few and of
    thousands of steps: a fixed number of epochs trains one far too little
    and the other far too long. The run gets ``target_epochs`` epochs,
    as long as that makes between ``min_steps`` and ``max_steps``
    optimizer steps (more epochs for small sets, fewer for large ones);
    the warmup lasts ``warmup_fraction`` of them (at least one epoch) and
    validation runs about ``validations`` times. The mean teacher's EMA
    decay follows: its time constant is :data:`EMA_RUN_FRACTION` of the
    run (0.999 at most, as ATST-SED's thousands of steps; 0.9 at least), so
    that the teacher of a short run follows the student instead of staying
    near its initial weights.

    Arguments
    ---------
    steps_per_epoch : int
        Optimizer steps of one epoch.
    target_epochs : int
        Epochs when the step bounds allow.
    min_steps : int
        Fewest optimizer steps of a run.
    max_steps : int
        Most optimizer steps of a run.
    warmup_fraction : float
        Part of the epochs spent in warmup.
    validations : int
        About how many validations a run has.

    Returns
    -------
    dict
        ``number_of_epochs``, ``warmup_epochs``, ``valid_every``,
        ``total_steps`` and ``ema_decay``.

    Example
    -------
    >>> scaled_schedule(3, 200, 300, 6000, 0.05, 20)["number_of_epochs"]
    200
    >>> plan = scaled_schedule(1000, 200, 300, 6000, 0.05, 20)
    >>> plan["number_of_epochs"], plan["warmup_epochs"], plan["total_steps"]
    (6, 1, 6000)
    >>> scaled_schedule(1, 200, 300, 6000, 0.05, 20)["number_of_epochs"]
    300
    """
    spe = max(int(steps_per_epoch), 1)
    epochs = int(target_epochs)
    epochs = max(epochs, math.ceil(int(min_steps) / spe))
    epochs = max(1, min(epochs, int(max_steps) // spe))
    warmup = max(1, int(round(float(warmup_fraction) * epochs)))
    return {
        "number_of_epochs": epochs,
        "warmup_epochs": min(warmup, epochs),
        "valid_every": max(1, epochs // max(int(validations), 1)),
        "total_steps": epochs * spe,
        "ema_decay": round(
            min(0.999, max(0.9, 1 - 1 / (EMA_RUN_FRACTION * epochs * spe))), 6
        ),
    }
