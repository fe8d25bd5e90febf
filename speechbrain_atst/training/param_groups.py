"""What ATST-SED trains, and the optimizer's parameter groups.

As in the official code (``separate_opt_params``), only the student is
optimised, with Adam over these groups:

* ``cnn``: the CNN (``cnn_lr``);
* ``rnn``: everything else outside the transformer: fusion layer, BiGRU,
  heads (``rnn_lr``);
* ``tfm_0``, ``tfm_1``, ...: the transformer's layer groups top-down (final
  norm, last block, ..., first block, embeddings) with layer-wise decay
  ``tfm_lr * tfm_lr_scale ** j``, for the ``tfm_trainable_layers`` top
  groups only; the others are frozen (0: the whole transformer, as in
  stage 1).

Each group carries its ``max_lr``, which
:class:`~speechbrain_atst.training.schedules.WarmupCosineLR` scales.

Authors
 * speechbrain-atst team 2026
"""

import torch

#: Name of the CNN group.
CNN_GROUP = "cnn"
#: Name of the group of the other non-transformer parameters.
RNN_GROUP = "rnn"
#: Prefix of the transformer groups (``tfm_0`` is the top one).
TFM_GROUP = "tfm_"
#: Groups whose learning rate the train log shows.
LOGGED_GROUPS = (CNN_GROUP, RNN_GROUP, f"{TFM_GROUP}0")


def n_trainable_groups(atst, tfm_trainable_layers):
    """Number of trained transformer layer groups.

    Arguments
    ---------
    atst : ATSTFrame
        The transformer (its ``layer_groups()``, top-down).
    tfm_trainable_layers : int
        Groups to train, counted top-down; values above the number of
        groups (``depth + 2``) train them all.

    Returns
    -------
    int
        The number of groups in the optimizer.

    Example
    -------
    >>> from speechbrain_atst.lobes.atst_frame import ATSTFrame
    >>> atst = ATSTFrame(embed_dim=8, depth=2, num_heads=2)
    >>> n_trainable_groups(atst, 3), n_trainable_groups(atst, 14)
    (3, 4)
    """
    n_layers = int(tfm_trainable_layers)
    if n_layers < 0:
        raise ValueError(f"tfm_trainable_layers must be >= 0: {n_layers}")
    return min(n_layers, len(atst.layer_groups()))


def set_trainable(student, teacher, tfm_trainable_layers):
    """Freezes the teacher and the transformer groups that are not trained.

    With no trained group the transformer of both models is frozen (eval
    mode, no autograd); otherwise the ``tfm_trainable_layers`` top groups
    of the student's transformer are trained (except the unused
    ``mask_embed``). Call before DDP wrapping, so that DDP only sees
    trainable parameters.

    Arguments
    ---------
    student : ATSTSED
        The student.
    teacher : ATSTSED
        The teacher (never trained: it follows the student by EMA).
    tfm_trainable_layers : int
        See :func:`n_trainable_groups`.

    Example
    -------
    >>> from speechbrain_atst.lobes.atst_sed import ATSTSED
    >>> student = ATSTSED(n_classes=2, embed_dim=8, depth=2, num_heads=2)
    >>> teacher = ATSTSED(n_classes=2, embed_dim=8, depth=2, num_heads=2)
    >>> set_trainable(student, teacher, 0)
    >>> student.atst.freeze, any(p.requires_grad for p in teacher.parameters())
    (True, False)
    """
    n_layers = n_trainable_groups(student.atst, tfm_trainable_layers)
    frozen = n_layers == 0
    student.atst.set_freeze(frozen)
    teacher.atst.set_freeze(frozen)
    if not frozen:
        unused = {id(getattr(student.atst, "mask_embed", None))}
        for j, group in enumerate(student.atst.layer_groups()):
            for p in group:
                if id(p) not in unused:
                    p.requires_grad_(j < n_layers)
    teacher.requires_grad_(False)


def optimizer_groups(
    student, cnn_lr, rnn_lr, tfm_lr, tfm_lr_scale, tfm_trainable_layers
):
    """Optimizer parameter groups of the student, with their ``max_lr``.

    Arguments
    ---------
    student : ATSTSED
        The student, after :func:`set_trainable`.
    cnn_lr : float
        Learning rate of the CNN.
    rnn_lr : float
        Learning rate of the rest of the CRNN (fusion, BiGRU, heads).
    tfm_lr : float
        Learning rate of the top transformer group.
    tfm_lr_scale : float
        Layer-wise decay: group ``j`` gets ``tfm_lr * tfm_lr_scale ** j``.
    tfm_trainable_layers : int
        See :func:`n_trainable_groups`.

    Returns
    -------
    list of dict
        ``cnn``, ``rnn``, then ``tfm_0`` ... for the trained transformer
        groups; empty groups are left out.

    Example
    -------
    >>> from speechbrain_atst.lobes.atst_sed import ATSTSED
    >>> student = ATSTSED(n_classes=2, embed_dim=8, depth=2, num_heads=2)
    >>> groups = optimizer_groups(student, 1e-3, 2e-3, 2e-4, 0.5, 2)
    >>> [(g["name"], g["max_lr"]) for g in groups]
    [('cnn', 0.001), ('rnn', 0.002), ('tfm_0', 0.0002), ('tfm_1', 0.0001)]
    """
    atst_ids = {id(p) for p in student.atst.parameters()}
    cnn, rnn = [], []
    for name, p in student.named_parameters():
        if id(p) in atst_ids or not p.requires_grad:
            continue
        (cnn if CNN_GROUP in name else rnn).append(p)
    groups = [
        {"params": cnn, "lr": float(cnn_lr), "name": CNN_GROUP},
        {"params": rnn, "lr": float(rnn_lr), "name": RNN_GROUP},
    ]
    n_layers = n_trainable_groups(student.atst, tfm_trainable_layers)
    for j, group in enumerate(student.atst.layer_groups()[:n_layers]):
        params = [p for p in group if p.requires_grad]
        if params:
            lr = float(tfm_lr) * float(tfm_lr_scale) ** j
            groups.append(
                {"params": params, "lr": lr, "name": f"{TFM_GROUP}{j}"}
            )
    groups = [g for g in groups if g["params"]]
    for g in groups:
        g["max_lr"] = g["lr"]
    return groups


def logged_learning_rates(optimizer):
    """Current learning rates of the :data:`LOGGED_GROUPS`.

    Arguments
    ---------
    optimizer : torch.optim.Optimizer
        An optimizer over :func:`param_groups`.

    Returns
    -------
    dict
        ``{"lr_cnn": ..., "lr_rnn": ..., "lr_tfm_0": ...}`` (groups present).

    Example
    -------
    >>> w = torch.nn.Parameter(torch.zeros(1))
    >>> opt = torch.optim.SGD([{"params": [w], "lr": 0.1, "name": "cnn"}])
    >>> logged_learning_rates(opt)
    {'lr_cnn': 0.1}
    """
    return {
        f"lr_{group['name']}": group["lr"]
        for group in optimizer.param_groups
        if group.get("name", "") in LOGGED_GROUPS
    }


def clip_gradients(optimizers, max_norm):
    """Clips the gradients of every parameter group to one global norm.

    SpeechBrain's ``optimizers_step`` clips only each optimizer's first
    group; here the norm is over all the groups' gradients, as Lightning
    does for the official code.

    Arguments
    ---------
    optimizers : sequence of torch.optim.Optimizer
        The optimizers (gradients unscaled).
    max_norm : float or None
        Global norm to clip to; None or <= 0: no clipping (as in the
        paper), the norm is only measured.

    Returns
    -------
    float
        The total gradient norm before clipping (inf or NaN if a gradient
        is not finite).

    Example
    -------
    >>> w = torch.nn.Parameter(torch.zeros(2))
    >>> w.grad = torch.tensor([3.0, 4.0])
    >>> opt = torch.optim.SGD([w], lr=0.1)
    >>> clip_gradients([opt], 1.0), round(w.grad.norm().item(), 4)
    (5.0, 1.0)
    """
    params = [
        p
        for opt in optimizers
        for group in opt.param_groups
        for p in group["params"]
        if p.grad is not None
    ]
    if max_norm is not None and float(max_norm) > 0:
        norm = torch.nn.utils.clip_grad_norm_(params, float(max_norm))
    else:
        norm = torch.nn.utils.get_total_norm([p.grad for p in params])
    return float(norm)


def check_shared_transformer(student, teacher):
    """Checks that a frozen transformer is the same in both models.

    With a frozen transformer (stage 1), student and teacher share its
    outputs (it runs once per batch), so their weights must be equal.

    Arguments
    ---------
    student : ATSTSED
        The student.
    teacher : ATSTSED
        The teacher.

    Raises
    ------
    RuntimeError
        If the weights differ (the teacher was not initialised from the
        student).

    Example
    -------
    >>> import copy
    >>> from speechbrain_atst.lobes.atst_sed import ATSTSED
    >>> student = ATSTSED(n_classes=2, embed_dim=8, depth=1, num_heads=2)
    >>> check_shared_transformer(student, copy.deepcopy(student))
    """
    for ps, pt in zip(student.atst.parameters(), teacher.atst.parameters()):
        if not torch.equal(ps, pt):
            raise RuntimeError(
                "Stage-1 training shares the frozen transformer between "
                "student and teacher, but their weights differ; initialise "
                "the teacher from the student"
            )
