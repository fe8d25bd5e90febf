"""Detection over a list of audio files, going on after failed files.

:func:`detect_files` is the one loop from audio files to an events table:
each file is read, scored and decoded into events by a
:class:`~speechbrain_atst.inference.SEDInterface`, optionally with its
sed_scores_eval score TSV and a PNG; a file that cannot be processed
(missing, empty, corrupt, NaN samples...) is reported with its name and the
problem and the others go on. ``speechbrain-atst detect`` and the
quickstart's detect step both use it; :func:`write_events` writes the
table they produce.

Example
-------
>>> from speechbrain_atst.inference import SEDInterface
>>> sed = SEDInterface.from_hparams(source="model_folder")  # doctest: +SKIP
>>> events, failures = detect_files(sed, ["a.wav", "b.flac"])  # doctest: +SKIP

Authors
 * speechbrain-atst team 2026
"""

from pathlib import Path

import pandas as pd

from speechbrain_atst.evaluation import write_scores
from speechbrain_atst.inference.interface import EVENT_COLUMNS
from speechbrain_atst.inference.plot import plot_detection

#: Decimals of each column of the events TSV.
EVENT_DECIMALS = {"onset": 3, "offset": 3, "score": 4}


def output_id(name):
    """The flat id of a file's score TSV and PNG (no folders, no suffix).

    Arguments
    ---------
    name : str
        The file's name in the events table (``sub/b.flac``).

    Returns
    -------
    str
        ``sub__b``: the name without its suffix, ``/`` as ``__``.

    Example
    -------
    >>> output_id("sub/b.flac"), output_id("a.wav"), output_id("dir.x/c")
    ('sub__b', 'a', 'dir.x__c')
    """
    stem = name.rsplit(".", 1)[0] if "." in Path(name).name else name
    return stem.replace("/", "__")


def _as_entry(item):
    """``(path, name)`` of an entry given as a pair or as a path."""
    if isinstance(item, (tuple, list)):
        path, name = item
        return Path(path), str(name)
    return Path(item), Path(item).name


def _error_text(err):
    """``"ValueError: message"``: how a failure is reported."""
    return f"{type(err).__name__}: {err}"


def detect_one(sed, path, name, thresholds, scores_dir=None, plot_dir=None):
    """Events of one audio file, with its score TSV and PNG if asked.

    Arguments
    ---------
    sed : SEDInterface
        The model.
    path : str or os.PathLike
        The audio file.
    name : str
        Its ``filename`` in the events (and, flattened by
        :func:`output_id`, the name of its score TSV and PNG).
    thresholds : numpy.ndarray
        One threshold per class (``sed.thresholds(...)``).
    scores_dir : str or os.PathLike, optional
        Folder of the sed_scores_eval score TSV.
    plot_dir : str or os.PathLike, optional
        Folder of the PNG (needs matplotlib).

    Returns
    -------
    pandas.DataFrame
        The file's events (``EVENT_COLUMNS``).

    Raises
    ------
    Exception
        Whatever stops the file (unreadable audio, NaN samples...); the
        message names the file.
    """
    wav = sed.load_audio(path)
    sample_rate = int(sed.hparams.sample_rate)
    duration = wav.shape[0] / sample_rate
    scores = sed.frame_scores_batch(wav[None])[0]
    events = sed.scores_to_events(scores, duration, thresholds, name)
    if scores_dir is not None:
        frame = sed.scores_dataframe(scores, duration)
        write_scores({output_id(name): frame}, scores_dir)
    if plot_dir is not None:
        plot_detection(
            Path(plot_dir) / f"{output_id(name)}.png",
            wav,
            scores,
            events,
            sed.classes,
            threshold=thresholds,
            title=name,
            sample_rate=sample_rate,
        )
    return events


def detect_files(
    sed,
    entries,
    threshold=None,
    scores_dir=None,
    plot_dir=None,
    progress=None,
    on_failure=None,
):
    """Events of audio files; a failed file is reported, the others go on.

    Arguments
    ---------
    sed : SEDInterface
        The model.
    entries : iterable
        Audio files: ``(path, name)`` pairs (``name`` is the file's
        ``filename`` in the events) or paths (named by their file name).
    threshold : float, sequence, dict or None
        See :meth:`SEDInterface.thresholds`; the model's default if None.
        Checked before any file is read.
    scores_dir : str or os.PathLike, optional
        Also write one sed_scores_eval score TSV per file here.
    plot_dir : str or os.PathLike, optional
        Also write one PNG per file here (needs matplotlib).
    progress : callable, optional
        Wraps the list of ``(path, name)`` pairs for iteration, e.g.
        ``tqdm``.
    on_failure : callable, optional
        Called as ``on_failure(path, error)`` when a file fails.

    Returns
    -------
    events : pandas.DataFrame
        ``filename, onset, offset, event_label, score`` of every file
        processed (float times and scores).
    failures : list of tuple
        ``(path, "ErrorType: message")`` of every file that failed; its
        events are left out.

    Example
    -------
    >>> import numpy as np, soundfile as sf, torch
    >>> from speechbrain_atst.inference import SEDInterface
    >>> from speechbrain_atst.inference import write_model_folder
    >>> from speechbrain_atst.lobes.atst_sed import ATSTSED
    >>> tmp = getfixture("tmp_path")
    >>> arch = {"embed_dim": 32, "depth": 1, "num_heads": 2}
    >>> _ = torch.manual_seed(0)
    >>> folder = write_model_folder(
    ...     ATSTSED(n_classes=2, **arch).state_dict(),
    ...     tmp / "model",
    ...     classes=["Dog", "Cat"],
    ...     median_windows=3,
    ...     **arch,
    ... )
    >>> sed = SEDInterface.from_hparams(folder, run_opts={"device": "cpu"})
    >>> sf.write(tmp / "ok.wav", np.zeros(16000, np.float32), 16000)
    >>> events, failures = detect_files(
    ...     sed, [tmp / "ok.wav", tmp / "missing.wav"], threshold=0.0
    ... )
    >>> sorted(set(events["filename"])), len(failures)
    (['ok.wav'], 1)
    >>> "missing.wav" in failures[0][1]
    True
    """
    thresholds = sed.thresholds(threshold)  # unknown classes fail here
    items = [_as_entry(item) for item in entries]
    found, failures = [], []
    for path, name in progress(items) if progress else items:
        try:
            found.append(
                detect_one(sed, path, name, thresholds, scores_dir, plot_dir)
            )
        except Exception as err:
            failures.append((str(path), _error_text(err)))
            if on_failure is not None:
                on_failure(path, err)
    events = (
        pd.concat(found, ignore_index=True)
        if found
        else pd.DataFrame(columns=EVENT_COLUMNS)
    )
    events = events.astype({"onset": float, "offset": float, "score": float})
    return events, failures


def write_events(events, path):
    """Writes an events table as a TSV (rounded times and scores).

    Arguments
    ---------
    events : pandas.DataFrame
        ``filename, onset, offset, event_label, score``.
    path : str or os.PathLike
        The TSV (parent folders are created).

    Returns
    -------
    pathlib.Path
        The file written.

    Example
    -------
    >>> events = pd.DataFrame(
    ...     [("a.wav", 0.12345, 1.0, "Dog", 0.876543)], columns=EVENT_COLUMNS
    ... )
    >>> out = write_events(events, getfixture("tmp_path") / "e" / "ev.tsv")
    >>> print(out.read_text().strip())
    filename	onset	offset	event_label	score
    a.wav	0.123	1.0	Dog	0.8765
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    events.round(EVENT_DECIMALS).to_csv(path, sep="\t", index=False)
    return path
