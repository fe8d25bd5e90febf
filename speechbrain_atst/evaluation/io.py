"""Score, ground-truth and duration files in the sed_scores_eval formats.

* ``write_scores`` / ``read_scores``: one ``<audio_id>.tsv`` score file per
  clip (``onset``, ``offset``, one column per class), read back exactly;
* ``read_ground_truth``: ``filename onset offset event_label`` TSV;
* ``read_durations``: ``filename duration`` TSV.

Errors name the file (and line) and the problem.

Authors
 * speechbrain-atst team 2026
"""

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd


def write_scores(scores, folder):
    """Writes one sed_scores_eval ``<audio_id>.tsv`` score file per clip.

    The files are those of ``sed_scores_eval.io.write_sed_scores`` (floats
    written in their shortest exact form), so they read back exactly.

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
    """
    from sed_scores_eval.base_modules.scores import validate_score_dataframe

    if not isinstance(scores, dict):
        raise TypeError(
            f"scores must be a dict {{audio_id: DataFrame}}, got "
            f"{type(scores).__name__}"
        )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for audio_id, frame in scores.items():
        if not audio_id or "/" in audio_id or os.sep in audio_id:
            raise ValueError(f"Invalid audio id for a file name: {audio_id!r}")
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(
                f"Scores of {audio_id!r} must be a DataFrame (use "
                f"scores_to_dataframe), got {type(frame).__name__}"
            )
        try:
            validate_score_dataframe(frame)
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
        (folder / f"{audio_id}.tsv").write_text(text, encoding="utf-8")
    return folder


def read_scores(folder):
    """Reads a folder of sed_scores_eval score TSVs (``<audio_id>.tsv``).

    Values are parsed exactly (round trip of what ``write_scores`` wrote);
    files not ending in ``.tsv`` are ignored.

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
    >>> read_scores(tmp)["clip1"].equals(df)
    True
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"Score folder not found: {folder}")
    files = sorted(p for p in folder.iterdir() if p.name.endswith(".tsv"))
    if not files:
        raise ValueError(f"No score file (*.tsv) in {folder}")
    return {path.name[: -len(".tsv")]: _read_score_file(path) for path in files}


def _read_score_file(path):
    """Reads and validates one score TSV with exact float parsing."""
    from sed_scores_eval.base_modules.scores import validate_score_dataframe

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
        validate_score_dataframe(frame)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
    return frame


def read_ground_truth(ground_truth):
    """Reads strong ground truth: ``filename onset offset event_label`` TSV.

    Rows with an empty label mark clips without events (kept with an empty
    list). Audio ids are file names without extension, as in
    sed_scores_eval.

    Arguments
    ---------
    ground_truth : str, os.PathLike or dict
        A TSV path or ``{audio_id: [(onset, offset, label), ...]}``.

    Returns
    -------
    dict
        ``{audio_id: [(onset, offset, label), ...]}``.

    Example
    -------
    >>> read_ground_truth({"a": [(0.5, 1.0, "Dog")], "b": []})
    {'a': [(0.5, 1.0, 'Dog')], 'b': []}
    """
    if isinstance(ground_truth, dict):
        source = "ground truth"
        rows = [
            (str(audio_id), ev[0], ev[1], ev[2], None)
            for audio_id, events in ground_truth.items()
            for ev in events
        ]
        out = {str(audio_id): [] for audio_id in ground_truth}
    else:
        source = str(ground_truth)
        table = _read_table(
            ground_truth, ["filename", "onset", "offset", "event_label"]
        )
        out, rows = {}, []
        for i, (name, onset, offset, label) in enumerate(
            zip(
                table["filename"],
                table["onset"],
                table["offset"],
                table["event_label"],
            )
        ):
            audio_id = str(name).rsplit(".", maxsplit=1)[0]
            out.setdefault(audio_id, [])
            if isinstance(label, str) and label.strip():
                rows.append((audio_id, onset, offset, label.strip(), i + 2))
    for audio_id, onset, offset, label, line in rows:
        where = f"{source}" + (f", line {line}" if line else f", {audio_id}")
        try:
            onset, offset = float(onset), float(offset)
        except (TypeError, ValueError):
            raise ValueError(
                f"{where}: onset/offset must be numbers, got {onset!r}, "
                f"{offset!r}"
            ) from None
        if not (math.isfinite(onset) and math.isfinite(offset)):
            raise ValueError(f"{where}: missing onset or offset")
        if not offset > onset:
            raise ValueError(
                f"{where}: offset {offset} is not after onset {onset}"
            )
        out[audio_id].append((onset, offset, str(label)))
    for audio_id, events in out.items():
        _check_no_overlap(source, audio_id, events)
    return out


def _check_no_overlap(source, audio_id, events):
    """Raises if two events of one class overlap or touch (sed_scores_eval
    rejects them)."""
    last = {}
    for onset, offset, label in sorted(events, key=lambda e: (e[2], e[0])):
        if label in last and onset <= last[label][1]:
            raise ValueError(
                f"{source}: overlapping or touching {label} events in clip "
                f"{audio_id}: {last[label][:2]} and {(onset, offset)}; merge "
                f"them"
            )
        last[label] = (onset, offset)


def read_durations(durations):
    """Reads clip durations: ``filename duration`` TSV.

    Arguments
    ---------
    durations : str, os.PathLike or dict
        A TSV path or ``{audio_id: seconds}``.

    Returns
    -------
    dict
        ``{audio_id: duration}`` (float seconds).

    Example
    -------
    >>> read_durations({"a": 10})
    {'a': 10.0}
    """
    if isinstance(durations, dict):
        source = "durations"
        items = [(str(k), v, None) for k, v in durations.items()]
    else:
        source = str(durations)
        table = _read_table(durations, ["filename", "duration"])
        items = [
            (str(name).rsplit(".", maxsplit=1)[0], value, i + 2)
            for i, (name, value) in enumerate(
                zip(table["filename"], table["duration"])
            )
        ]
    out = {}
    for audio_id, value, line in items:
        try:
            value = float(value)
        except (TypeError, ValueError):
            value = float("nan")
        if not (math.isfinite(value) and value > 0):
            where = f"line {line}" if line else audio_id
            raise ValueError(
                f"{source}, {where}: duration must be a positive number"
            )
        out[audio_id] = value
    return out


def _read_table(path, columns):
    """Reads a TSV and checks that it has the given columns."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"File not found: {path}")
    try:
        table = pd.read_csv(path, sep="\t")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise ValueError(f"{path}: not a readable TSV ({err})") from None
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(
            f"{path}: missing column(s) {missing}; expected "
            f"{columns}, found {list(table.columns)}"
        )
    return table
