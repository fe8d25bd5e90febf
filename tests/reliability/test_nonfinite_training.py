"""Non-finite values during training: reported, skipped or stopped as
configured, never saved.

The recipe runs in this process (``run_inline``) with the patches of
``inject_nan.py``, which turn one training clip into NaN samples (a
decoder glitch that file checks cannot see) or one weight into NaN. A NaN
loss must be reported with the batch's clip ids and the file at fault,
then either skipped (the epoch goes on, one optimizer step fewer,
BatchNorm statistics untouched) or stop the run (``nonfinite_action:
stop``); no kept checkpoint may hold a non-finite tensor.

Authors
 * speechbrain-atst team 2026
"""

from pathlib import Path

import inject_nan
import pytest
import torch
import yaml
from recipe_utils import (
    RECIPE_DIR,
    TINY_YAML,
    run_inline,
    tail,
    train_command,
)

from speechbrain_atst.training.dataio import build_datasets
from speechbrain_atst.training.sampler import SubsetBatchSampler

BATCH = [1, 1, 2, 2]
#: The 9th training clip loaded is in the second batch (6 clips each).
NAN_CLIP = 9


def injected_run(data, out, monkeypatch, settings, **overrides):
    """Runs one tiny stage-1 epoch with ``inject_nan`` patches made from
    ``settings`` (its environment variables), undone after the test."""
    inject_nan.install(settings, monkeypatch.setattr)
    cmd = train_command(
        1,
        data,
        out,
        batch_sizes=BATCH,
        number_of_epochs=1,
        ckpt_interval_steps=1,
        **overrides,
    )
    return run_inline(cmd)


def kept_checkpoints_are_finite(save):
    """Asserts every tensor of every kept checkpoint is finite; returns
    the number of checkpoints."""
    folders = list(Path(save).glob("CKPT+*"))
    for folder in folders:
        for name in ("student.ckpt", "teacher.ckpt"):
            state = torch.load(folder / name, weights_only=True)
            bad = [
                key
                for key, value in state.items()
                if value.is_floating_point()
                and not bool(torch.isfinite(value).all())
            ]
            assert not bad, f"{folder.name}/{name}: {bad[:5]}"
    return len(folders)


@pytest.fixture
def nan_audio(tmp_path):
    """Settings poisoning the ``NAN_CLIP``-th training clip."""
    return {
        "NAN_AUDIO_AT": str(NAN_CLIP),
        "NAN_LOG": str(tmp_path / "poisoned.txt"),
    }


def _poisoned(tmp_path):
    """The path of the clip turned into NaN, and its id."""
    path = (tmp_path / "poisoned.txt").read_text().split()[0]
    return path, Path(path).stem


@pytest.mark.slow
def test_nan_loss_is_reported_and_skipped(
    small_sed_data, nan_audio, monkeypatch, tmp_path
):
    data = build_datasets(
        small_sed_data["manifest_folder"],
        small_sed_data["data_folder"],
        BATCH,
        classes=small_sed_data["classes"],
    )
    steps = len(
        SubsetBatchSampler([len(d) for d in data["train"].datasets], BATCH)
    )
    out = tmp_path / "skip"
    proc = injected_run(small_sed_data, out, monkeypatch, nan_audio)
    assert proc.returncode == 0, tail(proc)
    path, clip_id = _poisoned(tmp_path)
    log = (out / "log.txt").read_text()
    assert "Non-finite training loss (nan) at epoch step 2" in log
    line = log[log.index("Non-finite training loss") :].splitlines()[0]
    assert (
        clip_id in line
        and f"Non-finite input audio or features: {path}." in line
    )
    assert "The update was skipped" in line
    # The epoch went on: one optimizer step fewer, finite statistics.
    train_log = (out / "train_log.txt").read_text()
    assert f"epoch: 1, step: {steps - 1}," in train_log
    assert "valid objective: nan" not in train_log
    assert kept_checkpoints_are_finite(out / "save") >= 1
    assert (out / "test" / "metrics.json").is_file()


@pytest.mark.slow
def test_nan_loss_stops_when_configured(
    small_sed_data, nan_audio, monkeypatch, tmp_path
):
    out = tmp_path / "stop"
    proc = injected_run(
        small_sed_data, out, monkeypatch, nan_audio, nonfinite_action="stop"
    )
    assert proc.returncode != 0
    path, clip_id = _poisoned(tmp_path)
    # SpeechBrain's exception hook logs the uncaught error to the console
    # and log.txt.
    output = proc.stdout + proc.stderr
    message = output[output.index("Non-finite training loss") :]
    assert clip_id in message and path in message
    assert "Stopping" in message and "nonfinite_action=stop" in message
    # The checkpoint of the step before is kept, complete and finite.
    assert kept_checkpoints_are_finite(out / "save") == 1
    (ckpt,) = (out / "save").glob("CKPT+*")
    assert yaml.safe_load((ckpt / "brain.ckpt").read_text())["step"] == 1
    assert not (out / "test").exists()


@pytest.mark.slow
def test_nan_weights_are_never_saved(small_sed_data, monkeypatch, tmp_path):
    out = tmp_path / "weights"
    proc = injected_run(
        small_sed_data, out, monkeypatch, {"NAN_WEIGHT_AT": "2"}
    )
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert "The student's dense.bias holds NaN or inf values" in output
    assert "the checkpoint is not saved" in output
    assert kept_checkpoints_are_finite(out / "save") == 1
    (ckpt,) = (out / "save").glob("CKPT+*")
    assert yaml.safe_load((ckpt / "brain.ckpt").read_text())["step"] == 1


def test_unknown_nonfinite_action_is_refused(tmp_path):
    """A typo in ``nonfinite_action`` is an error, not a silent "skip"."""
    from hyperpyyaml import load_hyperpyyaml

    from speechbrain_atst.training import SEDBrain

    overrides = yaml.safe_load(TINY_YAML.read_text())
    overrides.update(
        data_folder=str(tmp_path),
        output_folder=str(tmp_path / "run"),
        nonfinite_action="ignore",
    )
    with open(RECIPE_DIR / "hparams" / "stage1.yaml", encoding="utf-8") as f:
        hparams = load_hyperpyyaml(f, overrides)
    with pytest.raises(ValueError, match="must be 'skip' or 'stop', got 'ig"):
        SEDBrain(
            modules=hparams["modules"],
            opt_class=hparams["opt_class"],
            hparams=hparams,
            run_opts={"device": "cpu"},
        )
