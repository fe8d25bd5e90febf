"""A picture of a detection: spectrogram, class scores and events.

:func:`plot_detection` draws, on one time axis, the log-mel spectrogram of
the audio, the (median-filtered) score curve of each class that shows some
activity with its threshold, and the detected events as coloured bars, one
row per class. matplotlib is imported only here (``pip install
speechbrain-atst[plot]``), and only the object-oriented API is used, so no
global backend is changed.

Authors
 * speechbrain-atst team 2026
"""

from pathlib import Path

import numpy as np
import torch

from speechbrain_atst.labels import SAMPLE_RATE, FrameGrid

#: Classes whose score never reaches this level are left out of the curves.
MIN_SHOWN_SCORE = 0.1


def _matplotlib_figure():
    """Imports ``matplotlib.figure.Figure`` with an install hint."""
    try:
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError(
            "Plotting needs matplotlib: pip install 'speechbrain-atst[plot]'"
        ) from err
    return Figure


def log_mel(wav):
    """Log-mel spectrogram (dB) for display, with the CNN front-end's mel.

    Arguments
    ---------
    wav : torch.Tensor
        ``[samples]`` waveform at 16 kHz.

    Returns
    -------
    numpy.ndarray
        ``[128, frames]`` dB values (16 ms frames).

    Example
    -------
    >>> log_mel(torch.zeros(16000)).shape
    (128, 63)
    """
    from speechbrain_atst.features import CNNFrontEnd

    with torch.inference_mode():
        mel = CNNFrontEnd().spectrogram(torch.as_tensor(wav).float()[None])
    return (20.0 * torch.log10(mel[0].clamp(min=1e-5))).numpy()


def plot_detection(
    out_path,
    wav,
    scores,
    events,
    classes,
    threshold=0.5,
    title=None,
    sample_rate=SAMPLE_RATE,
):
    """Writes a PNG showing a detection result.

    Arguments
    ---------
    out_path : str or os.PathLike
        The PNG to write (parent folders are created).
    wav : torch.Tensor or numpy.ndarray
        The ``[samples]`` waveform the scores come from (16 kHz).
    scores : numpy.ndarray
        ``[frames, n_classes]`` frame scores on the 64 ms grid.
    events : pandas.DataFrame
        Detected events (``onset``, ``offset``, ``event_label``,
        ``score``).
    classes : sequence of str
        Class names, in score column order.
    threshold : float or sequence of float
        Decision threshold(s), drawn over the score curves.
    title : str, optional
        Figure title.
    sample_rate : int
        Rate of ``wav``.

    Returns
    -------
    pathlib.Path
        The written file.

    Example
    -------
    >>> import pandas as pd
    >>> events = pd.DataFrame(
    ...     [(0.5, 1.5, "Dog", 0.9)],
    ...     columns=["onset", "offset", "event_label", "score"],
    ... )
    >>> scores = np.zeros((32, 2))
    >>> scores[8:24, 1] = 0.9
    >>> out = getfixture("tmp_path") / "a.png"
    >>> plot_detection(out, torch.zeros(32000), scores, events, ["Cat", "Dog"])
    PosixPath('...a.png')
    """
    figure_cls = _matplotlib_figure()
    classes = list(classes)
    scores = np.asarray(scores, dtype=float)
    wav = torch.as_tensor(wav).float().flatten()
    duration = wav.shape[0] / sample_rate
    thresholds = np.broadcast_to(
        np.asarray(threshold, dtype=float), (len(classes),)
    )
    colors = _class_colors(len(classes))
    with_events = set(events["event_label"]) if len(events) else set()
    shown = [
        c
        for c, name in enumerate(classes)
        if name in with_events or scores[:, c].max() >= MIN_SHOWN_SCORE
    ]
    rows = list(range(len(classes))) if len(classes) <= 20 else shown

    width = float(np.clip(10 + duration / 20, 12, 32))
    fig = figure_cls(figsize=(width, 7.5 + 0.22 * len(rows)))
    grid = fig.add_gridspec(
        3, 1, height_ratios=[3, 2.6, 0.6 + 0.25 * len(rows)], hspace=0.12
    )
    ax_spec = fig.add_subplot(grid[0])
    ax_score = fig.add_subplot(grid[1], sharex=ax_spec)
    ax_event = fig.add_subplot(grid[2], sharex=ax_spec)

    spec = log_mel(wav)
    image = ax_spec.imshow(
        spec,
        origin="lower",
        aspect="auto",
        extent=(0, duration, 0, spec.shape[0]),
        cmap="magma",
        vmin=max(spec.max() - 80.0, -100.0),
        vmax=spec.max(),
        interpolation="nearest",
    )
    ax_spec.set_ylabel("mel bin\n(0-8 kHz)")
    # The colour bar sits outside the axes so the three panels align.
    fig.colorbar(
        image, cax=ax_spec.inset_axes([1.01, 0.0, 0.012, 1.0]), label="dB"
    )
    ax_spec.tick_params(labelbottom=False)

    frame_grid = FrameGrid()
    edges = frame_grid.timestamps(scores.shape[0])
    edges[-1] = min(edges[-1], duration)
    for c in shown:
        ax_score.stairs(
            scores[:, c],
            edges,
            baseline=None,
            color=colors[c],
            lw=1.6,
            label=classes[c],
        )
        if len(set(thresholds)) > 1:
            ax_score.axhline(thresholds[c], color=colors[c], ls=":", lw=1)
    if len(set(thresholds)) == 1:
        ax_score.axhline(
            thresholds[0], color="0.3", ls="--", lw=1, label="threshold"
        )
    ax_score.set_ylim(0, 1.02)
    ax_score.set_ylabel("score")
    ax_score.grid(alpha=0.3)
    if shown or len(set(thresholds)) == 1:
        ax_score.legend(
            loc="upper left",
            bbox_to_anchor=(1.005, 1.0),
            fontsize=8,
            frameon=False,
        )
    ax_score.tick_params(labelbottom=False)

    for y, c in enumerate(rows):
        mine = (
            events[events["event_label"] == classes[c]] if len(events) else []
        )
        for _, ev in getattr(mine, "iterrows", lambda: [])():
            ax_event.broken_barh(
                [(ev["onset"], ev["offset"] - ev["onset"])],
                (y - 0.4, 0.8),
                facecolors=colors[c],
                alpha=0.35 + 0.65 * float(np.clip(ev.get("score", 1), 0, 1)),
            )
    ax_event.set_yticks(range(len(rows)))
    ax_event.set_yticklabels([classes[c] for c in rows], fontsize=8)
    ax_event.set_ylim(-0.6, len(rows) - 0.4)
    ax_event.invert_yaxis()
    ax_event.grid(axis="x", alpha=0.3)
    ax_event.set_xlabel("time (s)")
    ax_event.set_xlim(0, duration)

    n_events = len(events)
    heading = title or "Sound event detection"
    fig.suptitle(
        f"{heading}  ({duration:.2f} s, {n_events} event"
        f"{'s' if n_events != 1 else ''})",
        x=0.02,
        ha="left",
        fontsize=11,
    )
    fig.subplots_adjust(left=0.12, right=0.86, top=0.94, bottom=0.07)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    # "tight" grows the canvas to fit long class names and the legend.
    fig.savefig(out_path, dpi=100, bbox_inches="tight", pad_inches=0.15)
    return out_path


def _class_colors(n):
    """``n`` distinct colours (tab10, then tab20, then hsv)."""
    from matplotlib import colormaps

    name = "tab10" if n <= 10 else "tab20" if n <= 20 else "hsv"
    cmap = colormaps[name]
    if name == "hsv":
        return [cmap(i / n) for i in range(n)]
    return [cmap(i) for i in range(n)]
