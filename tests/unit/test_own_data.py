"""Own-data training: whole-file scoring, batch parts, scaled schedules."""

import json

import numpy as np
import pytest
import soundfile
import torch
from speechbrain.utils.epoch_loop import EpochCounter

from speechbrain_atst.features import ATSTFrontEnd, CNNFrontEnd
from speechbrain_atst.inference import SEDInterface
from speechbrain_atst.inference.export import write_model_folder
from speechbrain_atst.labels import ManyHotEncoder
from speechbrain_atst.lobes.atst_sed import ATSTSED
from speechbrain_atst.training.own_data import (
    PreparedDataError,
    build_own_datasets,
    part_batch_sizes,
    read_dataset_summary,
    resolve_schedule,
    steps_per_epoch,
)
from speechbrain_atst.training.schedules import WarmupCosineLR
from speechbrain_atst.training.whole_files import (
    ModelWindows,
    WholeFileRecord,
)

CLASSES = ["Beep", "Hum", "Knock"]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return ATSTSED(n_classes=3, embed_dim=32, depth=1, num_heads=2).eval()


def test_whole_files_are_scored_as_the_exported_model_scores_them(
    tmp_path, model
):
    """Validation scores a 25 s file whole (391 frames, not one 10 s
    window), a 3 s file to its end (47 frames), exactly as SEDInterface
    does with the same weights."""
    folder = write_model_folder(
        model.state_dict(), tmp_path / "m", CLASSES, 32, 1, 2, 1
    )
    sed = SEDInterface.from_hparams(str(folder), run_opts={"device": "cpu"})
    scorer = ModelWindows(
        model, CNNFrontEnd(), ATSTFrontEnd(), CLASSES, "cpu", hop_seconds=8.0
    )
    rng = np.random.default_rng(0)
    long, short = rng.normal(0, 0.1, (2, 16000 * 25)).astype(np.float32)
    short[16000 * 3 :] = 0.0
    lens = torch.tensor([1.0, 3 / 25])
    ours = scorer.frame_scores_batch(
        torch.from_numpy(np.stack([long, short])), lens, median=False
    )
    assert [s.shape for s in ours] == [(391, 3), (47, 3)]
    theirs = sed.frame_scores_batch(
        np.stack([long, short]), lens.numpy(), median=False
    )
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_record_keeps_whole_file_scores_and_teacher_bce():
    record = WholeFileRecord(ManyHotEncoder(CLASSES))
    frames = np.full((391, 3), 0.25, np.float32)
    loss = record.add_files(
        ["long"],
        [[[20.0, 24.0, "Hum"]]],
        {"student": [frames], "teacher": [frames]},
    )
    assert record.scores["teacher"]["long"].shape == (391, 3)
    # Targets on the file's whole grid: the event at 20-24 s counts.
    target = np.zeros((391, 3))
    target[312:375, 1] = 1.0
    expected = -np.mean(target * np.log(0.25) + (1 - target) * np.log(0.75))
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def _prepared(tmp_path, parts):
    """A prepared folder with the manifests of ``parts``."""
    folder = tmp_path / "prep"
    folder.mkdir(parents=True)
    audio = tmp_path / "a.wav"
    soundfile.write(audio, np.zeros(16000 * 12, np.float32), 16000)
    (folder / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    (folder / "dataset.json").write_text(json.dumps({"classes": CLASSES}))
    for name, n in parts.items():
        entries = {}
        for i in range(n):
            entry = {"wav": str(audio), "duration": 12.0}
            if name in ("strong_train", "valid"):
                entry["events"] = [[1.0, 2.0, "Hum"]]
            elif name == "weak_train":
                entry["labels"] = ["Hum"]
            entries[f"{name}{i}"] = entry
        (folder / f"{name}.json").write_text(json.dumps(entries))
    return folder


def test_datasets_use_the_parts_present(tmp_path):
    folder = _prepared(tmp_path, {"weak_train": 5, "unlabeled": 30})
    data = build_own_datasets(str(folder), CLASSES, 24)
    assert data["lengths"] == [0, 0, 5, 30]
    assert data["batch_sizes"] == [0, 0, 5, 12]
    assert data["valid"] is None
    item = data["train"][5]  # the first unlabeled clip
    assert item["sig"].shape == (160000,)
    folder = _prepared(tmp_path / "b", {"strong_train": 9, "valid": 2})
    data = build_own_datasets(str(folder), CLASSES, 24)
    assert data["batch_sizes"] == [9, 0, 0, 0]
    assert data["valid"][0]["sig"].shape == (16000 * 12,)


def test_not_a_prepared_folder(tmp_path):
    with pytest.raises(PreparedDataError, match="prepare-custom"):
        read_dataset_summary(tmp_path)
    with pytest.raises(PreparedDataError, match="no training file"):
        part_batch_sizes([0, 0, 0, 0], 24)


@pytest.mark.parametrize(
    "n_files, epochs, expected",
    [
        (30, "auto", (200, 10, 10)),  # 3 steps per epoch: 600 steps
        (30_000, "auto", (1, 1, 1)),  # 3750 steps per epoch: 6000 at most
        (30, 7, (7, 1, 1)),
    ],
)
def test_schedule_scales_with_the_data(n_files, epochs, expected):
    hparams = {
        "epochs": epochs,
        "auto_epochs": 200,
        "auto_min_steps": 300,
        "auto_max_steps": 6000,
        "auto_warmup_fraction": 0.05,
        "auto_validations": 20,
        "ema_decay": "auto",
        "epoch_counter": EpochCounter(1),
        "lr_scheduler": WarmupCosineLR(1, 1, True),
    }
    n_steps = steps_per_epoch([n_files, 0, 0, 0], [8, 0, 0, 0])
    plan = resolve_schedule(hparams, n_steps)
    got = (plan["number_of_epochs"], plan["warmup_epochs"], plan["valid_every"])
    assert got == expected
    assert hparams["epoch_counter"].limit == expected[0]
    assert hparams["lr_scheduler"].n_epochs == expected[0]
    assert hparams["lr_scheduler"].warmup_epochs == expected[1]
    # The teacher's time constant: 5 % of the run, within [0.9, 0.999].
    steps = expected[0] * n_steps
    assert hparams["ema_decay"] == pytest.approx(
        min(0.999, max(0.9, 1 - 20 / steps)), abs=1e-6
    )
