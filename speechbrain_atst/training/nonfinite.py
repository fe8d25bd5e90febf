"""Non-finite losses and weights during training: skip, stop, never save.

* A batch whose loss is NaN or inf (on any process) is not back-propagated;
  the BatchNorm statistics its forward pass moved are restored
  (:func:`snapshot_buffers`, :func:`restore_buffers`), and it is reported
  with its clip ids and the files whose audio or features are not finite.
  With ``nonfinite_action: skip`` training goes on, up to SpeechBrain's
  ``nonfinite_patience`` such batches per epoch; ``stop`` ends the run at
  the first one (:func:`skip_or_stop`).
* An update whose gradient norm is not finite is skipped.
* Weights are checked before every checkpoint (:func:`check_finite_weights`),
  so that a kept checkpoint never holds NaN or inf and the last complete
  checkpoint stays the one a rerun resumes from.

:class:`NonFiniteGuard` is the training step of ``Brain`` doing all this.

Authors
 * speechbrain-atst team 2026
"""

import math

import torch
from speechbrain.core import Stage
from speechbrain.utils.logger import get_logger

from speechbrain_atst.training.distributed import all_processes_agree
from speechbrain_atst.training.param_groups import clip_gradients

logger = get_logger(__name__)

#: Values of the ``nonfinite_action`` hyperparameter.
NONFINITE_ACTIONS = ("skip", "stop")
#: Clip ids a report lists at most.
SHOWN_IDS = 20


def check_nonfinite_action(action):
    """Refuses an unknown ``nonfinite_action`` (a typo is not "skip").

    Arguments
    ---------
    action : str
        The configured action.

    Returns
    -------
    str
        ``action``.

    Example
    -------
    >>> check_nonfinite_action("skip")
    'skip'
    >>> check_nonfinite_action("ignore")
    Traceback (most recent call last):
    ...
    ValueError: nonfinite_action must be 'skip' or 'stop', got 'ignore'
    """
    if action not in NONFINITE_ACTIONS:
        raise ValueError(
            f"nonfinite_action must be 'skip' or 'stop', got {action!r}"
        )
    return action


@torch.no_grad()
def snapshot_buffers(*models):
    """Copies of the models' buffers (BatchNorm statistics).

    Arguments
    ---------
    *models : torch.nn.Module
        The models.

    Returns
    -------
    list of (torch.Tensor, torch.Tensor)
        ``(buffer, copy)`` pairs for :func:`restore_buffers`.

    Example
    -------
    >>> bn = torch.nn.BatchNorm1d(2)
    >>> saved = snapshot_buffers(bn)
    >>> _ = bn(torch.randn(4, 2))
    >>> restore_buffers(saved)
    >>> bn.running_mean
    tensor([0., 0.])
    """
    return [
        (buf, buf.detach().clone())
        for model in models
        for buf in model.buffers()
    ]


@torch.no_grad()
def restore_buffers(snapshot):
    """Puts back the buffers saved by :func:`snapshot_buffers`.

    Arguments
    ---------
    snapshot : list of (torch.Tensor, torch.Tensor)
        The saved pairs.
    """
    for buf, saved in snapshot:
        buf.copy_(saved)


def is_finite_everywhere(loss, device):
    """Whether the loss is finite on every process.

    Arguments
    ---------
    loss : torch.Tensor
        This process's loss.
    device : str or torch.device
        Device of the collective (DDP).

    Returns
    -------
    bool
        False if any process has a NaN or inf loss.

    Example
    -------
    >>> is_finite_everywhere(torch.tensor(1.0), "cpu")
    True
    >>> is_finite_everywhere(torch.tensor(float("inf")), "cpu")
    False
    """
    return all_processes_agree(bool(torch.isfinite(loss.detach())), device)


@torch.no_grad()
def nonfinite_inputs(sig, wavs, front_ends):
    """Files whose samples or front-end features are not finite.

    For instance samples so large that the spectrogram overflows.

    Arguments
    ---------
    sig : torch.Tensor
        Waveforms ``[B, samples]``.
    wavs : sequence of str
        The file of each waveform.
    front_ends : sequence of callable
        Feature extractors applied to ``sig``.

    Returns
    -------
    str
        Comma-separated files ("" if all are finite).

    Example
    -------
    >>> sig = torch.tensor([[0.0, 1.0], [float("nan"), 0.0]])
    >>> nonfinite_inputs(sig, ["a.wav", "b.wav"], [torch.exp])
    'b.wav'
    """
    finite = torch.isfinite(sig).all(1)
    for fe in front_ends:
        finite &= torch.isfinite(fe(sig)).flatten(1).all(1)
    return ", ".join(wav for wav, ok in zip(wavs, finite.tolist()) if not ok)


def nonfinite_loss_report(loss, ids, step, optimizer_step, bad_inputs=""):
    """The message reporting a non-finite training loss.

    Arguments
    ---------
    loss : torch.Tensor
        The loss.
    ids : sequence of str
        Clip ids of the batch.
    step : int
        Step in the epoch.
    optimizer_step : int
        Optimizer steps taken.
    bad_inputs : str
        See :func:`nonfinite_inputs`.

    Returns
    -------
    str
        The message.

    Example
    -------
    >>> print(nonfinite_loss_report(torch.tensor(float("nan")), ["a"], 2, 1))
    Non-finite training loss (nan) at epoch step 2 (optimizer step 1); the
    batch held: a.
    """
    ids = list(ids)
    shown = ", ".join(ids[:SHOWN_IDS])
    if len(ids) > SHOWN_IDS:
        shown += " ..."
    message = (
        f"Non-finite training loss ({float(loss.detach())}) at epoch step "
        f"{step} (optimizer step {optimizer_step}); the batch held: {shown}."
    )
    if bad_inputs:
        message += f" Non-finite input audio or features: {bad_inputs}."
    return message


def skip_or_stop(message, action, count, patience):
    """Skips the batch (a warning) or stops training (an error).

    Arguments
    ---------
    message : str
        See :func:`nonfinite_loss_report`.
    action : str
        ``"skip"`` or ``"stop"``.
    count : int
        Non-finite losses so far in this epoch, this one included.
    patience : int
        Non-finite losses tolerated per epoch with ``"skip"``.

    Raises
    ------
    ValueError
        With ``"stop"``, or when ``count`` exceeds ``patience``.

    Example
    -------
    >>> skip_or_stop("Bad batch.", "skip", 1, 3)
    >>> skip_or_stop("Bad batch.", "skip", 4, 3)
    Traceback (most recent call last):
    ...
    ValueError: Bad batch. Stopping (4 non-finite losses this epoch, ...
    """
    if action == "stop" or count > patience:
        raise ValueError(
            f"{message} Stopping ({count} non-finite losses this epoch, "
            f"nonfinite_patience={patience}, nonfinite_action={action})."
        )
    logger.warning(message + " The update was skipped.")


def check_finite_weights(models, step, optimizer_step):
    """Raises if a model holds NaN or inf (call before saving).

    Arguments
    ---------
    models : dict
        ``{name: torch.nn.Module}`` (e.g. student and teacher).
    step : int
        Step in the epoch (for the message).
    optimizer_step : int
        Optimizer steps taken (for the message).

    Raises
    ------
    FloatingPointError
        Naming the first non-finite parameter or buffer.

    Example
    -------
    >>> model = torch.nn.Linear(1, 1)
    >>> check_finite_weights({"student": model}, 1, 1)
    >>> _ = model.bias.data.fill_(float("nan"))
    >>> check_finite_weights({"student": model}, 1, 1)
    Traceback (most recent call last):
    ...
    FloatingPointError: The student's bias holds NaN or inf values ...
    """
    for who, model in models.items():
        tensors = list(model.named_parameters()) + list(model.named_buffers())
        for name, tensor in tensors:
            if tensor.is_floating_point() and not bool(
                torch.isfinite(tensor).all()
            ):
                raise FloatingPointError(
                    f"The {who}'s {name} holds NaN or inf values at epoch "
                    f"step {step} (optimizer step {optimizer_step}): the "
                    "checkpoint is not saved, so the last complete "
                    "checkpoint stays the one a rerun resumes from"
                )


class NonFiniteGuard:
    """Mixin of ``Brain``'s training step that skips non-finite updates.

    ``fit_batch`` runs SpeechBrain's step (``on_fit_batch_start``, forward,
    objectives, backward, ``optimizers_step``, ``on_fit_batch_end``), except
    that a loss that is not finite on every process is not back-propagated:
    the buffers of :meth:`guarded_models` are restored, the batch is
    reported, skipped or the run stopped (:meth:`skip_nonfinite_batch`).
    ``optimizers_step`` clips all parameter groups together and skips an
    update whose gradient norm is not finite. ``step_skipped`` tells
    ``on_fit_batch_end`` whether the optimizer stepped; ``last_grad_norm``
    is the norm of the last update.

    The brain provides :meth:`guarded_models` (``{name: module}``, whose
    buffers and weights are checked), ``modules.cnn_features`` /
    ``modules.atst_features`` (the front-ends, to find non-finite inputs)
    and ``hparams.nonfinite_action``.
    """

    step_skipped = False
    last_grad_norm = float("nan")

    def guarded_models(self):
        """The models whose buffers and weights are protected.

        Returns
        -------
        dict
            ``{name: torch.nn.Module}``.
        """
        raise NotImplementedError

    def fit_batch(self, batch):
        """One training step; a non-finite loss skips the update.

        Arguments
        ---------
        batch : PaddedBatch
            The batch.

        Returns
        -------
        torch.Tensor
            The detached loss.
        """
        should_step = (self.step % self.grad_accumulation_factor) == 0
        self.step_skipped = False
        # BatchNorm statistics move during the forward pass: a batch with
        # a non-finite loss must not leave NaN in them.
        buffers = snapshot_buffers(*self.guarded_models().values())
        self.on_fit_batch_start(batch, should_step)
        with self.no_sync(not should_step):
            with self.training_ctx:
                outputs = self.compute_forward(batch, Stage.TRAIN)
                loss = self.compute_objectives(outputs, batch, Stage.TRAIN)
            finite = is_finite_everywhere(loss, self.device)
            if finite:
                scaled = self.scaler.scale(loss / self.grad_accumulation_factor)
                scaled.backward()
        if not finite:
            restore_buffers(buffers)
            self.skip_nonfinite_batch(batch, loss)
            return loss.detach().cpu()
        if should_step:
            self.optimizers_step()
        self.on_fit_batch_end(batch, outputs, loss, should_step)
        return loss.detach().cpu()

    def skip_nonfinite_batch(self, batch, loss):
        """Drops the gradients of a non-finite loss; reports it, then skips
        or stops (``nonfinite_action``, ``--nonfinite_patience``).

        Arguments
        ---------
        batch : PaddedBatch
            The batch (``id``, ``wav``, ``sig``).
        loss : torch.Tensor
            Its loss.
        """
        self.nonfinite_count += 1
        self.step_skipped = True
        for opt in self.optimizers_dict.values():
            opt.zero_grad(set_to_none=True)
        front_ends = (self.modules.cnn_features, self.modules.atst_features)
        bad = nonfinite_inputs(
            batch.sig.data.to(self.device), batch.wav, front_ends
        )
        skip_or_stop(
            nonfinite_loss_report(
                loss, batch.id, self.step, self.optimizer_step, bad
            ),
            self.hparams.nonfinite_action,
            self.nonfinite_count,
            self.nonfinite_patience,
        )

    def optimizers_step(self):
        """Clips all groups (``max_grad_norm`` > 0), skips a non-finite
        gradient, steps the optimizer."""
        opts = list(self.freeze_optimizers(self.optimizers_dict).values())
        for opt in opts:
            self.scaler.unscale_(opt)
        self.last_grad_norm = clip_gradients(opts, self.max_grad_norm)
        if not math.isfinite(self.last_grad_norm):
            if not self.scaler.is_enabled():
                logger.warning(
                    "Non-finite gradient norm at optimizer step "
                    f"{self.optimizer_step + 1}: update skipped"
                )
                for opt in opts:
                    opt.zero_grad(set_to_none=True)
                self.step_skipped = True
                return
        scaler = self.scaler
        scale_before = scaler.get_scale() if scaler.is_enabled() else 1
        for opt in opts:
            scaler.step(opt)
        scaler.update()
        if scaler.is_enabled() and scaler.get_scale() < scale_before:
            self.step_skipped = True  # the scaler skipped inf gradients
        for opt in opts:
            opt.zero_grad(set_to_none=True)
        if not self.step_skipped:
            self.optimizer_step += 1

    def check_finite_weights(self):
        """Raises if a guarded model holds NaN or inf (called before every
        checkpoint save; see :func:`check_finite_weights`)."""
        check_finite_weights(
            self.guarded_models(), self.step, self.optimizer_step
        )
