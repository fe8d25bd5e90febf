"""Losses of ATST-SED training: supervised BCE and the consistency terms.

A training batch is ``[real strong | synthetic strong | weak | unlabeled]``
(the first two form the "strong" slice). With student outputs ``(s, w)``
(frame and clip probabilities), teacher outputs ``(s_T, w_T)`` and the
consistency weight ``w(t) = const_max * r(step)``:

* supervised: ``BCE(s[strong], y_strong) + weak_weight BCE(w[weak], y_weak)``
  (:func:`supervised_bce`);
* mean teacher (MT): ``[MSE(s, s_T) + cw MSE(w, w_T)] * w(t)`` over the
  whole batch (:func:`mean_teacher_consistency`);
* interpolation consistency (ICT, stage 2, on mixed steps): the teacher's
  outputs on the *unmixed* inputs, mixed with each slice's own mixup draw,
  are the targets: ``sum_S [MSE(s_S, mix_S(s_T)) + cw MSE(w_S, mix_S(w_T))]
  / 6 * w(t) / 4`` (:func:`ict_consistency`).

The consistency terms run in float32 outside autocast.

Authors
 * speechbrain-atst team 2026
"""

import torch
import torch.nn.functional as F

#: ICT: the sum of the three slice losses is divided by 6, then weighted by
#: ``w(t) / 4``; both factors are those of the official stage-2 training step
#: (``loss_ict = (strong + weak + unlabelled) / 6``, ``loss_ict * weight /
#: 4`` in [SED] ``train/local/stage2_trainer.py``, ``SEDICT.training_step``;
#: see ``atst_sed_facts.md`` section 4.6). The code states no reason for
#: them; they are kept so that ``const_max: 70`` weighs what it weighs there
#: (``w(t) / 24`` per slice).
ICT_SLICE_DIVISOR = 6.0
#: See :data:`ICT_SLICE_DIVISOR`.
ICT_WEIGHT_DIVISOR = 4.0


def safe_bce(pred, target):
    """Mean binary cross-entropy in float32, outside autocast.

    ``F.binary_cross_entropy`` is unsafe to autocast on CUDA and refuses
    NaN predictions (an error on the CPU, a device-side assert that ends
    the process on CUDA), so a batch with a non-finite output would crash
    training instead of being reported and skipped. The predictions are
    made valid for it, and a NaN is carried into the loss by
    ``0 * pred.sum()`` (exactly 0, with a zero gradient, when every
    prediction is finite; no host synchronisation).

    Arguments
    ---------
    pred : torch.Tensor
        Probabilities.
    target : torch.Tensor
        Targets in [0, 1], same shape.

    Returns
    -------
    torch.Tensor
        Scalar (NaN if a prediction is NaN).

    Example
    -------
    >>> round(float(safe_bce(torch.tensor([0.5]), torch.tensor([1.0]))), 4)
    0.6931
    >>> safe_bce(torch.tensor([float("nan")]), torch.tensor([1.0]))
    tensor(nan)
    """
    with torch.autocast(device_type=pred.device.type, enabled=False):
        pred = pred.float()
        safe = torch.nan_to_num(pred, nan=0.5, posinf=1.0, neginf=0.0)
        loss = F.binary_cross_entropy(safe.clamp(0.0, 1.0), target.float())
        return loss + 0.0 * pred.sum()


def supervised_bce(strong_s, weak_s, strong_y, weak_y, n_strong, n_weak):
    """BCE of the strong slice's frames and of the weak slice's clips.

    Arguments
    ---------
    strong_s : torch.Tensor
        Student frame probabilities ``[B, T, C]`` of the whole batch.
    weak_s : torch.Tensor
        Student clip probabilities ``[B, C]``.
    strong_y : torch.Tensor
        Frame targets ``[n_strong, T, C]`` of the strong slice.
    weak_y : torch.Tensor
        Clip targets ``[n_weak, C]`` of the weak slice.
    n_strong : int
        Items of the strong slice (first in the batch).
    n_weak : int
        Items of the weak slice (next).

    Returns
    -------
    loss_strong : torch.Tensor
        Scalar (0 for an empty slice).
    loss_weak : torch.Tensor
        Scalar (0 for an empty slice).

    Example
    -------
    >>> s, w = torch.full((3, 2, 1), 0.5), torch.full((3, 1), 0.5)
    >>> y_s, y_w = torch.ones(1, 2, 1), torch.ones(2, 1)
    >>> [round(float(x), 4) for x in supervised_bce(s, w, y_s, y_w, 1, 2)]
    [0.6931, 0.6931]
    """
    zero = strong_s.new_zeros(())
    loss_strong = safe_bce(strong_s[:n_strong], strong_y) if n_strong else zero
    loss_weak = (
        safe_bce(weak_s[n_strong : n_strong + n_weak], weak_y)
        if n_weak
        else zero
    )
    return loss_strong, loss_weak


def mean_teacher_loss(strong_s, weak_s, strong_t, weak_t, weak_weight=1.0):
    """Mean-teacher consistency ``MSE(s, s_T) + weak_weight MSE(w, w_T)``.

    Arguments
    ---------
    strong_s, weak_s : torch.Tensor
        Student outputs.
    strong_t, weak_t : torch.Tensor
        Teacher outputs.
    weak_weight : float
        Weight of the clip-level term (1 in stage 1, 0.5 in stage 2).

    Returns
    -------
    torch.Tensor
        Scalar.

    Example
    -------
    >>> s, t = torch.zeros(1, 2, 1), torch.ones(1, 2, 1)
    >>> float(mean_teacher_loss(s, s[:, 0], t, t[:, 0], 0.5))
    1.5
    """
    return F.mse_loss(strong_s, strong_t) + weak_weight * F.mse_loss(
        weak_s, weak_t
    )


def ict_loss(strong_s, weak_s, strong_t, weak_t, plan, weak_weight=0.5):
    """Interpolation-consistency loss summed over the mixed slices.

    For each slice ``S`` of the mixup plan, the teacher outputs on the
    unmixed inputs are mixed with the slice's coefficient and permutation
    (and clamped to [0, 1]); the slice loss is
    ``MSE(s_S, mix(s_T)) + weak_weight * MSE(w_S, mix(w_T))``. The returned
    value is the plain sum over slices (see :func:`ict_consistency` for the
    weighting).

    Arguments
    ---------
    strong_s, weak_s : torch.Tensor
        Student outputs ``[B, T, C]`` and ``[B, C]`` on the mixed inputs.
    strong_t, weak_t : torch.Tensor
        Teacher outputs on the unmixed inputs.
    plan : MixupPlan
        The mixup draw of this step.
    weak_weight : float
        Weight of the clip-level term.

    Returns
    -------
    torch.Tensor
        Scalar.

    Example
    -------
    >>> from speechbrain_atst.augment import MixupPlan, SliceMix
    >>> plan = MixupPlan([SliceMix(0, 2, 0.5, torch.tensor([1, 0]))])
    >>> t_s = torch.tensor([[[0.0]], [[1.0]]])
    >>> t_w = torch.tensor([[0.0], [1.0]])
    >>> s_s = torch.full((2, 1, 1), 0.5)
    >>> s_w = torch.full((2, 1), 0.5)
    >>> float(ict_loss(s_s, s_w, t_s, t_w, plan))
    0.0
    """
    total = strong_s.new_zeros(())
    for sl in plan.slices:
        a, b = sl.start, sl.stop
        target_s = sl.mix_labels(strong_t[a:b])
        target_w = sl.mix_labels(weak_t[a:b])
        total = total + F.mse_loss(strong_s[a:b], target_s)
        total = total + weak_weight * F.mse_loss(weak_s[a:b], target_w)
    return total


def _float32(fn, *args, **kwargs):
    """Runs a loss function on float32 copies of its tensor arguments."""
    with torch.autocast(device_type=args[0].device.type, enabled=False):
        args = [a.float() if torch.is_tensor(a) else a for a in args]
        return fn(*args, **kwargs)


def mean_teacher_consistency(
    strong_s, weak_s, strong_t, weak_t, weight, weak_weight
):
    """Weighted mean-teacher term ``mean_teacher_loss * weight`` (float32).

    Arguments
    ---------
    strong_s, weak_s : torch.Tensor
        Student outputs of the whole batch.
    strong_t, weak_t : torch.Tensor
        Teacher outputs.
    weight : float
        Consistency weight ``w(t)``.
    weak_weight : float
        Weight of the clip-level term (``consistency_weak_weight``).

    Returns
    -------
    torch.Tensor
        Scalar.

    Example
    -------
    >>> s, t = torch.zeros(1, 2, 1), torch.ones(1, 2, 1)
    >>> float(mean_teacher_consistency(s, s[:, 0], t, t[:, 0], 2.0, 0.5))
    3.0
    """
    loss = _float32(
        mean_teacher_loss,
        strong_s,
        weak_s,
        strong_t,
        weak_t,
        weak_weight=weak_weight,
    )
    return loss * weight


def ict_consistency(
    strong_s, weak_s, strong_t, weak_t, plan, weight, weak_weight
):
    """Weighted ICT term ``ict_loss / 6 * weight / 4`` (float32).

    See :data:`ICT_SLICE_DIVISOR` for the two constants.

    Arguments
    ---------
    strong_s, weak_s : torch.Tensor
        Student outputs on the mixed inputs.
    strong_t, weak_t : torch.Tensor
        Teacher outputs on the unmixed inputs.
    plan : MixupPlan
        The mixup draw of this step.
    weight : float
        Consistency weight ``w(t)``.
    weak_weight : float
        Weight of the clip-level term (``consistency_weak_weight``).

    Returns
    -------
    torch.Tensor
        Scalar.

    Example
    -------
    >>> from speechbrain_atst.augment import MixupPlan, SliceMix
    >>> plan = MixupPlan([SliceMix(0, 1, 1.0, torch.tensor([0]))])
    >>> s, t = torch.zeros(1, 1, 1), torch.ones(1, 1, 1)
    >>> float(ict_consistency(s, s[:, 0], t, t[:, 0], plan, 24.0, 0.5))
    1.5
    """
    loss = _float32(
        ict_loss,
        strong_s,
        weak_s,
        strong_t,
        weak_t,
        plan,
        weak_weight=weak_weight,
    )
    return loss / ICT_SLICE_DIVISOR * weight / ICT_WEIGHT_DIVISOR


def summed_bce(pred, target):
    """Summed BCE in float32 (validation: accumulated, then averaged).

    Arguments
    ---------
    pred : torch.Tensor
        Probabilities.
    target : torch.Tensor
        Targets, same shape.

    Returns
    -------
    torch.Tensor
        Scalar: the sum over all elements.

    Example
    -------
    >>> pred = torch.full((2, 3), 0.5)
    >>> round(float(summed_bce(pred, torch.ones(2, 3))), 4)
    4.1589
    """
    return F.binary_cross_entropy(pred.float(), target.float(), reduction="sum")
