"""A procedurally synthesized mini-DESED in the real DESED layout.

``synthesize_mini_desed`` writes a small dataset with the folders, file
names and TSV formats of DESED (the ``dataset/`` folder used by ATST-SED),
so that the whole pipeline (preparation, training, evaluation, inference)
can run anywhere without downloading DESED:

- ``audio/train/synthetic21_train/soundscapes_16k/`` + ``soundscapes.tsv``
- ``audio/train/strong_label_real_16k/`` +
  ``metadata/train/audioset_strong.tsv``
- ``audio/train/weak_16k/`` + ``metadata/train/weak.tsv``
- ``audio/train/unlabel_in_domain_16k/`` (no TSV)
- ``audio/validation/synthetic21_validation/soundscapes_16k/`` +
  ``soundscapes.tsv`` and ``durations.tsv``
- ``audio/validation/validation_16k/`` + ``metadata/validation/
  validation.tsv`` and ``validation_durations.tsv``

Each of the ten DESED classes is a distinct family of synthesized sounds
(beeping alarms, motor-noise blenders, gliding meows, clinking dishes,
barks, buzzing shavers, crackling frying, fluctuating water, syllabic
speech, whining vacuum cleaners) with random pitch, length, envelope,
timbre and loudness per event, mixed at random onsets (overlaps included)
over varied backgrounds (coloured noise, mains hum, rumble and unlabelled
distractors: chirps and knocks). Event lengths follow class-specific
distributions (short speech, dog and dishes events; long vacuum, frying,
blender and water events), so a detector has to localise onsets and
offsets. The "real" sets hold about 10 % of clips shorter than 10 s (as in
the DESED validation set), and the strong sets a few clips without events,
written as rows with empty onset, offset and label like DESED does.

The output is deterministic: a seed gives the same bytes on every run.
Files are 16 kHz mono 16-bit PCM wav.

Authors
 * speechbrain-atst team 2026
"""

import functools
import io
import json
import string
import time
from pathlib import Path

import numpy as np
import scipy.fft
import soundfile as sf
from scipy import signal

from speechbrain_atst.data import DESED_LAYOUT
from speechbrain_atst.labels import (
    CLIP_SECONDS,
    DESED_CLASSES,
    SAMPLE_RATE,
    load_classes,
)

SR = SAMPLE_RATE
#: Number of clips per subset of the named scales.
SCALES = {
    "small": {
        "synth_train": 24,
        "strong": 12,
        "weak": 24,
        "unlabeled": 24,
        "synth_valid": 12,
        "validation": 12,
    },
    "quickstart": {
        "synth_train": 240,
        "strong": 96,
        "weak": 192,
        "unlabeled": 240,
        "synth_valid": 60,
        "validation": 60,
    },
    "benchmark": {
        "synth_train": 2400,
        "strong": 960,
        "weak": 1920,
        "unlabeled": 2400,
        "synth_valid": 600,
        "validation": 600,
    },
}

#: Generation settings per subset (the folders and TSVs are those of
#: ``DESED_LAYOUT``): clip naming ("index" like the DESED synthetic
#: soundscapes, "youtube" like the AudioSet-derived real sets), fraction of
#: clips shorter than 10 s, fraction of clips without events, class prior
#: ("uniform" or "real") and event-to-background ratio range (dB).
SUBSETS = {
    "synth_train": {
        "names": "index",
        "short": 0.0,
        "empty": 0.04,
        "prior": "uniform",
        "snr": (3.0, 20.0),
    },
    "strong": {
        "names": "youtube",
        "short": 0.1,
        "empty": 0.04,
        "prior": "real",
        "snr": (0.0, 18.0),
    },
    "weak": {
        "names": "youtube",
        "short": 0.1,
        "empty": 0.0,
        "prior": "real",
        "snr": (0.0, 18.0),
    },
    "unlabeled": {
        "names": "youtube",
        "short": 0.1,
        "empty": 0.05,
        "prior": "real",
        "snr": (0.0, 18.0),
    },
    "synth_valid": {
        "names": "index",
        "short": 0.0,
        "empty": 0.04,
        "prior": "uniform",
        "snr": (3.0, 20.0),
    },
    "validation": {
        "names": "youtube",
        "short": 0.1,
        "empty": 0.04,
        "prior": "real",
        "snr": (0.0, 18.0),
    },
}
for _name, _spec in SUBSETS.items():
    _spec.update(DESED_LAYOUT[_name])

#: Event length distributions: (median s, log-normal sigma, min s, max s).
EVENT_LENGTHS = {
    "Alarm_bell_ringing": (2.5, 0.7, 0.4, 10.0),
    "Blender": (4.0, 0.5, 1.0, 10.0),
    "Cat": (1.0, 0.4, 0.4, 3.0),
    "Dishes": (0.35, 0.6, 0.08, 1.5),
    "Dog": (0.6, 0.5, 0.15, 2.0),
    "Electric_shaver_toothbrush": (4.0, 0.5, 1.0, 10.0),
    "Frying": (6.0, 0.4, 2.0, 10.0),
    "Running_water": (5.0, 0.5, 1.5, 10.0),
    "Speech": (1.5, 0.6, 0.4, 5.0),
    "Vacuum_cleaner": (6.0, 0.4, 2.0, 10.0),
}

#: Relative frequency of the classes in the "real" sets (speech-heavy,
#: as in the DESED strong-real annotations).
REAL_PRIOR = {
    "Alarm_bell_ringing": 0.10,
    "Blender": 0.06,
    "Cat": 0.07,
    "Dishes": 0.13,
    "Dog": 0.10,
    "Electric_shaver_toothbrush": 0.06,
    "Frying": 0.07,
    "Running_water": 0.07,
    "Speech": 0.28,
    "Vacuum_cleaner": 0.06,
}

_ID_CHARS = string.ascii_letters + string.digits + "-_"


# ---------------------------------------------------------------------------
# Signal helpers
# ---------------------------------------------------------------------------


def _biquad(kind, freq, q):
    """One RBJ-cookbook biquad as a second-order section at 16 kHz."""
    w0 = 2 * np.pi * min(max(freq, 20.0), SR * 0.49) / SR
    cos, alpha = np.cos(w0), np.sin(w0) / (2 * q)
    if kind == "lowpass":
        b = ((1 - cos) / 2, 1 - cos, (1 - cos) / 2)
    elif kind == "highpass":
        b = ((1 + cos) / 2, -(1 + cos), (1 + cos) / 2)
    else:  # band-pass, 0 dB at the centre
        b = (alpha, 0.0, -alpha)
    a = (1 + alpha, -2 * cos, 1 - alpha)
    return np.array([*b, *a]) / a[0]


#: Q factors of the biquads of Butterworth low/high-pass filters.
_BUTTER_Q = {2: (0.7071,), 4: (0.5412, 1.3066)}


def _sos(kind, freq, order=2):
    """Second-order sections of a Butterworth low-pass, high-pass or
    band-pass (high-pass then low-pass, ``freq = (lo, hi)``) filter of
    order 2 or 4."""
    if kind == "bandpass":
        lo = min(max(freq[0], 20.0), SR * 0.4)
        hi = min(max(freq[1], lo * 1.5), SR * 0.49)
        return np.concatenate(
            [_sos("highpass", lo, order), _sos("lowpass", hi, order)]
        )
    return np.stack([_biquad(kind, freq, q) for q in _BUTTER_Q[order]])


def _filt(x, kind, freq, order=2):
    """Filters ``x`` (float32 out)."""
    return signal.sosfilt(_sos(kind, freq, order), x).astype(np.float32)


def _resonate(x, freq, q):
    """A resonator (constant 0 dB peak band-pass biquad) at ``freq``."""
    return signal.sosfilt(_biquad("bandpass", freq, q)[None], x).astype(
        np.float32
    )


def _noise(rng, n):
    """White Gaussian noise (float32)."""
    return rng.standard_normal(n, dtype=np.float32)


@functools.lru_cache(maxsize=4)
def _log_freqs(n):
    """Log of the rfft bin frequencies of an ``n``-sample signal."""
    freqs = np.fft.rfftfreq(n, 1 / SR)
    freqs[0] = freqs[1]
    return np.log(freqs).astype(np.float32)


def _colored_noise(rng, n, beta):
    """Noise with a ``1 / f**beta`` power spectrum, unit RMS."""
    spec = scipy.fft.rfft(_noise(rng, n))
    spec *= np.exp((-beta / 2) * _log_freqs(n))
    out = scipy.fft.irfft(spec, n).astype(np.float32)
    return out / (np.sqrt(np.mean(out**2)) + 1e-12)


def _smooth_noise(rng, n, rate_hz):
    """Slowly varying random curve (lowpassed noise), zero mean, unit std."""
    n_ctrl = max(int(n / SR * rate_hz) + 2, 2)
    ctrl = rng.standard_normal(n_ctrl)
    out = np.interp(np.linspace(0, n_ctrl - 1, n), np.arange(n_ctrl), ctrl)
    return out.astype(np.float32)


def _phase(f0):
    """Instantaneous phase (radians) of a frequency curve in Hz."""
    return (2 * np.pi / SR) * np.cumsum(f0)


def _saw(phase, f0):
    """Band-limited (PolyBLEP) sawtooth in [-1, 1].

    ``phase`` is the instantaneous phase (radians) of the frequency curve
    ``f0`` (Hz); the PolyBLEP correction removes most aliasing.
    """
    frac = np.mod(phase / (2 * np.pi), 1.0)
    dt = np.clip(np.broadcast_to(f0, frac.shape) / SR, 1e-6, 0.5)
    out = 2 * frac - 1
    x = frac / dt
    head = frac < dt
    out[head] -= 2 * x[head] - x[head] ** 2 - 1
    x = (frac - 1) / dt
    tail = frac > 1 - dt
    out[tail] -= x[tail] ** 2 + 2 * x[tail] + 1
    return out.astype(np.float32)


def _saw_f(f0):
    """Band-limited sawtooth following the frequency curve ``f0`` (Hz)."""
    f0 = np.asarray(f0, dtype=np.float64)
    return _saw(_phase(f0), f0)


def _ramp_env(n, attack, release):
    """Linear attack / release envelope (times in seconds)."""
    env = np.ones(n, dtype=np.float32)
    na = min(int(attack * SR), n // 2)
    nr = min(int(release * SR), n - na)
    if na > 0:
        env[:na] = np.linspace(0, 1, na, endpoint=False)
    if nr > 0:
        env[n - nr :] = np.linspace(1, 0, nr)
    return env


def _decay_env(n, tau):
    """Exponential decay ``exp(-t / tau)`` with a 2 ms attack."""
    t = np.arange(n, dtype=np.float32) / SR
    env = np.exp(-t / tau).astype(np.float32)
    na = min(32, n)
    env[:na] *= np.linspace(0, 1, na, dtype=np.float32)
    return env


def _formants(src, freqs, bandwidths, gains):
    """Parallel bank of resonators (the vocal-tract filter of a vowel)."""
    out = np.zeros_like(src)
    for f, bw, g in zip(freqs, bandwidths, gains):
        out += g * _resonate(src, f, f / bw)
    return out


def _bursts(rng, n, burst_fn, gap_range):
    """Fills ``n`` samples with bursts from ``burst_fn(rng, max_len)``.

    The first burst starts at sample 0 and the last one reaches the end
    (it is cut there), so the annotated event spans exactly the bursts.
    """
    out = np.zeros(n, dtype=np.float32)
    pos = 0
    while pos < n:
        burst = burst_fn(rng, n - pos)
        out[pos : pos + len(burst)] += burst[: n - pos]
        pos += len(burst) + int(rng.uniform(*gap_range) * SR)
        if n - pos < 0.06 * SR:
            break
    return out


VOWELS = np.array(
    [
        [800, 1200, 2500],  # a
        [500, 1900, 2500],  # e
        [300, 2300, 3000],  # i
        [500, 900, 2400],  # o
        [320, 800, 2300],  # u
    ],
    dtype=float,
)


# ---------------------------------------------------------------------------
# Class generators: (rng, n_samples) -> float32 waveform of n_samples
# ---------------------------------------------------------------------------


def _alarm(rng, n):
    """Beeping tones, two-tone alarms or a rapidly struck bell."""
    t = np.arange(n, dtype=np.float32) / SR
    kind = rng.integers(3)
    if kind < 2:
        f1 = rng.uniform(600, 3200)
        f2 = f1 * rng.uniform(0.7, 0.9) if kind == 1 else f1
        on, off = rng.uniform(0.06, 0.4), rng.uniform(0.04, 0.3)
        period = on + off
        k = np.floor(t / period)
        gate = (np.mod(t, period) < on).astype(np.float32)
        gate = np.convolve(gate, np.hanning(64) / 32, mode="same")
        f0 = np.where(np.mod(k, 2) == 0, f1, f2).astype(np.float32)
        ph = _phase(f0)
        odd = rng.uniform(0.1, 0.5)
        tone = np.sin(ph) + odd * np.sin(3 * ph) + 0.5 * odd * np.sin(5 * ph)
        return (gate * tone).astype(np.float32)
    # Electric bell: a clapper strikes an inharmonic bell 12-25 times/s.
    f0 = rng.uniform(900, 2500)
    ratios = np.array([1.0, 2.76, 5.40])
    rate = rng.uniform(12, 25)
    strikes = np.zeros(n, dtype=np.float32)
    strikes[(np.arange(0, n / SR, 1 / rate) * SR).astype(int)] = 1.0
    strikes *= 1 + 0.2 * _noise(rng, n)
    out = np.zeros(n, dtype=np.float32)
    for r, g in zip(ratios, (1.0, 0.5, 0.25)):
        if f0 * r < SR / 2.2:
            sos = _biquad("bandpass", f0 * r, rng.uniform(15, 40))[None]
            out += g * signal.sosfilt(sos, strikes).astype(np.float32)
    return out


def _blender(rng, n):
    """Motor: low harmonics plus band noise, chopped by the blades."""
    t = np.arange(n, dtype=np.float32) / SR
    f_motor = rng.uniform(80, 320)
    spin = 1 - 0.4 * np.exp(-t / rng.uniform(0.05, 0.3))
    f0 = f_motor * spin * (1 + 0.03 * _smooth_noise(rng, n, 3))
    cut = rng.uniform(1800, 4000)
    harm = _filt(_saw_f(f0), "lowpass", cut, order=4)
    noise = _filt(_noise(rng, n), "bandpass", (200, cut), order=4)
    mix = rng.uniform(0.3, 1.0) * harm + noise
    fm = rng.uniform(2, 9)
    am = 1 + rng.uniform(0.3, 0.7) * np.sin(2 * np.pi * fm * t)
    am *= 1 + 0.3 * np.abs(_smooth_noise(rng, n, 10))
    return (mix * am * _ramp_env(n, 0.08, 0.15)).astype(np.float32)


def _cat(rng, n):
    """Meow: gliding harmonic tone through moving formants."""
    t = np.linspace(0, 1, n, dtype=np.float32)
    f_start, f_peak = rng.uniform(350, 600), rng.uniform(600, 1000)
    peak = rng.uniform(0.25, 0.55)
    f0 = np.where(
        t < peak,
        f_start + (f_peak - f_start) * t / peak,
        f_peak - (f_peak - 0.7 * f_start) * (t - peak) / (1 - peak),
    )
    f0 = f0 * (1 + 0.015 * np.sin(2 * np.pi * rng.uniform(4, 7) * t * n / SR))
    src = _saw_f(f0) + 0.05 * _noise(rng, n)
    scale = rng.uniform(0.9, 1.25)
    shapes = [
        _formants(src, VOWELS[v] * scale, (150, 250, 350), (1.0, 0.6, 0.3))
        for v in (2, 0, 4)  # "i" -> "a" -> "u"
    ]
    w_mid = np.clip(1 - np.abs(t - 0.45) / 0.35, 0, 1)
    w_start = np.clip(1 - t / 0.3, 0, 1) * (1 - w_mid)
    w_end = 1 - w_mid - w_start
    out = w_start * shapes[0] + w_mid * shapes[1] + w_end * shapes[2]
    return (out * _ramp_env(n, 0.05, 0.15)).astype(np.float32)


def _dishes(rng, n):
    """Short clinks: decaying inharmonic partials with a click."""
    base = rng.uniform(1500, 4500)

    def clink(rng, max_len):
        m = min(int(rng.uniform(0.08, 0.35) * SR), max_len)
        tt = np.arange(m, dtype=np.float32) / SR
        out = np.zeros(m, dtype=np.float32)
        for _ in range(rng.integers(3, 7)):
            f = base * rng.uniform(0.6, 2.2)
            if f < SR / 2.2:
                tau = rng.uniform(0.015, 0.1)
                out += (
                    rng.uniform(0.3, 1.0)
                    * np.sin(2 * np.pi * f * tt)
                    * (np.exp(-tt / tau))
                )
        click = min(40, m)
        out[:click] += rng.uniform(0.5, 1.5) * _noise(rng, click)
        return out * _decay_env(m, 0.3) * rng.uniform(0.4, 1.0)

    return _bursts(rng, n, clink, (0.02, 0.3))


def _dog(rng, n):
    """Barks: short bursts of noisy, falling harmonics."""
    f_dog = rng.uniform(250, 700)
    scale = rng.uniform(0.8, 1.3)

    def bark(rng, max_len):
        m = min(int(rng.uniform(0.1, 0.28) * SR), max_len)
        tt = np.linspace(0, 1, m, dtype=np.float32)
        f0 = f_dog * rng.uniform(0.9, 1.1) * (1.2 - 0.5 * tt)
        src = _saw_f(f0) + rng.uniform(0.4, 1.0) * _noise(rng, m)
        out = _formants(src, VOWELS[0] * scale, (300, 400, 600), (1, 0.8, 0.4))
        env = np.minimum(tt * 30, 1) * np.exp(-tt * rng.uniform(2, 5))
        return (out * env).astype(np.float32)

    return _bursts(rng, n, bark, (0.12, 0.45))


def _shaver(rng, n):
    """Buzz: a steady comb of high harmonics (shaver, toothbrush)."""
    t = np.arange(n, dtype=np.float32) / SR
    f0 = rng.uniform(60, 260)
    wobble = rng.uniform(0.005, 0.02) * np.sin(
        2 * np.pi * rng.uniform(2, 6) * t
    )
    f0 = f0 * (1 + wobble + 0.01 * _smooth_noise(rng, n, 2))
    buzz = _filt(_saw_f(f0), "highpass", rng.uniform(1000, 2500), order=4)
    hiss = _filt(_noise(rng, n), "highpass", 4000)
    buzz += rng.uniform(0.0, 0.1) * hiss
    am = 1 + 0.1 * _smooth_noise(rng, n, rng.uniform(1, 5))
    return (buzz * am * _ramp_env(n, 0.03, 0.05)).astype(np.float32)


def _frying(rng, n):
    """Crackling: sparse resonant clicks over a high hiss."""
    hiss = _filt(_noise(rng, n), "highpass", rng.uniform(3000, 5000), order=4)
    hiss *= 1 + 0.3 * _smooth_noise(rng, n, 2)
    rate = rng.uniform(30, 250)
    n_clicks = rng.poisson(rate * n / SR)
    pulses = np.zeros(n, dtype=np.float32)
    pulses[rng.integers(0, n, n_clicks)] = rng.exponential(1, n_clicks) ** 2
    fc = rng.uniform(2500, 6000)
    crackle = _resonate(pulses, fc, rng.uniform(2, 6)) * 8
    out = rng.uniform(0.2, 0.6) * hiss + crackle
    return (out * _ramp_env(n, 0.2, 0.3)).astype(np.float32)


def _water(rng, n):
    """Running water: gurgling band-passed noise with bubble chirps."""
    lo, hi = rng.uniform(300, 900), rng.uniform(1500, 3500)
    out = _filt(_noise(rng, n), "bandpass", (lo, hi), order=4)
    gurgle = np.abs(_smooth_noise(rng, n, rng.uniform(8, 25)))
    out *= 0.3 + gurgle
    n_bub = rng.poisson(rng.uniform(5, 30) * n / SR)
    for start in rng.integers(0, max(n - 800, 1), n_bub):
        m = min(int(rng.uniform(0.01, 0.03) * SR), n - start)
        f = np.linspace(rng.uniform(400, 1200), rng.uniform(1500, 3000), m)
        out[start : start + m] += (
            rng.uniform(0.5, 2.0) * np.sin(_phase(f)) * np.hanning(m)
        )
    return (out * _ramp_env(n, 0.15, 0.2)).astype(np.float32)


def _speech(rng, n):
    """Syllables: pitch-contoured glottal source through vowel formants."""
    f_speaker = rng.uniform(90, 250)
    scale = rng.uniform(0.85, 1.2)

    def syllable(rng, max_len):
        m = min(int(rng.uniform(0.09, 0.3) * SR), max_len)
        tt = np.linspace(0, 1, m, dtype=np.float32)
        slope = rng.uniform(-0.25, 0.2)
        f0 = f_speaker * rng.uniform(0.85, 1.2) * (1 + slope * tt)
        src = _saw_f(f0) + 0.05 * _noise(rng, m)
        v = VOWELS[rng.integers(len(VOWELS))] * scale
        out = _formants(src, v, (90, 120, 180), (1.0, 0.5, 0.25))
        out *= np.sqrt(np.abs(np.sin(np.pi * tt)))
        if rng.random() < 0.5:  # a fricative onset
            k = min(int(rng.uniform(0.03, 0.08) * SR), m)
            fric = _filt(_noise(rng, k), "highpass", rng.uniform(2500, 5000))
            out[:k] += rng.uniform(0.05, 0.2) * fric * np.hanning(k)
        return out.astype(np.float32)

    out = _bursts(rng, n, syllable, (0.01, 0.12))
    return _filt(out, "lowpass", rng.uniform(3500, 5000))


def _vacuum(rng, n):
    """Loud low-passed noise with a motor whine and a spin-up."""
    t = np.arange(n, dtype=np.float32) / SR
    noise = _filt(_noise(rng, n), "lowpass", rng.uniform(800, 3000), order=4)
    spin = 1 - 0.4 * np.exp(-t / rng.uniform(0.2, 0.6))
    f_whine = (
        rng.uniform(900, 4000) * spin * (1 + 0.005 * _smooth_noise(rng, n, 1))
    )
    ph = _phase(f_whine)
    whine = np.sin(ph) + 0.3 * np.sin(2 * ph)
    f_hum = rng.uniform(100, 250)
    hum = _filt(_saw_f(np.full(n, f_hum)), "lowpass", 1200)
    out = noise + rng.uniform(0.05, 0.3) * whine + rng.uniform(0.1, 0.4) * hum
    return (out * _ramp_env(n, 0.25, 0.4)).astype(np.float32)


#: Class name -> generator.
GENERATORS = {
    "Alarm_bell_ringing": _alarm,
    "Blender": _blender,
    "Cat": _cat,
    "Dishes": _dishes,
    "Dog": _dog,
    "Electric_shaver_toothbrush": _shaver,
    "Frying": _frying,
    "Running_water": _water,
    "Speech": _speech,
    "Vacuum_cleaner": _vacuum,
}


def _distractors(rng, n):
    """Unlabelled foreground sounds: bird-like chirps and low knocks."""
    out = np.zeros(n, dtype=np.float32)
    for _ in range(rng.poisson(1.5)):
        start = int(rng.integers(0, max(n - SR // 4, 1)))
        if rng.random() < 0.5:  # chirp: fast FM sweep
            m = min(int(rng.uniform(0.03, 0.15) * SR), n - start)
            f = np.linspace(rng.uniform(2000, 5000), rng.uniform(3000, 7000), m)
            burst = np.sin(_phase(f)) * np.hanning(m)
        else:  # knock: low resonant thud
            m = min(int(rng.uniform(0.05, 0.2) * SR), n - start)
            tt = np.arange(m) / SR
            burst = np.sin(2 * np.pi * rng.uniform(80, 400) * tt) * np.exp(
                -tt / rng.uniform(0.01, 0.05)
            )
        out[start : start + m] += rng.uniform(0.5, 3.0) * burst
    return out


def _background(rng, n):
    """Coloured noise plus, sometimes, mains hum, rumble and distractors."""
    bg = _colored_noise(rng, n, rng.uniform(0.0, 2.0))
    if rng.random() < 0.4:
        f_mains = 50.0 if rng.random() < 0.5 else 60.0
        t = np.arange(n, dtype=np.float32) / SR
        hum = sum(
            rng.uniform(0.1, 1.0) / k * np.sin(2 * np.pi * f_mains * k * t)
            for k in range(1, int(rng.integers(2, 7)))
        )
        bg += rng.uniform(0.3, 2.0) * hum
    if rng.random() < 0.3:
        rumble = _filt(_noise(rng, n), "bandpass", (60, rng.uniform(200, 500)))
        bg += rng.uniform(1.0, 3.0) * rumble
    if rng.random() < 0.4:
        bg += _distractors(rng, n)
    return bg / (np.sqrt(np.mean(bg**2)) + 1e-12)


# ---------------------------------------------------------------------------
# Clips
# ---------------------------------------------------------------------------


def _event_length(rng, label, lengths=None):
    """Draws an event length (s) from the class distribution (``lengths``:
    ``{label: (median, sigma, low, high)}``, DESED's by default)."""
    median, sigma, lo, hi = (lengths or EVENT_LENGTHS)[label]
    return float(
        np.clip(median * np.exp(sigma * rng.standard_normal()), lo, hi)
    )


def place_events(rng, labels, duration, lengths=None):
    """Chooses ``(onset, offset)`` for each label of a clip.

    Event lengths follow each class's distribution; about one event in
    eight is already going on when the clip starts and one in eight goes on
    past its end. Events of one class never overlap (an event that cannot
    be placed in ten draws is dropped).

    Arguments
    ---------
    rng : numpy.random.Generator
        Source of randomness.
    labels : list of str
        One label per event wanted.
    duration : float
        Clip length (s).
    lengths : dict, optional
        ``{label: (median, sigma, low, high)}`` of the log-normal event
        lengths (s); DESED's classes by default.

    Returns
    -------
    list of tuple
        ``(onset, offset, label)`` sorted, times rounded to milliseconds.

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> events = place_events(rng, ["Dog", "Dog", "Speech"], 10.0)
    >>> all(0 <= on < off <= 10.0 for on, off, _ in events)
    True
    """
    events = []
    for label in labels:
        for _ in range(10):
            length = min(_event_length(rng, label, lengths), duration)
            if rng.random() < 0.12:  # already going on when the clip starts
                onset = 0.0
            elif rng.random() < 0.12:  # still going on when the clip ends
                onset = rng.uniform(0.0, duration - 0.2)
            else:
                onset = rng.uniform(0.0, duration - length)
            onset = round(onset, 3)
            offset = round(min(onset + length, duration), 3)
            if offset - onset < 0.05:
                continue
            clash = any(
                lab == label and onset < off + 0.1 and on < offset + 0.1
                for on, off, lab in events
            )
            if not clash:
                events.append((onset, offset, label))
                break
    return sorted(events)


def _trim(wav, floor_db=-35.0, frame=160):
    """Cuts the leading and trailing near-silence of an event.

    Returns ``(lead, trimmed)``: the number of samples cut at the start and
    the remaining waveform, whose 10 ms frames at both ends are within
    ``floor_db`` of the loudest frame (so annotations fit the sound).
    """
    n_frames = len(wav) // frame
    if n_frames < 2:
        return 0, wav
    power = np.mean(wav[: n_frames * frame].reshape(n_frames, frame) ** 2, 1)
    active = np.flatnonzero(power >= power.max() * 10 ** (floor_db / 10))
    first, last = int(active[0]), int(active[-1])
    stop = len(wav) if last == n_frames - 1 else (last + 1) * frame
    return first * frame, wav[first * frame : stop]


def render_clip(rng, n_samples, events, snr_range, generators=None):
    """Mixes synthesized events over a background noise.

    Arguments
    ---------
    rng : numpy.random.Generator
        Source of randomness.
    n_samples : int
        Clip length (samples at 16 kHz).
    events : list of tuple
        ``(onset, offset, label)`` (see :func:`place_events`).
    snr_range : tuple of float
        Range of the event-to-background ratios (dB).
    generators : dict, optional
        ``{label: (rng, n_samples) -> waveform}``; DESED's classes by
        default.

    Returns
    -------
    wav : numpy.ndarray
        The int16-safe float32 mixture.
    events : list of tuple
        The events, onsets and offsets fitted to the synthesized sounds
        (trimmed of silence).

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> wav, events = render_clip(rng, 16000, [(0.2, 0.6, "Dog")], (5, 10))
    >>> wav.shape, wav.dtype, events[0][2]
    ((16000,), dtype('float32'), 'Dog')
    """
    bg_level = 10 ** (rng.uniform(-50, -28) / 20)
    mix = bg_level * _background(rng, n_samples)
    placed = []
    for onset, offset, label in events:
        start = int(round(onset * SR))
        stop = min(int(round(offset * SR)), n_samples)
        # An event cut by a clip boundary was going on before the clip
        # started (or goes on after it ends): synthesize it longer and
        # cut, so that it has no attack (or release) inside the clip.
        pre = int(0.5 * SR) if start == 0 else 0
        post = int(0.5 * SR) if stop == n_samples else 0
        wav = (generators or GENERATORS)[label](rng, pre + stop - start + post)
        lead, wav = _trim(wav[pre : len(wav) - post])
        onset = round((start + lead) / SR, 3)
        start = int(round(onset * SR))
        wav = wav[: n_samples - start]
        rms = np.sqrt(np.mean(wav**2)) + 1e-12
        gain = bg_level * 10 ** (rng.uniform(*snr_range) / 20) / rms
        edge = min(48, len(wav) // 2)
        if edge > 0:  # no clicks at the cut points
            wav[:edge] *= np.linspace(0, 1, edge)
            wav[-edge:] *= np.linspace(1, 0, edge)
        mix[start : start + len(wav)] += gain * wav
        offset = min(round((start + len(wav)) / SR, 3), n_samples / SR)
        placed.append((onset, offset, label))
    peak = np.max(np.abs(mix))
    if peak > 0.9:
        mix *= 0.9 / peak
    return mix.astype(np.float32), sorted(placed)


def _youtube_name(rng, used, duration):
    """A DESED-like ``Y<11 chars>_<start>_<end>.wav`` name, unique."""
    while True:
        vid = "".join(rng.choice(list(_ID_CHARS), 11))
        start = float(rng.integers(0, 300))
        name = f"Y{vid}_{start:.3f}_{start + duration:.3f}.wav"
        if name not in used:
            used.add(name)
            return name


def resolve_sizes(scale):
    """Clip counts per subset for a scale name or a multiplier of "small".

    Arguments
    ---------
    scale : str or float
        A key of :data:`SCALES` or a positive multiplier of the "small"
        sizes (at least one clip per subset).

    Returns
    -------
    dict
        ``{subset: number of clips}``.

    Example
    -------
    >>> resolve_sizes("small")["strong"], resolve_sizes(0.5)["strong"]
    (12, 6)
    """
    if isinstance(scale, str) and scale in SCALES:
        return dict(SCALES[scale])
    try:
        mult = float(scale)
    except (TypeError, ValueError):
        raise ValueError(
            f"Unknown scale {scale!r}: use one of {sorted(SCALES)} or a "
            "positive number (a multiplier of the 'small' sizes)"
        ) from None
    if not mult > 0:
        raise ValueError(f"Scale multiplier must be positive, got {scale!r}")
    return {k: max(1, int(round(v * mult))) for k, v in SCALES["small"].items()}


def fmt_time(x):
    """Seconds as in the DESED TSVs (3 decimals).

    Arguments
    ---------
    x : float
        Seconds.

    Returns
    -------
    str
        The text.

    Example
    -------
    >>> fmt_time(1.23456)
    '1.235'
    """
    return f"{x:.3f}"


def _fmt_duration(x):
    """Durations as in the DESED durations TSVs (``10.0``, ``7.534``)."""
    return repr(round(float(x), 3))


def _synthesize_subset(out_dir, name, n_clips, seed, classes):
    """Writes the audio of one subset; returns [(filename, dur, events)]."""
    spec = SUBSETS[name]
    sub_index = list(SUBSETS).index(name)
    rng = np.random.default_rng([seed, 1000 + sub_index])
    order = list(range(n_clips))
    n_empty = (
        0 if spec["empty"] == 0 else max(1, round(spec["empty"] * n_clips))
    )
    n_empty = min(n_empty, max(n_clips - 1, 0))
    empty = set(rng.choice(n_clips, n_empty, replace=False).tolist())
    rest = [i for i in order if i not in empty]
    n_short = (
        0 if spec["short"] == 0 else max(1, round(spec["short"] * n_clips))
    )
    n_short = min(n_short, len(rest))
    short = set(rng.choice(rest, n_short, replace=False).tolist())
    if spec["prior"] == "real":
        prior = np.array([REAL_PRIOR[c] for c in classes])
    else:
        prior = np.ones(len(classes))
    prior = prior / prior.sum()
    cycle = list(rng.permutation(len(classes)))
    folder = Path(out_dir) / spec["audio"]
    folder.mkdir(parents=True, exist_ok=True)
    used = set()
    clips = []
    n_labelled = 0
    for i in order:
        crng = np.random.default_rng([seed, sub_index, i])
        if i in short:
            n_samples = int(crng.integers(3000, 9900)) * 16
        else:
            n_samples = int(CLIP_SECONDS * SR)
        duration = n_samples / SR
        labels = []
        if i not in empty:
            # The first event cycles through the classes so that every
            # class occurs even in tiny sets; the others follow the prior.
            labels.append(classes[cycle[n_labelled % len(classes)]])
            n_labelled += 1
            extra = min(int(crng.poisson(1.3)), 4)
            labels += [
                classes[k] for k in crng.choice(len(classes), extra, p=prior)
            ]
        events = place_events(crng, labels, duration)
        wav, events = render_clip(crng, n_samples, events, spec["snr"])
        if spec["names"] == "index":
            fname = f"{i}.wav"
        else:
            fname = _youtube_name(rng, used, duration)
        _write_wav(folder / fname, wav)
        clips.append((fname, duration, events))
    return clips


def _write_wav(path, wav):
    """Writes 16-bit PCM wav (encoded in memory, then written at once)."""
    buf = io.BytesIO()
    sf.write(buf, wav, SR, subtype="PCM_16", format="WAV")
    with open(path, "wb") as fout:
        fout.write(buf.getvalue())


def write_tsv(path, header, rows):
    """Writes a tab-separated file with a header row.

    Arguments
    ---------
    path : pathlib.Path
        The file (parent folders are created).
    header : sequence of str
        Column names.
    rows : iterable of sequence of str
        The rows, as text.

    Example
    -------
    >>> path = getfixture("tmp_path") / "a" / "w.tsv"
    >>> write_tsv(path, ["filename", "event_labels"], [["x.wav", "Dog"]])
    >>> path.read_text()
    'filename\\tevent_labels\\nx.wav\\tDog\\n'
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fout:
        fout.write("\t".join(header) + "\n")
        for row in rows:
            fout.write("\t".join(row) + "\n")


def _write_metadata(out_dir, name, clips, classes):
    """Writes the TSVs of one subset; returns {key: path}."""
    spec = SUBSETS[name]
    paths = {}
    if spec["kind"] == "strong":
        rows = []
        for fname, _, events in clips:
            if not events:
                rows.append((fname, "", "", ""))
            for onset, offset, label in events:
                rows.append((fname, fmt_time(onset), fmt_time(offset), label))
        path = Path(out_dir) / spec["tsv"]
        write_tsv(path, ("filename", "onset", "offset", "event_label"), rows)
        paths[f"{name}_tsv"] = spec["tsv"]
    elif spec["kind"] == "weak":
        rows = []
        for fname, _, events in clips:
            present = {lab for _, _, lab in events}
            rows.append((fname, ",".join(c for c in classes if c in present)))
        path = Path(out_dir) / spec["tsv"]
        write_tsv(path, ("filename", "event_labels"), rows)
        paths[f"{name}_tsv"] = spec["tsv"]
    if spec["durations"]:
        rows = [(fname, _fmt_duration(dur)) for fname, dur, _ in clips]
        path = Path(out_dir) / spec["durations"]
        write_tsv(path, ("filename", "duration"), rows)
        paths[f"{name}_durations"] = spec["durations"]
    return paths


def synthesize_mini_desed(
    out_dir, scale="small", seed=0, classes=None, overwrite=False
):
    """Writes a synthesized DESED-format dataset (see the module docstring).

    Arguments
    ---------
    out_dir : str or os.PathLike
        The dataset folder (the equivalent of DESED's ``dataset/``), to be
        passed as ``data_folder`` to ``prepare_desed``.
    scale : str or float
        ``"small"`` (a few dozen clips, for tests), ``"quickstart"`` (about
        900 clips, for a demo training run), ``"benchmark"`` (about 9000
        clips) or a positive multiplier of the ``"small"`` sizes.
    seed : int
        Random seed; the same seed writes the same bytes.
    classes : None, str or sequence of str
        A subset of the ten DESED classes (see ``labels.load_classes``);
        all ten by default.
    overwrite : bool
        If False (default), refuse to write into audio folders that
        already hold wav files; if True, delete those wav files first.

    Returns
    -------
    dict
        ``data_folder``, ``scale``, ``seed``, ``classes``, ``counts``
        (clips per subset), ``events`` (events per subset),
        ``audio_folders`` and ``metadata`` (paths), ``seconds`` (time
        taken).

    Example
    -------
    >>> import tempfile
    >>> out = synthesize_mini_desed(tempfile.mkdtemp(), scale=0.1, seed=1)
    >>> out["counts"]["validation"], len(out["classes"])
    (1, 10)
    """
    t0 = time.perf_counter()
    classes = load_classes(classes)
    unknown = [c for c in classes if c not in GENERATORS]
    if unknown:
        raise ValueError(
            f"No synthesizer for classes {unknown}; choose among "
            f"{', '.join(DESED_CLASSES)}"
        )
    sizes = resolve_sizes(scale)
    seed = int(seed)
    out_dir = Path(out_dir)
    for name in SUBSETS:
        folder = out_dir / SUBSETS[name]["audio"]
        old = sorted(folder.glob("*.wav")) if folder.is_dir() else []
        if old and not overwrite:
            raise FileExistsError(
                f"{folder} already holds {len(old)} wav files; choose an "
                "empty output folder or pass overwrite=True (--overwrite)"
            )
        for path in old:
            path.unlink()
    summary = {
        "data_folder": str(out_dir),
        "scale": scale,
        "seed": seed,
        "classes": classes,
        "counts": {},
        "events": {},
        "audio_folders": {},
        "metadata": {},
    }
    for name in SUBSETS:
        clips = _synthesize_subset(out_dir, name, sizes[name], seed, classes)
        summary["counts"][name] = len(clips)
        summary["events"][name] = sum(len(ev) for _, _, ev in clips)
        summary["audio_folders"][name] = SUBSETS[name]["audio"]
        summary["metadata"].update(
            _write_metadata(out_dir, name, clips, classes)
        )
    # The info file holds paths relative to the dataset folder (so that it
    # does not depend on where the data was written); the summary returned
    # holds full paths.
    info = {k: v for k, v in summary.items() if k != "data_folder"}
    for key in ("audio_folders", "metadata"):
        summary[key] = {k: str(out_dir / v) for k, v in summary[key].items()}
    with open(out_dir / "synth_info.json", "w", encoding="utf-8") as fout:
        json.dump(info, fout, indent=2)
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    return summary
