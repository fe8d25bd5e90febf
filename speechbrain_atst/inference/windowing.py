"""Windows over long audio and the merging of their frame scores.

Shared by every way of running a model on audio (``SEDInterface``, the ONNX
runtime path, streaming): NumPy only, no torch, so that a path without
PyTorch can use it.

Long audio is cut into windows whose starts are multiples of one output
frame (``FRAME_SAMPLES`` = 1024 samples = 64 ms), so every window's frames
fall exactly on the global 64 ms grid; the frame scores of overlapping
windows are averaged (a linear cross-fade by default). A signal no longer
than a window is zero-padded like the training and test clips; the last
window of long audio is padded by mirroring the few samples it lacks.

Authors
 * speechbrain-atst team 2026
"""

import math

import numpy as np

#: Samples per output frame (64 ms at 16 kHz): the CNN hop (256) times the
#: CNN's time pooling (4). Must equal ``labels.CNN_HOP * labels.NET_POOLING``
#: (checked by the tests; labels imports torch, this module does not).
FRAME_SAMPLES = 1024
#: Ways of combining the frame scores of overlapping windows.
MERGE_MODES = ("crossfade", "mean")


def window_plan(
    n_samples, window_samples, window_frames, hop_frames, frame_samples
):
    """Window starts (in frames) and output length for ``n_samples``.

    Windows start every ``hop_frames`` frames; the last one starts at
    ``n_frames - window_frames`` so that it ends with the audio (it may run
    past the last sample by less than one frame plus the part of a window
    that yields no frame). A signal no longer than one window uses a
    single window and keeps the frames that overlap it (at most
    ``window_frames``).

    Arguments
    ---------
    n_samples : int
        Length of the signal (samples).
    window_samples : int
        Length of a window (samples, 160000 for 10 s).
    window_frames : int
        Output frames of one window (156 for 10 s).
    hop_frames : int
        Hop between window starts (frames).
    frame_samples : int
        Samples per output frame (1024).

    Returns
    -------
    tuple
        ``(starts, n_frames)``: list of window starts in frames and the
        number of output frames of the merged signal.

    Example
    -------
    >>> window_plan(48000, 160000, 156, 125, 1024)
    ([0], 47)
    >>> window_plan(30 * 16000, 160000, 156, 125, 1024)
    ([0, 125, 250, 313], 469)
    """
    n_frames = math.ceil(n_samples / frame_samples)
    if n_samples <= window_samples:
        return [0], min(n_frames, window_frames)
    last = n_frames - window_frames
    starts = list(range(0, last, hop_frames))
    starts.append(last)
    return starts, n_frames


def merge_weights(starts, window_frames, mode="crossfade"):
    """Per-window weights of each output frame for overlap averaging.

    ``"mean"`` weighs every frame 1. ``"crossfade"`` ramps the weights
    linearly over each overlap with a neighbouring window, so a frame
    counts more in the window where it is further from the edge (more
    context on both sides) and the merged scores have no jump where the
    number of covering windows changes. Weights are normalised by their
    sum where windows overlap.

    Arguments
    ---------
    starts : list of int
        Window starts (frames), increasing.
    window_frames : int
        Frames per window.
    mode : str
        ``"crossfade"`` or ``"mean"``.

    Returns
    -------
    numpy.ndarray
        ``[len(starts), window_frames]`` positive weights.

    Example
    -------
    >>> w = merge_weights([0, 2], 4)
    >>> w.round(2).tolist()
    [[1.0, 1.0, 0.75, 0.25], [0.25, 0.75, 1.0, 1.0]]
    """
    if mode not in MERGE_MODES:
        raise ValueError(f"merge must be one of {MERGE_MODES}, got {mode!r}")
    weights = np.ones((len(starts), window_frames))
    if mode == "mean":
        return weights
    pos = np.arange(window_frames) + 0.5
    for i, start in enumerate(starts):
        if i > 0:
            overlap = starts[i - 1] + window_frames - start
            if overlap > 0:
                ramp = np.minimum(pos / overlap, 1.0)
                weights[i] = np.minimum(weights[i], ramp)
        if i + 1 < len(starts):
            overlap = start + window_frames - starts[i + 1]
            if overlap > 0:
                ramp = np.minimum((window_frames - pos) / overlap, 1.0)
                weights[i] = np.minimum(weights[i], ramp)
    return weights


def cut_window(signal, start_frame, window_samples):
    """The window of ``signal`` starting at frame ``start_frame``.

    Arguments
    ---------
    signal : numpy.ndarray
        1-D float32 samples.
    start_frame : int
        Start of the window in output frames.
    window_samples : int
        Samples per window.

    Returns
    -------
    numpy.ndarray
        ``[window_samples]``: zero-padded if the signal is shorter than a
        window (like the training and test clips), mirrored at the end of
        long audio (the few padded samples fall in frames that are dropped
        or in the last, partly covered one; mirroring keeps the per-window
        normalisation free of artificial silence).

    Example
    -------
    >>> cut_window(np.arange(3.0), 0, 5).tolist()
    [0.0, 1.0, 2.0, 0.0, 0.0]
    >>> cut_window(np.arange(2000.0), 1, 1000)[974:978].tolist()
    [1998.0, 1999.0, 1998.0, 1997.0]
    """
    begin = start_frame * FRAME_SAMPLES
    piece = signal[begin : begin + window_samples]
    missing = window_samples - piece.shape[0]
    if missing <= 0:
        return piece
    mode = "constant" if begin == 0 else "reflect"
    return np.pad(piece, (0, missing), mode=mode)


def merge_window_scores(outputs, starts, n_frames, window_frames, mode):
    """Weighted average of window scores on the global frame grid.

    Arguments
    ---------
    outputs : sequence of numpy.ndarray
        ``[frames, classes]`` scores of each window (``frames`` may be
        fewer than ``window_frames`` for a short clip).
    starts : list of int
        Window starts (frames).
    n_frames : int
        Output frames of the signal (see :func:`window_plan`).
    window_frames : int
        Frames of a full window.
    mode : str
        ``"crossfade"`` or ``"mean"`` (see :func:`merge_weights`).

    Returns
    -------
    numpy.ndarray
        ``[covered, classes]`` float64 scores over every frame a window
        covers (``covered >= n_frames``): the caller filters, then cuts to
        ``n_frames``.

    Example
    -------
    >>> outs = [np.ones((4, 1)), np.zeros((4, 1))]
    >>> merge_window_scores(outs, [0, 2], 6, 4, "mean")[:, 0].tolist()
    [1.0, 1.0, 0.5, 0.5, 0.0, 0.0]
    """
    if len(outputs) == 1 and outputs[0].shape[0] >= n_frames:
        # One window covering the signal (weight 1): its scores as they are.
        return np.asarray(outputs[0], dtype=np.float64)
    n_classes = outputs[0].shape[-1]
    covered = max(n_frames, starts[-1] + outputs[-1].shape[0])
    weights = merge_weights(starts, window_frames, mode)
    total = np.zeros((covered, n_classes))
    norm = np.zeros((covered, 1))
    for out, start, weight in zip(outputs, starts, weights):
        stop = start + out.shape[0]
        total[start:stop] += weight[: len(out), None] * out
        norm[start:stop, 0] += weight[: len(out)]
    return total / norm
