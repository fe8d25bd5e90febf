"""Fixtures of the reliability suite: bad inputs, a tiny model, small data.

* ``bad_audio``: one file per way an audio file can be broken, with the
  problem each must be reported with;
* ``odd_audio``: valid but unusual audio (1 to 8 channels, 8 to 48 kHz,
  0.1 s, one sample);
* ``tiny_model_dir``: a model folder (``hyperparams.yaml`` + ``model.ckpt``)
  holding a tiny random ATSTSED with three classes.

``small_sed_data`` (tests/conftest.py) is the small dataset of the
training runs.

The training-recipe helpers of ``tests/integration/recipe_utils.py`` are
importable from here.

Authors
 * speechbrain-atst team 2026
"""

import struct
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

#: Classes of the tiny model and of ``small_sed_data``.
CLASSES = ["Alarm_bell_ringing", "Frying", "Vacuum_cleaner"]
#: Architecture of the tiny transformer.
TINY_ARCH = {"embed_dim": 32, "depth": 1, "num_heads": 2}


def noise(seconds, rate=16000, channels=1, seed=0):
    """Quiet noise, float32 ``[frames, channels]`` (or 1-D for mono)."""
    rng = np.random.default_rng(seed)
    x = 0.05 * rng.standard_normal((int(round(seconds * rate)), channels))
    x = x.astype(np.float32)
    return x[:, 0] if channels == 1 else x


def write_bad_audio(folder):
    """Writes one broken file per kind into ``folder``.

    Returns
    -------
    dict
        ``{kind: (path, exception type, regex of the problem)}``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    good = folder / "_good.wav"
    sf.write(good, noise(1.0), 16000, subtype="PCM_16")
    raw = good.read_bytes()
    good.unlink()
    cases = {}

    def add(kind, name, content, exc, problem):
        path = folder / name
        if content is not None:
            path.write_bytes(content)
        cases[kind] = (path, exc, problem)

    add("missing", "missing.wav", None, FileNotFoundError, "not found")
    add("empty", "empty.wav", b"", ValueError, r"empty \(0 bytes\)")
    sf.write(folder / "no_samples.wav", np.zeros(0, np.float32), 16000)
    cases["no_samples"] = (
        folder / "no_samples.wav",
        ValueError,
        "holds no samples",
    )
    add(
        "header_cut",
        "header_cut.wav",
        raw[:30],
        ValueError,
        "corrupt, truncated or not audio",
    )
    add(
        "data_cut",
        "data_cut.wav",
        raw[: len(raw) // 2],
        ValueError,
        "truncated",
    )
    # A header that declares 0 channels.
    zero_channels = raw[:22] + struct.pack("<H", 0) + raw[24:]
    add(
        "zero_channels",
        "zero_channels.wav",
        zero_channels,
        ValueError,
        "corrupt, truncated or not audio|Invalid audio header",
    )
    add(
        "text",
        "notes.wav",
        b"this is a text file, not audio\n" * 50,
        ValueError,
        "corrupt, truncated or not audio",
    )
    add(
        "random_bytes",
        "random.wav",
        np.random.default_rng(3).bytes(8000),
        ValueError,
        "corrupt, truncated or not audio",
    )
    for kind, value in (("nan", np.nan), ("inf", np.inf)):
        x = noise(1.0)
        x[8000] = value
        sf.write(folder / f"{kind}.wav", x, 16000, subtype="FLOAT")
        cases[kind] = (
            folder / f"{kind}.wav",
            ValueError,
            r"contains NaN or inf samples \(first at 0\.500 s\)",
        )
    return cases


@pytest.fixture(scope="session")
def bad_audio(tmp_path_factory):
    """``{kind: (path, exception type, problem regex)}`` of broken files."""
    return write_bad_audio(tmp_path_factory.mktemp("bad_audio"))


@pytest.fixture(scope="session")
def odd_audio(tmp_path_factory):
    """Valid unusual files: ``{name: (path, duration in seconds)}``."""
    folder = tmp_path_factory.mktemp("odd_audio")
    out = {}
    for channels in (1, 2, 3, 6, 8):
        name = f"ch{channels}.wav"
        sf.write(folder / name, noise(1.0, channels=channels), 16000)
        out[name] = (folder / name, 1.0)
    for rate in (8000, 11025, 22050, 32000, 44100, 48000):
        name = f"sr{rate}.flac" if rate == 44100 else f"sr{rate}.wav"
        sf.write(folder / name, noise(1.0, rate=rate, channels=2), rate)
        out[name] = (folder / name, 1.0)
    sf.write(folder / "short.wav", noise(0.1), 16000)
    out["short.wav"] = (folder / "short.wav", 0.1)
    sf.write(folder / "one_sample.wav", noise(1 / 16000), 16000)
    out["one_sample.wav"] = (folder / "one_sample.wav", 1 / 16000)
    return out


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A model folder with a tiny random ATSTSED (three classes)."""
    from speechbrain_atst.inference.export import write_model_folder
    from speechbrain_atst.lobes.atst_sed import ATSTSED

    torch.manual_seed(0)
    model = ATSTSED(n_classes=len(CLASSES), **TINY_ARCH)
    folder = tmp_path_factory.mktemp("tiny_model") / "model"
    return write_model_folder(
        model.state_dict(),
        folder,
        classes=CLASSES,
        median_windows=3,
        **TINY_ARCH,
    )


@pytest.fixture(scope="session")
def tiny_sed(tiny_model_dir):
    """The tiny model loaded through ``SEDInterface.from_hparams``."""
    from speechbrain_atst.inference import SEDInterface

    torch.set_num_threads(1)
    return SEDInterface.from_hparams(tiny_model_dir)
