"""Windowed detection without PyTorch: waveforms in, scores and events out.

:class:`WindowedDetector` holds everything a detector does around its
network, in NumPy and pandas only: it checks the waveforms, cuts long audio
into windows (:mod:`~speechbrain_atst.inference.windowing`), merges the
window scores, median-filters the merged scores, cuts short clips to their
real duration, turns scores into sed_scores_eval score DataFrames and into
events, and applies per-class thresholds. A subclass supplies only
``load_audio(path)`` (a 1-D float32 waveform at 16 kHz) and
``_run_windows(windows)`` (``[n, window_samples]`` float32 samples to
``[n, frames, n_classes]`` scores). :class:`~speechbrain_atst.inference.
onnx_runtime.OnnxSED` runs the windows with onnxruntime; nothing here
imports torch (torch tensors are accepted as input and converted).

Authors
 * speechbrain-atst team 2026
"""

import contextlib
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from speechbrain_atst.evaluation.postprocessing import (
    median_filter,
    scores_to_dataframe,
)
from speechbrain_atst.evaluation.postprocessing import (
    scores_to_events as decode_events,
)
from speechbrain_atst.inference.windowing import (
    FRAME_SAMPLES,
    cut_window,
    merge_weights,
    merge_window_scores,
    window_plan,
)
from speechbrain_atst.labels import (
    CLIP_SECONDS,
    SAMPLE_RATE,
    FrameGrid,
    load_classes,
    per_class_values,
)

#: Columns of the event DataFrames (DESED order, plus the event score).
EVENT_COLUMNS = ["filename", "onset", "offset", "event_label", "score"]


@contextlib.contextmanager
def naming(path):
    """Prefixes a ``ValueError`` about a file's waveform with the file.

    Arguments
    ---------
    path : str or os.PathLike
        The file being processed.

    Example
    -------
    >>> with naming("a.wav"):
    ...     raise ValueError("bad samples")
    Traceback (most recent call last):
    ...
    ValueError: a.wav: bad samples
    """
    try:
        yield
    except ValueError as err:
        if os.fspath(path) in str(err):
            raise
        raise ValueError(f"{os.fspath(path)}: {err}") from None


def _as_array(x, dtype):
    """NumPy array of a torch tensor (any device) or an array-like.

    A float32 or float64 tensor on the CPU is read in place (no copy);
    other dtypes (bfloat16, float16, integers) go through float64, which
    holds them exactly.
    """
    if hasattr(x, "detach"):  # a torch.Tensor; torch is not imported here
        x = x.detach().cpu()
        if str(x.dtype) not in ("torch.float32", "torch.float64"):
            x = x.double()
        x = x.numpy()
    return np.asarray(x, dtype=dtype)


def batch_lengths(shape, wav_lens):
    """Real lengths (samples) of the waveforms of a padded batch.

    Arguments
    ---------
    shape : tuple of int
        ``(batch, samples)`` of the padded batch.
    wav_lens : array-like or None
        Relative lengths (SpeechBrain convention); full if None.

    Returns
    -------
    list of int
        ``round(rel * samples)`` per waveform, as many as both the batch
        and ``wav_lens`` hold (not clipped: checked by
        :func:`check_waveforms`).

    Example
    -------
    >>> batch_lengths((2, 10), None), batch_lengths((2, 10), [1.0, 0.25])
    ([10, 10], [10, 2])
    """
    n_rows, width = shape
    if wav_lens is None:
        return [width] * n_rows
    rel = _as_array(wav_lens, np.float64).flatten()
    return [int(round(float(r) * width)) for r in rel][:n_rows]


def check_waveforms(lengths, suspect, is_finite):
    """Raises for the first waveform that is empty or holds NaN or inf.

    Arguments
    ---------
    lengths : list of int
        Real length of each waveform (see :func:`batch_lengths`).
    suspect : array-like of bool
        Waveforms that may hold NaN or inf (e.g. those whose sum is not
        finite); the others are taken as finite without a look.
    is_finite : callable
        ``is_finite(index)``: whether the real samples of a suspect
        waveform are all finite (the exact check).

    Raises
    ------
    ValueError
        Naming the first bad waveform of the batch, empty or not finite.

    Example
    -------
    >>> check_waveforms([3, 0], [False, False], None)
    Traceback (most recent call last):
    ...
    ValueError: Cannot score an empty waveform (1)
    """
    suspect = np.asarray(suspect, dtype=bool)
    bad = (np.asarray(lengths, dtype=np.int64) <= 0) | suspect
    for index in np.flatnonzero(bad).tolist():
        if lengths[index] <= 0:
            raise ValueError(f"Cannot score an empty waveform ({index})")
        if not is_finite(index):
            # NaN would spread over the whole window (per-clip
            # normalisation) and yield NaN scores without an error.
            raise ValueError(
                f"Waveform {index} of the batch contains NaN or inf samples"
            )


class WindowedDetector:
    """Windowed ATST-SED detection around a window-scoring function.

    Call :meth:`configure` in the subclass's constructor; implement
    ``load_audio`` and ``_run_windows``.

    Example
    -------
    >>> class Loudness(WindowedDetector):
    ...     def __init__(self):
    ...         self.configure(["a", "b"], 10.0, 8.0, 1, 0.5, 4)
    ...
    ...     def _run_windows(self, windows):  # [n, 160000] -> [n, 156, 2]
    ...         frames = windows[:, : 156 * 1024].reshape(len(windows), 156, -1)
    ...         level = np.abs(frames).mean(-1, keepdims=True)
    ...         return np.repeat(level, 2, axis=-1)
    >>> sed = Loudness()
    >>> sed.frame_scores_batch(np.zeros((1, 16000 * 25)))[0].shape
    (391, 2)
    >>> frame = sed.scores_batch(np.zeros((1, 16000 * 3)))[0]
    >>> len(frame), float(frame["offset"].iloc[-1])
    (47, 3.0)
    """

    def configure(
        self,
        classes,
        window_seconds,
        hop_seconds,
        median_windows,
        threshold,
        batch_size,
        merge="crossfade",
        sample_rate=SAMPLE_RATE,
        n_classes=None,
    ):
        """Checks and stores the detection settings.

        Arguments
        ---------
        classes : sequence of str or str
            Class names (see :func:`~speechbrain_atst.labels.load_classes`).
        window_seconds : float
            Window length (at most 10 s).
        hop_seconds : float
            Hop between window starts (rounded to whole 64 ms frames).
        median_windows : int, sequence or dict
            Median filter length per class (frames).
        threshold : float, sequence or dict
            Default decision threshold(s).
        batch_size : int
            Windows scored at once.
        merge : str
            ``"crossfade"`` or ``"mean"``.
        sample_rate : int
            Must be 16000 (the rate of the front-ends).
        n_classes : int, optional
            Checked against the number of class names.
        """
        if int(sample_rate) != SAMPLE_RATE:
            raise ValueError(
                f"sample_rate must be {SAMPLE_RATE} (the rate of the "
                f"front-ends), got {sample_rate}"
            )
        self.sample_rate = SAMPLE_RATE
        self.classes = load_classes(classes)
        if n_classes is not None and n_classes != len(self.classes):
            raise ValueError(
                f"n_classes is {n_classes} but {len(self.classes)} class "
                "names are listed"
            )
        if not 0 < float(window_seconds) <= CLIP_SECONDS:
            raise ValueError(
                f"window_seconds must be in (0, {CLIP_SECONDS}] (the "
                f"transformer's input length), got {window_seconds}"
            )
        self.grid = FrameGrid(clip_seconds=float(window_seconds))
        self.window_samples = self.grid.clip_samples
        self.window_frames = self.grid.model_frames(self.window_samples)
        self.hop_frames = int(
            round(float(hop_seconds) * self.grid.frames_per_second)
        )
        if not 1 <= self.hop_frames <= self.window_frames:
            raise ValueError(
                f"hop_seconds={hop_seconds} must be between one frame "
                f"({self.grid.frame_seconds} s) and the window "
                f"({window_seconds} s)"
            )
        self.merge = merge
        merge_weights([0], 1, self.merge)  # validates the mode
        self.median_windows = [
            int(w) for w in per_class_values(median_windows, self.classes, 1)
        ]
        self.batch_size = max(1, int(batch_size))
        self.default_threshold = np.full(len(self.classes), 0.5)
        self.default_threshold = self.thresholds(threshold)

    @property
    def hop_seconds(self):
        """The hop between window starts actually used (a whole frame)."""
        return round(self.hop_frames * self.grid.frame_seconds, 6)

    def load_audio(self, path):
        """Reads an audio file as a 16 kHz mono waveform (subclasses).

        Arguments
        ---------
        path : str or os.PathLike
            Audio file.

        Returns
        -------
        array-like
            ``[samples]`` float32 waveform.
        """
        raise NotImplementedError

    def _run_windows(self, windows):
        """Scores of ``[n, window_samples]`` float32 windows (subclasses):
        ``[n, window_frames, n_classes]`` (a NumPy array)."""
        raise NotImplementedError

    def thresholds(self, threshold=None):
        """Per-class decision thresholds.

        Arguments
        ---------
        threshold : float, sequence, dict or None
            One threshold, one per class, or ``{class: threshold}``
            (unlisted classes keep the model's default); ``None`` gives the
            model's default (``threshold`` in its hyperparams).

        Returns
        -------
        numpy.ndarray
            One threshold per class.
        """
        if threshold is None:
            return self.default_threshold.copy()
        if isinstance(threshold, dict):
            unknown = set(threshold) - set(self.classes)
            if unknown:
                raise KeyError(
                    f"Thresholds given for unknown classes {sorted(unknown)}"
                    f"; the model's classes are {self.classes}"
                )
            out = self.default_threshold.copy()
            for i, name in enumerate(self.classes):
                if name in threshold:
                    out[i] = float(threshold[name])
            return out
        return np.asarray(
            per_class_values(threshold, self.classes), dtype=float
        )

    # ------------------------------------------------------------------ #
    # Frame scores
    # ------------------------------------------------------------------ #
    def _batch(self, wavs, wav_lens):
        """The checked batch: ``(wavs, lengths)``.

        ``wavs`` is the ``[batch, samples]`` float32 array (a view of the
        input where possible), ``lengths`` the real length of each
        waveform, at most ``samples`` (see :meth:`_check_batch`).
        """
        return self._check_batch(
            _as_array(wavs, np.float32), wav_lens, np.isfinite
        )

    @staticmethod
    def _check_batch(wavs, wav_lens, isfinite, place=None):
        """Shapes and checks a batch of NumPy or torch waveforms.

        An empty waveform, or NaN or inf among its real samples, raises.
        NaN and inf are looked for in one pass over the batch (a row sum);
        only a row whose sum is not finite is checked sample by sample.

        Arguments
        ---------
        wavs : numpy.ndarray or torch.Tensor
            ``[samples]`` or ``[batch, samples]``.
        wav_lens : array-like or None
            Relative lengths.
        isfinite : callable
            ``numpy.isfinite`` or ``torch.isfinite``.
        place : callable, optional
            Applied to the batch once its rows are known (e.g. a copy to
            the model's device).

        Returns
        -------
        tuple
            ``(wavs, lengths)``.
        """
        if wavs.ndim == 1:
            wavs = wavs[None]
        if wavs.ndim != 2:
            raise ValueError(
                f"Expected waveforms [batch, samples], got {tuple(wavs.shape)}"
            )
        lengths = batch_lengths(tuple(wavs.shape), wav_lens)
        wavs = wavs[: len(lengths)]
        if place is not None:
            wavs = place(wavs)
        with np.errstate(all="ignore"):  # inf - inf, overflow: suspects
            suspect = ~isfinite(wavs.sum(1))
        check_waveforms(
            lengths,
            suspect.tolist(),
            lambda i: bool(isfinite(wavs[i, : lengths[i]]).all()),
        )
        return wavs, [min(n, wavs.shape[1]) for n in lengths]

    def frame_scores_batch(self, wavs, wav_lens=None, median=True):
        """Frame scores of each waveform of a batch, on the 64 ms grid.

        Arguments
        ---------
        wavs : numpy.ndarray or torch.Tensor
            ``[batch, samples]`` (or ``[samples]``) at 16 kHz.
        wav_lens : array-like, optional
            Relative lengths (SpeechBrain convention); full by default.
        median : bool
            Apply the per-class median filter (after merging windows).

        Returns
        -------
        list of numpy.ndarray
            One ``[frames, n_classes]`` float32 array per waveform, with
            ``ceil(samples / 1024)`` frames for audio longer than a window
            and ``FrameGrid.valid_frames(duration)`` frames otherwise.
        """
        wavs, lengths = self._batch(wavs, wav_lens)
        return self._frame_scores(wavs, lengths, median)

    def _frame_scores(self, wavs, lengths, median):
        """Frame scores of the checked batch of :meth:`_batch`."""
        plans = [
            window_plan(
                n,
                self.window_samples,
                self.window_frames,
                self.hop_frames,
                FRAME_SAMPLES,
            )
            for n in lengths
        ]
        jobs = [
            (i, start)
            for i, (starts, _) in enumerate(plans)
            for start in starts
        ]
        outputs = self._score_jobs(wavs, lengths, jobs)
        results = []
        position = 0
        for index, (starts, n_frames) in enumerate(plans):
            strong = outputs[position : position + len(starts)]
            position += len(starts)
            results.append(self._merge(strong, starts, n_frames, median))
            if not np.isfinite(results[-1]).all():
                # E.g. samples so large that the spectrogram overflows
                # float32: never hand out NaN scores (they decode to no
                # event at all, silently).
                peak = float(abs(wavs[index, : lengths[index]]).max())
                raise ValueError(
                    f"Waveform {index}: the model produced NaN or inf "
                    f"scores (largest sample magnitude {peak:.3g}; audio "
                    "is expected in about [-1, 1])"
                )
        return results

    def _score_jobs(self, wavs, lengths, jobs):
        """Scores of the windows ``jobs`` (``(waveform, start frame)``
        pairs), ``batch_size`` windows per ``_run_windows`` call.

        Returns
        -------
        list of numpy.ndarray
            ``[frames, n_classes]`` per job, in order.
        """
        outputs = []
        for first in range(0, len(jobs), self.batch_size):
            chunk = jobs[first : first + self.batch_size]
            windows = self._cut_windows(wavs, lengths, chunk)
            outputs.extend(np.asarray(self._run_windows(windows)))
        return outputs

    def _cut_windows(self, wavs, lengths, chunk):
        """``[len(chunk), window_samples]`` float32 windows of the jobs;
        consecutive whole rows of one window each are the batch itself
        (no copy)."""
        rows = [i for i, _ in chunk]
        first = rows[0]
        if (
            wavs.shape[1] == self.window_samples
            and wavs.flags.c_contiguous
            and rows == list(range(first, first + len(rows)))
            and all(start == 0 for _, start in chunk)
            and all(lengths[i] == self.window_samples for i in rows)
        ):
            return wavs[first : first + len(rows)]
        return np.stack(
            [
                cut_window(wavs[i, : lengths[i]], start, self.window_samples)
                for i, start in chunk
            ]
        )

    def _merge(self, strong, starts, n_frames, median):
        """Weighted average of window scores on the global frame grid.

        The median filter runs over all the frames the windows cover, then
        the scores are cut to ``n_frames``: for a clip shorter than a
        window this filters over the padded window, as the official test
        (and the training recipe's test pass) does.
        """
        n_classes = strong[0].shape[-1]
        if n_classes != len(self.classes):
            raise RuntimeError(
                f"The model outputs {n_classes} classes but "
                f"{len(self.classes)} class names are configured"
            )
        scores = merge_window_scores(
            strong, starts, n_frames, self.window_frames, self.merge
        )
        if median:
            scores = median_filter(scores, self.median_windows)
        scores = scores[:n_frames]
        return np.asarray(scores, dtype=np.float32)

    def frame_scores_file(self, path, median=True):
        """Frame scores of an audio file (see :meth:`frame_scores_batch`).

        Arguments
        ---------
        path : str or os.PathLike
            Audio file (any rate, any number of channels).
        median : bool
            Apply the per-class median filter.

        Returns
        -------
        numpy.ndarray
            ``[frames, n_classes]`` scores.
        """
        with naming(path):
            return self.frame_scores_batch(
                self.load_audio(path)[None], None, median
            )[0]

    # ------------------------------------------------------------------ #
    # Score frames and events
    # ------------------------------------------------------------------ #
    def scores_dataframe(self, scores, duration):
        """sed_scores_eval score DataFrame of a clip's frame scores.

        Arguments
        ---------
        scores : numpy.ndarray
            ``[frames, n_classes]`` frame scores.
        duration : float
            The clip's duration (s); the last offset is cut to it.

        Returns
        -------
        pandas.DataFrame
            Columns ``onset, offset, <classes...>``.
        """
        return scores_to_dataframe(scores, self.classes, duration=duration)

    def scores_to_events(self, scores, duration, threshold=None, filename=""):
        """Turns frame scores into events (strict ``score > threshold``).

        Arguments
        ---------
        scores : numpy.ndarray
            ``[frames, n_classes]`` frame scores (median filtered).
        duration : float
            The clip's duration (s); offsets are cut to it.
        threshold : float, sequence, dict or None
            See :meth:`thresholds`.
        filename : str
            Value of the ``filename`` column.

        Returns
        -------
        pandas.DataFrame
            ``filename, onset, offset, event_label, score`` sorted by
            onset; ``score`` is the highest frame score in the event.
        """
        scores = np.asarray(scores)
        thresholds = self.thresholds(threshold)
        frame = self.scores_dataframe(scores, duration)
        fps = self.grid.frames_per_second
        rows = []
        for onset, offset, label in decode_events(frame, list(thresholds)):
            start = int(round(onset * fps))
            stop = max(start + 1, math.ceil(round(offset * fps, 6)))
            column = scores[start:stop, self.classes.index(label)]
            rows.append((filename, onset, offset, label, float(column.max())))
        events = pd.DataFrame(rows, columns=EVENT_COLUMNS)
        events = events.sort_values(["onset", "event_label"], kind="stable")
        return events.reset_index(drop=True)

    def scores_batch(self, wavs, wav_lens=None):
        """Median-filtered sed_scores_eval score DataFrames of a batch.

        Arguments
        ---------
        wavs : numpy.ndarray or torch.Tensor
            ``[batch, samples]`` at 16 kHz.
        wav_lens : array-like, optional
            Relative lengths.

        Returns
        -------
        list of pandas.DataFrame
            One score DataFrame per waveform.
        """
        wavs, lengths = self._batch(wavs, wav_lens)
        scores = self._frame_scores(wavs, lengths, True)
        sr = self.sample_rate
        return [
            self.scores_dataframe(s, n / sr) for s, n in zip(scores, lengths)
        ]

    def scores_file(self, path):
        """Median-filtered sed_scores_eval score DataFrame of a file.

        Arguments
        ---------
        path : str or os.PathLike
            Audio file.

        Returns
        -------
        pandas.DataFrame
            Columns ``onset, offset, <classes...>``, one row per 64 ms
            frame, up to the file's duration.
        """
        with naming(path):
            return self.scores_batch(self.load_audio(path)[None])[0]

    def detect_batch(self, wavs, wav_lens=None, threshold=None, filenames=None):
        """Detects events in a batch of waveforms.

        Arguments
        ---------
        wavs : numpy.ndarray or torch.Tensor
            ``[batch, samples]`` at 16 kHz.
        wav_lens : array-like, optional
            Relative lengths.
        threshold : float, sequence, dict or None
            See :meth:`thresholds`; the model's default if None.
        filenames : list of str, optional
            Values of the ``filename`` column (``"0"``, ``"1"``... by
            default).

        Returns
        -------
        pandas.DataFrame
            ``filename, onset, offset, event_label, score`` for all
            waveforms.
        """
        wavs, lengths = self._batch(wavs, wav_lens)
        if filenames is None:
            filenames = [str(i) for i in range(len(lengths))]
        if len(filenames) != len(lengths):
            raise ValueError(
                f"{len(filenames)} filenames for {len(lengths)} waveforms"
            )
        scores = self._frame_scores(wavs, lengths, True)
        sr = self.sample_rate
        frames = [
            self.scores_to_events(s, n / sr, threshold, name)
            for s, n, name in zip(scores, lengths, filenames)
        ]
        return pd.concat(frames, ignore_index=True)

    def detect_file(self, path, threshold=None):
        """Detects events in an audio file of any length, rate, channels.

        Arguments
        ---------
        path : str or os.PathLike
            Audio file.
        threshold : float, sequence, dict or None
            See :meth:`thresholds`; the model's default (0.5 unless the
            model folder sets others) if None.

        Returns
        -------
        pandas.DataFrame
            ``filename`` (the file's name), ``onset``, ``offset`` (s),
            ``event_label`` and ``score``.
        """
        with naming(path):
            wav = self.load_audio(path)
            return self.detect_batch(
                wav[None], threshold=threshold, filenames=[Path(path).name]
            )
