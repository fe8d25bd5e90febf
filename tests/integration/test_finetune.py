"""Own sounds end to end: prepare-custom, finetune, detect (CPU, tiny).

The data are the synthesized warehouse sounds of ``quickstart --custom``
(four classes that are not DESED's, 3-40 s files, mixed rates, stereo,
flac); the initial model is an official-format ATST-SED checkpoint (ten
classes, tiny transformer) converted with ``convert``.
"""

import json
import shutil

import numpy as np
import pytest
import torch

from speechbrain_atst.cli import main as cli
from speechbrain_atst.data.custom import prepare_custom
from speechbrain_atst.data.synth_custom import (
    CUSTOM_CLASSES,
    synthesize_custom_dataset,
)
from speechbrain_atst.inference import SEDInterface
from speechbrain_atst.inference.export import convert_official
from speechbrain_atst.lobes.atst_sed import ATSTSED
from speechbrain_atst.resources import CUSTOM_RECIPE, shipped_path

ARCH = {"embed_dim": 32, "depth": 1, "num_heads": 2}
#: Small and fast: 2 s training crops, one epoch, no loader workers.
FAST = [
    "--epochs=1",
    "--batch_size=6",
    "--override=train_clip_seconds=2.0",
    "--override=num_workers=0",
    "--override=valid_batch_size=2",
]


@pytest.fixture(scope="module")
def sounds(tmp_path_factory):
    root = tmp_path_factory.mktemp("sounds")
    return synthesize_custom_dataset(
        root, {"strong": 10, "weak": 6, "unlabeled": 6}, seed=3
    )


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """An official-format (Lightning) checkpoint with DESED's ten classes,
    converted to a model folder."""
    root = tmp_path_factory.mktemp("official")
    torch.manual_seed(0)
    flat = {}
    for name in ("sed_student", "sed_teacher"):
        for key, value in ATSTSED(n_classes=10, **ARCH).state_dict().items():
            flat[f"{name}.{key}"] = value
    torch.save({"state_dict": flat}, root / "stage2.ckpt")
    return convert_official(root / "stage2.ckpt", root / "model", **ARCH)


def _prepare(sounds, out, parts):
    return prepare_custom(
        out,
        sounds["audio_dir"],
        strong=sounds["strong"] if "strong" in parts else None,
        weak=sounds["weak"] if "weak" in parts else None,
        unlabeled_dir=sounds["unlabeled_dir"] if "unlabeled" in parts else None,
    )


def _finetune(prepared, init, out, capsys):
    status = cli(
        ["finetune", str(prepared), "--init", str(init), "--out", str(out)]
        + FAST
    )
    return status, capsys.readouterr()


@pytest.mark.slow
def test_all_parts_from_a_converted_official_model(
    sounds, converted, tmp_path, capsys
):
    """Four new classes from a ten-class model: held-out metrics of both
    models, a model folder that detects the new classes in a 40 s file,
    a card stating the data; a rerun on other classes is refused."""
    prepared = tmp_path / "prep"
    summary = _prepare(sounds, prepared, ("strong", "weak", "unlabeled"))
    assert summary["classes"] == list(CUSTOM_CLASSES)
    run = tmp_path / "run"
    status, out = _finetune(prepared, converted, run, capsys)
    assert status == 0, out.err[-3000:]
    assert "Held-out files" in out.out and "PSDS1" in out.out

    log = (run / "logs" / "finetune.log").read_text()
    assert "heads new for 4 classes" in log
    assert "batches of [2, 0, 2, 2]" in log  # the three parts are used

    metrics = json.loads((run / "metrics.json").read_text())
    for who in ("student", "teacher"):
        held = metrics["held_out"][who]
        for key in ("psds1", "psds2", "intersection_f1_macro"):
            assert 0.0 <= held[key] <= 1.0
        assert "collar_f1_macro" in held
        assert set(held["intersection_f1_per_class"]) <= set(CUSTOM_CLASSES)
    assert metrics["init_model"]["kind"] == "model"
    assert metrics["architecture"] == ARCH

    # Held-out files are scored whole: the score file of each ends at
    # its duration (files up to 40 s), never cut to 10 s.
    durations = dict(
        line.split("\t")
        for line in (prepared / "valid_durations.tsv")
        .read_text()
        .split("\n")[1:]
        if line
    )
    scores = run / "runs" / "finetune" / "test" / "scores_teacher"
    for name, seconds in durations.items():
        stem = name.rsplit(".", 1)[0].split("/")[-1]
        table = next(scores.rglob(f"{stem}.tsv")).read_text().split("\n")
        last_offset = float(table[-2].split("\t")[1])
        assert last_offset == pytest.approx(float(seconds), abs=0.07)

    model = run / "model"
    card = (model / "README.md").read_text()
    assert "Forklift_beep" in card and "strong_train" in card
    sed = SEDInterface.from_hparams(str(model), run_opts={"device": "cpu"})
    assert sed.classes == list(CUSTOM_CLASSES)
    wav = np.random.default_rng(0).normal(0, 0.1, 16000 * 40)
    assert sed.frame_scores_batch(wav[None])[0].shape == (625, 4)

    # The same run on a prepared folder with other classes: refused.
    other = tmp_path / "other"
    shutil.copytree(prepared, other)
    (other / "classes.txt").write_text(
        "\n".join(reversed(CUSTOM_CLASSES)) + "\n"
    )
    status, out = _finetune(other, converted, run, capsys)
    assert status == 1
    assert "trained on the classes" in out.out + out.err


@pytest.mark.slow
@pytest.mark.parametrize(
    "parts, batches",
    [
        (("strong",), "[6, 0, 0, 0]"),
        (("weak", "unlabeled"), "[0, 0, 3, 3]"),
    ],
)
def test_subsets_of_the_parts(
    sounds, converted, tmp_path, capsys, parts, batches
):
    """Strong labels only, and weak + unlabeled only (no held-out files: a
    model without metrics)."""
    prepared = tmp_path / "prep"
    _prepare(sounds, prepared, parts)
    run = tmp_path / "run"
    status, out = _finetune(prepared, converted, run, capsys)
    assert status == 0, out.err[-3000:]
    assert (
        f"batches of {batches}" in (run / "logs" / "finetune.log").read_text()
    )
    metrics = json.loads((run / "metrics.json").read_text())
    assert bool(metrics["held_out"]) == ("strong" in parts)
    assert (run / "model" / "model.ckpt").is_file()


def _recipe_main():
    import importlib.util

    path = shipped_path(*CUSTOM_RECIPE) / "train.py"
    spec = importlib.util.spec_from_file_location("custom_train", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_recipe_refuses_a_model_of_another_architecture(
    sounds, converted, tmp_path
):
    prepared = tmp_path / "prep"
    _prepare(sounds, prepared, ("strong",))
    hparams = shipped_path(*CUSTOM_RECIPE) / "hparams" / "finetune.yaml"
    with pytest.raises(SystemExit, match="embed_dim=32 but the recipe builds"):
        _recipe_main()(
            [
                str(hparams),
                f"--data_folder={prepared}",
                f"--init_model={converted}",
                f"--output_folder={tmp_path / 'run'}",
                "--atst_embed_dim=64",
                "--atst_depth=1",
                "--atst_num_heads=2",
            ]
        )
