"""Preparation of a user's own dataset: SpeechBrain manifests and TSVs.

:func:`prepare_custom` turns audio folders and label TSVs into what the
fine-tuning recipe reads. The inputs:

* audio of any length, sample rate and channel count, in any format
  soundfile reads, in one or more folders (``audio_dirs``);
* strong labels (``filename onset offset event_label``, a row with only a
  file name lists a clip without events) and / or weak labels
  (``filename event_labels``, labels separated by commas), read by
  :func:`~speechbrain_atst.data.tsv.read_strong_labels` and
  :func:`~speechbrain_atst.data.tsv.read_weak_labels`; the file names are
  paths relative to an audio folder (subfolders allowed), looked up in
  every folder;
* optionally a folder of unlabeled audio (searched recursively, labeled
  files and hidden files left out) and a strong validation TSV.

It writes, into ``out_dir``:

* ``classes.txt`` (one class per line);
* the manifests ``strong_train.json``, ``weak_train.json``,
  ``unlabeled.json`` and ``valid.json`` (each only when it has an entry):
  ``{id: {"wav": absolute path, "duration": s, "sample_rate": Hz,
  "channels": n, "events": [[onset, offset, label], ...]}}`` for strong
  sets, ``"labels": [label, ...]`` for the weak set, neither for unlabeled
  audio. The id is the file name without its extension, subfolders kept
  (``site1/rec01``). Braces in paths are doubled, as SpeechBrain's
  ``load_data_json`` formats every string;
* ``valid_gt.tsv`` (``filename onset offset event_label``, event rows) and
  ``valid_durations.tsv`` (``filename duration``), read by
  ``speechbrain-atst evaluate``;
* ``dataset.json``: the summary that :func:`prepare_custom` returns;
* ``missing_files.txt`` / ``unreadable_files.txt`` when files were left
  out (``skip_missing``).

Without a validation TSV, whole files of the strong set are held out
(:func:`stratified_split`). Every problem of the input is a
:class:`CustomDataError` that names the file (and the line of a TSV), or a
counted warning (events past the end of their audio are cut there, in the
manifests and in the ground truth). The output folder is written in a
temporary folder next to it and renamed into place at the end: a failed
run leaves nothing behind and never a half-written folder.

Example
-------
>>> import numpy as np, soundfile as sf
>>> tmp = getfixture("tmp_path")
>>> (tmp / "audio").mkdir()
>>> for i in range(4):
...     sf.write(tmp / f"audio/r{i}.wav", np.zeros(16000), 16000)
>>> _ = (tmp / "strong.tsv").write_text(
...     "filename\\tonset\\toffset\\tevent_label\\n"
...     "r0.wav\\t0.1\\t0.5\\tDog\\nr1.wav\\t0.2\\t0.9\\tDog\\n"
...     "r2.wav\\t0\\t1\\tCat\\nr3.wav\\t0.5\\t1.0\\tCat\\n"
... )
>>> summary = prepare_custom(
...     tmp / "out", tmp / "audio", strong=tmp / "strong.tsv"
... )
>>> summary["classes"], summary["subsets"]["valid"]["files"]
(['Cat', 'Dog'], 2)

Authors
 * speechbrain-atst team 2026
"""

import json
import logging
import os
import posixpath
import random
import shutil
import tempfile
from collections import Counter, namedtuple

import soundfile as sf

from speechbrain_atst.data.audio import audio_info
from speechbrain_atst.data.desed import (
    MISSING_FILE,
    UNREADABLE_FILE,
    _escape,
    _write_json,
    _write_tsv,
)
from speechbrain_atst.data.tsv import (
    DURATION_COLUMNS,
    STRONG_COLUMNS,
    WEAK_COLUMNS,
    audio_id,
    read_strong_labels,
    read_tsv,
    read_weak_labels,
)
from speechbrain_atst.labels import load_classes

logger = logging.getLogger(__name__)

#: The summary written into the output folder (and returned).
SUMMARY_FILE = "dataset.json"
#: The class list written into the output folder.
CLASSES_FILE = "classes.txt"
#: The manifest of the held-out files.
VALID_SUBSET = "valid"
#: Manifests written (when not empty), in order.
SUBSETS = ("strong_train", "weak_train", "unlabeled", VALID_SUBSET)
#: Ground truth and durations of the validation set.
VALID_GT_FILE = "valid_gt.tsv"
VALID_DURATIONS_FILE = "valid_durations.tsv"
#: Version of the layout of ``dataset.json``.
VERSION = 1
#: Audio file extensions and the soundfile format that reads them; those
#: whose format the installed libsndfile lacks are left out.
_EXTENSION_FORMATS = {
    ".wav": "WAV",
    ".wave": "WAV",
    ".flac": "FLAC",
    ".ogg": "OGG",
    ".oga": "OGG",
    ".opus": "OGG",
    ".mp3": "MP3",
    ".aif": "AIFF",
    ".aiff": "AIFF",
    ".aifc": "AIFF",
    ".au": "AU",
    ".snd": "AU",
    ".caf": "CAF",
    ".w64": "W64",
    ".rf64": "RF64",
    ".sph": "NIST",
}
_FORMATS = set(sf.available_formats())
#: Extensions of the files taken from the unlabeled folder.
AUDIO_EXTENSIONS = tuple(
    ext for ext, fmt in _EXTENSION_FORMATS.items() if fmt in _FORMATS
)
#: Characters a label may not hold: separators of the label TSVs and the
#: braces that SpeechBrain's ``load_data_json`` would format.
_BAD_LABEL_CHARS = (",", ";", "|", "{", "}")


class CustomDataError(ValueError):
    """A problem of the input of :func:`prepare_custom`.

    The message names the file (and the line of a TSV) and says what to
    fix.

    Example
    -------
    >>> isinstance(CustomDataError("strong.tsv, line 3: ..."), ValueError)
    True
    """


# ---------------------------------------------------------------------------
# Reading the label TSVs
# ---------------------------------------------------------------------------


def _normalize_name(path, line, name):
    """A TSV file name as a relative POSIX path, or an error naming it."""
    rel = posixpath.normpath(name.replace("\\", "/"))
    if posixpath.isabs(rel) or rel == ".." or rel.startswith("../"):
        raise CustomDataError(
            f"{path}, line {line}: file name {name!r} is not a path inside "
            "an audio folder; give it relative to the audio folder"
        )
    return rel


def _check_label_text(where, label, known):
    """Errors for a label holding separators or braces."""
    if known is not None and label not in known:
        parts = label.split()
        if len(parts) > 1 and all(p in known for p in parts):
            raise CustomDataError(
                f"{where}: {label!r} looks like labels separated by "
                "spaces; separate the labels of a clip with commas in a "
                "weak TSV, give one event per row in a strong TSV"
            )
    bad = [c for c in _BAD_LABEL_CHARS if c in label]
    if bad:
        raise CustomDataError(
            f"{where}: label {label!r} holds {' and '.join(map(repr, bad))}; "
            "a label may not hold , ; | { } (separate the labels of a clip "
            "with commas in a weak TSV, give one event per row in a strong "
            "TSV)"
        )


def _scan_rows(path, kind, known):
    """First line of each file name of a TSV; checks names and labels.

    Runs before the readers of :mod:`~speechbrain_atst.data.tsv` so that a
    label holding another separator gets a message saying so, not an
    "unknown label" one.
    """
    columns = STRONG_COLUMNS if kind == "strong" else WEAK_COLUMNS
    lines = {}
    for line, row in read_tsv(path, columns):
        name = row["filename"]
        if not name:
            continue  # the reader names the line
        lines.setdefault(name, line)
        _normalize_name(path, line, name)
        where = f"{path}, line {line}"
        if kind == "strong":
            if row["event_label"]:
                _check_label_text(where, row["event_label"], known)
        else:
            for label in row["event_labels"].split(","):
                if label.strip():
                    _check_label_text(where, label.strip(), known)
    return lines


def _read_labels(path, kind, known):
    """Reads a strong or weak TSV, as ``(clips, lines)``.

    ``clips`` maps each file name to its events (strong) or labels
    (weak), ``lines`` to its first line. Errors of the readers become
    :class:`CustomDataError`; a TSV without data rows is one too.
    """
    path = os.path.abspath(os.fspath(path))
    try:
        lines = _scan_rows(path, kind, known)
        if kind == "strong":
            clips = read_strong_labels(path, classes=known)
        else:
            clips = read_weak_labels(path, classes=known)
    except CustomDataError:
        raise
    except (ValueError, FileNotFoundError) as err:
        raise CustomDataError(str(err)) from None
    if not clips:
        raise CustomDataError(
            f"{path}: no data rows (only a header); expected one row per "
            f"{'event or clip' if kind == 'strong' else 'clip'} under the "
            "header"
        )
    ids = {}
    for name, line in lines.items():
        clip = _clip_id(name)
        if clip in ids:
            raise CustomDataError(
                f"{path}, line {line}: {name} and {ids[clip][0]} (line "
                f"{ids[clip][1]}) have the same id {clip!r} (the file name "
                "without its extension); rename one of them"
            )
        ids[clip] = (name, line)
    return clips, lines


# ---------------------------------------------------------------------------
# Finding the audio
# ---------------------------------------------------------------------------


def _unique_dirs(dirs, what):
    """Absolute existing folders, the same folder given twice kept once."""
    out, seen = [], set()
    for folder in dirs:
        folder = os.path.abspath(os.fspath(folder))
        if not os.path.isdir(folder):
            raise CustomDataError(f"{what} {folder} is not a folder")
        real = os.path.realpath(folder)
        if real not in seen:
            seen.add(real)
            out.append(folder)
    return out


def _locate(path, lines, dirs):
    """Finds the audio of each file name of a TSV in the folders.

    Returns ``({name: absolute path}, [(tsv, line, name) of the missing
    files])``;
    a name found in two folders is an error naming both paths (all such
    names listed).
    """
    found, missing, twice = {}, [], []
    for name, line in lines.items():
        rel = _normalize_name(path, line, name)
        hits = {}
        for folder in dirs:
            candidate = os.path.join(folder, *rel.split("/"))
            if os.path.isfile(candidate):
                hits.setdefault(os.path.realpath(candidate), candidate)
        hits = list(hits.values())
        if len(hits) > 1:
            twice.append(f"{path}, line {line}: {' and '.join(hits)}")
        elif hits:
            found[name] = hits[0]
        else:
            missing.append((path, line, name))
    if twice:
        raise CustomDataError(
            f"{len(twice)} file names of {path} are in more than one audio "
            "folder (keep one copy, or rename one of them):\n  "
            + "\n  ".join(twice)
        )
    return found, missing


def list_audio_files(folder):
    """The audio files under a folder, recursively, as relative paths.

    Files whose extension soundfile reads (:data:`AUDIO_EXTENSIONS`, case
    ignored) are listed; hidden files and folders (``.name``, such as the
    ``._rec.wav`` files macOS leaves on external drives) are not.

    Arguments
    ---------
    folder : str or os.PathLike
        The folder.

    Returns
    -------
    list of str
        Sorted POSIX paths relative to ``folder``.

    Example
    -------
    >>> tmp = getfixture("tmp_path")
    >>> (tmp / "site1").mkdir()
    >>> for name in ("site1/b.FLAC", "a.wav", "._a.wav", "notes.txt"):
    ...     _ = (tmp / name).write_bytes(b"")
    >>> list_audio_files(tmp)
    ['a.wav', 'site1/b.FLAC']
    """
    folder = os.fspath(folder)
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.startswith("."):
                continue
            if os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS:
                rel = os.path.relpath(os.path.join(root, name), folder)
                out.append(rel.replace(os.sep, "/"))
    return sorted(out)


def _probe(paths):
    """``({path: AudioInfo}, [(path, problem)])`` of audio files."""
    infos, unreadable = {}, []
    for path in dict.fromkeys(paths):
        try:
            infos[path] = audio_info(path)
        except (ValueError, OSError) as err:
            unreadable.append((path, str(err)))
    return infos, unreadable


# ---------------------------------------------------------------------------
# Held-out split
# ---------------------------------------------------------------------------


def stratified_split(file_classes, valid_fraction=0.2, seed=42):
    """Holds out whole files, every class in both parts where it can.

    About ``valid_fraction`` of the files (at least one when there are two
    or more) go to validation. First, for each class of two files or more,
    rarest first, one of its files is held out (the one covering most
    classes not yet held out); then files are added in a seeded random
    order while their classes are below their share. A file is held out
    only when each of its classes keeps a file in training: a class of a
    single file stays in training. Files without events count as a class
    of their own for the shares. Covering every class may hold out more
    files than ``valid_fraction`` asks (a warning says so).

    Arguments
    ---------
    file_classes : dict
        ``{file: set of classes}`` (empty for a file without events).
    valid_fraction : float
        Share of the files held out, in ``[0, 1)``.
    seed : int
        Seed of the random order: the split is the same for a seed.

    Returns
    -------
    tuple
        ``(train, valid)``: lists of files, in the order of
        ``file_classes``.

    Example
    -------
    >>> files = {
    ...     "a": {"Dog"},
    ...     "b": {"Dog", "Cat"},
    ...     "c": {"Cat"},
    ...     "d": {"Bird"},
    ...     "e": {"Dog"},
    ... }
    >>> train, valid = stratified_split(files, 0.4, seed=1)
    >>> "d" in train, {c for f in valid for c in files[f]} >= {"Dog", "Cat"}
    (True, True)
    """
    if not 0.0 <= float(valid_fraction) < 1.0:
        raise ValueError(
            f"valid_fraction must be in [0, 1), got {valid_fraction}"
        )
    names = list(file_classes)
    if len(names) < 2 or valid_fraction == 0:
        return names, []
    n_valid = min(len(names) - 1, max(1, round(valid_fraction * len(names))))
    order = sorted(names, key=str)
    random.Random(seed).shuffle(order)
    rank = {name: i for i, name in enumerate(order)}
    labels = {f: set(file_classes[f]) or {None} for f in names}
    count = Counter(c for f in names for c in labels[f])
    outside = dict(count)
    valid, in_valid = set(), Counter()

    def safe(name):
        return all(c is None or outside[c] >= 2 for c in labels[name])

    def hold_out(name):
        valid.add(name)
        for c in labels[name]:
            outside[c] -= 1
            in_valid[c] += 1

    needs = {c for c, n in count.items() if c is not None and n >= 2}
    for cls in sorted(needs, key=lambda c: (count[c], c)):
        if cls not in needs:
            continue
        candidates = [
            f for f in order if f not in valid and cls in labels[f] and safe(f)
        ]
        if candidates:
            best = max(
                candidates, key=lambda f: (len(labels[f] & needs), -rank[f])
            )
            hold_out(best)
            needs -= labels[best]
    if len(valid) > n_valid:
        logger.warning(
            "Holding out %d strong files instead of %d (valid_fraction %s) "
            "so that every class has a file in both parts",
            len(valid),
            n_valid,
            valid_fraction,
        )
    share = {c: valid_fraction * n for c, n in count.items()}
    for strict in (True, False):
        for name in order:
            if len(valid) >= n_valid:
                break
            if name in valid or not safe(name):
                continue
            if strict and any(in_valid[c] >= share[c] for c in labels[name]):
                continue
            hold_out(name)
    train = [f for f in names if f not in valid]
    return train, [f for f in names if f in valid]


# ---------------------------------------------------------------------------
# Manifests
# ---------------------------------------------------------------------------


class _EventFit:
    """Cuts events at the end of their audio and counts what it did."""

    def __init__(self):
        self.cut, self.dropped, self.files = [], 0, []

    def __call__(self, name, events, duration):
        out = []
        for onset, offset, label in events:
            if onset >= duration:
                self.dropped += 1
                self.files.append(name)
                continue
            if offset > duration:
                self.cut.append(offset - duration)
                self.files.append(name)
                offset = duration
            out.append([onset, offset, label])
        return out

    def warn(self):
        """Logs one warning counting the events cut and dropped."""
        if not self.files:
            return
        shown = list(dict.fromkeys(self.files))
        logger.warning(
            "%d events run past the end of their audio file (by up to "
            "%.3f s): cut at the end; %d start at or after the end: dropped "
            "(in %d files, e.g. %s)",
            len(self.cut),
            max(self.cut, default=0.0),
            self.dropped,
            len(shown),
            ", ".join(shown[:3]),
        )


def _entry(path, info):
    """The common fields of a manifest entry."""
    return {
        "wav": _escape(path),
        "duration": round(info.duration, 6),
        "sample_rate": info.sample_rate,
        "channels": info.channels,
    }


def _clip_id(name):
    """The manifest id of a TSV file name (subfolders kept)."""
    return audio_id(posixpath.normpath(name.replace("\\", "/")))


def _strong_manifest(names, label_set, paths, infos, fit):
    """``(manifest, gt rows, duration rows)`` of strong-labeled files."""
    manifest, gt_rows, durations = {}, [], []
    for name in names:
        entry = _entry(paths[name], infos[paths[name]])
        entry["events"] = fit(name, label_set.clips[name], entry["duration"])
        manifest[_clip_id(name)] = entry
        gt_rows += [(name, *event) for event in entry["events"]]
        durations.append((name, entry["duration"]))
    return manifest, gt_rows, durations


def _hours(manifest):
    """Total duration of a manifest's files, in hours."""
    return round(sum(e["duration"] for e in manifest.values()) / 3600, 6)


def _summary(classes, manifests, options, notes):
    """The ``dataset.json`` dict."""
    per_class = {
        c: {
            "strong_train_events": 0,
            "strong_train_files": 0,
            "weak_train_files": 0,
            "valid_events": 0,
            "valid_files": 0,
        }
        for c in classes
    }
    for subset in ("strong_train", "valid"):
        for entry in manifests[subset].values():
            for label in {e[2] for e in entry["events"]}:
                per_class[label][f"{subset}_files"] += 1
            for event in entry["events"]:
                per_class[event[2]][f"{subset}_events"] += 1
    for entry in manifests["weak_train"].values():
        for label in entry["labels"]:
            per_class[label]["weak_train_files"] += 1
    files = {}
    for manifest in manifests.values():
        for entry in manifest.values():
            files[entry["wav"]] = entry
    rates = Counter(e["sample_rate"] for e in files.values())
    channels = Counter(e["channels"] for e in files.values())
    return {
        "classes": list(classes),
        "subsets": {
            name: {
                "files": len(manifests[name]),
                "hours": _hours(manifests[name]),
            }
            for name in SUBSETS
            if manifests[name]
        },
        "per_class": per_class,
        "options": options,
        "sample_rates": {str(k): v for k, v in sorted(rates.items())},
        "channels": {str(k): v for k, v in sorted(channels.items())},
        "notes": notes,
        "version": VERSION,
    }


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def _check_out_dir(out_dir, inputs):
    """Refuses an output folder that holds inputs or other data."""
    real_out = os.path.realpath(out_dir)
    for path in inputs:
        real = os.path.realpath(path)
        if real == real_out or real.startswith(real_out + os.sep):
            raise CustomDataError(
                f"The output folder {out_dir} holds the input {path}; it "
                "is replaced on each run: choose another output folder"
            )
    if os.path.exists(out_dir):
        if not os.path.isdir(out_dir):
            raise CustomDataError(f"Output {out_dir} is a file, not a folder")
        if os.listdir(out_dir) and not os.path.isfile(
            os.path.join(out_dir, SUMMARY_FILE)
        ):
            raise CustomDataError(
                f"The output folder {out_dir} is not empty and holds no "
                f"{SUMMARY_FILE} (it is not the output of an earlier "
                "preparation): choose a new or empty folder"
            )


def _write_all(out_dir, files):
    """Writes ``{name: writer(path)}`` into a temporary folder next to
    ``out_dir``, then renames it into place (replacing an earlier run)."""
    parent = os.path.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    base = os.path.basename(out_dir)
    tmp = tempfile.mkdtemp(prefix=f".{base}.tmp-", dir=parent)
    old = None
    try:
        for name, write in files.items():
            write(os.path.join(tmp, name))
        os.chmod(tmp, 0o777 & ~_umask())
        if os.path.exists(out_dir):
            old = tempfile.mkdtemp(prefix=f".{base}.old-", dir=parent)
            os.rename(out_dir, os.path.join(old, base))
        try:
            os.rename(tmp, out_dir)
        except OSError:
            if old is not None:
                os.rename(os.path.join(old, base), out_dir)
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _writer_json(data):
    return lambda path: _write_json(path, data)


def _writer_text(lines):
    def write(path):
        with open(path, "w", encoding="utf-8", newline="\n") as fout:
            fout.write("".join(f"{line}\n" for line in lines))

    return write


def _writer_tsv(header, rows):
    return lambda path: _write_tsv(path, header, rows)


def _writer_summary(summary):
    def write(path):
        with open(path, "w", encoding="utf-8") as fout:
            json.dump(summary, fout, indent=2)
            fout.write("\n")

    return write


# ---------------------------------------------------------------------------
# Preparation
# ---------------------------------------------------------------------------


def _class_list(classes):
    """The given class list, or None; errors for a missing class file."""
    if classes is None:
        return None
    if isinstance(classes, (str, os.PathLike)):
        text = os.fspath(classes)
        looks_like_file = text.endswith((".txt", ".csv", ".tsv")) or (
            os.sep in text and "," not in text
        )
        if looks_like_file and not os.path.isfile(text):
            raise CustomDataError(f"Class list file {text} not found")
    try:
        known = load_classes(classes)
    except ValueError as err:
        raise CustomDataError(str(err)) from None
    for label in known:
        _check_label_text(f"class list {classes!r}", label, None)
    return known


def _missing_message(missing, dirs):
    """The error listing every missing audio file."""
    rows = "\n  ".join(f"{p}, line {n}: {name}" for p, n, name in missing)
    hint = ""
    if any(c in name for _, _, name in missing for c in ",; "):
        hint = (
            " (a file name holding commas, semicolons or spaces may be a "
            "row whose fields are not separated by tabs)"
        )
    return (
        f"{len(missing)} audio files listed in the label TSVs are not in "
        f"the audio folders ({', '.join(dirs)}){hint}:\n  {rows}\n"
        "Pass skip_missing=True (--skip_missing) to leave them out."
    )


def _unreadable_message(unreadable):
    rows = "\n  ".join(why for _, why in unreadable)
    return (
        f"{len(unreadable)} audio files cannot be read:\n  {rows}\n"
        "Replace them, or pass skip_missing=True (--skip_missing) to leave "
        "them out."
    )


#: One label TSV: its path, kind (``"strong"`` / ``"weak"``), ``{file
#: name: events or labels}``, ``{file name: first line}`` and the folders
#: its audio is looked up in.
_LabelSet = namedtuple("_LabelSet", ["tsv", "kind", "clips", "lines", "dirs"])


def _options(
    out_dir,
    audio_dirs,
    strong,
    weak,
    unlabeled_dir,
    valid_strong,
    valid_audio_dir,
    classes,
    valid_fraction,
    seed,
    skip_missing,
):
    """Checked arguments of :func:`prepare_custom`, paths made absolute."""
    if isinstance(audio_dirs, (str, os.PathLike)):
        audio_dirs = [audio_dirs]
    audio_dirs = _unique_dirs(audio_dirs or [], "Audio folder")
    if not audio_dirs:
        raise CustomDataError("Give at least one audio folder (--audio_dir)")
    if strong is None and weak is None:
        raise CustomDataError(
            "Give strong labels (--strong) or weak labels (--weak), or both"
        )
    if valid_audio_dir is not None and valid_strong is None:
        raise CustomDataError(
            "valid_audio_dir (--valid_audio_dir) needs valid_strong "
            "(--valid_strong)"
        )
    if not 0.0 <= float(valid_fraction) < 1.0:
        raise CustomDataError(
            f"valid_fraction must be in [0, 1), got {valid_fraction}"
        )
    if valid_audio_dir is not None:
        [valid_audio_dir] = _unique_dirs(
            [valid_audio_dir], "Validation audio folder"
        )
    if unlabeled_dir is not None:
        [unlabeled_dir] = _unique_dirs([unlabeled_dir], "Unlabeled folder")
    if isinstance(classes, os.PathLike):
        classes = os.fspath(classes)
    elif classes is not None and not isinstance(classes, str):
        classes = [str(c) for c in classes]

    def absolute(path):
        return None if path is None else os.path.abspath(os.fspath(path))

    return {
        "out_dir": absolute(out_dir),
        "audio_dirs": audio_dirs,
        "strong": absolute(strong),
        "weak": absolute(weak),
        "unlabeled_dir": unlabeled_dir,
        "valid_strong": absolute(valid_strong),
        "valid_audio_dir": valid_audio_dir,
        "classes": classes,
        "valid_fraction": float(valid_fraction),
        "seed": int(seed),
        "skip_missing": bool(skip_missing),
    }


def _inputs(options):
    """Every input path (to keep the output folder away from them)."""
    keys = ("strong", "weak", "valid_strong", "unlabeled_dir")
    out = [options[k] for k in keys if options[k]]
    out += options["audio_dirs"]
    if options["valid_audio_dir"]:
        out.append(options["valid_audio_dir"])
    classes = options["classes"]
    if isinstance(classes, str) and os.path.isfile(classes):
        out.append(classes)
    return out


def _read_sets(options, known):
    """The label sets given: ``{"strong" | "weak" | "valid": _LabelSet}``."""
    sets = {}
    valid_dirs = options["audio_dirs"]
    if options["valid_audio_dir"]:
        valid_dirs = [options["valid_audio_dir"]]
    for name, kind, dirs in (
        ("strong", "strong", options["audio_dirs"]),
        ("weak", "weak", options["audio_dirs"]),
        ("valid_strong", "strong", valid_dirs),
    ):
        if options[name] is not None:
            clips, lines = _read_labels(options[name], kind, known)
            key = "valid" if name == "valid_strong" else name
            sets[key] = _LabelSet(options[name], kind, clips, lines, dirs)
    return sets


def _labels_seen(sets):
    """Sorted labels of every strong event and weak clip of the sets."""
    seen = set()
    for label_set in sets.values():
        for value in label_set.clips.values():
            if label_set.kind == "strong":
                seen.update(event[2] for event in value)
            else:
                seen.update(value)
    return sorted(seen)


def _unlabeled_files(folder, sets, paths):
    """``{id: path}`` of the audio under ``folder`` that no TSV lists."""
    labeled = {os.path.realpath(p) for f in paths.values() for p in f.values()}
    out = {}
    for rel in list_audio_files(folder):
        path = os.path.join(folder, *rel.split("/"))
        if os.path.realpath(path) in labeled:
            continue
        clip = audio_id(rel)
        if clip in out:
            raise CustomDataError(
                f"{out[clip]} and {path} in the unlabeled folder have the "
                f"same id {clip!r} (the file name without its extension); "
                "rename one of them"
            )
        out[clip] = path
    return out


def _leave_out(what, count, listed_in, notes):
    """Logs and notes audio files left out with ``skip_missing``."""
    notes.append(f"{count} {what} audio files left out (see {listed_in})")
    logger.warning(
        "Leaving out %d %s audio files (listed in %s)", count, what, listed_in
    )


def _check_overlaps(sets, paths):
    """Refuses validation files that are also training files; leaves the
    strong files out of the weak set (with a warning)."""
    real = {
        name: {os.path.realpath(p): n for n, p in found.items()}
        for name, found in paths.items()
    }
    for other in ("strong", "weak"):
        common = set(real.get("valid", {})) & set(real.get(other, {}))
        if common:
            valid = sets["valid"]
            names = [real["valid"][p] for p in sorted(common)]
            shown = "\n  ".join(
                f"{valid.tsv}, line {valid.lines[n]}: {n}" for n in names
            )
            raise CustomDataError(
                f"{len(names)} files of the validation TSV are also in the "
                f"{other} training TSV {sets[other].tsv} (a model would be "
                f"evaluated on what it learned):\n  {shown}"
            )
    both = set(real.get("strong", {})) & set(real.get("weak", {}))
    if both:
        names = [real["weak"][p] for p in sorted(both)]
        logger.warning(
            "%s: %d files are also strong-labeled: kept in the strong set "
            "only (e.g. %s)",
            sets["weak"].tsv,
            len(names),
            ", ".join(names[:3]),
        )
        for name in names:
            del paths["weak"][name]


def _split(sets, paths, options, notes):
    """``(train, valid)`` file names of the strong training and validation
    sets, as ``(names, label set, paths)`` pairs."""
    strong = sets.get("strong")
    strong_paths = paths.get("strong", {})
    if "valid" in sets:
        notes.append(
            f"validation set from {sets['valid'].tsv} (valid_fraction not used)"
        )
        train = (list(strong_paths), strong, strong_paths)
        return train, (list(paths["valid"]), sets["valid"], paths["valid"])
    if strong is None:
        notes.append(
            "no validation set: no strong labels (--strong) and no "
            "validation TSV (--valid_strong); valid.json, valid_gt.tsv and "
            "valid_durations.tsv are not written"
        )
        return ([], None, {}), ([], None, {})
    train, valid = stratified_split(
        {n: {e[2] for e in strong.clips[n]} for n in strong_paths},
        options["valid_fraction"],
        options["seed"],
    )
    if not valid:
        notes.append(
            f"no validation set: no strong file held out (valid_fraction "
            f"{options['valid_fraction']}, {len(train)} strong files); "
            "valid.json, valid_gt.tsv and valid_durations.tsv are not "
            "written"
        )
    return (train, strong, strong_paths), (valid, strong, strong_paths)


def _check_classes(classes, manifests, notes):
    """Refuses classes without a training example; notes those without a
    validation event."""
    trained = {
        e[2] for m in manifests["strong_train"].values() for e in m["events"]
    }
    trained |= {
        label for m in manifests["weak_train"].values() for label in m["labels"]
    }
    untrained = [c for c in classes if c not in trained]
    if untrained:
        raise CustomDataError(
            f"{len(untrained)} classes have no training example (no event "
            "in the strong training files and no weak training file): "
            f"{', '.join(untrained)}; label training audio with them or "
            "leave them out of the class list"
        )
    if manifests["valid"]:
        held = {e[2] for m in manifests["valid"].values() for e in m["events"]}
        absent = [c for c in classes if c not in held]
        if absent:
            notes.append(
                f"classes without validation events: {', '.join(absent)}"
            )
            logger.warning(
                "Classes without an event in the validation set: %s",
                ", ".join(absent),
            )


def _output_files(classes, manifests, valid_tsvs, missing, unreadable, summary):
    """``{file name: writer(path)}`` of everything written."""
    files = {CLASSES_FILE: _writer_text(classes)}
    for name in SUBSETS:
        if manifests[name]:
            files[f"{name}.json"] = _writer_json(manifests[name])
    if manifests["valid"]:
        gt_rows, durations = valid_tsvs
        files[VALID_GT_FILE] = _writer_tsv(STRONG_COLUMNS, gt_rows)
        files[VALID_DURATIONS_FILE] = _writer_tsv(DURATION_COLUMNS, durations)
    if missing:
        names = dict.fromkeys(name for _, _, name in missing)
        files[MISSING_FILE] = _writer_text(list(names))
    if unreadable:
        files[UNREADABLE_FILE] = _writer_text(
            [f"{path}\t{why}" for path, why in unreadable]
        )
    files[SUMMARY_FILE] = _writer_summary(summary)
    return files


def prepare_custom(
    out_dir,
    audio_dirs,
    strong=None,
    weak=None,
    unlabeled_dir=None,
    valid_strong=None,
    valid_audio_dir=None,
    classes=None,
    valid_fraction=0.2,
    seed=42,
    skip_missing=False,
):
    """Writes manifests, evaluation TSVs and a summary for a user dataset.

    See the module docstring for the inputs and the files written. The
    work is done in memory and written into a temporary folder next to
    ``out_dir``, renamed into place at the end; an earlier output in
    ``out_dir`` is replaced, a folder holding anything else is refused.

    Arguments
    ---------
    out_dir : str or os.PathLike
        The output folder.
    audio_dirs : str, os.PathLike or list of them
        Folders in which the file names of the TSVs are looked up (a name
        found in two of them is an error).
    strong : str or os.PathLike, optional
        Strong labels: ``filename onset offset event_label``.
    weak : str or os.PathLike, optional
        Weak labels: ``filename event_labels``. At least one of ``strong``
        and ``weak`` is required. A file also in ``strong`` is left out of
        the weak set (with a warning).
    unlabeled_dir : str or os.PathLike, optional
        Folder of unlabeled audio: every audio file under it that is not
        labeled.
    valid_strong : str or os.PathLike, optional
        Strong labels of a validation set; replaces the held-out split.
    valid_audio_dir : str or os.PathLike, optional
        Folder of the audio of ``valid_strong`` (``audio_dirs`` by
        default).
    classes : None, str, os.PathLike or sequence of str
        The class list (comma-separated, a file with one class per line,
        or a list); a label outside it is an error. By default every label
        seen, sorted.
    valid_fraction : float
        Share of the strong files held out for validation when no
        ``valid_strong`` is given (:func:`stratified_split`); 0 holds out
        nothing.
    seed : int
        Seed of the held-out split.
    skip_missing : bool
        Leave out audio files the TSVs name but the folders lack, and
        unreadable audio files, with a warning (listed in
        ``missing_files.txt`` / ``unreadable_files.txt``), instead of
        stopping with an error that lists them.

    Returns
    -------
    dict
        The summary written to ``dataset.json``: ``classes``, ``subsets``
        (``{name: {"files", "hours"}}`` of the manifests written),
        ``per_class`` (training and validation counts), ``options``,
        ``sample_rates`` and ``channels`` (``{value: files}``), ``notes``
        (what was left out or not written) and ``version``.

    Raises
    ------
    CustomDataError
        For every problem of the input, naming the file (and the line of
        a TSV).

    Example
    -------
    >>> import numpy as np, soundfile as sf
    >>> tmp = getfixture("tmp_path")
    >>> (tmp / "audio").mkdir()
    >>> sf.write(tmp / "audio/a.flac", np.zeros((8000, 2)), 8000)
    >>> sf.write(tmp / "audio/b.wav", np.zeros(16000), 16000)
    >>> _ = (tmp / "weak.tsv").write_text(
    ...     "filename\\tevent_labels\\na.flac\\tDog,Cat\\n"
    ... )
    >>> out = prepare_custom(
    ...     tmp / "out",
    ...     [tmp / "audio"],
    ...     weak=tmp / "weak.tsv",
    ...     unlabeled_dir=tmp / "audio",
    ... )
    >>> out["subsets"]["weak_train"], out["classes"]
    ({'files': 1, 'hours': 0.000278}, ['Cat', 'Dog'])
    >>> sorted(p.name for p in (tmp / "out").iterdir())
    ['classes.txt', 'dataset.json', 'unlabeled.json', 'weak_train.json']
    """
    options = _options(
        out_dir,
        audio_dirs,
        strong,
        weak,
        unlabeled_dir,
        valid_strong,
        valid_audio_dir,
        classes,
        valid_fraction,
        seed,
        skip_missing,
    )
    out_dir = options["out_dir"]
    _check_out_dir(out_dir, _inputs(options))
    known = _class_list(options["classes"])
    notes = []
    sets = _read_sets(options, known)
    if known is None:
        known = _labels_seen(sets)
        if not known:
            raise CustomDataError(
                "The label TSVs hold no event label: nothing to learn"
            )

    # The audio: located, then probed (headers only).
    paths, missing = {}, []
    for name, label_set in sets.items():
        paths[name], lost = _locate(
            label_set.tsv, label_set.lines, label_set.dirs
        )
        missing += lost
    unlabeled = {}
    if options["unlabeled_dir"]:
        unlabeled = _unlabeled_files(options["unlabeled_dir"], sets, paths)
    if missing:
        if not skip_missing:
            dirs = {d for s in sets.values() for d in s.dirs}
            raise CustomDataError(_missing_message(missing, sorted(dirs)))
        _leave_out("missing", len(missing), MISSING_FILE, notes)
    listed = [p for found in paths.values() for p in found.values()]
    infos, unreadable = _probe(listed + list(unlabeled.values()))
    if unreadable:
        if not skip_missing:
            raise CustomDataError(_unreadable_message(unreadable))
        _leave_out("unreadable", len(unreadable), UNREADABLE_FILE, notes)
        for found in paths.values():
            for name in [n for n, p in found.items() if p not in infos]:
                del found[name]
        unlabeled = {k: p for k, p in unlabeled.items() if p in infos}
    _check_overlaps(sets, paths)

    # The manifests.
    train, valid = _split(sets, paths, options, notes)
    fit = _EventFit()
    manifests = {}
    manifests["strong_train"], _, _ = _strong_manifest(*train, infos, fit)
    manifests["weak_train"] = {}
    for name, path in paths.get("weak", {}).items():
        entry = _entry(path, infos[path])
        entry["labels"] = list(sets["weak"].clips[name])
        manifests["weak_train"][_clip_id(name)] = entry
    manifests["unlabeled"] = {
        clip: _entry(path, infos[path]) for clip, path in unlabeled.items()
    }
    manifests["valid"], *valid_tsvs = _strong_manifest(*valid, infos, fit)
    fit.warn()
    _check_classes(known, manifests, notes)

    summary = _summary(known, manifests, options, notes)
    files = _output_files(
        known, manifests, valid_tsvs, missing, unreadable, summary
    )
    _write_all(out_dir, files)
    for name in SUBSETS:
        if manifests[name]:
            logger.info(
                "%s: %d files -> %s",
                name,
                len(manifests[name]),
                os.path.join(out_dir, f"{name}.json"),
            )
    return json.loads(json.dumps(summary))
