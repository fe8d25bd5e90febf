"""Data: audio reading, DESED manifests and the mini-DESED synthesizer.

- :mod:`~speechbrain_atst.data.audio`: ``read_audio`` (mono float32 at
  16 kHz, resampled when needed) and ``audio_info``.
- :mod:`~speechbrain_atst.data.desed`: ``prepare_desed`` writes SpeechBrain
  JSON manifests and evaluation TSVs from a DESED tree.
- :mod:`~speechbrain_atst.data.synth`: ``synthesize_mini_desed`` writes a
  small synthesized dataset in the same layout.
- :mod:`~speechbrain_atst.data.tsv`: the one reader of every metadata
  table, with one set of repair rules for the preparation and the
  evaluation: ``read_strong_labels`` (``filename onset offset
  event_label``), ``read_weak_labels`` (``filename event_labels``),
  ``read_clip_durations`` (``filename duration``), on ``read_tsv``.

``DESED_LAYOUT`` (below) is the one description of the DESED ``dataset/``
folder that both the synthesizer and the preparation use. The functions are
importable from this package; their modules load on first use.

Authors
 * speechbrain-atst team 2026
"""

from speechbrain_atst.lazy import lazy_getattr

#: The DESED ``dataset/`` folder as used by ATST-SED, per subset: audio
#: folder, metadata TSV (``kind`` says whether it holds strong or weak
#: labels; unlabeled audio has none) and durations TSV, all relative to
#: the dataset folder.
DESED_LAYOUT = {
    "synth_train": {
        "audio": "audio/train/synthetic21_train/soundscapes_16k",
        "tsv": "metadata/train/synthetic21_train/soundscapes.tsv",
        "durations": None,
        "kind": "strong",
    },
    "strong": {
        "audio": "audio/train/strong_label_real_16k",
        "tsv": "metadata/train/audioset_strong.tsv",
        "durations": None,
        "kind": "strong",
    },
    "weak": {
        "audio": "audio/train/weak_16k",
        "tsv": "metadata/train/weak.tsv",
        "durations": None,
        "kind": "weak",
    },
    "unlabeled": {
        "audio": "audio/train/unlabel_in_domain_16k",
        "tsv": None,
        "durations": None,
        "kind": "unlabeled",
    },
    "synth_valid": {
        "audio": "audio/validation/synthetic21_validation/soundscapes_16k",
        "tsv": "metadata/validation/synthetic21_validation/soundscapes.tsv",
        "durations": (
            "metadata/validation/synthetic21_validation/durations.tsv"
        ),
        "kind": "strong",
    },
    "validation": {
        "audio": "audio/validation/validation_16k",
        "tsv": "metadata/validation/validation.tsv",
        "durations": "metadata/validation/validation_durations.tsv",
        "kind": "strong",
    },
}

_EXPORTS = {
    "AudioInfo": "audio",
    "audio_info": "audio",
    "read_audio": "audio",
    "resample": "audio",
    "prepare_desed": "desed",
    "synthesize_mini_desed": "synth",
    "read_clip_durations": "tsv",
    "read_strong_labels": "tsv",
    "read_tsv": "tsv",
    "read_weak_labels": "tsv",
}

__all__ = ["DESED_LAYOUT", *_EXPORTS]


#: Imports the public names from their modules on first access.
__getattr__ = lazy_getattr(__name__, _EXPORTS)
