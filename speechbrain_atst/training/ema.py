"""The mean teacher: an exponential moving average (EMA) of the student.

As in ATST-SED, after every optimizer step the teacher's *parameters*
(not its buffers: a teacher in train mode keeps its own BatchNorm
statistics) move towards the student's,
``theta_T <- alpha theta_T + (1 - alpha) theta_S``, with
``alpha = min(1 - 1/(step + 1), ema_decay)`` in stage 1 (``ema_warmup``:
the teacher starts as a plain average of the first students) and
``alpha = ema_decay`` in stage 2 (:func:`ema_decay`, :func:`ema_update`).

Authors
 * speechbrain-atst team 2026
"""

import torch


def stage1_ema_decay(step, max_decay=0.999):
    """EMA decay of stage 1: ``min(1 - 1 / (step + 1), max_decay)``.

    Arguments
    ---------
    step : int
        Optimizer steps taken so far (from 1).
    max_decay : float
        Upper bound of the decay.

    Returns
    -------
    float
        The decay.

    Example
    -------
    >>> stage1_ema_decay(1), stage1_ema_decay(3), stage1_ema_decay(10**6)
    (0.5, 0.75, 0.999)
    """
    return min(1.0 - 1.0 / (step + 1.0), max_decay)


def ema_decay(step, max_decay, warmup):
    """EMA decay after ``step`` optimizer steps.

    Arguments
    ---------
    step : int
        Optimizer steps taken so far (from 1).
    max_decay : float
        The decay (``ema_decay``), and its upper bound with warmup.
    warmup : bool
        Stage 1's ramp (:func:`stage1_ema_decay`) or a fixed decay.

    Returns
    -------
    float
        The decay ``alpha``.

    Example
    -------
    >>> ema_decay(3, 0.999, warmup=True), ema_decay(3, 0.999, warmup=False)
    (0.75, 0.999)
    """
    max_decay = float(max_decay)
    return stage1_ema_decay(step, max_decay) if warmup else max_decay


@torch.no_grad()
def ema_update(teacher, student, decay, buffers="keep", trainable_only=False):
    """Mean-teacher update ``theta_T <- decay theta_T + (1 - decay) theta_S``.

    Only parameters are averaged, as in ATST-SED; buffers (BatchNorm
    statistics) are left alone by default, since a teacher running in train
    mode keeps its own. All parameters are updated at once by one
    multi-tensor ``lerp`` (``theta_T + (1 - decay) (theta_S - theta_T)``,
    the same average up to float rounding).

    Arguments
    ---------
    teacher : torch.nn.Module
        The EMA model (updated in place).
    student : torch.nn.Module
        The trained model (same architecture; not wrapped in DDP).
    decay : float
        The EMA decay ``alpha``.
    buffers : str
        ``"keep"``: teacher buffers untouched; ``"copy"``: copied from the
        student (useful for a teacher run in eval mode).
    trainable_only : bool
        Skip the parameters the student does not train (``requires_grad``
        False): they are equal in both models (e.g. a frozen transformer)
        and averaging would only add rounding noise.

    Example
    -------
    >>> s, t = torch.nn.Linear(1, 1), torch.nn.Linear(1, 1)
    >>> _ = s.weight.data.fill_(1.0), t.weight.data.fill_(0.0)
    >>> ema_update(t, s, 0.75)
    >>> float(t.weight.detach())
    0.25
    """
    t_params = list(teacher.parameters())
    s_params = list(student.parameters())
    if len(t_params) != len(s_params):
        raise ValueError("Teacher and student have different parameters")
    pairs = [
        (t, s)
        for t, s in zip(t_params, s_params)
        if t.dtype.is_floating_point and (s.requires_grad or not trainable_only)
    ]
    if pairs:
        t_float = [t for t, _ in pairs]
        s_float = [s.detach() for _, s in pairs]
        if all(t.dtype == s.dtype for t, s in zip(t_float, s_float)):
            # ``t + (1 - decay) (s - t)`` in one pass: three tensor reads
            # and writes per parameter instead of five for ``mul_`` then
            # ``add_`` (the update is memory-bound), and one multi-tensor
            # kernel instead of two on a GPU.
            torch._foreach_lerp_(t_float, s_float, 1.0 - decay)
        else:
            torch._foreach_mul_(t_float, decay)
            torch._foreach_add_(t_float, s_float, alpha=1.0 - decay)
    if buffers == "copy":
        for tb, sb in zip(teacher.buffers(), student.buffers()):
            tb.copy_(sb)
    elif buffers != "keep":
        raise ValueError(f"buffers must be 'keep' or 'copy', got {buffers!r}")
