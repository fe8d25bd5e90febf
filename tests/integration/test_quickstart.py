"""The quickstart command, end to end at a tiny scale, then rerun.

``speechbrain-atst quickstart`` runs at half the "small" dataset scale,
one epoch per stage on 2 s windows with the recipe's code; every output
must exist (both stages' test metrics, the untrained baseline, the
exported model, which must load, the events TSV, the PNG, the summary),
and a second run must skip every step.

Authors
 * speechbrain-atst team 2026
"""

import json
from pathlib import Path

import pandas as pd
import pytest

from speechbrain_atst.cli import main
from speechbrain_atst.quickstart import output_layout, synth_done

#: Runs the whole quickstart (recipe subprocesses).
pytestmark = pytest.mark.slow

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


@pytest.fixture(scope="module")
def quickstart_run(tmp_path_factory):
    """The quickstart folder after one run."""
    out = tmp_path_factory.mktemp("quickstart") / "qs"
    assert main(["quickstart", "--out_dir", str(out), *TINY]) == 0
    return out


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
    text = layout["summary_txt"].read_text()
    assert "INITIALISED AT RANDOM" in text.upper()
    assert str(layout["events"]) in text


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


def test_other_dataset_settings_in_the_same_folder_are_refused(
    quickstart_run, capsys
):
    out = quickstart_run
    status = main(["quickstart", "--out_dir", str(out), "--scale", "0.25"])
    assert status == 1
    assert "scale '0.5'" in capsys.readouterr().err
