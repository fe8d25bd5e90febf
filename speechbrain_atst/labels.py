"""Class list, time <-> frame grid, strong/weak label encoding and decoding.

This module is the single source of truth for the constants that tie audio,
features, model outputs and labels together: the sample rate, the CNN hop,
the network's time pooling and the clip length. Everything else (front-ends,
model, training, evaluation, inference) takes them from here, so the label
grid and the model output agree by construction.

The rules follow the DESED ``ManyHotEncoder`` used by ATST-SED: 156 frames of
64 ms per 10 s clip; an event occupies the frames
``[floor(onset * fps), ceil(offset * fps))``, clipped to the grid.

Authors
 * speechbrain-atst team 2026
"""

import math
import os
from collections.abc import Iterable, Sequence

import numpy as np

#: Sample rate of every waveform the models see (Hz).
SAMPLE_RATE = 16000
#: Length of a training / inference window (seconds).
CLIP_SECONDS = 10.0
#: Hop of the CNN-branch mel spectrogram (samples).
CNN_HOP = 256
#: Hop of the transformer-branch mel spectrogram (samples).
ATST_HOP = 160
#: Time pooling of the CNN (two 2x average pools).
NET_POOLING = 4

#: The ten DESED classes, in the order of the official encoder.
DESED_CLASSES = (
    "Alarm_bell_ringing",
    "Blender",
    "Cat",
    "Dishes",
    "Dog",
    "Electric_shaver_toothbrush",
    "Frying",
    "Running_water",
    "Speech",
    "Vacuum_cleaner",
)


def load_classes(classes=None):
    """Returns a class list from a list, a comma-separated string or a file.

    Arguments
    ---------
    classes : None, str, os.PathLike or sequence of str
        ``None`` gives the ten DESED classes. A path to an existing text
        file is read with one class per line (blank lines and ``#`` comments
        ignored). Any other string is split on commas.

    Returns
    -------
    list of str
        The class names, in order.

    Example
    -------
    >>> load_classes()[:2]
    ['Alarm_bell_ringing', 'Blender']
    >>> load_classes("Dog,Cat")
    ['Dog', 'Cat']
    """
    if classes is None:
        return list(DESED_CLASSES)
    if isinstance(classes, (str, os.PathLike)):
        if os.path.isfile(classes):
            with open(classes, encoding="utf-8-sig") as fin:
                lines = [ln.split("#")[0].strip() for ln in fin]
            out = [ln for ln in lines if ln]
        else:
            out = [c.strip() for c in str(classes).split(",") if c.strip()]
    else:
        out = [str(c) for c in classes]
    if not out:
        raise ValueError(f"Empty class list: {classes!r}")
    if len(set(out)) != len(out):
        raise ValueError(f"Duplicate class names in {out}")
    return out


class FrameGrid:
    """The time grid of the model output (the "label grid").

    One output frame spans ``hop_length * pooling / sample_rate`` seconds
    (64 ms by default); a clip of ``clip_seconds`` has ``n_frames`` frames
    (156 for 10 s), computed as the official encoder does.

    Arguments
    ---------
    sample_rate : int
        Sample rate of the waveform (Hz).
    hop_length : int
        Hop of the CNN-branch spectrogram (samples).
    pooling : int
        Total time pooling of the network.
    clip_seconds : float
        Length of a model window (seconds).

    Example
    -------
    >>> grid = FrameGrid()
    >>> grid.n_frames, grid.frame_seconds
    (156, 0.064)
    >>> grid.time_to_frame(1.0)
    15.625
    >>> grid.valid_frames(3.0)
    47
    """

    def __init__(
        self,
        sample_rate=SAMPLE_RATE,
        hop_length=CNN_HOP,
        pooling=NET_POOLING,
        clip_seconds=CLIP_SECONDS,
    ):
        self.sample_rate = int(sample_rate)
        self.hop_length = int(hop_length)
        self.pooling = int(pooling)
        self.clip_seconds = float(clip_seconds)
        self.frame_seconds = self.hop_length * self.pooling / self.sample_rate
        self.frames_per_second = 1.0 / self.frame_seconds
        self.clip_samples = int(round(self.clip_seconds * self.sample_rate))
        self.n_frames = int(
            int(self.clip_seconds * self.sample_rate / self.hop_length)
            / self.pooling
        )

    def __repr__(self):
        return (
            f"FrameGrid(sample_rate={self.sample_rate}, "
            f"hop_length={self.hop_length}, pooling={self.pooling}, "
            f"clip_seconds={self.clip_seconds})"
        )

    def time_to_frame(self, t):
        """Continuous frame position of time ``t`` (s), clipped to the grid.

        Arguments
        ---------
        t : float or numpy.ndarray
            Time in seconds.

        Returns
        -------
        float or numpy.ndarray
            ``clip(t * frames_per_second, 0, n_frames)``.
        """
        out = np.clip(
            np.asarray(t, dtype=float) * self.frames_per_second,
            0,
            self.n_frames,
        )
        return float(out) if out.ndim == 0 else out

    def frame_to_time(self, k, max_time=None):
        """Time (s) of the start of frame ``k``, clipped to ``[0, max_time]``.

        Arguments
        ---------
        k : int, float or numpy.ndarray
            Frame index (or boundary index).
        max_time : float, optional
            Upper bound; defaults to ``clip_seconds``.

        Returns
        -------
        float or numpy.ndarray
            ``k * frame_seconds``, clipped.

        Example
        -------
        >>> FrameGrid().frame_to_time(156)
        9.984
        """
        max_time = self.clip_seconds if max_time is None else max_time
        out = np.clip(np.asarray(k, dtype=float) * self.frame_seconds, 0, None)
        out = np.minimum(out, max_time)
        return round(float(out), 6) if np.ndim(out) == 0 else out.round(6)

    def timestamps(self, n_frames):
        """Frame boundaries ``[0, 0.064, ..., n_frames * 0.064]`` (seconds).

        These are the ``timestamps`` sed_scores_eval expects for a score
        array of ``n_frames`` rows.

        Arguments
        ---------
        n_frames : int
            Number of frames.

        Returns
        -------
        numpy.ndarray
            ``n_frames + 1`` boundaries, rounded to the microsecond.

        Example
        -------
        >>> FrameGrid().timestamps(3)
        array([0.   , 0.064, 0.128, 0.192])
        """
        return (np.arange(n_frames + 1) * self.frame_seconds).round(6)

    def valid_frames(self, duration):
        """Number of output frames that overlap ``[0, duration)``.

        A clip shorter than the window is padded before the model; its
        scores are meaningful up to ``ceil(duration * fps)`` frames (the
        last one partly covered), never more than ``n_frames``.

        Arguments
        ---------
        duration : float
            Duration of the audio (seconds).

        Returns
        -------
        int
            Number of frames to keep.
        """
        n = math.ceil(round(duration * self.frames_per_second, 6))
        return int(min(max(n, 0), self.n_frames))

    def model_frames(self, n_samples):
        """Number of frames the CNN produces for ``n_samples`` samples.

        The mel front-end is centred (``1 + n // hop`` frames), then each
        2x time pool floors.

        Arguments
        ---------
        n_samples : int
            Waveform length (samples).

        Returns
        -------
        int
            Output frames (156 for 160000 samples).

        Example
        -------
        >>> FrameGrid().model_frames(160000)
        156
        """
        frames = 1 + int(n_samples) // self.hop_length
        pool = self.pooling
        while pool > 1:
            frames //= 2
            pool //= 2
        return frames


class ManyHotEncoder:
    """Encodes strong and weak labels on a frame grid and decodes scores.

    Arguments
    ---------
    classes : None, str or sequence of str
        The class list (see :func:`load_classes`); DESED's ten by default.
    grid : FrameGrid, optional
        The frame grid; the 16 kHz / hop 256 / pooling 4 / 10 s grid by
        default.

    Example
    -------
    >>> enc = ManyHotEncoder()
    >>> y = enc.encode_strong([(0.1, 0.5, "Dog")])
    >>> y.shape
    torch.Size([156, 10])
    >>> y[:, enc.index("Dog")].nonzero().flatten().tolist()
    [1, 2, 3, 4, 5, 6, 7]
    >>> enc.decode_strong(y.numpy())
    [('Dog', 0.064, 0.512)]
    >>> enc.encode_weak(["Cat", "Dog"]).tolist()
    [0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    """

    def __init__(self, classes=None, grid=None):
        self.classes = load_classes(classes)
        self.grid = FrameGrid() if grid is None else grid
        self._index = {c: i for i, c in enumerate(self.classes)}

    @property
    def n_classes(self):
        """Number of classes."""
        return len(self.classes)

    def __len__(self):
        return len(self.classes)

    def index(self, label):
        """Returns the column of ``label``; unknown labels raise ``KeyError``.

        Arguments
        ---------
        label : str
            Class name.

        Returns
        -------
        int
            Index of the class.
        """
        try:
            return self._index[label]
        except KeyError:
            raise KeyError(
                f"Unknown event label {label!r}; known classes: "
                f"{', '.join(self.classes)}"
            ) from None

    def event_frames(self, onset, offset, n_frames=None):
        """Frame span ``[start, stop)`` covered by an event.

        Arguments
        ---------
        onset : float
            Event start (s).
        offset : float
            Event end (s).
        n_frames : int, optional
            Grid length; ``grid.n_frames`` by default.

        Returns
        -------
        tuple of int
            ``(floor(onset * fps), ceil(offset * fps))`` clipped to
            ``[0, n_frames]``.
        """
        n_frames = self.grid.n_frames if n_frames is None else n_frames
        fps = self.grid.frames_per_second
        # Rounding absorbs float noise (0.064 * 15.625 is not exactly 1).
        start = int(np.floor(np.clip(round(onset * fps, 9), 0, n_frames)))
        stop = int(np.ceil(np.clip(round(offset * fps, 9), 0, n_frames)))
        return start, stop

    def encode_strong(self, events, n_frames=None):
        """Frame-level multi-hot targets of shape ``(n_frames, n_classes)``.

        Arguments
        ---------
        events : iterable of (onset, offset, label)
            Events in seconds; onset >= offset events cover no frame.
        n_frames : int, optional
            Grid length; ``grid.n_frames`` by default.

        Returns
        -------
        torch.Tensor
            Float tensor of zeros and ones.
        """
        import torch  # lazy: the label grid itself is NumPy only

        n_frames = self.grid.n_frames if n_frames is None else n_frames
        y = torch.zeros(n_frames, self.n_classes)
        for onset, offset, label in events:
            column = self.index(label)
            if offset <= onset:  # dropped, as the official dataset does
                continue
            start, stop = self.event_frames(onset, offset, n_frames)
            if stop > start:
                y[start:stop, column] = 1.0
        return y

    def encode_weak(self, labels):
        """Clip-level multi-hot vector of shape ``(n_classes,)``.

        Arguments
        ---------
        labels : iterable of str or str
            Class names; a string is split on commas (DESED weak format).

        Returns
        -------
        torch.Tensor
            Float tensor of zeros and ones.
        """
        if isinstance(labels, str):
            labels = [lab for lab in labels.split(",") if lab.strip()]
        import torch  # lazy: the label grid itself is NumPy only

        y = torch.zeros(self.n_classes)
        for label in labels:
            y[self.index(label.strip())] = 1.0
        return y

    def decode_strong(self, scores, threshold=0.5, max_time=None):
        """Turns frame scores into events with the strict ``score > t`` rule.

        Arguments
        ---------
        scores : numpy.ndarray or torch.Tensor
            Scores of shape ``(frames, n_classes)``.
        threshold : float or sequence of float
            One threshold for all classes, or one per class.
        max_time : float, optional
            Offsets are clipped to this time (the clip duration).

        Returns
        -------
        list of (label, onset, offset)
            Events sorted by class then onset; times in seconds.
        """
        scores = _as_numpy(scores)
        if scores.ndim != 2 or scores.shape[1] != self.n_classes:
            raise ValueError(
                f"Expected scores of shape (frames, {self.n_classes}), "
                f"got {scores.shape}"
            )
        thresholds = _per_class(threshold, self.n_classes)
        active = scores > thresholds[None, :]
        events = []
        for c, label in enumerate(self.classes):
            for start, stop in contiguous_regions(active[:, c]):
                onset = self.grid.frame_to_time(start, max_time)
                offset = self.grid.frame_to_time(stop, max_time)
                if offset > onset:
                    events.append((label, onset, offset))
        return events


def contiguous_regions(mask):
    """Start and stop (exclusive) indices of runs of ``True`` in ``mask``.

    Arguments
    ---------
    mask : numpy.ndarray
        One-dimensional boolean array.

    Returns
    -------
    list of (int, int)
        The runs, in order.

    Example
    -------
    >>> contiguous_regions(np.array([0, 1, 1, 0, 1], dtype=bool))
    [(1, 3), (4, 5)]
    """
    mask = np.asarray(mask, dtype=bool).astype(np.int8)
    change = np.diff(np.concatenate([[0], mask, [0]]))
    starts = np.flatnonzero(change == 1)
    stops = np.flatnonzero(change == -1)
    return [(int(a), int(b)) for a, b in zip(starts, stops)]


def _per_class(threshold, n_classes):
    """Broadcasts a scalar or per-class threshold to an array."""
    if isinstance(threshold, dict):
        raise TypeError("Pass per-class thresholds as a sequence")
    if np.isscalar(threshold):
        return np.full(n_classes, float(threshold))
    arr = np.asarray(
        list(threshold) if isinstance(threshold, Iterable) else threshold,
        dtype=float,
    )
    if arr.shape != (n_classes,):
        raise ValueError(f"Expected {n_classes} thresholds, got {arr.shape[0]}")
    return arr


def _as_numpy(x):
    """Converts a tensor or array-like to a float numpy array."""
    if hasattr(x, "detach"):  # a torch.Tensor (torch is not imported here)
        return x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=float)


def per_class_values(values, classes, default=None):
    """Expands a scalar, list or ``{class: value}`` mapping to a list.

    Arguments
    ---------
    values : float, sequence or dict
        One value for all classes, one per class, or a mapping (missing
        classes take ``default``).
    classes : Sequence of str
        The class list.
    default : float, optional
        Value for classes missing from a mapping.

    Returns
    -------
    list
        One value per class.

    Example
    -------
    >>> per_class_values({"Dog": 3}, ["Cat", "Dog"], default=1)
    [1, 3]
    """
    classes = list(classes)
    if isinstance(values, dict):
        unknown = set(values) - set(classes)
        if unknown:
            raise KeyError(f"Unknown classes {sorted(unknown)}")
        if default is None and len(values) != len(classes):
            raise ValueError("A value is needed for every class")
        return [values.get(c, default) for c in classes]
    if np.isscalar(values):
        return [values] * len(classes)
    values = list(values)
    if isinstance(values, Sequence) and len(values) != len(classes):
        raise ValueError(
            f"Expected {len(classes)} values (one per class), got {len(values)}"
        )
    return values
