"""Stage 1 then stage 2 of the recipe on a tiny synthesized dataset (CPU).

The runs call ``main`` of ``train.py`` in this process (``run_inline``):
the recipe's code as its command line runs it, without the start-up of
a new interpreter (the kill and resume, DDP and quickstart tests run it
in subprocesses).

Authors
 * speechbrain-atst team 2026
"""

import json
from pathlib import Path

import pytest
import speechbrain as sb
import torch
from recipe_utils import logged_values, run_inline, tail, train_command
from speechbrain.utils.checkpoints import Checkpointer

from speechbrain_atst import evaluation
from speechbrain_atst.features import ATSTFrontEnd, CNNFrontEnd
from speechbrain_atst.labels import ManyHotEncoder
from speechbrain_atst.lobes.atst_sed import ATSTSED
from speechbrain_atst.training.dataio import make_dataset

#: Runs the recipe.
pytestmark = pytest.mark.slow


def untrained_psds1(data):
    """Teacher-equivalent PSDS1 of the untrained tiny model on synth_valid."""
    torch.set_num_threads(1)
    sb.utils.seed_everything(42)
    classes = data["classes"]
    model = ATSTSED(
        n_classes=len(classes), embed_dim=32, depth=1, num_heads=2
    ).eval()
    manifests = Path(data["manifest_folder"])
    dataset = make_dataset(
        str(manifests / "synth_valid.json"),
        "strong",
        ManyHotEncoder(classes),
        data["data_folder"],
        train=False,
    )
    cnn_fe, atst_fe = CNNFrontEnd(), ATSTFrontEnd()
    scores = {}
    with torch.no_grad():
        for item in dataset:
            wav = item["sig"][None]
            strong, _ = model(cnn_fe(wav), atst_fe(wav))
            scores[item["id"]] = evaluation.scores_to_dataframe(
                evaluation.median_filter(strong[0].numpy(), 7), classes
            )
    metrics = evaluation.evaluate_scores(
        scores,
        manifests / "synth_valid_gt.tsv",
        manifests / "synth_valid_durations.tsv",
    )
    return metrics["psds1"]


def check_run_folder(folder, stage, n_test_clips):
    """The run-folder contract: config, checkpoints, test outputs."""
    folder = Path(folder)
    config = json.loads((folder / "model_config.json").read_text())
    assert config["stage"] == stage
    assert config["objective_key"] == "objective"
    assert config["objective_mode"] == ("min" if stage == 1 else "max")
    assert config["atst"] == {"embed_dim": 32, "depth": 1, "num_heads": 2}
    ckpt = Checkpointer(folder / "save").find_checkpoint(
        **{f"{config['objective_mode']}_key": "objective"}
    )
    assert isinstance(ckpt.meta["objective"], float)
    for name in ("student", "teacher"):
        state = torch.load(ckpt.paramfiles[name], weights_only=True)
        assert "cnn.cnn.conv0.weight" in state
        assert "atst_frame.atst.blocks.0.attn.qkv.weight" in state
        assert not any(k.startswith("module.") for k in state)
    metrics = json.loads((folder / "test" / "metrics.json").read_text())
    for who in ("student", "teacher"):
        assert 0.0 <= metrics[who]["psds1"] <= 1.0
        assert len(list((folder / "test" / f"scores_{who}").glob("*.tsv"))) == (
            n_test_clips
        )
    return metrics


def test_stage1_then_stage2(tiny_sed_data, tmp_path):
    data = tiny_sed_data
    n_test = len(
        json.loads(Path(data["manifest_folder"], "validation.json").read_text())
    )
    before = untrained_psds1(data)

    stage1 = tmp_path / "stage1"
    proc = run_inline(
        train_command(
            1,
            data,
            stage1,
            number_of_epochs=4,
            valid_every=2,
            cnn_lr=0.003,
            rnn_lr=0.003,
        )
    )
    assert proc.returncode == 0, tail(proc)
    psds1 = logged_values(stage1 / "train_log.txt", "valid teacher_psds1")
    assert len(psds1) == 2  # epochs 2 and 4
    assert psds1[-1] > before + 0.05, (before, psds1)
    check_run_folder(stage1, 1, n_test)

    stage2 = tmp_path / "stage2"
    proc = run_inline(
        train_command(
            2, data, stage2, number_of_epochs=1, stage1_ckpt=str(stage1)
        )
    )
    assert proc.returncode == 0, tail(proc)
    log = (stage2 / "log.txt").read_text()
    assert "stage-1 weights from" in log
    objective = logged_values(stage2 / "train_log.txt", "valid objective")
    teacher = logged_values(stage2 / "train_log.txt", "valid teacher_psds1")
    assert len(objective) == 1 and teacher[0] > before
    check_run_folder(stage2, 2, n_test)


def test_refuses_to_start_without_pretrained_transformer(
    tiny_sed_data, tmp_path
):
    cmd = train_command(
        1, tiny_sed_data, tmp_path / "run", atst_random_init=False
    )
    proc = run_inline(cmd)
    assert proc.returncode != 0
    assert "--atst_ckpt" in proc.stderr and "atst_random_init" in proc.stderr
    assert not list((tmp_path / "run" / "save").glob("CKPT+*"))


def test_debug_run(tiny_sed_data, tmp_path):
    """SpeechBrain's --debug mode: 2 batches x 2 epochs, temporary ckpts."""
    cmd = train_command(1, tiny_sed_data, tmp_path / "run", valid_batch_size=4)
    proc = run_inline([*cmd, "--debug"])
    assert proc.returncode == 0, tail(proc)
    steps = logged_values(tmp_path / "run" / "train_log.txt", "step")
    assert steps == [2.0, 4.0]
    assert not list((tmp_path / "run" / "save").glob("CKPT+*"))
    assert (tmp_path / "run" / "test" / "metrics.json").is_file()
