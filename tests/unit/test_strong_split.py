"""The real strong split: ATST-SED's fixed lists (the recipe's default),
name-list files, the random split, and the recipe's preparation script.

Authors
 * speechbrain-atst team 2026
"""

import importlib.util
import json
import re
from pathlib import Path

import pytest

from speechbrain_atst.data import DESED_LAYOUT
from speechbrain_atst.data.desed import (
    prepare_desed,
    read_name_list,
    read_strong_tsv,
    resolve_strong_split,
)
from speechbrain_atst.resources import official_strong_split

REPO = Path(__file__).resolve().parents[2]
#: A DESED strong-real file name: YouTube id, start and end seconds.
DESED_NAME = re.compile(r"^Y[\w-]{11}_\d+\.\d{3}_\d+\.\d{3}\.wav$")


def _manifest(out, name):
    with open(out[name], encoding="utf-8") as fin:
        return json.load(fin)


def test_official_lists_are_atst_sed_split():
    """3,000 training and 373 validation clips, disjoint, DESED names."""
    train, valid = (read_name_list(p) for p in official_strong_split())
    assert (len(train), len(valid)) == (3000, 373)
    assert not set(train) & set(valid)
    assert all(DESED_NAME.match(n) for n in train + valid)


@pytest.mark.parametrize("stage", [1, 2])
def test_recipe_defaults_are_the_official_ones(stage, tmp_path):
    """The stage YAMLs split the real strong set with ATST-SED's lists and
    allow TF32 matmuls on GPUs, as the official scripts."""
    from hyperpyyaml import load_hyperpyyaml

    overrides = {
        "data_folder": str(tmp_path),
        "output_folder": str(tmp_path / "run"),
        "atst_embed_dim": 32,
        "atst_depth": 1,
        "atst_num_heads": 2,
    }
    if stage == 2:
        overrides["stage1_ckpt"] = None
    path = REPO / "recipes" / "DESED" / "SED" / "hparams" / f"stage{stage}.yaml"
    with open(path, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    split = resolve_strong_split(hparams["strong_split_lists"])
    assert split == official_strong_split()
    assert hparams["float32_matmul_precision"] == "high"


def test_name_lists_define_the_split(mini_desed, tmp_path):
    strong = read_strong_tsv(mini_desed / DESED_LAYOUT["strong"]["tsv"])
    names = sorted(strong)
    train_list, valid_list = tmp_path / "train.txt", tmp_path / "valid.txt"
    train_list.write_text("# training\n" + "\n".join(names[3:]) + "\n")
    valid_list.write_text("\n".join(names[:3]) + "\n")
    out = prepare_desed(
        mini_desed,
        tmp_path / "save",
        strong_split_lists=resolve_strong_split(f"{train_list},{valid_list}"),
    )
    train, valid = (
        _manifest(out, "strong_train"),
        _manifest(out, "strong_valid"),
    )
    assert set(valid) == {n.rsplit(".", 1)[0] for n in names[:3]}
    assert set(train) == {n.rsplit(".", 1)[0] for n in names[3:]}
    # The labels come from the strong TSV.
    gt = (Path(out["strong_valid_gt"])).read_text().splitlines()
    listed = {line.split("\t")[0] for line in gt[1:]}
    assert listed <= set(names[:3])


def test_unknown_listed_clip_is_named(mini_desed, tmp_path):
    train_list, valid_list = tmp_path / "train.txt", tmp_path / "valid.txt"
    train_list.write_text("Ynot_a_clip_0.000_10.000.wav\n")
    valid_list.write_text("")
    lists = (train_list, valid_list)
    with pytest.raises(ValueError, match=r"train\.txt.*Ynot_a_clip"):
        prepare_desed(mini_desed, tmp_path / "a", strong_split_lists=lists)
    out = prepare_desed(
        mini_desed, tmp_path / "b", strong_split_lists=lists, skip_missing=True
    )
    assert _manifest(out, "strong_train") == {}


def test_broken_list_files(tmp_path):
    repeated = tmp_path / "repeated.txt"
    repeated.write_text("Y1.wav\nY2.wav\nY1.wav\n")
    with pytest.raises(ValueError, match=r"repeated\.txt, line 3: Y1\.wav"):
        read_name_list(repeated)
    tsv = tmp_path / "tsv.txt"
    tsv.write_text("Y1.wav\t0.0\t1.0\tDog\n")
    with pytest.raises(ValueError, match=r"tsv\.txt, line 1"):
        read_name_list(tsv)
    with pytest.raises(ValueError, match="official"):
        resolve_strong_split("only_one_file.txt")


def test_random_split_is_still_available(mini_desed, tmp_path):
    out = prepare_desed(mini_desed, tmp_path, strong_split=0.5)
    train, valid = (
        _manifest(out, "strong_train"),
        _manifest(out, "strong_valid"),
    )
    assert train and valid and not set(train) & set(valid)


def test_recipe_script_uses_the_cli_options(mini_desed, tmp_path):
    """``desed_prepare.py`` takes the options of ``speechbrain-atst
    prepare``; the official split fails clearly on synthesized clips."""
    path = REPO / "recipes" / "DESED" / "SED" / "desed_prepare.py"
    spec = importlib.util.spec_from_file_location("desed_prepare", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    base = ["--data_folder", str(mini_desed), "--save_folder", str(tmp_path)]
    assert module.main(base) == 1  # synthesized clips are not in the lists
    assert module.main([*base, "--strong_split_lists", "random"]) == 0
