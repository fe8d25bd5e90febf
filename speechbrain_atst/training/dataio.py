"""Data pipelines of SED training: manifests -> 10 s waveforms + targets.

Each JSON manifest written by ``prepare_desed`` (``{id: {"wav", "duration",
"sample_rate", "events" | "labels"}}``) becomes a SpeechBrain
:class:`~speechbrain.dataio.dataset.DynamicItemDataset` whose items hold:

* ``wav``: the audio file path;
* ``sig``: a ``[clip_samples]`` waveform. Longer clips are cropped at a
  random start when training (the start is 0 for validation and test),
  shorter ones are right-padded with zeros;
* ``crop_start``: the crop start in samples (part of the key of the stage-1
  transformer cache);
* ``strong``: ``[n_frames, n_classes]`` frame targets (events shifted by the
  crop start, clamped to the window, dropped if empty; zeros for weak and
  unlabeled clips);
* ``weak``: ``[n_classes]`` clip targets (zeros for strong and unlabeled
  clips; the training objective only reads them for weak clips).

Front-ends are not computed here: the brain computes both mel
spectrograms once per batch on the training device.

Authors
 * speechbrain-atst team 2026
"""

import os

import speechbrain as sb
import torch
from speechbrain.dataio.batch import PaddedBatch
from speechbrain.dataio.dataset import DynamicItemDataset

from speechbrain_atst.data.audio import read_audio
from speechbrain_atst.labels import CLIP_SECONDS, FrameGrid, ManyHotEncoder

#: Order of the training subsets inside a batch (official order).
TRAIN_SUBSETS = ("strong_train", "synth_train", "weak_train", "unlabeled")
#: Kind of labels of each manifest.
MANIFEST_KINDS = {
    "strong_train": "strong",
    "synth_train": "strong",
    "weak_train": "weak",
    "unlabeled": "unlabeled",
    "synth_valid": "strong",
    "weak_valid": "weak",
    "strong_valid": "strong",
    "validation": "strong",
}
#: Order of the validation subsets (the ``subset`` field of a valid item).
VALID_SUBSETS = ("synth_valid", "weak_valid", "strong_valid")
#: Output keys of every item.
OUTPUT_KEYS = ["id", "wav", "sig", "crop_start", "strong", "weak"]


class EmptySubset(torch.utils.data.Dataset):
    """A dataset without items (a subset the user does not have).

    Example
    -------
    >>> len(EmptySubset("strong_train"))
    0
    """

    def __init__(self, name="dataset"):
        self.name = name

    def __len__(self):
        return 0

    def __getitem__(self, index):
        raise IndexError(f"The {self.name} subset is empty")


def crop_events(events, offset, clip_seconds):
    """Moves events into a window starting at ``offset`` seconds.

    Onsets and offsets are shifted by ``-offset``, clamped to
    ``[0, clip_seconds]``; events left empty are dropped, duplicates
    removed.

    Arguments
    ---------
    events : iterable of (onset, offset, label)
        Events in seconds from the start of the file.
    offset : float
        Start of the window (seconds).
    clip_seconds : float
        Window length (seconds).

    Returns
    -------
    list of (float, float, str)
        The events inside the window, sorted.

    Example
    -------
    >>> crop_events([(1.0, 4.0, "Dog"), (12.0, 13.0, "Cat")], 2.0, 10.0)
    [(0.0, 2.0, 'Dog')]
    """
    out = set()
    for onset, off, label in events:
        start = min(max(float(onset) - offset, 0.0), clip_seconds)
        stop = min(max(float(off) - offset, 0.0), clip_seconds)
        if start < stop:
            out.add((round(start, 6), round(stop, 6), str(label)))
    return sorted(out)


def load_clip(path, duration, clip_samples, sample_rate, random_crop):
    """Reads a fixed-length window of an audio file.

    Arguments
    ---------
    path : str
        Audio file.
    duration : float or None
        Duration from the manifest (seconds); read from the file if None.
    clip_samples : int
        Window length (samples).
    sample_rate : int
        Target sample rate.
    random_crop : bool
        Draw the start of a window in a longer file at random (torch's
        global generator); else start at 0.

    Returns
    -------
    tuple
        ``(wav [clip_samples], start_samples)``.

    Example
    -------
    >>> import tempfile, soundfile, numpy
    >>> path = tempfile.mkdtemp() + "/a.wav"
    >>> soundfile.write(path, numpy.zeros(8000), 16000)
    >>> wav, start = load_clip(path, 0.5, 16000, 16000, True)
    >>> wav.shape, start
    (torch.Size([16000]), 0)
    """
    if duration is None:
        n_total = None
    else:
        n_total = int(round(float(duration) * sample_rate))
    start = 0
    if random_crop and n_total is not None and n_total > clip_samples:
        start = int(torch.randint(0, n_total - clip_samples + 1, (1,)))
    wav = read_audio(
        path,
        sample_rate=sample_rate,
        offset=start / sample_rate,
        duration=clip_samples / sample_rate,
    )
    if wav.shape[0] >= clip_samples:
        return wav[:clip_samples], start
    pad = torch.zeros(clip_samples - wav.shape[0], dtype=wav.dtype)
    return torch.cat([wav, pad]), start


def make_dataset(
    manifest,
    kind,
    encoder,
    data_root,
    train,
    name=None,
    subset_index=None,
    drop_empty=False,
):
    """Builds the dataset of one manifest.

    Arguments
    ---------
    manifest : str or None
        The JSON manifest; None or "" gives an empty dataset.
    kind : str
        ``"strong"``, ``"weak"`` or ``"unlabeled"``.
    encoder : ManyHotEncoder
        Label encoder (class list and frame grid).
    data_root : str
        Replaces ``{data_root}`` in the manifest's paths.
    train : bool
        Random crops of long clips (training) or crops starting at 0.
    name : str, optional
        Name used in error messages.
    subset_index : int, optional
        If given, items get a ``subset`` field with this value.
    drop_empty : bool
        Leave out strong clips without any event (as the official
        training sets do).

    Returns
    -------
    DynamicItemDataset or EmptySubset
        The dataset (an :class:`EmptySubset` when there is no clip).
    """
    if kind not in ("strong", "weak", "unlabeled"):
        raise ValueError(f"Unknown manifest kind {kind!r}")
    name = name or (os.path.basename(manifest) if manifest else "dataset")
    if manifest:
        if not os.path.isfile(manifest):
            raise FileNotFoundError(
                f"Manifest of '{name}' not found: {manifest}"
            )
        data = sb.dataio.dataio.load_data_json(
            manifest, replacements={"data_root": str(data_root)}
        )
    else:
        data = {}
    if drop_empty and kind == "strong":
        data = {k: v for k, v in data.items() if v.get("events")}
    if not data:
        return EmptySubset(name)
    grid = encoder.grid
    clip_samples, sample_rate = grid.clip_samples, grid.sample_rate
    # Frames the network outputs for one window (156 for 10 s).
    n_frames, n_classes = grid.model_frames(clip_samples), encoder.n_classes

    @sb.utils.data_pipeline.takes("wav", "duration")
    @sb.utils.data_pipeline.provides("sig", "crop_start")
    def audio_pipeline(path, duration):
        wav, start = load_clip(
            path, duration, clip_samples, sample_rate, random_crop=train
        )
        yield wav
        yield start

    dynamic_items = [audio_pipeline]
    if kind == "strong":

        @sb.utils.data_pipeline.takes("id", "events", "crop_start")
        @sb.utils.data_pipeline.provides("strong", "weak")
        def label_pipeline(clip_id, events, crop_start):
            offset = round(crop_start / sample_rate, 3)
            try:
                kept = crop_events(events, offset, grid.clip_seconds)
                strong = encoder.encode_strong(kept, n_frames=n_frames)
            except (KeyError, ValueError, TypeError) as err:
                raise ValueError(
                    f"{manifest}: bad events of '{clip_id}': {err}"
                ) from None
            yield strong
            yield torch.zeros(n_classes)

    elif kind == "weak":

        @sb.utils.data_pipeline.takes("id", "labels")
        @sb.utils.data_pipeline.provides("strong", "weak")
        def label_pipeline(clip_id, labels):
            try:
                weak = encoder.encode_weak(labels)
            except KeyError as err:
                raise ValueError(
                    f"{manifest}: bad labels of '{clip_id}': {err}"
                ) from None
            yield torch.zeros(n_frames, n_classes)
            yield weak

    else:

        @sb.utils.data_pipeline.takes("id")
        @sb.utils.data_pipeline.provides("strong", "weak")
        def label_pipeline(clip_id):
            yield torch.zeros(n_frames, n_classes)
            yield torch.zeros(n_classes)

    dynamic_items.append(label_pipeline)
    keys = list(OUTPUT_KEYS)
    if subset_index is not None:
        for entry in data.values():
            entry["subset"] = int(subset_index)
        keys.append("subset")
    for clip_id, entry in data.items():
        missing = [k for k in ("wav",) if k not in entry]
        if kind == "strong" and "events" not in entry:
            missing.append("events")
        if kind == "weak" and "labels" not in entry:
            missing.append("labels")
        if missing:
            raise ValueError(
                f"{manifest}: entry '{clip_id}' lacks {', '.join(missing)}"
            )
        entry.setdefault("duration", None)
    return DynamicItemDataset(
        data, dynamic_items=dynamic_items, output_keys=keys
    )


def manifest_paths(folder, names=None):
    """Paths ``<folder>/<name>.json`` of the manifests (None if missing).

    Arguments
    ---------
    folder : str
        Folder written by ``prepare_desed``.
    names : iterable of str, optional
        Manifest names; all of :data:`MANIFEST_KINDS` by default.

    Returns
    -------
    dict
        ``{name: path or None}``.

    Example
    -------
    >>> manifest_paths("/nowhere", ["weak_train"])
    {'weak_train': None}
    """
    names = MANIFEST_KINDS if names is None else names
    out = {}
    for name in names:
        path = os.path.join(folder, f"{name}.json")
        out[name] = path if os.path.isfile(path) else None
    return out


def build_train_set(manifests, batch_sizes, encoder, data_root):
    """Concatenation of the four training subsets, in batch order.

    Arguments
    ---------
    manifests : dict
        ``{name: path or None}`` for the names of :data:`TRAIN_SUBSETS`.
    batch_sizes : sequence of int
        Items per batch of each subset; a subset with batch size 0 may be
        missing (it is replaced by an empty dataset).
    encoder : ManyHotEncoder
        The label encoder.
    data_root : str
        The dataset folder.

    Returns
    -------
    torch.utils.data.ConcatDataset
        The four datasets, in :data:`TRAIN_SUBSETS` order.
    """
    if len(batch_sizes) != len(TRAIN_SUBSETS):
        raise ValueError(
            f"batch_sizes needs {len(TRAIN_SUBSETS)} values "
            f"{list(TRAIN_SUBSETS)}, got {list(batch_sizes)}"
        )
    parts = []
    for name, size in zip(TRAIN_SUBSETS, batch_sizes):
        path = manifests.get(name)
        if int(size) > 0 and not path:
            raise FileNotFoundError(
                f"No manifest for training subset '{name}' (batch size "
                f"{size}); set its batch size to 0 to train without it"
            )
        parts.append(
            make_dataset(
                path if int(size) > 0 else None,
                MANIFEST_KINDS[name],
                encoder,
                data_root,
                train=True,
                name=name,
                drop_empty=True,
            )
        )
    return torch.utils.data.ConcatDataset(parts)


def build_valid_set(manifests, encoder, data_root):
    """Validation set: synth_valid, weak_valid and strong_valid together.

    Items carry ``subset`` = index in :data:`VALID_SUBSETS`; missing
    manifests give empty parts.

    Arguments
    ---------
    manifests : dict
        ``{name: path or None}``.
    encoder : ManyHotEncoder
        The label encoder.
    data_root : str
        The dataset folder.

    Returns
    -------
    torch.utils.data.ConcatDataset
        The validation set.
    """
    parts = [
        make_dataset(
            manifests.get(name),
            MANIFEST_KINDS[name],
            encoder,
            data_root,
            train=False,
            name=name,
            subset_index=i,
        )
        for i, name in enumerate(VALID_SUBSETS)
    ]
    return torch.utils.data.ConcatDataset(parts)


def build_datasets(
    manifest_folder,
    data_root,
    batch_sizes,
    classes=None,
    train_clip_seconds=None,
):
    """All datasets of a training run.

    Arguments
    ---------
    manifest_folder : str
        Folder holding the JSON manifests.
    data_root : str
        The dataset folder (``{data_root}`` in the manifests).
    batch_sizes : sequence of int
        ``[real strong, synthetic, weak, unlabeled]`` items per batch.
    classes : None, str or sequence of str
        The class list.
    train_clip_seconds : float, optional
        Length of the training windows (random crops of longer clips);
        10 s (the model's window, ``labels.CLIP_SECONDS``) by default.
        Shorter windows make cheap smoke tests; validation and test always
        use 10 s windows.

    Returns
    -------
    dict
        ``train`` (ConcatDataset), ``valid`` (ConcatDataset with a
        ``subset`` field), ``test`` (DynamicItemDataset of the real
        validation set, or None if missing), ``encoder`` and ``manifests``.
    """
    encoder = ManyHotEncoder(classes)
    train_encoder = encoder
    if train_clip_seconds and float(train_clip_seconds) != CLIP_SECONDS:
        train_encoder = ManyHotEncoder(
            classes, FrameGrid(clip_seconds=float(train_clip_seconds))
        )
    manifests = manifest_paths(manifest_folder)
    test = None
    if manifests["validation"]:
        test = make_dataset(
            manifests["validation"],
            "strong",
            encoder,
            data_root,
            train=False,
            name="validation",
        )
        if len(test) == 0:
            test = None
    return {
        "train": build_train_set(
            manifests, batch_sizes, train_encoder, data_root
        ),
        "valid": build_valid_set(manifests, encoder, data_root),
        "test": test,
        "encoder": encoder,
        "manifests": manifests,
    }


def collate(examples):
    """Collates items into a :class:`~speechbrain.dataio.batch.PaddedBatch`.

    Arguments
    ---------
    examples : list of dict
        Dataset items.

    Returns
    -------
    PaddedBatch
        The batch.
    """
    return PaddedBatch(examples)
