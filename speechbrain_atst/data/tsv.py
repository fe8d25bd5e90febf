"""Reading the tab-separated metadata files of DESED and sed_scores_eval.

The one home of every metadata table of the package: the strong-label
(``filename onset offset event_label``), weak-label (``filename
event_labels``) and durations (``filename duration``) TSVs of DESED /
DCASE, read by :func:`~speechbrain_atst.data.desed.prepare_desed` and by
the evaluation (:func:`~speechbrain_atst.evaluation.read_ground_truth`,
:func:`~speechbrain_atst.evaluation.read_durations`) with the same rules.

The text (:func:`read_text`, :func:`read_tsv`):

* text encodings: UTF-8 with or without a byte-order mark, and UTF-16 /
  UTF-32 with a byte-order mark (what spreadsheet programs write as
  "Unicode text"); anything else that is not UTF-8 is an error;
* Windows and old Mac line ends, blank lines, spaces around fields and
  double quotes around a whole field;
* missing trailing fields read as empty (DESED writes a clip without events
  as ``name.wav`` followed by empty fields, and editors strip the tabs);
  header columns beyond the required ones are allowed and ignored.

Errors name the file and the line: a header without the required columns
(with a hint when the file is comma-, semicolon- or space-separated), a
row whose fields are separated by something else than tabs, a row with
more fields than the header, a binary file.

The events (:func:`read_strong_labels`), one set of rules for the
preparation and the evaluation. Harmless problems are repaired, with one
warning per kind that counts them and names their lines:

* exact duplicate rows (same clip, onset, offset and label) are kept once;
* zero-length events (onset = offset) are dropped;
* overlapping or touching events of one class in a clip are merged into
  their union (what the frame labels hold anyway, and what sed_scores_eval
  requires of a ground truth).

A row with empty onset, offset and label (or only a file name) declares a
clip without events. Everything else is an error naming the file and the
line: an empty file name, an incomplete event (some of onset, offset and
label empty), a time that is not a number, NaN or infinite, a negative
onset, an onset after the offset, a label outside the given classes, and,
when rows are keyed by audio id, two file names with the same id.

The weak labels (:func:`read_weak_labels`) and the durations
(:func:`read_clip_durations`): a row repeating an earlier row of its clip
is dropped with a counted warning; a clip listed again with other labels
or another duration is an error, as is an unknown label or a duration
that is not a positive number.

Authors
 * speechbrain-atst team 2026
"""

import codecs
import logging
import math
import os
import re

logger = logging.getLogger(__name__)

#: Columns of a strong-label TSV (DESED, DCASE, sed_scores_eval).
STRONG_COLUMNS = ("filename", "onset", "offset", "event_label")
#: Columns of a weak-label TSV (labels separated by commas).
WEAK_COLUMNS = ("filename", "event_labels")
#: Columns of a durations TSV (seconds).
DURATION_COLUMNS = ("filename", "duration")

#: Byte-order marks recognised, longest first (UTF-32 LE starts like
#: UTF-16 LE).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_OTHER_SEPARATORS = ((",", "commas"), (";", "semicolons"))
_SEPARATOR_NAMES = {",": "commas", ";": "semicolons"}
#: An audio file name followed by another field without a tab between.
_MIS_SEPARATED = re.compile(
    r"\.(?:wav|flac|ogg|mp3|aiff?)([\s,;]+)\S", flags=re.IGNORECASE
)


def read_text(path):
    """Reads a text file, honouring a byte-order mark.

    Arguments
    ---------
    path : str or os.PathLike
        The file.

    Returns
    -------
    str
        Its text, without the byte-order mark.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file.
    ValueError
        Naming the file, if it is binary or not UTF-8 (without a BOM).

    Example
    -------
    >>> path = getfixture("tmp_path") / "a.tsv"
    >>> _ = path.write_bytes("filename\\n".encode("utf-16"))
    >>> read_text(path)
    'filename\\n'
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        kind = "a directory, not a file" if os.path.isdir(path) else "missing"
        raise FileNotFoundError(f"Metadata file {path} is {kind}")
    with open(path, "rb") as fin:
        raw = fin.read()
    encoding = "utf-8"
    for bom, name in _BOMS:
        if raw.startswith(bom):
            raw, encoding = raw[len(bom) :], name
            break
    if encoding == "utf-8" and b"\x00" in raw:
        raise ValueError(
            f"{path}: not a text file (it holds NUL bytes); expected a "
            "tab-separated text file"
        )
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ValueError(
            f"{path}, line {line}: not {encoding} text ({err.reason} at "
            f"byte {err.start}); save the file as UTF-8"
        ) from None


def _unquote(field):
    """Strips spaces, then double quotes around the whole field."""
    field = field.strip()
    if len(field) >= 2 and field[0] == field[-1] == '"':
        field = field[1:-1].strip()
    return field


def _separator_hint(text, n_expected):
    """A sentence naming the separator of ``text`` if it is not a tab."""
    for sep, name in _OTHER_SEPARATORS:
        if len(text.split(sep)) >= n_expected:
            return f"its fields look separated by {name}"
    if len(text.split()) >= n_expected:
        return "its fields look separated by spaces"
    return ""


def read_tsv(path, required, optional=()):
    """Reads a tab-separated table with a header row.

    Arguments
    ---------
    path : str or os.PathLike
        The file.
    required : sequence of str
        Columns the header must hold (in any order; others are allowed).
    optional : sequence of str
        Columns that are read when present (empty otherwise).

    Returns
    -------
    list of (int, dict)
        ``(line number, {column: value})`` of each data row, values
        stripped; every required and optional column is a key.

    Raises
    ------
    FileNotFoundError
        If the file is missing.
    ValueError
        Naming the file and line: unreadable text, an empty file, missing
        columns, fields not separated by tabs, too many fields.

    Example
    -------
    >>> path = getfixture("tmp_path") / "a.tsv"
    >>> _ = path.write_text("\\ufefffilename\\tduration\\r\\na.wav\\t10\\r\\n")
    >>> read_tsv(path, ["filename", "duration"])
    [(2, {'filename': 'a.wav', 'duration': '10'})]
    >>> _ = path.write_text("filename,duration\\na.wav,10\\n")
    >>> read_tsv(path, ["filename", "duration"])
    Traceback (most recent call last):
    ...
    ValueError: ...a.tsv, line 1: missing column(s) ... separated by commas...
    """
    path = os.fspath(path)
    lines = read_text(path).splitlines()
    numbered = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip()]
    if not numbered:
        raise ValueError(
            f"{path}: empty file, expected a tab-separated header with "
            f"{list(required)}"
        )
    header_line, header = numbered[0]
    columns = [_unquote(c) for c in header.split("\t")]
    while columns and not columns[-1]:
        columns.pop()
    missing = [c for c in required if c not in columns]
    if missing:
        hint = (
            _separator_hint(header, len(required)) if len(columns) < 2 else ""
        )
        raise ValueError(
            f"{path}, line {header_line}: missing column(s) {missing} in "
            f"the header {columns}"
            + (f" ({hint})" if hint else "")
            + f"; expected a tab-separated header with {list(required)}"
        )
    rows = []
    for line_no, line in numbered[1:]:
        fields = [_unquote(f) for f in line.split("\t")]
        if len(fields) > len(columns) and any(fields[len(columns) :]):
            raise ValueError(
                f"{path}, line {line_no}: {len(fields)} fields for "
                f"{len(columns)} columns {columns}"
            )
        glued = _MIS_SEPARATED.search(fields[0]) if len(fields) == 1 else None
        if glued and len(columns) > 1:
            name = _SEPARATOR_NAMES.get(glued.group(1)[0], "spaces")
            raise ValueError(
                f"{path}, line {line_no}: no tab in {line.strip()!r}; its "
                f"fields look separated by {name}, but the file is "
                "tab-separated"
            )
        fields = fields[: len(columns)]
        fields += [""] * (len(columns) - len(fields))
        row = dict(zip(columns, fields))
        for name in optional:
            row.setdefault(name, "")
        rows.append((line_no, row))
    return rows


def merge_overlapping(events):
    """Merges overlapping or touching events of the same class.

    Arguments
    ---------
    events : list of (onset, offset, label, line)
        One clip's events; ``line`` is any tag (the TSV line number).

    Returns
    -------
    tuple
        ``(kept, absorbed)``: the events left, in input order (a merged
        event takes the place and tag of its earliest member, the union of
        the members' spans), and the tags of the events merged into
        another.

    Example
    -------
    >>> merge_overlapping(
    ...     [(0, 2, "Dog", 1), (5, 6, "Dog", 2), (1, 3, "Dog", 3)]
    ... )
    ([(0, 3, 'Dog', 1), (5, 6, 'Dog', 2)], [3])
    """
    by_label = {}
    for index, event in enumerate(events):
        by_label.setdefault(event[2], []).append((event[0], event[1], index))
    spans, absorbed = {}, []
    for group in by_label.values():
        group.sort()
        first, (onset, offset, _) = group[0][2], group[0]
        members = [first]
        for on, off, index in group[1:]:
            if on <= offset:
                offset = max(offset, off)
                members.append(index)
                continue
            spans[min(members)] = (onset, offset, members)
            onset, offset, members = on, off, [index]
        spans[min(members)] = (onset, offset, members)
    kept = []
    for index in sorted(spans):
        onset, offset, members = spans[index]
        label, tag = events[index][2], events[index][3]
        kept.append((onset, offset, label, tag))
        absorbed += [events[m][3] for m in members if m != index]
    return kept, sorted(absorbed)


def audio_id(filename):
    """The audio id of a file name: the name without its extension.

    Arguments
    ---------
    filename : str
        An audio file name.

    Returns
    -------
    str
        The id that sed_scores_eval and the manifests use.

    Example
    -------
    >>> audio_id("Y00pbt6aJV8Y_350.000_360.000.wav")
    'Y00pbt6aJV8Y_350.000_360.000'
    """
    return str(filename).rsplit(".", maxsplit=1)[0]


def _where(source, tag):
    """``"file, line 3"`` for a TSV row, ``"source, clip a"`` for an entry
    of a dict (whose tag is the clip id)."""
    kind = "line" if isinstance(tag, int) else "clip"
    return f"{source}, {kind} {tag}"


def _tags(tags, limit=5):
    """``"line 3"``, ``"lines 3, 7 and 2 more"`` or ``"clips a, b"``."""
    tags = list(dict.fromkeys(tags))
    kind = "line" if isinstance(tags[0], int) else "clip"
    shown = ", ".join(str(t) for t in tags[:limit])
    more = f" and {len(tags) - limit} more" if len(tags) > limit else ""
    return f"{kind}{'s' if len(tags) > 1 else ''} {shown}{more}"


def _warn_repairs(source, repairs):
    """One warning per kind of repair: ``(tags, what)`` pairs."""
    for tags, what in repairs:
        if tags:
            logger.warning(
                "%s: %d %s (%s)", source, len(tags), what, _tags(tags)
            )


def _number(where, name, value):
    """A finite float, or an error naming ``where``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{where}: cannot parse {name} {value!r} as a number"
        ) from None
    if not math.isfinite(number):
        raise ValueError(f"{where}: {name} is {value!r}")
    return number


def _check_label(where, label, known):
    """Raises an error naming ``where`` for a label outside ``known``."""
    if known is not None and label not in known:
        raise ValueError(
            f"{where}: unknown event label {label!r}; known classes: "
            f"{', '.join(known)}"
        )


def _known(classes):
    """The class list of ``classes`` (``labels.load_classes``), or None."""
    from speechbrain_atst.labels import load_classes

    return None if classes is None else load_classes(classes)


def _keyed_rows(path, columns, audio_ids=False):
    """``(line, clip, row)`` of each row of a TSV whose first column is
    ``filename``; ``clip`` is the file name, or its audio id."""
    names = {}
    for line, row in read_tsv(path, columns):
        fname = row["filename"]
        if not fname:
            raise ValueError(f"{path}, line {line}: empty filename")
        clip = audio_id(fname) if audio_ids else fname
        other, first = names.setdefault(clip, (fname, line))
        if other != fname:
            raise ValueError(
                f"{path}, line {line}: {fname} and {other} (line {first}) "
                f"have the same audio id {clip!r}"
            )
        yield line, clip, row


def _once_per_clip(source, entries, describe, key=None):
    """``{clip: value}`` of ``(tag, clip, value)`` entries, in order.

    A clip listed again with an equal value (``key(value)`` equal) is a
    duplicate, dropped with a counted warning; with another value it is an
    error naming both lines.
    """
    key = key or (lambda value: value)
    out, first, duplicates = {}, {}, []
    for tag, clip, value in entries:
        if clip not in out:
            out[clip], first[clip] = value, tag
        elif key(out[clip]) == key(value):
            duplicates.append(tag)
        else:
            raise ValueError(
                f"{_where(source, tag)}: {clip} already listed on "
                f"{_tags([first[clip]])} with {describe(out[clip])}, not "
                f"{describe(value)}"
            )
    _warn_repairs(source, [(duplicates, "duplicate rows dropped")])
    return out


def read_strong_labels(source, classes=None, audio_ids=False):
    """Reads strong labels: a ``filename onset offset event_label`` TSV.

    The one reader of strong labels, for the preparation (keyed by file
    name) and the evaluation (keyed by audio id), with the rules of the
    module docstring: duplicate rows, zero-length events and overlapping or
    touching events of one class are repaired with a counted warning that
    names their lines; anything else wrong is an error naming the file and
    the line. A row with empty onset, offset and label (or only a file
    name) lists a clip without events.

    Arguments
    ---------
    source : str, os.PathLike or dict
        The TSV file, or ``{clip: [(onset, offset, label), ...]}`` (checked
        and repaired by the same rules, its keys kept as they are; its
        messages name the clip instead of a line).
    classes : None, str or sequence of str
        The known classes (see ``labels.load_classes``): a label outside
        them is an error. None (default) accepts every label.
    audio_ids : bool
        If True, the clips of a TSV are keyed by audio id (the file name
        without its extension, as in sed_scores_eval); two file names with
        the same id are an error. If False, by file name.

    Returns
    -------
    dict
        ``{clip: [(onset, offset, label), ...]}``, clips in file order, each
        clip's events in file order (a merged event where its first row
        was); clips without events have an empty list.

    Raises
    ------
    FileNotFoundError
        If the file is missing.
    ValueError
        Naming the file and line: unreadable text, missing columns, fields
        not separated by tabs, too many fields, an empty file name, an
        incomplete event, a time that is not a finite number, a negative
        onset, onset > offset, an unknown label, an audio id shared by two
        file names.

    Example
    -------
    >>> path = getfixture("tmp_path") / "strong.tsv"
    >>> _ = path.write_text(
    ...     "filename\\tonset\\toffset\\tevent_label\\n"
    ...     "a.wav\\t0.5\\t1.25\\tDog\\n"
    ...     "a.wav\\t1.0\\t2.0\\tDog\\n"
    ...     "b.wav\\t\\t\\t\\n"
    ... )
    >>> read_strong_labels(path)
    {'a.wav': [(0.5, 2.0, 'Dog')], 'b.wav': []}
    >>> read_strong_labels(path, audio_ids=True)
    {'a': [(0.5, 2.0, 'Dog')], 'b': []}
    >>> read_strong_labels(path, classes=["Cat"])
    Traceback (most recent call last):
    ...
    ValueError: ...strong.tsv, line 2: unknown event label 'Dog'; ...
    """
    if isinstance(source, dict):
        name = "ground truth"
        clips = {str(clip): [] for clip in source}
        rows = [
            (str(clip), event[0], event[1], event[2], str(clip))
            for clip, events in source.items()
            for event in events
        ]
    else:
        name = os.fspath(source)
        clips, rows = {}, []
        for line, clip, row in _keyed_rows(name, STRONG_COLUMNS, audio_ids):
            clips.setdefault(clip, [])
            values = [row["onset"], row["offset"], row["event_label"]]
            if not any(values):
                continue
            if not all(values):
                raise ValueError(
                    f"{name}, line {line}: incomplete event {values}; give "
                    "onset, offset and event_label, or leave all three "
                    "empty for a clip without events"
                )
            rows.append((clip, *values, line))
    return _repair_events(name, clips, rows, _known(classes))


def _repair_events(source, clips, rows, known):
    """Checks ``(clip, onset, offset, label, tag)`` rows into ``clips``."""
    seen, duplicates, zero_length, events_of = set(), [], [], {}
    for clip, onset, offset, label, tag in rows:
        where = _where(source, tag)
        onset = _number(where, "onset", onset)
        offset = _number(where, "offset", offset)
        label = str(label).strip()
        if not label:
            raise ValueError(f"{where}: incomplete event, without a label")
        if onset < 0:
            raise ValueError(f"{where}: negative onset {onset}")
        if onset > offset:
            raise ValueError(
                f"{where}: onset {onset} >= offset {offset} (the event "
                "ends before it starts)"
            )
        _check_label(where, label, known)
        if (clip, onset, offset, label) in seen:
            duplicates.append(tag)
            continue
        seen.add((clip, onset, offset, label))
        if onset == offset:
            zero_length.append(tag)
            continue
        events_of.setdefault(clip, []).append((onset, offset, label, tag))
    merged = []
    for clip, events in events_of.items():
        kept, absorbed = merge_overlapping(events)
        clips[clip] = [event[:3] for event in kept]
        merged += absorbed
    _warn_repairs(
        source,
        [
            (duplicates, "duplicate rows dropped"),
            (zero_length, "zero-length events (onset = offset) dropped"),
            (
                sorted(merged),
                "events merged into an overlapping or touching event of "
                "the same class and clip",
            ),
        ],
    )
    return clips


def read_weak_labels(path, classes=None):
    """Reads weak labels: a ``filename event_labels`` TSV.

    The labels of a row are separated by commas (spaces around them and
    repeated labels are ignored; an empty field lists a clip without
    events). A row repeating an earlier row of its file (the same labels,
    in any order) is dropped with a counted warning; a file listed again
    with other labels is an error.

    Arguments
    ---------
    path : str or os.PathLike
        The TSV file.
    classes : None, str or sequence of str
        The known classes (see ``labels.load_classes``): a label outside
        them is an error. None (default) accepts every label.

    Returns
    -------
    dict
        ``{filename: [label, ...]}`` in file order.

    Raises
    ------
    ValueError
        Naming the file and line: the problems of :func:`read_tsv`, an
        empty file name, an unknown label, a file listed twice with
        different labels.

    Example
    -------
    >>> path = getfixture("tmp_path") / "weak.tsv"
    >>> _ = path.write_text(
    ...     "filename\\tevent_labels\\na.wav\\tDog, Cat\\na.wav\\tCat,Dog\\n"
    ... )
    >>> read_weak_labels(path)
    {'a.wav': ['Dog', 'Cat']}
    """
    path = os.fspath(path)
    known = _known(classes)
    entries = []
    for line, fname, row in _keyed_rows(path, WEAK_COLUMNS):
        labels = [label.strip() for label in row["event_labels"].split(",")]
        labels = list(dict.fromkeys(label for label in labels if label))
        for label in labels:
            _check_label(f"{path}, line {line}", label, known)
        entries.append((line, fname, labels))
    return _once_per_clip(
        path,
        entries,
        lambda labels: f"the labels ({', '.join(labels) or 'none'})",
        key=frozenset,
    )


def read_clip_durations(source, audio_ids=False):
    """Reads clip durations: a ``filename duration`` TSV (seconds).

    A clip listed again with the same duration is dropped with a counted
    warning; with another duration it is an error.

    Arguments
    ---------
    source : str, os.PathLike or dict
        The TSV file, or ``{clip: seconds}`` (checked by the same rules,
        its keys kept as they are).
    audio_ids : bool
        If True, the clips of a TSV are keyed by audio id (the file name
        without its extension); two file names with the same id are an
        error. If False, by file name.

    Returns
    -------
    dict
        ``{clip: duration}`` (float seconds), in file order.

    Raises
    ------
    FileNotFoundError
        If the file is missing.
    ValueError
        Naming the file and line: the problems of :func:`read_tsv`, an
        empty file name, a duration that is not a positive number, a clip
        listed twice with different durations.

    Example
    -------
    >>> path = getfixture("tmp_path") / "durations.tsv"
    >>> _ = path.write_text("filename\\tduration\\na.wav\\t10\\nb.wav\\t9.5\\n")
    >>> read_clip_durations(path, audio_ids=True)
    {'a': 10.0, 'b': 9.5}
    """
    if isinstance(source, dict):
        name = "durations"
        entries = [(str(clip), str(clip), v) for clip, v in source.items()]
    else:
        name = os.fspath(source)
        entries = [
            (line, clip, row["duration"])
            for line, clip, row in _keyed_rows(
                name, DURATION_COLUMNS, audio_ids
            )
        ]
    checked = []
    for tag, clip, value in entries:
        where = _where(name, tag)
        seconds = _number(where, "duration", value)
        if seconds <= 0:
            raise ValueError(f"{where}: duration {seconds} is not positive")
        checked.append((tag, clip, seconds))
    return _once_per_clip(name, checked, lambda s: f"the duration {s}")
