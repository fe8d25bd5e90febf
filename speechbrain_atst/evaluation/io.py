"""Score, ground-truth and duration files in the sed_scores_eval formats.

* ``write_scores`` / ``read_scores``: one ``<audio_id>.tsv`` score file per
  clip (``onset``, ``offset``, one column per class), read back exactly;
* ``read_ground_truth``: ``filename onset offset event_label`` TSV;
* ``read_durations``: ``filename duration`` TSV.

Errors name the file (and line) and the problem.

Authors
 * speechbrain-atst team 2026
"""

import logging
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from speechbrain_atst.evaluation.compat import sed_scores_eval

logger = logging.getLogger(__name__)


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
    validate = sed_scores_eval().base_modules.scores.validate_score_dataframe
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


def _audio_id(name):
    """Audio id of a file name: the name without its extension."""
    return str(name).rsplit(".", maxsplit=1)[0]


def _time(where, name, value):
    """A finite float or an error naming ``where``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{where}: {name} must be a number, got {value!r}"
        ) from None
    if not math.isfinite(number):
        raise ValueError(f"{where}: {name} is {value!r}")
    return number


def read_ground_truth(ground_truth, classes=None):
    """Reads strong ground truth: ``filename onset offset event_label`` TSV.

    Rows with empty onset, offset and label (or only a filename) mark
    clips without events (kept with an empty list). Audio ids are file
    names without extension, as in sed_scores_eval. Harmless problems are
    repaired with a warning that counts them (and names their lines):
    zero-length events are dropped, and overlapping or touching events of
    one class in a clip (exact duplicates included) are merged into their
    union, which sed_scores_eval requires. Other problems are errors
    naming the file and line.

    Arguments
    ---------
    ground_truth : str, os.PathLike or dict
        A TSV path or ``{audio_id: [(onset, offset, label), ...]}``.
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
    from speechbrain_atst.data.tsv import merge_overlapping, read_tsv

    if isinstance(ground_truth, dict):
        source = "ground truth"
        rows = [
            (str(audio_id), ev[0], ev[1], ev[2], None)
            for audio_id, events in ground_truth.items()
            for ev in events
        ]
        out = {str(audio_id): [] for audio_id in ground_truth}
    else:
        source = os.fspath(ground_truth)
        out, rows = {}, []
        columns = ("filename", "onset", "offset", "event_label")
        for line, row in read_tsv(ground_truth, columns):
            if not row["filename"]:
                raise ValueError(f"{source}, line {line}: empty filename")
            audio_id = _audio_id(row["filename"])
            out.setdefault(audio_id, [])
            values = [row["onset"], row["offset"], row["event_label"]]
            if not any(values):
                continue
            if not all(values):
                raise ValueError(
                    f"{source}, line {line}: incomplete event {values}; "
                    "give onset, offset and event_label, or leave all "
                    "three empty for a clip without events"
                )
            rows.append((audio_id, *values, line))
    zero_length, events_of = [], {}
    for audio_id, onset, offset, label, line in rows:
        where = f"{source}" + (f", line {line}" if line else f", {audio_id}")
        onset = _time(where, "onset", onset)
        offset = _time(where, "offset", offset)
        label = str(label).strip()
        if onset < 0:
            raise ValueError(f"{where}: negative onset {onset}")
        if offset < onset:
            raise ValueError(
                f"{where}: offset {offset} is not after onset {onset}"
            )
        if classes is not None and label not in classes:
            raise ValueError(
                f"{where}: label {label!r} is not one of the classes "
                f"{list(classes)}"
            )
        if offset == onset:
            zero_length.append(line or audio_id)
            continue
        events_of.setdefault(audio_id, []).append(
            (onset, offset, label, line or audio_id)
        )
    merged = []
    for audio_id, events in events_of.items():
        kept, absorbed = merge_overlapping(events)
        out[audio_id] = [(on, off, lab) for on, off, lab, _ in kept]
        merged += absorbed
    for tags, what in (
        (zero_length, "zero-length events (onset = offset) dropped"),
        (
            merged,
            "events merged into an overlapping or touching event of "
            "the same class and clip",
        ),
    ):
        if tags:
            shown = ", ".join(str(t) for t in tags[:5])
            more = " ..." if len(tags) > 5 else ""
            kind = "lines" if isinstance(tags[0], int) else "clips"
            logger.warning(
                f"{source}: {len(tags)} {what} ({kind} {shown}{more})"
            )
    return out


def read_durations(durations):
    """Reads clip durations: ``filename duration`` TSV.

    A clip listed twice with the same duration is kept once (with a
    warning); with two different durations it is an error.

    Arguments
    ---------
    durations : str, os.PathLike or dict
        A TSV path or ``{audio_id: seconds}``.

    Returns
    -------
    dict
        ``{audio_id: duration}`` (float seconds).

    Raises
    ------
    ValueError
        Naming the file and line: missing columns, fields not separated by
        tabs, a duration that is not a positive number, a clip listed
        twice with different durations.

    Example
    -------
    >>> read_durations({"a": 10})
    {'a': 10.0}
    """
    from speechbrain_atst.data.tsv import read_tsv

    if isinstance(durations, dict):
        source = "durations"
        items = [(str(k), v, None) for k, v in durations.items()]
    else:
        source = os.fspath(durations)
        items = []
        for line, row in read_tsv(durations, ("filename", "duration")):
            if not row["filename"]:
                raise ValueError(f"{source}, line {line}: empty filename")
            items.append((_audio_id(row["filename"]), row["duration"], line))
    out, first, repeated = {}, {}, []
    for audio_id, value, line in items:
        where = f"{source}, " + (f"line {line}" if line else audio_id)
        try:
            value = float(value)
        except (TypeError, ValueError):
            value = float("nan")
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{where}: duration must be a positive number")
        if audio_id in out:
            if out[audio_id] != value:
                raise ValueError(
                    f"{where}: {audio_id} already has the duration "
                    f"{out[audio_id]} (line {first[audio_id]}), not {value}"
                )
            repeated.append(line)
            continue
        out[audio_id], first[audio_id] = value, line
    if repeated:
        logger.warning(
            f"{source}: {len(repeated)} duplicate rows dropped (lines "
            f"{', '.join(str(n) for n in repeated[:5])}"
            f"{' ...' if len(repeated) > 5 else ''})"
        )
    return out
