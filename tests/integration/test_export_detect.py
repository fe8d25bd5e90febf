"""Export, convert, offline loading and the detect command, on tiny models.

A fake training run (the run-folder contract: ``model_config.json``,
``save/CKPT+*`` with ``student`` and ``teacher``, ``test/metrics.json``)
holds a tiny ATSTSED (embed_dim 32, depth 1, 2 heads). It is exported,
loaded back with ``from_hparams`` with the network disabled, and must give
the scores of the model in memory.

Authors
 * speechbrain-atst team 2026
"""

import json
import socket

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from speechbrain.utils.checkpoints import Checkpointer

from speechbrain_atst.checkpoints import CheckpointError
from speechbrain_atst.cli import main
from speechbrain_atst.evaluation import median_filter
from speechbrain_atst.features import ATSTFrontEnd, CNNFrontEnd
from speechbrain_atst.inference import (
    SEDInterface,
    convert_official,
    export_run,
)
from speechbrain_atst.labels import DESED_CLASSES
from speechbrain_atst.lobes.atst_sed import ATSTSED

ARCH = {"embed_dim": 32, "depth": 1, "num_heads": 2}
CLASSES = ["Dog", "Cat", "Speech"]


def tiny_model(seed):
    """A tiny ATSTSED with random weights (eval mode)."""
    torch.manual_seed(seed)
    return ATSTSED(n_classes=len(CLASSES), **ARCH).eval()


def frame_scores(model, wav):
    """Scores of the model in memory on one padded 10 s clip."""
    wav = torch.nn.functional.pad(wav, (0, 160000 - wav.shape[-1]))[None]
    with torch.inference_mode():
        strong, _ = model(CNNFrontEnd()(wav), ATSTFrontEnd()(wav))
    return strong[0].numpy()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A fake stage-2 run with two checkpoints; the second is the best."""
    run = tmp_path_factory.mktemp("run")
    student, teacher = tiny_model(0), tiny_model(1)
    checkpointer = Checkpointer(
        run / "save", recoverables={"student": student, "teacher": teacher}
    )
    checkpointer.save_checkpoint(meta={"objective": 0.2}, name="epoch1")
    best_teacher, best_student = tiny_model(2), tiny_model(3)
    teacher.load_state_dict(best_teacher.state_dict())
    student.load_state_dict(best_student.state_dict())
    checkpointer.save_checkpoint(meta={"objective": 0.4}, name="epoch2")
    teacher.load_state_dict(tiny_model(4).state_dict())
    checkpointer.save_checkpoint(meta={"objective": 0.3}, name="epoch3")
    config = {
        "classes": CLASSES,
        "atst": ARCH,
        "n_classes": len(CLASSES),
        "median_windows": [3, 5, 1],
        "stage": 2,
        "objective_key": "objective",
        "objective_mode": "max",
    }
    (run / "model_config.json").write_text(json.dumps(config))
    (run / "test").mkdir()
    metrics = {
        "teacher": {"psds1": 0.4321, "psds2": 0.6543, "per_class": {}},
        "student": {"psds1": 0.1, "psds2": 0.2},
    }
    (run / "test" / "metrics.json").write_text(json.dumps(metrics))
    return run, best_teacher, best_student


@pytest.fixture(scope="module")
def model_dir(run_dir, tmp_path_factory):
    """The run's best teacher exported as a model folder."""
    return export_run(run_dir[0], tmp_path_factory.mktemp("model") / "m")


@pytest.fixture
def offline(monkeypatch):
    """No network: sockets refuse to connect, the hub client is offline."""

    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def noise(seconds, seed=0, rate=16000):
    """Noise bursts of varying loudness (some structure for the model)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(int(seconds * rate)).astype(np.float32)
    gains = rng.uniform(0.01, 0.5, int(seconds * 4) + 1)
    x *= np.repeat(gains, rate // 4 + 1)[: x.shape[0]]
    return torch.from_numpy(x)


def test_export_then_offline_load_gives_the_same_scores(
    run_dir, model_dir, tmp_path, offline
):
    """export_run + from_hparams offline == the best network in memory."""
    run, best_teacher, best_student = run_dir
    assert sorted(p.name for p in model_dir.iterdir()) == [
        "README.md",
        "hyperparams.yaml",
        "model.ckpt",
    ]
    state = torch.load(model_dir / "model.ckpt", weights_only=True)
    for key, value in best_teacher.state_dict().items():
        assert torch.equal(state[key], value), key
    card = (model_dir / "README.md").read_text()
    assert card.startswith("---\n") and "0.4321" in card
    assert "arXiv:2309.08153" in card and "| 1 | Cat | 5 |" in card
    assert "epoch2" in card

    saved = tmp_path / "saved"
    sed = SEDInterface.from_hparams(
        source=str(model_dir), savedir=saved, run_opts={"device": "cpu"}
    )
    assert sed.classes == CLASSES and sed.median_windows == [3, 5, 1]
    assert (saved / "model.ckpt").is_symlink()
    wav = noise(10.0)
    got = sed.frame_scores_batch(wav[None], median=False)[0]
    assert np.allclose(got, frame_scores(best_teacher, wav), atol=1e-5)

    # bf16 autocast through run_opts: close to float32.
    sed16 = SEDInterface.from_hparams(
        source=model_dir, run_opts={"device": "cpu", "precision": "bf16"}
    )
    got16 = sed16.frame_scores_batch(wav[None], median=False)[0]
    assert np.abs(got16 - got).max() < 0.05

    # The student, through the CLI; reusing the savedir loads its weights.
    student_dir = tmp_path / "student"
    argv = ["export", str(run), str(student_dir), "--which", "student"]
    assert main(argv) == 0
    sed = SEDInterface.from_hparams(
        source=student_dir, savedir=saved, run_opts={"device": "cpu"}
    )
    # A 3 s file: the model sees it zero-padded to 10 s, the median
    # filter runs over the window (as the official test), then the scores
    # are cut to 3 s.
    short = tmp_path / "short.wav"
    sf.write(short, wav[:48000].numpy(), 16000, subtype="FLOAT")
    frame = sed.scores_file(short)
    want = median_filter(frame_scores(best_student, wav[:48000]), [3, 5, 1])
    assert len(frame) == 47 and float(frame["offset"].iloc[-1]) == 3.0
    assert np.allclose(frame[CLASSES].to_numpy(), want[:47], atol=1e-5)


def test_loading_is_strict_and_local(model_dir, tmp_path, offline):
    """Wrong weights fail loudly; a mistyped folder is not a hub id."""
    bad = tmp_path / "bad"
    bad.mkdir()
    text = (model_dir / "hyperparams.yaml").read_text()
    (bad / "hyperparams.yaml").write_text(text.replace("depth: 1", "depth: 2"))
    (bad / "model.ckpt").symlink_to(model_dir / "model.ckpt")
    with pytest.raises(CheckpointError, match="model.ckpt.*missing"):
        SEDInterface.from_hparams(source=bad, run_opts={"device": "cpu"})
    (bad / "model.ckpt").unlink()
    with pytest.raises(FileNotFoundError, match="model.ckpt"):
        SEDInterface.from_hparams(source=bad, run_opts={"device": "cpu"})
    with pytest.raises(FileNotFoundError, match="typo_model"):
        SEDInterface.from_hparams(source=str(tmp_path / "typo_model"))
    with pytest.raises(FileNotFoundError, match="hyperparams.yaml"):
        SEDInterface.from_hparams(source=tmp_path)
    with pytest.raises(FileNotFoundError, match="model_config.json"):
        export_run(tmp_path, tmp_path / "out")


def test_convert_official_matches_the_official_loader(
    tmp_path, offline, atst_parity
):
    """convert + from_hparams == ATSTSED.from_official_checkpoint."""
    ckpt = atst_parity / "atst_sed_stage_format.ckpt"
    arch = {"embed_dim": 64, "depth": 2, "num_heads": 4}
    out = tmp_path / "official"
    argv = ["convert", str(ckpt), str(out)]
    argv += [f"--{k}={v}" for k, v in arch.items()]
    assert main(argv) == 0
    sed = SEDInterface.from_hparams(source=out, run_opts={"device": "cpu"})
    assert sed.classes == list(DESED_CLASSES)
    assert sed.median_windows == [6, 20, 7, 4, 7, 6, 6, 6, 6, 6]
    reference = ATSTSED.from_official_checkpoint(
        ckpt, which="teacher", atst_kwargs=arch
    ).eval()
    ref = torch.load(atst_parity / "reference_io.pt", weights_only=True)
    wav = ref["wav"]
    got = sed.frame_scores_batch(wav[:1], median=False)[0]
    assert np.allclose(got, frame_scores(reference, wav[0]), atol=1e-5)
    student = convert_official(
        ckpt, tmp_path / "student", which="student", **arch
    )
    assert "its student" in (student / "README.md").read_text()
    # Another architecture does not fit: error, nothing written.
    argv = ["convert", str(ckpt), str(tmp_path / "x"), "--embed_dim=32"]
    assert main(argv + ["--depth=2", "--num_heads=4"]) == 1
    assert not (tmp_path / "x").exists()


def test_detect_cli_goes_on_after_failures(model_dir, tmp_path, capsys):
    """Events TSV, score TSVs and PNGs for good files; failures listed."""
    audio = tmp_path / "audio"
    (audio / "sub").mkdir(parents=True)
    sf.write(audio / "a.wav", noise(3.0).numpy(), 16000)
    stereo = noise(12.0, seed=2, rate=44100).numpy()
    sf.write(audio / "sub" / "b.flac", np.stack([stereo, stereo], 1), 44100)
    (audio / "notes.txt").write_text("not audio")
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF0000WAVEfmt garbage" * 8)
    out = tmp_path / "results" / "events.tsv"
    code = main(
        [
            "detect",
            str(audio),
            str(tmp_path / "missing.wav"),
            str(tmp_path / "empty.wav"),
            str(tmp_path / "corrupt.wav"),
            "--model",
            str(model_dir),
            "--out",
            str(out),
            "--scores_dir",
            str(tmp_path / "scores"),
            "--plot",
            str(tmp_path / "plots"),
            "--threshold",
            "0",
            "--device",
            "cpu",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "3 input(s) failed" in err
    for name in ("missing.wav", "empty.wav", "corrupt.wav"):
        assert err.count(name) >= 2  # when it happens and in the summary
    events = pd.read_csv(out, sep="\t")
    assert list(events.columns) == [
        "filename",
        "onset",
        "offset",
        "event_label",
        "score",
    ]
    # Threshold 0: every class is active over each whole file.
    assert sorted(set(events["filename"])) == ["a.wav", "sub/b.flac"]
    ends = events.groupby("filename")["offset"].max()
    assert ends["a.wav"] == 3.0 and ends["sub/b.flac"] == pytest.approx(12.0)
    assert len(events) == 2 * len(CLASSES)
    scores = sorted(p.name for p in (tmp_path / "scores").iterdir())
    assert scores == ["a.tsv", "sub__b.tsv"]
    plots = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert plots == ["a.png", "sub__b.png"]
    assert (tmp_path / "plots" / "a.png").read_bytes()[:4] == b"\x89PNG"

    # A bad model or threshold stops before any file, with status 2.
    assert main(["detect", str(audio), "--model", str(tmp_path / "no")]) == 2
    bad = ["detect", str(audio), "--model", str(model_dir)]
    assert main([*bad, "--threshold", "Cow=0.2"]) == 2
    assert "Cow" in capsys.readouterr().err
