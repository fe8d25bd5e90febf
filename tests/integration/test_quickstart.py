"""The quickstart command, end to end at a tiny scale, then rerun.

``speechbrain-atst quickstart`` runs at half the "small" dataset scale,
one epoch per stage on 2 s windows with the recipe's code and batches of
all four parts; every output must exist (both stages' test metrics, the
untrained baseline, the exported model, which must load, the events TSV,
the PNG, the summary, with the weak loss and the consistency terms of the
training), and a second run must skip every step (tests marked ``slow``).
Quick tests check the summary of a fake finished folder and that the
quickstart package never imports the command line (the top layer).

Authors
 * speechbrain-atst team 2026
"""

import ast
import json
from pathlib import Path

import pandas as pd
import pytest

import speechbrain_atst.quickstart
from speechbrain_atst.cli import main
from speechbrain_atst.quickstart import (
    collect_results,
    output_layout,
    summary_text,
    synth_done,
)

#: Tiny settings: a quick run, not a meaningful one.
TINY = [
    "--scale",
    "0.5",
    "--stage1_epochs",
    "1",
    "--stage2_epochs",
    "1",
    "--device",
    "cpu",
    "--override",
    "train_clip_seconds=2.0",
    "--override",
    "batch_sizes=[1, 2, 2, 2]",
    "--override",
    "valid_batch_size=8",
]


#: A train log as FileTrainLogger writes it: two epochs, then the test.
TRAIN_LOG = (
    "epoch: 1, step: 32, lr_cnn: 2.00e-03 - train loss: 1.20e-01, "
    "train seconds: 12.00\n"
    "epoch: 2, step: 64, lr_cnn: 2.00e-03 - train loss: 9.00e-02, "
    "train seconds: 14.00 - valid loss: 8.00e-02, valid objective: 0.31\n"
    "Test: validation set, epoch: 2 - test loss: 8.00e-02\n"
)


def test_summary_of_a_finished_folder(tmp_path):
    """Metrics from the structured outputs, speed from the train logs."""
    layout = output_layout(tmp_path)
    metrics = {"psds1": 0.25, "psds2": 0.5, "n_files_all": 60}
    for stage in ("stage1", "stage2"):
        (layout[stage] / "test").mkdir(parents=True)
        test = {"student": metrics, "teacher": {**metrics, "psds1": 0.3}}
        (layout[stage] / "test" / "metrics.json").write_text(json.dumps(test))
        (layout[stage] / "train_log.txt").write_text(TRAIN_LOG)
    layout["untrained"].mkdir()
    baseline = {"untrained": {"psds1": 0.0, "n_files_all": 60}, "seed": 42}
    (layout["untrained"] / "metrics.json").write_text(json.dumps(baseline))

    results = collect_results(layout)
    assert list(results["metrics"]) == [
        "untrained",
        "stage1 student",
        "stage1 teacher",
        "stage2 student",
        "stage2 teacher",
    ]
    assert results["speed"]["stage2"] == {
        "steps": 64,
        "epochs": 2,
        "seconds": 26.0,
        "seconds_per_step": 0.406,
    }
    arch = {"embed_dim": 64, "depth": 2, "num_heads": 4}
    timings = {"synth": {"seconds": 25.0, "skipped": True}}
    text = summary_text(layout, results, timings, arch, 3.0)
    assert "(60 clips)" in text
    assert "stage2 teacher (exported)     0.300     0.500" in text
    assert "stage1: 64 steps in 2 epochs, 0.41 s/step (26.0 s)" in text
    assert "skipped (took 25.0 s when done)" in text


def test_the_quickstart_never_imports_the_command_line():
    """No module of the package imports speechbrain_atst.cli, even lazily."""
    folder = Path(speechbrain_atst.quickstart.__file__).parent
    modules = sorted(folder.glob("*.py"))
    assert len(modules) > 5
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                names = [f"{module}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                assert not name.startswith("speechbrain_atst.cli"), path


@pytest.fixture(scope="module")
def quickstart_run(tmp_path_factory):
    """The quickstart folder after one run."""
    out = tmp_path_factory.mktemp("quickstart") / "qs"
    assert main(["quickstart", "--out_dir", str(out), *TINY]) == 0
    return out


@pytest.mark.slow
def test_first_run_writes_every_output(quickstart_run):
    out = quickstart_run
    layout = output_layout(out)
    assert synth_done(layout["data"], "0.5", 0)
    for stage in (1, 2):
        run = layout[f"stage{stage}"]
        metrics = json.loads((run / "test" / "metrics.json").read_text())
        for who in ("student", "teacher"):
            assert 0.0 <= metrics[who]["psds1"] <= 1.0
        config = json.loads((run / "model_config.json").read_text())
        assert config["stage"] == stage
        assert config["atst"] == {"embed_dim": 64, "depth": 2, "num_heads": 4}
        assert (layout["logs"] / f"stage{stage}.log").stat().st_size > 0
    # Stage 2 started from stage 1 (the recipe logs the weights it loads).
    log2 = (layout["stage2"] / "log.txt").read_text()
    assert "stage-1 weights" in log2.lower()
    untrained = json.loads((layout["untrained"] / "metrics.json").read_text())
    assert 0.0 <= untrained["untrained"]["psds1"] <= 1.0
    summary = json.loads(layout["summary_json"].read_text())
    rows = summary["results"]["metrics"]
    assert set(rows) == {
        "untrained",
        "stage1 student",
        "stage1 teacher",
        "stage2 student",
        "stage2 teacher",
    }
    for stage in ("stage1", "stage2"):
        speed = summary["results"]["speed"][stage]
        assert speed["steps"] >= 1 and speed["seconds_per_step"] > 0
    # The semi-supervised half ran: weak BCE and consistency are reported.
    stage2 = summary["results"]["training"]["stage2"]
    assert stage2["batch_sizes"] == [1, 2, 2, 2]
    assert stage2["last"]["loss_weak"] > 0
    assert {"loss_self", "cons_weight", "ict_steps"} <= stage2["last"].keys()
    text = layout["summary_txt"].read_text()
    assert "  batch        [1, 2, 2, 2]        [1, 2, 2, 2]" in text
    assert "INITIALISED AT RANDOM" in text.upper()
    assert str(layout["events"]) in text


@pytest.mark.slow
def test_exported_model_loads_and_detect_wrote_events_and_plot(quickstart_run):
    from speechbrain_atst.inference import SEDInterface

    out = quickstart_run
    layout = output_layout(out)
    sed = SEDInterface.from_hparams(
        source=str(layout["model"]), run_opts={"device": "cpu"}
    )
    assert len(sed.classes) == 10
    events = pd.read_csv(layout["events"], sep="\t")
    assert list(events.columns) == [
        "filename",
        "onset",
        "offset",
        "event_label",
        "score",
    ]
    summary = json.loads(layout["summary_json"].read_text())
    png = Path(summary["outputs"]["plot"])
    assert png.parent == layout["plots"]
    assert png.stem == Path(summary["outputs"]["detect_clip"]).stem
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_rerun_skips_every_step(quickstart_run, capsys):
    out = quickstart_run
    layout = output_layout(out)
    before = {
        p: p.stat().st_mtime_ns
        for p in (
            layout["stage1"] / "test" / "metrics.json",
            layout["stage2"] / "test" / "metrics.json",
            layout["untrained"] / "metrics.json",
            layout["model"] / "model.ckpt",
            layout["events"],
        )
    }
    assert main(["quickstart", "--out_dir", str(out), *TINY]) == 0
    printed = capsys.readouterr().out
    # Every step but "prepare" (prepare_desed checks its own outputs).
    assert printed.count("already done: skipped") == 6
    assert "up to date" in printed or "synth_train" in printed
    for path, mtime in before.items():
        assert path.stat().st_mtime_ns == mtime, path
    summary = json.loads(layout["summary_json"].read_text())
    assert summary["timings"]["stage1"]["skipped"] is True
    assert summary["timings"]["stage1"]["seconds"] > 0


@pytest.mark.slow
def test_other_dataset_settings_in_the_same_folder_are_refused(
    quickstart_run, capsys
):
    out = quickstart_run
    status = main(["quickstart", "--out_dir", str(out), "--scale", "0.25"])
    assert status == 1
    assert "scale '0.5'" in capsys.readouterr().err
