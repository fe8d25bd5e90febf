"""A synthesized "own sounds" dataset, as a user would bring it.

``synthesize_custom_dataset`` writes a small dataset of four classes that
are not DESED's, in the formats ``speechbrain-atst prepare-custom`` reads,
with the variety of real recordings: clips of 3 s to 40 s, sample rates of
16, 22.05, 32 and 44.1 kHz, a quarter of them stereo, wav and flac::

    OUT/audio/strong/*.wav|flac  OUT/strong.tsv (filename onset offset label)
    OUT/audio/weak/*.wav|flac    OUT/weak.tsv (filename event_labels)
    OUT/audio/unlabeled/*.wav

The classes (a warehouse): ``Forklift_beep`` (a reversing beeper),
``Compressor`` (a motor hum with harmonics and rattle), ``Door_slam``
(short impacts) and ``Bird_chirp`` (frequency-modulated chirps), mixed over
the backgrounds of :mod:`speechbrain_atst.data.synth`. Deterministic for a
seed.

Authors
 * speechbrain-atst team 2026
"""

from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

from speechbrain_atst.data.synth import (
    SR,
    _filt,
    _noise,
    _phase,
    fmt_time,
    place_events,
    render_clip,
    write_tsv,
)
from speechbrain_atst.data.tsv import STRONG_COLUMNS, WEAK_COLUMNS

#: Event length distributions: (median s, log-sigma, min s, max s).
CUSTOM_EVENT_LENGTHS = {
    "Bird_chirp": (1.5, 0.5, 0.3, 5.0),
    "Compressor": (8.0, 0.5, 2.0, 25.0),
    "Door_slam": (0.5, 0.3, 0.2, 1.0),
    "Forklift_beep": (3.0, 0.5, 1.0, 10.0),
}
#: The classes, sorted (the class list prepare-custom derives).
CUSTOM_CLASSES = tuple(sorted(CUSTOM_EVENT_LENGTHS))
#: Sample rates of the files, drawn per file.
CUSTOM_RATES = (16000, 22050, 32000, 44100)
#: Clip lengths (s): drawn uniformly.
CUSTOM_DURATIONS = (3.0, 40.0)
#: Clips of each part at the default size.
CUSTOM_SIZES = {"strong": 40, "weak": 24, "unlabeled": 24}


def _forklift_beep(rng, n):
    """A reversing beeper: a square-ish tone gated on and off."""
    t = np.arange(n) / SR
    f0 = rng.uniform(900, 1400)
    period = rng.uniform(0.6, 1.2)
    gate = (np.mod(t, period) < period / 2).astype(np.float32)
    gate = np.convolve(gate, np.hanning(48) / 24, mode="same")
    ph = 2 * np.pi * f0 * t
    tone = np.sin(ph) + 0.3 * np.sin(3 * ph) + 0.15 * np.sin(5 * ph)
    return (gate * tone).astype(np.float32)


def _compressor(rng, n):
    """A motor hum: a low sawtooth with harmonics, rattle and noise."""
    t = np.arange(n) / SR
    f0 = rng.uniform(25, 60) * (1 + 0.01 * np.sin(2 * np.pi * 0.3 * t))
    ph = _phase(f0.astype(np.float32))
    hum = sum(np.sin(k * ph) / k for k in range(1, 12))
    rattle = _filt(_noise(rng, n), "bandpass", (400, 2500))
    rattle *= 0.5 + 0.5 * np.sin(ph * rng.integers(2, 5))
    return (hum + rng.uniform(0.2, 0.6) * rattle).astype(np.float32)


def _door_slam(rng, n):
    """One impact: a low thud and a broadband crack, decaying fast."""
    t = np.arange(n) / SR
    tau = rng.uniform(0.04, 0.12)
    thud = np.sin(2 * np.pi * rng.uniform(50, 120) * t)
    crack = _filt(_noise(rng, n), "highpass", rng.uniform(800, 2000))
    out = (thud + rng.uniform(0.3, 1.0) * crack) * np.exp(-t / tau)
    return out.astype(np.float32)


def _bird_chirp(rng, n):
    """A song of frequency-modulated chirps with short gaps."""
    out = np.zeros(n, dtype=np.float32)
    pos = 0
    f_lo, f_hi = sorted(rng.uniform(2000, 6500, 2))
    while pos < n:
        m = min(int(rng.uniform(0.05, 0.15) * SR), n - pos)
        f = (
            np.linspace(f_lo, f_hi, m)
            if rng.random() < 0.7
            else np.linspace(f_hi, f_lo, m)
        )
        out[pos : pos + m] = np.sin(_phase(f.astype(np.float32))) * np.hanning(
            m
        )
        pos += m + int(rng.uniform(0.03, 0.12) * SR)
    return out


#: Generators of the classes: (rng, n_samples at 16 kHz) -> waveform.
CUSTOM_GENERATORS = {
    "Bird_chirp": _bird_chirp,
    "Compressor": _compressor,
    "Door_slam": _door_slam,
    "Forklift_beep": _forklift_beep,
}


def _resample(wav, rate):
    """Resamples a 16 kHz waveform to ``rate`` (polyphase filter)."""
    if rate == SR:
        return wav
    g = gcd(rate, SR)
    return signal.resample_poly(wav, rate // g, SR // g).astype(np.float32)


def _clip(rng, labels):
    """One clip: (waveform at 16 kHz, duration, events)."""
    duration = round(float(rng.uniform(*CUSTOM_DURATIONS)), 3)
    n_samples = int(round(duration * SR))
    events = place_events(rng, labels, duration, CUSTOM_EVENT_LENGTHS)
    wav, events = render_clip(
        rng, n_samples, events, (0, 15), CUSTOM_GENERATORS
    )
    return wav, duration, events


def _write(folder, name, wav, rng):
    """Writes a clip at a random rate, mono or stereo, wav or flac."""
    rate = int(rng.choice(CUSTOM_RATES))
    out = _resample(wav, rate)
    if rng.random() < 0.25:  # stereo: the two channels differ in gain
        out = np.stack([out, out * rng.uniform(0.5, 0.9)], axis=1)
    ext = "flac" if rng.random() < 0.3 else "wav"
    filename = f"{name}.{ext}"
    sf.write(folder / filename, out, rate, subtype="PCM_16")
    return filename


def synthesize_custom_dataset(out_dir, sizes=None, seed=0):
    """Writes the dataset (see the module docstring).

    Arguments
    ---------
    out_dir : str or os.PathLike
        Destination folder.
    sizes : dict, optional
        Clips of each part (``strong``, ``weak``, ``unlabeled``);
        :data:`CUSTOM_SIZES` by default.
    seed : int
        Random seed.

    Returns
    -------
    dict
        Paths: ``audio_dir`` (the folder the TSVs' file names are relative
        to), ``strong``, ``weak`` (TSVs), ``unlabeled_dir``; and
        ``classes``.

    Example
    -------
    >>> out = synthesize_custom_dataset(
    ...     getfixture("tmp_path"), {"strong": 2, "weak": 1, "unlabeled": 1}
    ... )
    >>> open(out["strong"]).readline().split()
    ['filename', 'onset', 'offset', 'event_label']
    >>> sorted(p.name for p in Path(out["audio_dir"]).iterdir())
    ['strong', 'unlabeled', 'weak']
    """
    sizes = {**CUSTOM_SIZES, **(sizes or {})}
    out_dir = Path(out_dir)
    audio = out_dir / "audio"
    rows = {"strong": [], "weak": []}
    for part_index, part in enumerate(("strong", "weak", "unlabeled")):
        folder = audio / part
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(int(sizes[part])):
            rng = np.random.default_rng([seed, part_index, i])
            first = CUSTOM_CLASSES[i % len(CUSTOM_CLASSES)]
            extra = rng.choice(CUSTOM_CLASSES, int(rng.integers(0, 3)))
            wav, _, events = _clip(rng, [first, *extra])
            name = f"{part}/{part}_{i:03d}"
            filename = _write(audio, name, wav, rng)
            if part == "strong":
                rows["strong"] += [
                    [filename, fmt_time(on), fmt_time(off), label]
                    for on, off, label in events
                ]
            elif part == "weak":
                labels = sorted({label for _, _, label in events})
                rows["weak"].append([filename, ",".join(labels)])
    paths = {
        "audio_dir": str(audio),
        "strong": str(out_dir / "strong.tsv"),
        "weak": str(out_dir / "weak.tsv"),
        "unlabeled_dir": str(audio / "unlabeled"),
        "classes": list(CUSTOM_CLASSES),
    }
    headers = {"strong": STRONG_COLUMNS, "weak": WEAK_COLUMNS}
    for part, header in headers.items():
        write_tsv(Path(paths[part]), header, rows[part])
    return paths
