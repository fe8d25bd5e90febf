"""The quickstart's report of the semi-supervised training terms.

The summary reads, for each stage, the batch composition from the run's
``hyperparams.yaml`` and the epoch means of the training-loss terms (weak
BCE, consistency, its weight, the fraction of ICT steps) from its
``train_log.txt``; here both are hand-written as SpeechBrain writes them,
so no training runs.

Authors
 * speechbrain-atst team 2026
"""

import json

from speechbrain_atst.quickstart import (
    collect_results,
    output_layout,
    summary_text,
)
from speechbrain_atst.quickstart.summary import training_lines
from speechbrain_atst.quickstart.train_log import training_terms


def epoch_line(epoch, weak, self_, weight, ict, valid=""):
    """One epoch line as SEDBrain logs it through FileTrainLogger."""
    return (
        f"epoch: {epoch}, step: {46 * epoch}, lr_cnn: 2.00e-03, lr_rnn: "
        f"2.00e-03, lr_tfm_0: 2.00e-04 - train loss: 1.66e-01, train "
        f"loss_strong: 1.64e-01, train loss_weak: {weak}, train loss_self: "
        f"{self_}, train ict_steps: {ict}, train warp_steps: 5.94e-01, "
        f"train cons_weight: {weight}, train grad_norm: 1.58, train "
        f"seconds: 32.80{valid}\n"
    )


#: Stage 2: three epochs, the second logged twice (a resumed run), then
#: validation at the last one and the test line.
STAGE2_LOG = (
    epoch_line(1, "3.10e-01", "1.53e-03", "8.22e-01", "5.00e-01")
    + epoch_line(2, "2.90e-01", "7.35e-03", "2.00", "5.62e-01")
    + epoch_line(2, "2.80e-01", "7.00e-03", "2.00", "5.31e-01")
    + epoch_line(
        3,
        "2.05e-01",
        "1.39e-03",
        "2.00",
        "4.35e-01",
        " - valid loss: 2.35e-01, valid teacher_psds1: 2.06e-01",
    )
    + "Test: validation set, epoch: 3, objective: 4.57e-01 - test loss: "
    "1.17e-01, test student_psds1: 2.33e-01\n"
)
#: Stage 1 of an older quickstart: strong clips only.
STAGE1_LOG = epoch_line(1, "0.00e+00", "5.25e-02", "8.22e-01", "0.00e+00")
#: The lines of a run's hyperparams.yaml around its batch sizes.
HPARAMS = (
    "# Items per batch: [real strong, synthetic strong, weak, unlabeled].\n"
    "# batch_sizes: [24, 24, 48, 48] in the recipe\n"
    "batch_sizes: {}\n"
    "train_clip_seconds: 1.5\n"
)


def write_run(run_dir, log, batch_sizes):
    run_dir.mkdir(parents=True)
    (run_dir / "train_log.txt").write_text(log)
    (run_dir / "hyperparams.yaml").write_text(HPARAMS.format(batch_sizes))


def test_first_and_last_epoch_terms(tmp_path):
    write_run(tmp_path / "run", STAGE2_LOG, "[1, 5, 2, 2]")
    terms = training_terms(tmp_path / "run" / "train_log.txt")
    assert terms == {
        "epochs": 3,
        "first": {
            "loss_strong": 0.164,
            "loss_weak": 0.31,
            "loss_self": 0.00153,
            "cons_weight": 0.822,
            "ict_steps": 0.5,
        },
        "last": {
            "loss_strong": 0.164,
            "loss_weak": 0.205,
            "loss_self": 0.00139,
            "cons_weight": 2.0,
            "ict_steps": 0.435,
        },
    }


def test_summary_reports_the_semi_supervised_terms(tmp_path):
    layout = output_layout(tmp_path)
    write_run(layout["stage1"], STAGE1_LOG, "[1, 7, 0, 0]")
    write_run(layout["stage2"], STAGE2_LOG, "[1, 5, 2, 2]")

    results = collect_results(layout)
    stage2 = results["training"]["stage2"]
    assert stage2["batch_sizes"] == [1, 5, 2, 2]
    assert stage2["last"]["loss_weak"] == 0.205
    assert results["training"]["stage1"]["batch_sizes"] == [1, 7, 0, 0]
    # The summary JSON holds them as plain values.
    assert json.loads(json.dumps(results))["training"] == results["training"]

    lines = training_lines(results["training"])
    assert lines[:8] == [
        "Training terms (train_log.txt, epoch means, first -> last epoch):",
        "               stage1              stage2",
        "  batch        [1, 7, 0, 0]        [1, 5, 2, 2]",
        "  loss_strong  0.164 -> 0.164      0.164 -> 0.164",
        "  loss_weak    0 -> 0              0.31 -> 0.205",
        "  loss_self    0.0525 -> 0.0525    0.00153 -> 0.00139",
        "  cons_weight  0.822 -> 0.822      0.822 -> 2",
        "  ict_steps    0 -> 0              0.5 -> 0.435",
    ]
    # Stage 1's strong-only batches are pointed out, stage 2's are not.
    notes = [line for line in lines if "NOTE" in line]
    assert notes == [
        "  NOTE: stage1 batches hold no weak and no unlabeled clips."
    ]
    arch = {"embed_dim": 64, "depth": 2, "num_heads": 4}
    text = summary_text(layout, results, {}, arch, 1.0)
    assert "\n".join(lines) in text
    assert max(len(line) for line in lines) <= 72


def test_no_train_log_no_section(tmp_path):
    layout = output_layout(tmp_path)
    results = collect_results(layout)
    assert results["training"] == {"stage1": None, "stage2": None}
    assert training_lines(results["training"]) == []
    arch = {"embed_dim": 64, "depth": 2, "num_heads": 4}
    assert "Training terms" not in summary_text(layout, results, {}, arch, 1)
