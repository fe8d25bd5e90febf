"""Score, ground-truth and duration files in the sed_scores_eval formats.

* ``write_scores`` / ``read_scores``: one ``<audio_id>.tsv`` score file per
  clip (``onset``, ``offset``, one column per class), read back exactly;
* ``read_ground_truth``: ``filename onset offset event_label`` TSV;
* ``read_durations``: ``filename duration`` TSV.

The two TSVs are read by :mod:`speechbrain_atst.data.tsv`, the readers and
rules of the preparation, keyed by audio id. Errors name the file (and
line) and the problem.

Authors
 * speechbrain-atst team 2026
"""

import os
from pathlib import Path

import numpy as np
import pandas as pd

from speechbrain_atst.data.tsv import read_clip_durations, read_strong_labels
from speechbrain_atst.evaluation.compat import sed_scores_eval


def write_scores(scores, folder):
    """Writes one sed_scores_eval ``<audio_id>.tsv`` score file per clip.

    The files are those of ``sed_scores_eval.io.write_sed_scores`` (floats
    written in their shortest exact form), so they read back exactly. An
    audio id with ``/`` (a file in a subfolder of a dataset,
    ``site1/rec01``) is written in that subfolder.

    Arguments
    ---------
    scores : dict
        ``{audio_id: score DataFrame}`` (see ``scores_to_dataframe``).
    folder : str or os.PathLike
        Output folder, created if needed.

    Returns
    -------
    pathlib.Path
        The folder.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_atst.evaluation import scores_to_dataframe
    >>> tmp = tempfile.mkdtemp()
    >>> df = scores_to_dataframe(np.eye(3)[:, :2], ["Cat", "Dog"])
    >>> write_scores({"clip1": df}, tmp).joinpath("clip1.tsv").is_file()
    True
    >>> write_scores({"site/a": df}, tmp).joinpath("site", "a.tsv").is_file()
    True
    """
    validate = sed_scores_eval().base_modules.scores.validate_score_dataframe
    if not isinstance(scores, dict):
        raise TypeError(
            f"scores must be a dict {{audio_id: DataFrame}}, got "
            f"{type(scores).__name__}"
        )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for audio_id, frame in scores.items():
        parts = str(audio_id).split("/")
        if any(p in ("", ".", "..") or os.sep in p for p in parts):
            raise ValueError(f"Invalid audio id for a file name: {audio_id!r}")
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(
                f"Scores of {audio_id!r} must be a DataFrame (use "
                f"scores_to_dataframe), got {type(frame).__name__}"
            )
        try:
            validate(frame)
        except ValueError as err:
            raise ValueError(f"Scores of {audio_id!r}: {err}") from None
        header = [str(c) for c in frame.columns]
        if any(set(c) & {"\t", "\n", "\r"} for c in header):
            raise ValueError(f"Class names with tabs/newlines in {header}")
        values = frame.to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            raise ValueError(f"Scores of {audio_id!r} contain NaN or inf")
        # Same text as sed_scores_eval's write_sed_scores (pandas to_csv:
        # shortest round-trip float repr), a few times faster.
        rows = ["\t".join(map(repr, row)) for row in values.tolist()]
        text = "\n".join(["\t".join(header), *rows]) + "\n"
        path = folder.joinpath(*parts[:-1], f"{parts[-1]}.tsv")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def read_scores(folder):
    """Reads a folder of sed_scores_eval score TSVs (``<audio_id>.tsv``).

    Values are parsed exactly (round trip of what ``write_scores`` wrote);
    files not ending in ``.tsv`` are ignored. Files in subfolders get the
    ids ``subfolder/name``.

    Arguments
    ---------
    folder : str or os.PathLike
        Folder of score files.

    Returns
    -------
    dict
        ``{audio_id: score DataFrame}``, sorted by audio id.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_atst.evaluation import scores_to_dataframe
    >>> tmp = tempfile.mkdtemp()
    >>> df = scores_to_dataframe(np.eye(3)[:, :2] / 3, ["Cat", "Dog"])
    >>> _ = write_scores({"clip1": df}, tmp)
    >>> _ = write_scores({"site/a": df}, tmp)
    >>> read_scores(tmp)["clip1"].equals(df), list(read_scores(tmp))
    (True, ['clip1', 'site/a'])
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"Score folder not found: {folder}")
    files = sorted(
        (p.relative_to(folder).as_posix()[: -len(".tsv")], p)
        for p in folder.rglob("*.tsv")
        if p.is_file()
    )
    if not files:
        raise ValueError(f"No score file (*.tsv) in {folder}")
    return {audio_id: _read_score_file(path) for audio_id, path in files}


def _read_score_file(path):
    """Reads and validates one score TSV with exact float parsing."""
    validate = sed_scores_eval().base_modules.scores.validate_score_dataframe
    text = Path(path).read_text(encoding="utf-8")
    head, _, body = text.partition("\n")
    columns = head.rstrip("\r").split("\t")
    if len(columns) < 3 or columns[:2] != ["onset", "offset"]:
        raise ValueError(
            f"{path}: line 1 must be 'onset<TAB>offset<TAB><class>...', got "
            f"{head[:80]!r}"
        )
    lines = body.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise ValueError(f"{path}: no score frame")
    for i, line in enumerate(lines):
        if line.count("\t") != len(columns) - 1:
            raise ValueError(
                f"{path}: line {i + 2} has {line.count(chr(9)) + 1} fields, "
                f"expected {len(columns)}"
            )
    try:
        # Python's float parsing is exact (round trip of what was written).
        values = np.array("\t".join(lines).split("\t"), dtype=np.float64)
    except ValueError as err:
        raise ValueError(f"{path}: non-numeric value ({err})") from None
    values = values.reshape(len(lines), len(columns))
    if not np.isfinite(values).all():
        line = int(np.argwhere(~np.isfinite(values))[0, 0]) + 2
        raise ValueError(f"{path}: line {line} has a NaN or infinite value")
    frame = pd.DataFrame(values, columns=columns)
    try:
        validate(frame)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
    return frame


def read_ground_truth(ground_truth, classes=None):
    """Reads strong ground truth keyed by audio id (sed_scores_eval's).

    :func:`speechbrain_atst.data.tsv.read_strong_labels` with
    ``audio_ids=True``: the reader and the rules of the preparation. Rows
    with empty onset, offset and label (or only a filename) mark clips
    without events (kept with an empty list); duplicate rows, zero-length
    events and overlapping or touching events of one class (which
    sed_scores_eval refuses) are repaired with a counted warning; other
    problems are errors naming the file and line. Events running past the
    end of their clip are kept, as the DCASE evaluation uses them.

    Arguments
    ---------
    ground_truth : str, os.PathLike or dict
        A ``filename onset offset event_label`` TSV path, or
        ``{audio_id: [(onset, offset, label), ...]}`` (checked by the same
        rules).
    classes : sequence of str, optional
        If given, a label outside it is an error (naming its line).

    Returns
    -------
    dict
        ``{audio_id: [(onset, offset, label), ...]}``.

    Example
    -------
    >>> read_ground_truth({"a": [(0.5, 1.0, "Dog")], "b": []})
    {'a': [(0.5, 1.0, 'Dog')], 'b': []}
    """
    return read_strong_labels(ground_truth, classes=classes, audio_ids=True)


def read_durations(durations):
    """Reads clip durations keyed by audio id (sed_scores_eval's).

    :func:`speechbrain_atst.data.tsv.read_clip_durations` with
    ``audio_ids=True``: a clip listed twice with the same duration is kept
    once (with a warning); with two different durations, or a duration
    that is not a positive number, it is an error naming the file and line.

    Arguments
    ---------
    durations : str, os.PathLike or dict
        A ``filename duration`` TSV path or ``{audio_id: seconds}``.

    Returns
    -------
    dict
        ``{audio_id: duration}`` (float seconds).

    Example
    -------
    >>> read_durations({"a": 10})
    {'a': 10.0}
    """
    return read_clip_durations(durations, audio_ids=True)
