"""Reading the tab-separated metadata files of DESED and sed_scores_eval.

One reader for every metadata table of the package (the DESED TSVs read by
:func:`~speechbrain_atst.data.desed.prepare_desed`, the ground-truth and
durations TSVs read by the evaluation), so they all accept the same
variants and report the same problems the same way:

* text encodings: UTF-8 with or without a byte-order mark, and UTF-16 /
  UTF-32 with a byte-order mark (what spreadsheet programs write as
  "Unicode text"); anything else that is not UTF-8 is an error;
* Windows and old Mac line ends, blank lines, spaces around fields and
  double quotes around a whole field;
* missing trailing fields read as empty (DESED writes a clip without events
  as ``name.wav`` followed by empty fields, and editors strip the tabs).

Errors name the file and the line: a header without the required columns
(with a hint when the file is comma-, semicolon- or space-separated), a
row whose fields are separated by something else than tabs, a row with
more fields than the header, a binary file.

Authors
 * speechbrain-atst team 2026
"""

import codecs
import os
import re

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
