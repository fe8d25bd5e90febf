"""What the student and the teacher see in an ATST-SED training step.

The official training step ([SED] ``train/local/stage2_trainer.py``,
``SEDICT.training_step``; stage 1 without the transformer parts):

* mixup (a :class:`~speechbrain_atst.augment.MixupPlan`, one draw per batch
  slice) mixes the CNN's linear mel, and with ``mixup_atst`` the
  transformer's power mel with the same draw; the targets are mixed soft
  (:func:`mix_targets`);
* under interpolation consistency (ICT) the teacher sees the *unmixed*
  inputs; otherwise it sees the student's;
* frequency warping, when active, warps the normalised transformer input
  of the student and of the teacher independently (its random draws in
  that order);
* the random draws of a step are seeded by :func:`draw_seed`; the mixup
  permutations, drawn on the CPU, go to the training device once per step
  (``MixupPlan.to``, called by the brain after the draw);
* a frozen transformer (stage 1) on an input neither mixed nor warped
  gives the same output to both models: it runs once
  (:func:`frozen_embeddings`), optionally cached across epochs
  (:func:`embedding_cache`).

:func:`student_teacher_inputs` returns the ``(student, teacher)`` inputs
of each branch.

Authors
 * speechbrain-atst team 2026
"""

import hashlib
import os

import torch
from speechbrain.utils.distributed import if_main_process

from speechbrain_atst.training.cache import EmbeddingCache, weights_fingerprint
from speechbrain_atst.training.distributed import barrier

#: Values of the ``atst_cache`` hyperparameter (False: no cache; True is
#: taken for ``"memory"``).
ATST_CACHE_MODES = (False, "memory", "disk")
#: Folder of the disk cache, in the run's output folder.
ATST_CACHE_FOLDER = "atst_cache"


def draw_seed(seed, rank, optimizer_step, step):
    """Seed of a training step's random draws (mixup, warping).

    The draws depend only on ``(seed, rank, step)``: reproducible,
    different on each DDP process, and identical after a resume.

    Arguments
    ---------
    seed : int
        The run's seed.
    rank : int
        The process's rank.
    optimizer_step : int
        Optimizer steps taken.
    step : int
        Step in the epoch.

    Returns
    -------
    int
        A 63-bit seed for ``torch.Generator.manual_seed``.

    Example
    -------
    >>> draw_seed(42, 0, 5, 6) == draw_seed(42, 0, 5, 6)
    True
    >>> draw_seed(42, 0, 5, 6) == draw_seed(42, 1, 5, 6)
    False
    """
    key = (int(seed), int(rank), int(optimizer_step), int(step))
    digest = hashlib.sha256(repr(key).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def student_teacher_inputs(
    front_end, wav, plan, use_ict, warp=None, slice_sizes=(), generator=None
):
    """Normalised (mixed, warped) inputs of a branch for both models.

    Arguments
    ---------
    front_end : CNNFrontEnd or ATSTFrontEnd
        The branch's front-end (``spectrogram`` then ``normalize``).
    wav : torch.Tensor
        Waveforms ``[B, samples]``.
    plan : MixupPlan or None
        The step's mixup draw if it applies to this branch (the
        transformer's with ``mixup_atst`` only), else None.
    use_ict : bool
        Under ICT the teacher sees the unmixed input, else the student's.
    warp : FrequencyWarp or None
        The frequency warping, if active this step (transformer branch).
    slice_sizes : sequence of int
        Batch slices (one warping band each).
    generator : torch.Generator
        Random draws of the warping.

    Returns
    -------
    tuple of torch.Tensor
        ``(student input, teacher input)``.

    Example
    -------
    >>> from speechbrain_atst.augment import FrequencyWarp, MixupPlan, SliceMix
    >>> from speechbrain_atst.features import ATSTFrontEnd, CNNFrontEnd
    >>> wav = torch.randn(2, 16000)
    >>> plan = MixupPlan([SliceMix(0, 2, 0.5, torch.tensor([1, 0]))])
    >>> s, t = student_teacher_inputs(CNNFrontEnd(), wav, plan, use_ict=True)
    >>> s.shape, bool(torch.equal(s, t))
    (torch.Size([2, 128, 63]), False)
    >>> s, t = student_teacher_inputs(CNNFrontEnd(), wav, plan, use_ict=False)
    >>> s is t
    True
    >>> warp, gen = FrequencyWarp(prob=1.0), torch.Generator().manual_seed(0)
    >>> s, t = student_teacher_inputs(
    ...     ATSTFrontEnd(), wav, None, False, warp, [2], gen
    ... )
    >>> s.shape, bool(torch.equal(s, t))
    (torch.Size([2, 64, 101]), False)
    """
    mel = front_end.spectrogram(wav)
    student = front_end.normalize(mel if plan is None else plan.apply(mel))
    teacher = student
    if plan is not None and use_ict:
        teacher = front_end.normalize(mel)
    if warp is not None:
        student = warp.apply(student, slice_sizes, generator)
        teacher = warp.apply(teacher, slice_sizes, generator)
    return student, teacher


def mix_targets(plan, strong_y, weak_y, n_strong):
    """Soft-mixes the strong slice's frame targets and the weak slice's
    clip targets with their slices' draws.

    Arguments
    ---------
    plan : MixupPlan or None
        The step's mixup draw (None: unchanged).
    strong_y : torch.Tensor
        Frame targets of the strong slice (items ``0 .. n_strong - 1``).
    weak_y : torch.Tensor
        Clip targets of the weak slice (from item ``n_strong``).
    n_strong : int
        Items of the strong slice.

    Returns
    -------
    tuple of torch.Tensor
        The (mixed) ``strong_y`` and ``weak_y``.

    Example
    -------
    >>> from speechbrain_atst.augment import MixupPlan, SliceMix
    >>> plan = MixupPlan([SliceMix(0, 2, 0.25, torch.tensor([1, 0]))])
    >>> strong, weak = mix_targets(
    ...     plan, torch.tensor([[0.0], [1.0]]), torch.zeros(0, 1), 2
    ... )
    >>> strong.flatten().tolist(), weak.shape
    ([0.75, 0.25], torch.Size([0, 1]))
    """
    if plan is None:
        return strong_y, weak_y
    return _mix_slice(plan, 0, strong_y), _mix_slice(plan, n_strong, weak_y)


def _mix_slice(plan, start, targets):
    """Targets of the slice starting at ``start``, mixed (unchanged if
    empty or not mixed)."""
    if targets.shape[0] == 0:
        return targets
    sl = plan.slice_at(start)
    return targets if sl is None else sl.mix_labels(targets)


def frozen_embeddings(batch, front_end, model, cache=None, device=None):
    """Outputs of a frozen transformer on the batch (cached if enabled).

    Arguments
    ---------
    batch : PaddedBatch
        ``sig`` (waveforms); with a cache also ``wav`` and ``crop_start``
        (the key of a window is ``<wav path>@<crop start>``).
    front_end : ATSTFrontEnd
        The transformer's front-end.
    model : ATSTSED
        The model whose transformer encodes (``encode_atst``).
    cache : EmbeddingCache, optional
        See :func:`embedding_cache`.
    device : str, optional
        Device of the cached outputs.

    Returns
    -------
    torch.Tensor
        ``[B, tokens, embed_dim]``.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> from speechbrain_atst.features import ATSTFrontEnd
    >>> from speechbrain_atst.lobes.atst_sed import ATSTSED
    >>> model = ATSTSED(n_classes=2, embed_dim=8, depth=1, num_heads=2)
    >>> batch = SimpleNamespace(
    ...     id=["a"], sig=SimpleNamespace(data=torch.randn(1, 16000))
    ... )
    >>> frozen_embeddings(batch, ATSTFrontEnd(), model).shape
    torch.Size([1, 25, 8])
    """
    wav = batch.sig.data

    def encode(indices):
        mel = front_end.spectrogram(wav[indices])
        with torch.no_grad():
            return model.encode_atst(front_end.normalize(mel))

    if cache is None:
        return encode(list(range(len(batch.id))))
    keys = [f"{w}@{int(s)}" for w, s in zip(batch.wav, batch.crop_start)]
    return cache.get_or_compute(keys, encode, device=device)


def check_cache_mode(mode):
    """Refuses an unknown ``atst_cache`` value.

    Arguments
    ---------
    mode : bool or str
        See :data:`ATST_CACHE_MODES`.

    Example
    -------
    >>> check_cache_mode("disk")
    >>> check_cache_mode("ram")
    Traceback (most recent call last):
    ...
    ValueError: atst_cache must be False, 'memory' or 'disk', got 'ram'
    """
    if mode and mode is not True and mode not in ATST_CACHE_MODES:
        raise ValueError(
            f"atst_cache must be False, 'memory' or 'disk', got {mode!r}"
        )


def embedding_cache(mode, output_folder, atst):
    """The cache of a frozen transformer's outputs ``atst_cache`` asks for.

    Arguments
    ---------
    mode : bool or str
        False (no cache), ``"memory"`` or ``"disk"`` (under
        ``<output_folder>/atst_cache``, tied to the weights' fingerprint).
    output_folder : str
        The run's output folder.
    atst : torch.nn.Module
        The frozen transformer.

    Returns
    -------
    EmbeddingCache or None
        The cache.

    Example
    -------
    >>> embedding_cache(False, "unused", None) is None
    True
    >>> len(embedding_cache("memory", "unused", None))
    0
    """
    check_cache_mode(mode)
    if not mode:
        return None
    if mode != "disk":
        return EmbeddingCache()
    folder = os.path.join(output_folder, ATST_CACHE_FOLDER)
    fingerprint = weights_fingerprint(atst)
    if if_main_process():
        EmbeddingCache(folder, fingerprint)
    barrier()
    cache = EmbeddingCache(folder, None)
    cache.fingerprint = fingerprint
    return cache
