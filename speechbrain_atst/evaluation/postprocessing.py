"""Post-processing of frame scores: median filter, score frames, decoding.

* ``median_filter``: the per-class median filter of the official
  post-processing (``scipy.ndimage.median_filter``, mode ``'reflect'``, one
  window in frames per class); ``STAGE1_MEDIAN_WINDOWS`` and
  ``STAGE2_MEDIAN_WINDOWS`` are the windows of the two training stages.
* ``scores_to_dataframe``: sed_scores_eval score frames (``onset``,
  ``offset``, one column per class) on the 64-ms label grid.
* ``scores_to_events``: thresholded decoding (strict ``score > threshold``).

Authors
 * speechbrain-atst team 2026
"""

import math

import numpy as np
import pandas as pd

from speechbrain_atst.evaluation.compat import sed_scores_eval
from speechbrain_atst.labels import FrameGrid, load_classes, per_class_values

#: Median-filter windows (frames) of stage 1, one per DESED class.
STAGE1_MEDIAN_WINDOWS = [7] * 10
#: Median-filter windows (frames) of stage 2, in DESED class order.
STAGE2_MEDIAN_WINDOWS = [6, 20, 7, 4, 7, 6, 6, 6, 6, 6]


def median_filter(scores, windows):
    """Per-class median filter of frame scores, as the official code does.

    Each class column is filtered with ``scipy.ndimage.median_filter`` and
    its own window (in frames, mode ``'reflect'``); a window of 1 leaves the
    column unchanged.

    Arguments
    ---------
    scores : numpy.ndarray or torch.Tensor
        Scores of shape ``(frames, classes)``.
    windows : int or sequence of int
        One window for all classes, or one per class.

    Returns
    -------
    numpy.ndarray
        Filtered scores, same shape and float dtype as the input.

    Example
    -------
    >>> x = np.zeros((9, 2))
    >>> x[4, 0] = 1.0  # a one-frame spike
    >>> x[2:7, 1] = 1.0  # a five-frame event
    >>> y = median_filter(x, [3, 3])
    >>> float(y[:, 0].max()), y[:, 1].tolist()
    (0.0, [0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    """
    from scipy.ndimage import median_filter as _scipy_median

    scores = _to_numpy(scores)
    if scores.ndim != 2:
        raise ValueError(
            f"Expected scores of shape (frames, classes), got {scores.shape}"
        )
    if not np.issubdtype(scores.dtype, np.floating):
        scores = scores.astype(np.float64)
    n_classes = scores.shape[1]
    if np.isscalar(windows):
        windows = [windows] * n_classes
    windows = list(windows)
    if len(windows) != n_classes:
        raise ValueError(
            f"Expected {n_classes} median windows (one per class), got "
            f"{len(windows)}: {windows}"
        )
    for c, window in enumerate(windows):
        if int(window) != window or window < 1:
            raise ValueError(
                f"Median windows must be integers >= 1, got {window!r} for "
                f"class {c}"
            )
    out = np.array(scores, copy=True)
    # Columns sharing a window are filtered in one call; a (window, 1)
    # footprint never mixes columns, so this equals column-by-column.
    for window in sorted({int(w) for w in windows} - {1}):
        cols = [c for c, w in enumerate(windows) if int(w) == window]
        out[:, cols] = _scipy_median(scores[:, cols], size=(window, 1))
    return out


def scores_to_dataframe(scores, classes=None, grid=None, duration=None):
    """Frame scores as a sed_scores_eval score DataFrame.

    Row ``k`` spans ``[k * 0.064, (k + 1) * 0.064)`` seconds (the times of
    ``grid``). With ``duration``, only the frames that start before it are
    kept and the last offset is clipped to it, so that no score frame
    extends past the audio; times never exceed the clip, as in the DCASE
    encoder, and detections end at the clip end.

    Arguments
    ---------
    scores : numpy.ndarray or torch.Tensor
        Scores of shape ``(frames, classes)``.
    classes : None, str or sequence of str
        Class names (see ``labels.load_classes``); DESED's ten by default.
    grid : FrameGrid, optional
        The frame grid; 64-ms frames by default.
    duration : float, optional
        Duration of the audio (seconds).

    Returns
    -------
    pandas.DataFrame
        Columns ``onset``, ``offset`` then one per class.

    Example
    -------
    >>> df = scores_to_dataframe(np.full((156, 2), 0.5), ["Cat", "Dog"])
    >>> df.shape, float(df["onset"].iloc[1]), float(df["offset"].iloc[-1])
    ((156, 4), 0.064, 9.984)
    >>> df = scores_to_dataframe(np.zeros((156, 1)), ["Cat"], duration=3.0)
    >>> len(df), float(df["onset"].iloc[-1]), float(df["offset"].iloc[-1])
    (47, 2.944, 3.0)
    """
    scores = _to_numpy(scores)
    classes = load_classes(classes)
    grid = FrameGrid() if grid is None else grid
    if scores.ndim != 2 or scores.shape[1] != len(classes):
        raise ValueError(
            f"Expected scores of shape (frames, {len(classes)}) for classes "
            f"{classes}, got {scores.shape}"
        )
    if scores.shape[0] == 0:
        raise ValueError("Scores have no frame")
    timestamps = grid.timestamps(scores.shape[0])
    if duration is not None:
        duration = float(duration)
        if not duration > 0:
            raise ValueError(f"Duration must be positive, got {duration}")
        # Frames starting before `duration` (same rule as valid_frames, but
        # without its cap at one window: scores may span a long file).
        n_keep = math.ceil(round(duration * grid.frames_per_second, 6))
        n_keep = min(n_keep, scores.shape[0])
        scores = scores[:n_keep]
        timestamps = timestamps[: n_keep + 1].copy()
        timestamps[-1] = min(timestamps[-1], round(duration, 6))
    create_score_dataframe = (
        sed_scores_eval().base_modules.scores.create_score_dataframe
    )
    return create_score_dataframe(
        np.asarray(scores, dtype=np.float64), timestamps, list(classes)
    )


def scores_to_events(scores, threshold=0.5, classes=None, grid=None):
    """Detected events: runs of frames whose score is strictly above threshold.

    Arguments
    ---------
    scores : pandas.DataFrame, dict, numpy.ndarray or torch.Tensor
        A score DataFrame, a dict ``{audio_id: DataFrame}``, or a
        ``(frames, classes)`` array (turned into a DataFrame with
        ``classes`` and ``grid``, see ``scores_to_dataframe``).
    threshold : float, sequence or dict
        One threshold, one per class, or ``{class: threshold}``.
    classes : None, str or sequence of str
        Class names of an array input; DESED's ten by default.
    grid : FrameGrid, optional
        Frame grid of an array input.

    Returns
    -------
    list or dict
        Sorted ``(onset, offset, label)`` tuples (seconds), or a dict of such
        lists for a dict input.

    Example
    -------
    >>> x = np.zeros((10, 1))
    >>> x[2:5, 0] = 0.9
    >>> scores_to_events(x, 0.5, classes=["Dog"])
    [(0.128, 0.32, 'Dog')]
    """
    if isinstance(scores, dict):
        return {
            key: scores_to_events(value, threshold)
            for key, value in sorted(scores.items())
        }
    if not isinstance(scores, pd.DataFrame):
        scores = scores_to_dataframe(scores, classes, grid)
    event_classes = _score_classes(scores)
    thresholds = np.asarray(
        per_class_values(threshold, event_classes), dtype=float
    )
    detection = sed_scores_eval().base_modules.detection
    events = detection.scores_to_event_list(scores, thresholds)
    return [(float(on), float(off), str(lab)) for on, off, lab in events]


def _score_classes(frame, audio_id=None):
    """Class columns of a score DataFrame (validated)."""
    validate = sed_scores_eval().base_modules.scores.validate_score_dataframe
    try:
        _, classes = validate(frame)
    except ValueError as err:
        where = f"scores of {audio_id!r}: " if audio_id else ""
        raise ValueError(f"{where}{err}") from None
    return [str(c) for c in classes]


def _to_numpy(x):
    """Array view of a tensor or array-like (dtype kept when float)."""
    if hasattr(x, "detach"):  # torch.Tensor (half precision -> float32)
        x = x.detach().cpu()
        if str(x.dtype) not in ("torch.float32", "torch.float64"):
            x = x.float()
        x = x.numpy()
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    return x
