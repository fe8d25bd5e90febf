"""Training-time augmentations of ATST-SED: slice-wise mixup and
frequency warping.

* **Mixup** mixes every clip of a batch slice with another clip of the same
  slice (``c * x + (1 - c) * x[perm]``), ``c ~ Beta(alpha, alpha)``, one
  coefficient and one permutation per slice (strong, weak, unlabeled). The
  same :class:`MixupPlan` is applied to the CNN linear-magnitude mel, to the
  ATST power mel (stage 2), to the labels (soft, clamped to [0, 1]) and to
  the teacher's predictions (interpolation consistency training).
* **Frequency warping** is the random-resize-crop of BYOL-A / ATST-Frame
  pretraining restricted to frequency: a random band of ``int(U(0.6, 1.0)
  * 64)`` mel bins (38 to 63 of 64) starting at a random bin shared by the
  clips of a slice is cropped over the full time axis and resized back to
  64 bins with bicubic interpolation (``align_corners=True``).

All randomness is drawn from an explicit :class:`torch.Generator`, so a
training run can make it reproducible and independent across DDP ranks.

Authors
 * speechbrain-atst team 2026
"""

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


def draw_beta(alpha, generator=None):
    """Draws one sample of ``Beta(alpha, alpha)`` from a torch generator.

    numpy's exact Beta sampler is seeded with an integer drawn from
    ``generator``, so the result is reproducible from the generator state.

    Arguments
    ---------
    alpha : float
        Both shape parameters of the Beta distribution (> 0).
    generator : torch.Generator, optional
        Source of randomness; the global torch generator if None.

    Returns
    -------
    float
        A value in [0, 1].

    Example
    -------
    >>> g = torch.Generator().manual_seed(0)
    >>> c = draw_beta(0.2, g)
    >>> 0.0 <= c <= 1.0
    True
    >>> c == draw_beta(0.2, torch.Generator().manual_seed(0))
    True
    """
    if alpha <= 0:
        raise ValueError(f"Beta parameter must be positive, got {alpha}")
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    return float(np.random.default_rng(seed).beta(alpha, alpha))


def draw_uniform(low, high, generator=None):
    """Draws one float uniformly in ``[low, high)`` from a torch generator.

    Arguments
    ---------
    low : float
        Lower bound.
    high : float
        Upper bound.
    generator : torch.Generator, optional
        Source of randomness.

    Returns
    -------
    float
        The sample.

    Example
    -------
    >>> 0.6 <= draw_uniform(0.6, 1.0) < 1.0
    True
    """
    u = float(torch.rand((), generator=generator, dtype=torch.float64))
    return low + (high - low) * u


@dataclass
class SliceMix:
    """Mixup of one batch slice: ``c * x + (1 - c) * x[perm]``.

    Arguments
    ---------
    start : int
        First batch index of the slice.
    stop : int
        One past the last batch index of the slice.
    coef : float
        The mixing coefficient ``c``.
    perm : torch.Tensor
        Permutation of ``range(stop - start)`` (indices inside the slice).

    Example
    -------
    >>> mix = SliceMix(0, 2, 0.75, torch.tensor([1, 0]))
    >>> mix.mix(torch.tensor([[4.0], [8.0]])).flatten().tolist()
    [5.0, 7.0]
    """

    start: int
    stop: int
    coef: float
    perm: torch.Tensor

    def mix(self, x):
        """Mixes a tensor holding exactly this slice along dim 0.

        Arguments
        ---------
        x : torch.Tensor
            ``[stop - start, ...]``.

        Returns
        -------
        torch.Tensor
            ``coef * x + (1 - coef) * x[perm]``.
        """
        if x.shape[0] != self.stop - self.start:
            raise ValueError(
                f"Slice [{self.start}, {self.stop}) has "
                f"{self.stop - self.start} items, got a tensor of "
                f"{x.shape[0]}"
            )
        perm = self.perm.to(x.device)
        return self.coef * x + (1.0 - self.coef) * x[perm]

    def mix_labels(self, y):
        """Soft-mixes targets of this slice and clamps them to [0, 1].

        Arguments
        ---------
        y : torch.Tensor
            Targets or teacher predictions ``[stop - start, ...]``.

        Returns
        -------
        torch.Tensor
            ``clamp(coef * y + (1 - coef) * y[perm], 0, 1)``.
        """
        return self.mix(y).clamp(0.0, 1.0)


class MixupPlan:
    """One mixup draw for a whole batch: a :class:`SliceMix` per slice.

    Arguments
    ---------
    slices : list of SliceMix
        The slices (non-overlapping, any order); batch items outside every
        slice are left unchanged.

    Example
    -------
    >>> g = torch.Generator().manual_seed(0)
    >>> plan = MixupPlan.draw([2, 3], alpha=0.2, generator=g)
    >>> [(s.start, s.stop) for s in plan.slices]
    [(0, 2), (2, 5)]
    >>> x = torch.arange(5.0).unsqueeze(1)
    >>> plan.apply(x).shape
    torch.Size([5, 1])
    """

    def __init__(self, slices):
        self.slices = list(slices)

    @classmethod
    def draw(cls, slice_sizes, alpha=0.2, generator=None):
        """Draws a coefficient and a permutation for each non-empty slice.

        Arguments
        ---------
        slice_sizes : sequence of int
            Sizes of consecutive slices of the batch (zero allowed).
        alpha : float
            Beta parameter of the mixing coefficient.
        generator : torch.Generator, optional
            Source of randomness.

        Returns
        -------
        MixupPlan
            The plan.
        """
        slices, start = [], 0
        for size in slice_sizes:
            size = int(size)
            if size > 0:
                coef = draw_beta(alpha, generator)
                perm = torch.randperm(size, generator=generator)
                slices.append(SliceMix(start, start + size, coef, perm))
            start += size
        return cls(slices)

    def to(self, device):
        """Moves the permutations to ``device``, in place.

        They are drawn on the CPU; each use on a GPU tensor would copy one
        with a host synchronisation, up to 14 per mixed stage-2 step (both
        branches, the targets and the ICT loss). Moved once, asynchronously
        (``non_blocking``), every later use finds them there. On the CPU
        nothing changes.

        Arguments
        ---------
        device : str or torch.device
            Device of the tensors the plan mixes.

        Returns
        -------
        MixupPlan
            This plan.

        Example
        -------
        >>> plan = MixupPlan([SliceMix(0, 2, 0.5, torch.tensor([1, 0]))])
        >>> plan.to("cpu").slices[0].perm.device
        device(type='cpu')
        """
        for sl in self.slices:
            if sl.perm.device != torch.device(device):
                sl.perm = sl.perm.to(device, non_blocking=True)
        return self

    def apply(self, x):
        """Mixes each slice of a batch tensor with its own draw.

        Arguments
        ---------
        x : torch.Tensor
            ``[batch, ...]`` (e.g. a linear mel spectrogram).

        Returns
        -------
        torch.Tensor
            A new tensor with every slice mixed.
        """
        out = x.clone()
        for s in self.slices:
            out[s.start : s.stop] = s.mix(x[s.start : s.stop])
        return out

    def apply_labels(self, y):
        """Like :meth:`apply`, but clamps each mixed slice to [0, 1].

        Arguments
        ---------
        y : torch.Tensor
            Targets or probabilities ``[batch, ...]``.

        Returns
        -------
        torch.Tensor
            The soft-mixed targets.
        """
        out = y.clone()
        for s in self.slices:
            out[s.start : s.stop] = s.mix_labels(y[s.start : s.stop])
        return out

    def slice_at(self, start):
        """Returns the :class:`SliceMix` beginning at batch index ``start``.

        Arguments
        ---------
        start : int
            First index of the slice.

        Returns
        -------
        SliceMix or None
            None if no slice starts there (e.g. an empty slice).
        """
        for s in self.slices:
            if s.start == start:
                return s
        return None


class Mixup:
    """Configurable slice-wise mixup (probability and Beta parameter).

    Arguments
    ---------
    alpha : float
        ``c ~ Beta(alpha, alpha)`` (0.2 in ATST-SED).
    prob : float
        Probability that a training step is mixed (0.5 in ATST-SED); 0
        disables mixup (and interpolation consistency with it).

    Example
    -------
    >>> mixup = Mixup(alpha=0.2, prob=1.0)
    >>> plan = mixup.draw([2, 0, 2], torch.Generator().manual_seed(1))
    >>> len(plan.slices)
    2
    >>> Mixup(prob=0.0).draw([4], torch.Generator()) is None
    True
    """

    def __init__(self, alpha=0.2, prob=0.5):
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"mixup probability must be in [0, 1]: {prob}")
        self.alpha = float(alpha)
        self.prob = float(prob)

    def draw(self, slice_sizes, generator=None):
        """Decides whether to mix this step and draws the plan if so.

        Arguments
        ---------
        slice_sizes : sequence of int
            Sizes of the consecutive batch slices.
        generator : torch.Generator, optional
            Source of randomness.

        Returns
        -------
        MixupPlan or None
            None when this step is not mixed.
        """
        if self.prob <= 0.0:
            return None
        u = float(torch.rand((), generator=generator, dtype=torch.float64))
        if u >= self.prob:
            return None
        return MixupPlan.draw(slice_sizes, self.alpha, generator)

    def __repr__(self):
        return f"Mixup(alpha={self.alpha}, prob={self.prob})"


def crop_resize_freq(x, start, height):
    """Crops mel bins ``[start, start + height)`` and resizes them back.

    The band is interpolated back to the input's number of bins with
    bicubic interpolation (``align_corners=True``); the time axis keeps its
    size and, with ``align_corners=True``, its values.

    Arguments
    ---------
    x : torch.Tensor
        Features ``[..., n_mels, frames]``.
    start : int
        First bin of the band.
    height : int
        Number of bins of the band (``1 <= height <= n_mels - start``).

    Returns
    -------
    torch.Tensor
        Same shape and dtype as ``x``.

    Example
    -------
    >>> x = torch.randn(2, 64, 10)
    >>> torch.allclose(crop_resize_freq(x, 0, 64), x, atol=1e-6)
    True
    >>> crop_resize_freq(x, 5, 40).shape
    torch.Size([2, 64, 10])
    """
    n_mels, frames = x.shape[-2:]
    if not (0 <= start and 1 <= height and start + height <= n_mels):
        raise ValueError(
            f"Band [{start}, {start + height}) is outside 0..{n_mels}"
        )
    lead = x.shape[:-2]
    band = x[..., start : start + height, :].reshape(-1, 1, height, frames)
    out = F.interpolate(
        band.float(),
        size=(n_mels, frames),
        mode="bicubic",
        align_corners=True,
    )
    return out.reshape(*lead, n_mels, frames).to(x.dtype)


class FrequencyWarp:
    """Random frequency band crop-and-resize of the normalised ATST input.

    Arguments
    ---------
    freq_scale : tuple of float
        Range of the band height as a fraction of the mel bins; the height is
        ``int(U(low, high) * n_mels)`` clipped to ``[1, n_mels]``.
    prob : float
        Probability that a training step is warped (0.5 in ATST-SED); 0
        disables the augmentation.

    Example
    -------
    >>> warp = FrequencyWarp(prob=1.0)
    >>> x = torch.randn(6, 64, 20)
    >>> g = torch.Generator().manual_seed(0)
    >>> warp.apply(x, [2, 2, 2], g).shape
    torch.Size([6, 64, 20])
    """

    def __init__(self, freq_scale=(0.6, 1.0), prob=0.5):
        low, high = (float(v) for v in freq_scale)
        if not 0.0 < low <= high <= 1.0:
            raise ValueError(f"freq_scale must be in (0, 1]: {freq_scale}")
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"warp probability must be in [0, 1]: {prob}")
        self.freq_scale = (low, high)
        self.prob = float(prob)

    def active(self, generator=None):
        """Decides whether this training step is warped.

        Arguments
        ---------
        generator : torch.Generator, optional
            Source of randomness.

        Returns
        -------
        bool
            True with probability ``prob``.
        """
        if self.prob <= 0.0:
            return False
        u = float(torch.rand((), generator=generator, dtype=torch.float64))
        return u < self.prob

    def draw_band(self, n_mels, generator=None):
        """Draws the band ``(start, height)`` of one warp.

        Arguments
        ---------
        n_mels : int
            Number of mel bins.
        generator : torch.Generator, optional
            Source of randomness.

        Returns
        -------
        tuple of int
            ``(start, height)`` with ``start + height <= n_mels``.

        Example
        -------
        >>> g = torch.Generator().manual_seed(0)
        >>> bands = [FrequencyWarp().draw_band(64, g) for _ in range(200)]
        >>> min(h for _, h in bands) >= 38, max(h for _, h in bands) <= 63
        (True, True)
        """
        u = draw_uniform(*self.freq_scale, generator=generator)
        height = min(max(int(u * n_mels), 1), n_mels)
        start = 0
        if height < n_mels:
            start = int(
                torch.randint(0, n_mels - height + 1, (1,), generator=generator)
            )
        return start, height

    def apply(self, x, slice_sizes, generator=None):
        """Warps each slice of a batch with its own band (always applied).

        Arguments
        ---------
        x : torch.Tensor
            Normalised ATST features ``[batch, n_mels, frames]``.
        slice_sizes : sequence of int
            Sizes of consecutive batch slices; each gets one band shared by
            its clips.
        generator : torch.Generator, optional
            Source of randomness.

        Returns
        -------
        torch.Tensor
            The warped features.
        """
        n_mels = x.shape[-2]
        parts, start = [], 0
        for size in slice_sizes:
            size = int(size)
            part = x[start : start + size]
            if size > 0:
                band_start, height = self.draw_band(n_mels, generator)
                part = crop_resize_freq(part, band_start, height)
            parts.append(part)
            start += size
        parts.append(x[start:])
        return torch.cat(parts, dim=0)

    def __repr__(self):
        return f"FrequencyWarp(freq_scale={self.freq_scale}, prob={self.prob})"
