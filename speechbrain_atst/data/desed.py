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
  copies lack the YouTube clips deleted since its release), and
  ``unreadable_files.txt`` (``path<TAB>problem``) for audio files that
  cannot be read (empty, truncated, not audio); preparation stops on
  either unless ``skip_missing=True``.

Metadata problems are errors that name the file and the line (missing
columns, fields not separated by tabs, unknown labels, onset after offset,
negative or unparsable times), except harmless ones, which are repaired
and counted in a warning: duplicate rows are kept once, zero-length events
dropped, overlapping or touching events of one class in a clip merged
(sed_scores_eval refuses them in a ground truth), events ending after
their clip cut at its end in the manifests (the ground-truth TSVs keep
them, as the DCASE evaluation does) and events starting after the end of
their clip dropped. Only the audio headers are read here: NaN or infinite
samples are reported, naming the file, when a clip is loaded.

The weak set is split as ATST-SED does it: the training part is
``DataFrame.sample(frac=weak_split, random_state=seed)`` over the rows of
``weak.tsv``, the rest is validation (1420 / 158 clips on DESED). The real
strong set is split the same way over its clips, unless a fixed split is
given: ATST-SED's lists of 3,000 training and 373 validation clips (the
default of the DESED recipe, ``strong_split_lists``) or split TSVs.
Splits are drawn over all TSV rows before missing files are removed, so
they do not depend on which files a copy lacks.

Durations and sample rates come from the file headers (no decoding).
Audio at another rate than 16 kHz is recorded with its own
``sample_rate`` and resampled on load by
:func:`~speechbrain_atst.data.audio.read_audio`.

Authors
 * speechbrain-atst team 2026
"""

import json
import logging
import os

import pandas as pd

from speechbrain_atst.data import DESED_LAYOUT
from speechbrain_atst.data.audio import audio_info
from speechbrain_atst.data.tsv import STRONG_COLUMNS as _STRONG_COLUMNS
from speechbrain_atst.data.tsv import read_strong_labels, read_weak_labels
from speechbrain_atst.labels import load_classes

logger = logging.getLogger(__name__)

#: Name of the file that records the options of a finished preparation.
OPTIONS_FILE = "prepare_desed_options.json"
#: Name of the list of audio files that the TSVs name but the tree lacks.
MISSING_FILE = "missing_files.txt"
#: Name of the list of audio files that cannot be read (path, problem).
UNREADABLE_FILE = "unreadable_files.txt"
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


# ---------------------------------------------------------------------------
# TSV parsing
# ---------------------------------------------------------------------------


def read_strong_tsv(path, classes=None):
    """Reads a DESED strong-label TSV (``filename onset offset event_label``).

    :func:`speechbrain_atst.data.tsv.read_strong_labels` keyed by file
    name, with DESED's classes by default: its rules (the one set of the
    preparation and the evaluation) repair duplicate rows, zero-length
    events and overlapping or touching events of one class with a counted
    warning, and refuse anything else wrong, naming the file and the line.

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

    Example
    -------
    >>> path = getfixture("tmp_path") / "strong.tsv"
    >>> with open(path, "w") as fout:
    ...     _ = fout.write("filename\\tonset\\toffset\\tevent_label\\n")
    ...     _ = fout.write("a.wav\\t0.5\\t1.25\\tDog\\nb.wav\\t\\t\\t\\n")
    >>> read_strong_tsv(path)
    {'a.wav': [(0.5, 1.25, 'Dog')], 'b.wav': []}
    """
    return read_strong_labels(path, classes=load_classes(classes))


def read_weak_tsv(path, classes=None):
    """Reads a DESED weak-label TSV (``filename event_labels``).

    :func:`speechbrain_atst.data.tsv.read_weak_labels` with DESED's
    classes by default.

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

    Example
    -------
    >>> path = getfixture("tmp_path") / "weak.tsv"
    >>> with open(path, "w") as fout:
    ...     _ = fout.write("filename\\tevent_labels\\na.wav\\tDog,Cat\\n")
    >>> read_weak_tsv(path)
    {'a.wav': ['Dog', 'Cat']}
    """
    return read_weak_labels(path, classes=load_classes(classes))


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
    if "unreadable_files" in outputs:
        return None  # replaced files do not change the fingerprints
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


def read_name_list(path):
    """Reads a list of audio file names, one per line.

    Blank lines and lines starting with ``#`` are skipped.

    Arguments
    ---------
    path : str or os.PathLike
        The text file.

    Returns
    -------
    list of str
        The names in file order.

    Raises
    ------
    ValueError
        If a name is repeated or holds a tab (the line is named).

    Example
    -------
    >>> import tempfile
    >>> path = tempfile.mktemp(suffix=".txt")
    >>> with open(path, "w") as fout:
    ...     fout.writelines(["# a comment", chr(10), "Y1.wav", chr(10)])
    ...     fout.writelines([chr(10), "Y2.wav", chr(10)])
    >>> read_name_list(path)
    ['Y1.wav', 'Y2.wav']
    """
    names, seen = [], {}
    with open(path, encoding="utf-8") as fin:
        for number, line in enumerate(fin, start=1):
            name = line.strip()
            if not name or name.startswith("#"):
                continue
            if "\t" in name:
                raise ValueError(
                    f"{path}, line {number}: expected one file name per "
                    f"line, got {line.rstrip()!r}"
                )
            if name in seen:
                raise ValueError(
                    f"{path}, line {number}: {name} is already listed on "
                    f"line {seen[name]}"
                )
            seen[name] = number
            names.append(name)
    return names


def resolve_strong_split(value):
    """The ``strong_split_lists`` of :func:`prepare_desed` for a setting.

    Arguments
    ---------
    value : str, sequence of two paths, or None
        ``"official"``: ATST-SED's fixed lists (3,000 / 373 clips);
        ``"random"`` or None: the random split (``strong_split``,
        ``seed``); ``"TRAIN,VALID"`` or a pair: two name-list files.

    Returns
    -------
    tuple or None
        The two list paths, or None for the random split.

    Example
    -------
    >>> resolve_strong_split("random") is None
    True
    >>> [p.name for p in resolve_strong_split("official")]
    ['audioset_strong_train.txt', 'audioset_strong_val.txt']
    >>> resolve_strong_split("a.txt,b.txt")
    ('a.txt', 'b.txt')
    """
    from speechbrain_atst.resources import official_strong_split

    if value is None or value == "random":
        return None
    if value == "official":
        return official_strong_split()
    parts = value.split(",") if isinstance(value, str) else list(value)
    if len(parts) != 2 or not all(str(p).strip() for p in parts):
        raise ValueError(
            "A strong split is 'official', 'random' or two list files "
            f"'TRAIN,VALID'; got {value!r}"
        )
    return tuple(str(p).strip() for p in parts)


def _listed_split(clips, lists, skip_missing):
    """The (train, valid) names of a fixed split given as name lists.

    Names absent from the strong TSV have no labels: an error naming the
    list, or (``skip_missing``) a warning.
    """
    parts = []
    for path in lists:
        names = read_name_list(path)
        unknown = [n for n in names if n not in clips]
        if unknown:
            message = (
                f"{len(unknown)} of the {len(names)} clips listed in {path} "
                f"are not in the strong-label TSV (first: "
                f"{', '.join(unknown[:3])})"
            )
            if not skip_missing:
                raise ValueError(message + "; pass skip_missing to skip them")
            logger.warning("%s; skipped", message)
        parts.append([n for n in names if n in clips])
    overlap = set(parts[0]) & set(parts[1])
    if overlap:
        raise ValueError(
            f"{len(overlap)} clips are in both {lists[0]} and {lists[1]} "
            f"(first: {sorted(overlap)[0]})"
        )
    return parts


def _plan(subsets, weak_split, strong_split, seed, lists, skip_missing):
    """Maps each manifest name to (audio folder, {fname: value})."""
    plan = {}

    def take(name, source, names):
        clips = subsets[source]["clips"]
        plan[name] = (subsets[source]["audio"], {n: clips[n] for n in names})

    if "synth_train" in subsets:
        take("synth_train", "synth_train", subsets["synth_train"]["clips"])
    if "strong" in subsets and lists:  # ATST-SED's fixed lists
        train, valid = _listed_split(
            subsets["strong"]["clips"], lists, skip_missing
        )
        take("strong_train", "strong", train)
        take("strong_valid", "strong", valid)
    elif "strong_valid" in subsets:  # split TSVs given
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


def _probe_audio(data_folder, plan, missing):
    """Reads the header of every planned file that exists.

    Returns ``({rel path: AudioInfo}, [(rel path, problem)])``: all the
    unreadable files are found in one pass, so a user fixes them at once.
    """
    infos, unreadable = {}, []
    for folder, clips in plan.values():
        for fname in clips:
            rel = f"{folder}/{fname}"
            if rel in missing or rel in infos:
                continue
            try:
                infos[rel] = audio_info(os.path.join(data_folder, rel))
            except (ValueError, OSError) as err:
                infos[rel] = None
                unreadable.append((rel, str(err)))
    return infos, unreadable


def _manifest(name, folder, clips, kind, infos):
    """Builds one manifest.

    Events ending after their clip are cut at its end in the manifest
    (the label encoder would cut them anyway) and kept as they are in the
    ground truth (as the DCASE evaluation uses them); events starting at
    or after the end of their clip are dropped from both (nothing of them
    can be detected). Both are counted in a warning.

    Returns
    -------
    tuple
        ``(entries, [(fname, duration)], ground-truth rows)``.
    """
    entries, durations, gt_rows = {}, [], []
    late, outside = [], []
    for fname, value in clips.items():
        clip_id = _clip_id(fname)
        if clip_id in entries:
            raise ValueError(
                f"Two files of the {name} set share the id {clip_id!r} "
                f"({fname}); ids are file names without extension"
            )
        info = infos[f"{folder}/{fname}"]
        entry = {
            "wav": "{data_root}/" + _escape(f"{folder}/{fname}"),
            "duration": round(info.duration, 6),
            "sample_rate": info.sample_rate,
        }
        if kind == "strong":
            events = []
            for on, off, lab in value:
                if on >= entry["duration"]:
                    outside.append(fname)
                    continue
                gt_rows.append((fname, on, off, lab))
                if off > entry["duration"]:
                    late.append(off - entry["duration"])
                    off = entry["duration"]
                events.append([on, off, lab])
            entry["events"] = events
        elif kind == "weak":
            entry["labels"] = list(value)
        entries[clip_id] = entry
        durations.append((fname, entry["duration"]))
    if late:
        logger.warning(
            "%s: %d events end after their clip (by up to %.3f s): cut at "
            "the end of the clip in the manifest%s",
            name,
            len(late),
            max(late),
            ", kept in the ground truth (as DCASE evaluates them)"
            if name in EVAL_SETS
            else "",
        )
    if outside:
        shown = ", ".join(list(dict.fromkeys(outside))[:5])
        logger.warning(
            "%s: %d events start at or after the end of their clip "
            "(e.g. in %s): dropped",
            name,
            len(outside),
            shown,
        )
    return entries, durations, gt_rows


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
    strong_split_lists=None,
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
        If False (default), audio files named in the TSVs but absent, or
        unreadable (empty, truncated, not audio), raise an error; if True
        they are left out. Either way they are listed in
        ``missing_files.txt`` / ``unreadable_files.txt`` (with the problem
        of each).
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
    strong_split_lists : (str, str), optional
        Text files naming the real strong clips used for training and for
        validation (one file name per line), labels taken from
        ``audioset_strong.tsv``; replaces the random split. ATST-SED's
        fixed lists (3,000 / 373 clips) are
        :func:`speechbrain_atst.resources.official_strong_split`, the
        default of the DESED recipe. Listed clips missing from the TSV are
        an error unless ``skip_missing``.

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
        For malformed TSVs (naming file and line), or unreadable audio
        files (all of them listed) when ``skip_missing`` is False.

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
    if strong_split_lists:
        if strong_train_tsv or len(strong_split_lists) != 2:
            raise ValueError(
                "strong_split_lists takes two files (train, valid) and "
                "excludes strong_train_tsv / strong_valid_tsv"
            )
        strong_split_lists = [
            os.path.abspath(os.fspath(p)) for p in strong_split_lists
        ]
        for path in strong_split_lists:
            if not os.path.isfile(path):
                raise FileNotFoundError(f"Strong split list not found: {path}")
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
    for path in (
        strong_train_tsv,
        strong_valid_tsv,
        *(strong_split_lists or []),
    ):
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
        "strong_split_lists": strong_split_lists or None,
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
    plan = _plan(
        subsets,
        float(weak_split),
        float(strong_split),
        int(seed),
        strong_split_lists,
        bool(skip_missing),
    )

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

    infos, unreadable = _probe_audio(data_folder, plan, missing)
    unreadable_path = os.path.join(save_folder, UNREADABLE_FILE)
    if unreadable:
        with open(unreadable_path, "w", encoding="utf-8") as fout:
            fout.write("".join(f"{rel}\t{why}\n" for rel, why in unreadable))
        if not skip_missing:
            shown = "; ".join(why for _, why in unreadable[:3])
            raise ValueError(
                f"{len(unreadable)} audio files listed in the DESED metadata "
                f"cannot be read: {shown}"
                + (" ..." if len(unreadable) > 3 else "")
                + f". The list is in {unreadable_path}. Replace them, or "
                "pass skip_missing=True (--skip_missing) to leave them out."
            )
        logger.warning(
            "Leaving out %d unreadable audio files (listed in %s)",
            len(unreadable),
            unreadable_path,
        )
    elif os.path.exists(unreadable_path):
        os.remove(unreadable_path)
    missing |= {rel for rel, _ in unreadable}

    outputs = _output_paths(save_folder, plan)
    kinds = {"weak_train": "weak", "weak_valid": "weak", "unlabeled": None}
    for name, (folder, clips) in plan.items():
        clips = {
            f: v for f, v in clips.items() if f"{folder}/{f}" not in missing
        }
        kind = kinds.get(name, "strong")
        entries, durations, gt_rows = _manifest(
            name, folder, clips, kind, infos
        )
        _write_json(outputs[name], entries)
        if name in EVAL_SETS:
            _write_tsv(outputs[f"{name}_gt"], _STRONG_COLUMNS, gt_rows)
            _write_tsv(
                outputs[f"{name}_durations"],
                ("filename", "duration"),
                durations,
            )
        logger.info("%s: %d clips -> %s", name, len(entries), outputs[name])
    if unreadable:
        outputs["unreadable_files"] = unreadable_path
    if missing:
        outputs["missing_files"] = missing_path
    _write_json(options_path, {"options": options, "outputs": outputs})
    return outputs
