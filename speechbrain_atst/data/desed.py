"""DESED data preparation: SpeechBrain JSON manifests and evaluation TSVs.

``prepare_desed`` reads a DESED ``dataset/`` folder (the real one or one
written by :func:`~speechbrain_atst.data.synth.synthesize_mini_desed`;
layout in :data:`speechbrain_atst.data.DESED_LAYOUT`) and writes, into
``save_folder``:

- the manifests ``synth_train.json``, ``strong_train.json``,
  ``strong_valid.json``, ``weak_train.json``, ``weak_valid.json``,
  ``unlabeled.json``, ``synth_valid.json`` and ``validation.json``
  (``{id: {"wav": "{data_root}/audio/...", "duration": s, "sample_rate":
  Hz, "events": [[onset, offset, label], ...]}}`` for strong sets,
  ``"labels": [label, ...]`` for weak sets, neither for unlabeled audio).
  The id is the file name without its extension, as in sed_scores_eval;
  ids are unique within a manifest (the two synthetic sets both hold
  ``0.wav``, ...). Clips listed without events (empty onset, offset and
  label, as DESED writes them) are kept with ``"events": []``; the
  official recipe drops them, a training pipeline may filter them out.
- ``<name>_gt.tsv`` (``filename onset offset event_label``, event rows
  only) and ``<name>_durations.tsv`` (``filename duration``, every clip,
  read from the audio) for ``synth_valid``, ``strong_valid`` and
  ``validation``; a clip without events thus appears only in the
  durations file.
- ``missing_files.txt`` when TSVs list audio that is not there (real DESED
  copies lack the YouTube clips deleted since its release).

The weak set is split as ATST-SED does it: the training part is
``DataFrame.sample(frac=weak_split, random_state=seed)`` over the rows of
``weak.tsv``, the rest is validation (1420 / 158 clips on DESED). The real
strong set is split the same way over its clips, unless the split TSVs
shipped with ATST-SED are given. Splits are drawn over all TSV rows before
missing files are removed, so they do not depend on which files a copy
lacks.

Durations and sample rates come from the file headers (no decoding).
Audio at another rate than 16 kHz is recorded with its own
``sample_rate`` and resampled on load by
:func:`~speechbrain_atst.data.audio.read_audio`.

Authors
 * speechbrain-atst team 2026
"""

import json
import logging
import math
import os

import pandas as pd

from speechbrain_atst.data import DESED_LAYOUT
from speechbrain_atst.data.audio import audio_info
from speechbrain_atst.labels import load_classes

logger = logging.getLogger(__name__)

#: Name of the file that records the options of a finished preparation.
OPTIONS_FILE = "prepare_desed_options.json"
#: Name of the list of audio files that the TSVs name but the tree lacks.
MISSING_FILE = "missing_files.txt"
#: Extensions globbed in the unlabeled folder.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")
#: Manifests written, in order.
MANIFESTS = (
    "synth_train",
    "strong_train",
    "strong_valid",
    "weak_train",
    "weak_valid",
    "unlabeled",
    "synth_valid",
    "validation",
)
#: Manifests that get ground-truth and durations TSVs for evaluation.
EVAL_SETS = ("synth_valid", "strong_valid", "validation")
_STRONG_COLUMNS = ("filename", "onset", "offset", "event_label")
_WEAK_COLUMNS = ("filename", "event_labels")


# ---------------------------------------------------------------------------
# TSV parsing
# ---------------------------------------------------------------------------


def _read_rows(path, required):
    """Reads a tab-separated file with a header row.

    Handles a UTF-8 byte-order mark, Windows line ends, blank lines and
    whitespace around fields; missing trailing fields read as empty.

    Returns
    -------
    list of (int, dict)
        (line number, {column: stripped value}) for each data row.
    """
    with open(path, encoding="utf-8-sig", newline="") as fin:
        lines = fin.read().splitlines()
    numbered = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip()]
    if not numbered:
        raise ValueError(f"{path}: empty file, expected a header row")
    header_line, header = numbered[0]
    columns = [c.strip() for c in header.split("\t")]
    while columns and not columns[-1]:
        columns.pop()
    missing = [c for c in required if c not in columns]
    if missing:
        raise ValueError(
            f"{path}, line {header_line}: missing column(s) {missing} in "
            f"the header {columns}; expected a tab-separated header with "
            f"{list(required)}"
        )
    rows = []
    for line_no, line in numbered[1:]:
        fields = [f.strip() for f in line.split("\t")]
        extra = fields[len(columns) :]
        if any(extra):
            raise ValueError(
                f"{path}, line {line_no}: {len(fields)} fields for "
                f"{len(columns)} columns {columns}"
            )
        fields = fields[: len(columns)]
        fields += [""] * (len(columns) - len(fields))
        rows.append((line_no, dict(zip(columns, fields))))
    return rows


def _number(path, line_no, name, text):
    """Parses a finite float or raises an error naming file and line."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(
            f"{path}, line {line_no}: cannot parse {name} {text!r} as a number"
        ) from None
    if not math.isfinite(value):
        raise ValueError(f"{path}, line {line_no}: {name} is {text!r}")
    return value


def _check_label(path, line_no, label, known):
    """Raises an error naming file and line for an unknown label."""
    if label not in known:
        raise ValueError(
            f"{path}, line {line_no}: unknown event label {label!r}; "
            f"known classes: {', '.join(known)}"
        )


def read_strong_tsv(path, classes=None):
    """Reads a strong-label TSV (``filename onset offset event_label``).

    A row with empty onset, offset and label declares a clip without
    events. Exact duplicate events of a clip are kept once.

    Arguments
    ---------
    path : str or os.PathLike
        The TSV file.
    classes : None, str or sequence of str
        Known classes (see ``labels.load_classes``); DESED's by default.

    Returns
    -------
    dict
        ``{filename: [(onset, offset, label), ...]}`` in file order.

    Raises
    ------
    ValueError
        Naming the file and line: missing columns, an incomplete row, a
        number that does not parse, a negative onset, onset >= offset or
        an unknown label.

    Example
    -------
    >>> import tempfile
    >>> path = tempfile.mktemp(suffix=".tsv")
    >>> with open(path, "w") as fout:
    ...     _ = fout.write("filename\\tonset\\toffset\\tevent_label\\n")
    ...     _ = fout.write("a.wav\\t0.5\\t1.25\\tDog\\nb.wav\\t\\t\\t\\n")
    >>> read_strong_tsv(path)
    {'a.wav': [(0.5, 1.25, 'Dog')], 'b.wav': []}
    """
    known = load_classes(classes)
    clips = {}
    for line_no, row in _read_rows(path, _STRONG_COLUMNS):
        fname = row["filename"]
        if not fname:
            raise ValueError(f"{path}, line {line_no}: empty filename")
        values = [row["onset"], row["offset"], row["event_label"]]
        events = clips.setdefault(fname, [])
        if not any(values):
            continue
        if not all(values):
            raise ValueError(
                f"{path}, line {line_no}: incomplete event {values}; give "
                "onset, offset and event_label, or leave all three empty "
                "for a clip without events"
            )
        onset = _number(path, line_no, "onset", values[0])
        offset = _number(path, line_no, "offset", values[1])
        label = values[2]
        if onset < 0:
            raise ValueError(f"{path}, line {line_no}: negative onset {onset}")
        if onset >= offset:
            raise ValueError(
                f"{path}, line {line_no}: onset {onset} >= offset {offset}"
            )
        _check_label(path, line_no, label, known)
        if (onset, offset, label) not in events:
            events.append((onset, offset, label))
    return clips


def read_weak_tsv(path, classes=None):
    """Reads a weak-label TSV (``filename event_labels``, comma-separated).

    Arguments
    ---------
    path : str or os.PathLike
        The TSV file.
    classes : None, str or sequence of str
        Known classes (see ``labels.load_classes``); DESED's by default.

    Returns
    -------
    dict
        ``{filename: [label, ...]}`` in file order.

    Raises
    ------
    ValueError
        Naming the file and line: missing columns, an unknown label or a
        file listed twice.

    Example
    -------
    >>> import tempfile
    >>> path = tempfile.mktemp(suffix=".tsv")
    >>> with open(path, "w") as fout:
    ...     _ = fout.write("filename\\tevent_labels\\na.wav\\tDog,Cat\\n")
    >>> read_weak_tsv(path)
    {'a.wav': ['Dog', 'Cat']}
    """
    known = load_classes(classes)
    clips, first_line = {}, {}
    for line_no, row in _read_rows(path, _WEAK_COLUMNS):
        fname = row["filename"]
        if not fname:
            raise ValueError(f"{path}, line {line_no}: empty filename")
        if fname in clips:
            raise ValueError(
                f"{path}, line {line_no}: {fname} already listed on line "
                f"{first_line[fname]}"
            )
        labels = [lab.strip() for lab in row["event_labels"].split(",")]
        labels = [lab for lab in labels if lab]
        for label in labels:
            _check_label(path, line_no, label, known)
        clips[fname] = list(dict.fromkeys(labels))
        first_line[fname] = line_no
    return clips


# ---------------------------------------------------------------------------
# Preparation
# ---------------------------------------------------------------------------


def _split(names, frac, seed):
    """Splits names like ``DataFrame.sample(frac, random_state=seed)``.

    Returns the (train, rest) name lists, both in the original order.
    """
    if not names:
        return [], []
    frame = pd.DataFrame({"filename": list(names)})
    chosen = set(frame.sample(frac=frac, random_state=seed)["filename"])
    train = [n for n in names if n in chosen]
    rest = [n for n in names if n not in chosen]
    return train, rest


def _clip_id(fname):
    """Manifest id of a file: its name without the extension."""
    return fname.rsplit(".", maxsplit=1)[0]


def _fingerprint(path):
    """(size, mtime) of a file, or the entry count of a folder."""
    if os.path.isdir(path):
        return len(os.listdir(path))
    if os.path.isfile(path):
        stat = os.stat(path)
        return [stat.st_size, stat.st_mtime_ns]
    return None


def _output_paths(save_folder, names):
    """Paths of the files written for the given manifest names."""
    out = {}
    for name in names:
        out[name] = os.path.join(save_folder, f"{name}.json")
        if name in EVAL_SETS:
            out[f"{name}_gt"] = os.path.join(save_folder, f"{name}_gt.tsv")
            out[f"{name}_durations"] = os.path.join(
                save_folder, f"{name}_durations.tsv"
            )
    return out


def _load_previous(save_folder, options):
    """Outputs of an earlier run with the same options, if all exist."""
    path = os.path.join(save_folder, OPTIONS_FILE)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as fin:
            stored = json.load(fin)
    except (OSError, ValueError):
        return None
    if stored.get("options") != options:
        return None
    outputs = stored.get("outputs", {})
    if not outputs or not all(os.path.isfile(p) for p in outputs.values()):
        return None
    return outputs


def _write_json(path, data):
    """Writes a ``{key: value}`` JSON file atomically (a crash never leaves
    a partial manifest), one line per key."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as fout:
        if not data:
            fout.write("{}\n")
        else:  # one line per clip: readable and compact
            lines = [
                f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in data.items()
            ]
            fout.write("{\n" + ",\n".join(lines) + "\n}\n")
    os.replace(tmp, path)


def _write_tsv(path, header, rows):
    """Writes a tab-separated file atomically."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as fout:
        fout.write("\t".join(header) + "\n")
        for row in rows:
            fout.write("\t".join(str(x) for x in row) + "\n")
    os.replace(tmp, path)


def _escape(text):
    """Escapes braces for SpeechBrain's ``str.format_map`` replacement."""
    return text.replace("{", "{{").replace("}", "}}")


def _collect(data_folder, classes, strong_train_tsv, strong_valid_tsv):
    """Reads the metadata of every subset present in the tree.

    Returns {subset: {"audio": rel folder, "clips": {fname: value}}} where
    the value is a list of events (strong), of labels (weak) or None.
    """
    subsets = {}
    for name, spec in DESED_LAYOUT.items():
        folder = os.path.join(data_folder, spec["audio"])
        tsv = spec["tsv"] and os.path.join(data_folder, spec["tsv"])
        if name == "strong" and strong_train_tsv:
            tsv = strong_train_tsv
        where = [p for p in (folder, tsv) if p and not os.path.exists(p)]
        if where:
            if name == "validation":
                raise FileNotFoundError(
                    f"The validation set is required but {where[0]} does "
                    f"not exist; is {data_folder} a DESED 'dataset' folder "
                    "(with audio/ and metadata/)?"
                )
            logger.warning(
                "Skipping the %s set: %s not found", name, ", ".join(where)
            )
            continue
        if spec["kind"] == "strong":
            clips = read_strong_tsv(tsv, classes)
        elif spec["kind"] == "weak":
            clips = read_weak_tsv(tsv, classes)
        else:
            clips = {
                f: None
                for f in sorted(os.listdir(folder))
                if f.lower().endswith(AUDIO_EXTENSIONS)
            }
        subsets[name] = {"audio": spec["audio"], "clips": clips}
    if "strong" in subsets and strong_valid_tsv:
        subsets["strong_valid"] = {
            "audio": subsets["strong"]["audio"],
            "clips": read_strong_tsv(strong_valid_tsv, classes),
        }
    return subsets


def _plan(subsets, weak_split, strong_split, seed):
    """Maps each manifest name to (audio folder, {fname: value})."""
    plan = {}

    def take(name, source, names):
        clips = subsets[source]["clips"]
        plan[name] = (subsets[source]["audio"], {n: clips[n] for n in names})

    if "synth_train" in subsets:
        take("synth_train", "synth_train", subsets["synth_train"]["clips"])
    if "strong_valid" in subsets:  # the split shipped with ATST-SED
        take("strong_train", "strong", subsets["strong"]["clips"])
        take("strong_valid", "strong_valid", subsets["strong_valid"]["clips"])
    elif "strong" in subsets:
        train, rest = _split(
            list(subsets["strong"]["clips"]), strong_split, seed
        )
        take("strong_train", "strong", train)
        take("strong_valid", "strong", rest)
    if "weak" in subsets:
        train, rest = _split(list(subsets["weak"]["clips"]), weak_split, seed)
        take("weak_train", "weak", train)
        take("weak_valid", "weak", rest)
    for name in ("unlabeled", "synth_valid", "validation"):
        if name in subsets:
            take(name, name, subsets[name]["clips"])
    return plan


def _find_missing(data_folder, plan):
    """Relative paths of the planned audio files that do not exist."""
    missing, listings = [], {}
    for folder, clips in plan.values():
        if folder not in listings:
            listings[folder] = set(
                os.listdir(os.path.join(data_folder, folder))
            )
        for fname in clips:
            present = (
                fname in listings[folder]
                if "/" not in fname
                else os.path.isfile(os.path.join(data_folder, folder, fname))
            )
            if not present:
                missing.append(f"{folder}/{fname}")
    return list(dict.fromkeys(missing))


def _manifest(data_folder, name, folder, clips, kind):
    """Builds one manifest; returns (entries, [(fname, duration)])."""
    entries, durations = {}, []
    n_late = 0
    for fname, value in clips.items():
        clip_id = _clip_id(fname)
        if clip_id in entries:
            raise ValueError(
                f"Two files of the {name} set share the id {clip_id!r} "
                f"({fname}); ids are file names without extension"
            )
        info = audio_info(os.path.join(data_folder, folder, fname))
        entry = {
            "wav": "{data_root}/" + _escape(f"{folder}/{fname}"),
            "duration": round(info.duration, 6),
            "sample_rate": info.sample_rate,
        }
        if kind == "strong":
            entry["events"] = [[on, off, lab] for on, off, lab in value]
            n_late += sum(off > info.duration + 0.05 for _, off, _ in value)
        elif kind == "weak":
            entry["labels"] = list(value)
        entries[clip_id] = entry
        durations.append((fname, entry["duration"]))
    if n_late:
        logger.warning(
            "%s: %d events end more than 50 ms after their clip; the label "
            "encoder clips them to the audio",
            name,
            n_late,
        )
    return entries, durations


def prepare_desed(
    data_folder,
    save_folder,
    classes=None,
    skip_missing=False,
    weak_split=0.9,
    strong_split=0.9,
    seed=42,
    strong_train_tsv=None,
    strong_valid_tsv=None,
):
    """Writes SpeechBrain manifests and evaluation TSVs for a DESED tree.

    See the module docstring for the files written. The work is skipped
    when ``save_folder`` holds the outputs of a run with the same options
    and unchanged sources (TSV sizes and times, audio file counts).

    Arguments
    ---------
    data_folder : str or os.PathLike
        The DESED ``dataset/`` folder (holding ``audio/`` and
        ``metadata/``). Only the validation set is required; other subsets
        that are absent are skipped with a warning.
    save_folder : str or os.PathLike
        Where the manifests and TSVs go (created if needed).
    classes : None, str or sequence of str
        The class list (see ``labels.load_classes``); labels outside it
        are errors. DESED's ten classes by default.
    skip_missing : bool
        If False (default), audio files named in the TSVs but absent raise
        an error; if True they are left out. Either way they are listed in
        ``missing_files.txt``.
    weak_split : float
        Fraction of ``weak.tsv`` used for training (the rest validates).
    strong_split : float
        Fraction of the real strong clips used for training.
    seed : int
        ``random_state`` of both splits (42 in ATST-SED).
    strong_train_tsv : str, optional
        A strong TSV replacing ``audioset_strong.tsv`` for training, e.g.
        ATST-SED's ``audioset_strong_train.tsv`` (audio from the strong
        folder).
    strong_valid_tsv : str, optional
        With ``strong_train_tsv``, the strong validation TSV (e.g.
        ``audioset_strong_val.tsv``); replaces the random split.

    Returns
    -------
    dict
        Paths by name: one per manifest written (``"validation"`` ->
        ``.../validation.json``), ``"<name>_gt"`` and
        ``"<name>_durations"`` for the evaluation sets, and
        ``"missing_files"`` when files were missing.

    Raises
    ------
    FileNotFoundError
        If the validation set is absent, or audio files are missing and
        ``skip_missing`` is False.
    ValueError
        For malformed TSVs (naming file and line) or unreadable audio.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_atst.data.synth import synthesize_mini_desed
    >>> data = synthesize_mini_desed(tempfile.mkdtemp(), scale=0.1)
    >>> out = prepare_desed(data["data_folder"], tempfile.mkdtemp())
    >>> sorted(out)[:3]
    ['strong_train', 'strong_valid', 'strong_valid_durations']
    """
    data_folder = os.path.abspath(os.fspath(data_folder))
    save_folder = os.path.abspath(os.fspath(save_folder))
    classes = load_classes(classes)
    if any("{" in c or "}" in c for c in classes):
        raise ValueError(f"Class names may not contain braces: {classes}")
    for name, frac in (
        ("weak_split", weak_split),
        ("strong_split", strong_split),
    ):
        if not 0.0 <= float(frac) <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {frac}")
    if (strong_train_tsv is None) != (strong_valid_tsv is None):
        raise ValueError("Give both strong_train_tsv and strong_valid_tsv")
    if strong_train_tsv:
        strong_train_tsv = os.path.abspath(os.fspath(strong_train_tsv))
        strong_valid_tsv = os.path.abspath(os.fspath(strong_valid_tsv))
        for path in (strong_train_tsv, strong_valid_tsv):
            if not os.path.isfile(path):
                raise FileNotFoundError(f"Strong split TSV not found: {path}")
    if not os.path.isdir(data_folder):
        raise FileNotFoundError(f"DESED data folder not found: {data_folder}")

    sources = {}
    for spec in DESED_LAYOUT.values():
        for key in ("audio", "tsv"):
            if spec[key]:
                path = os.path.join(data_folder, spec[key])
                sources[spec[key]] = _fingerprint(path)
    for path in (strong_train_tsv, strong_valid_tsv):
        if path:
            sources[path] = _fingerprint(path)
    options = {
        "version": 1,
        "data_folder": data_folder,
        "classes": classes,
        "skip_missing": bool(skip_missing),
        "weak_split": float(weak_split),
        "strong_split": float(strong_split),
        "seed": int(seed),
        "strong_train_tsv": strong_train_tsv,
        "strong_valid_tsv": strong_valid_tsv,
        "sources": sources,
    }
    previous = _load_previous(save_folder, options)
    if previous is not None:
        logger.info("DESED manifests in %s are up to date", save_folder)
        return previous

    os.makedirs(save_folder, exist_ok=True)
    options_path = os.path.join(save_folder, OPTIONS_FILE)
    if os.path.exists(options_path):
        os.remove(options_path)
    subsets = _collect(data_folder, classes, strong_train_tsv, strong_valid_tsv)
    plan = _plan(subsets, float(weak_split), float(strong_split), int(seed))

    missing = _find_missing(data_folder, plan)
    missing_path = os.path.join(save_folder, MISSING_FILE)
    if missing:
        with open(missing_path, "w", encoding="utf-8") as fout:
            fout.write("\n".join(missing) + "\n")
        if not skip_missing:
            shown = ", ".join(missing[:5])
            raise FileNotFoundError(
                f"{len(missing)} audio files listed in the DESED metadata "
                f"are missing from {data_folder} (e.g. {shown}); the list is "
                f"in {missing_path}. Copies of DESED usually lack some "
                "deleted YouTube clips: pass skip_missing=True "
                "(--skip_missing) to leave them out."
            )
        logger.warning(
            "Leaving out %d missing audio files (listed in %s)",
            len(missing),
            missing_path,
        )
    elif os.path.exists(missing_path):
        os.remove(missing_path)
    missing = set(missing)

    outputs = _output_paths(save_folder, plan)
    kinds = {"weak_train": "weak", "weak_valid": "weak", "unlabeled": None}
    for name, (folder, clips) in plan.items():
        clips = {
            f: v for f, v in clips.items() if f"{folder}/{f}" not in missing
        }
        kind = kinds.get(name, "strong")
        entries, durations = _manifest(data_folder, name, folder, clips, kind)
        _write_json(outputs[name], entries)
        if name in EVAL_SETS:
            rows = [
                (fname, on, off, lab)
                for fname, events in clips.items()
                for on, off, lab in events
            ]
            _write_tsv(outputs[f"{name}_gt"], _STRONG_COLUMNS, rows)
            _write_tsv(
                outputs[f"{name}_durations"],
                ("filename", "duration"),
                durations,
            )
        logger.info("%s: %d clips -> %s", name, len(entries), outputs[name])
    if missing:
        outputs["missing_files"] = missing_path
    _write_json(options_path, {"options": options, "outputs": outputs})
    return outputs
