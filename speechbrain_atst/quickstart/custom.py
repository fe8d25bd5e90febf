"""``quickstart --custom``: your own sounds, on a synthesized example.

After the main quickstart, this part shows the own-data path end to end on
four warehouse sounds that are not DESED's
(:mod:`speechbrain_atst.data.synth_custom`: files of 3-40 s, mixed sample
rates, some stereo, strong + weak + unlabeled parts):

1. ``prepare-custom`` writes the manifests and holds out files;
2. ``finetune`` starts from the quickstart's DESED model (every weight but
   the output layers) and trains on the new classes;
3. the same network is trained from scratch (random weights) with the
   same recipe and number of steps;
4. both are scored on the held-out files and compared.

Everything goes under ``<out_dir>/custom/``; steps already done are
skipped when the command is run again.

Authors
 * speechbrain-atst team 2026
"""

from pathlib import Path

import torch

from speechbrain_atst.data.custom import SUMMARY_FILE, prepare_custom
from speechbrain_atst.data.synth_custom import synthesize_custom_dataset
from speechbrain_atst.finetune import SUMMARY_METRICS, finetune, recipe_arch
from speechbrain_atst.inference.export import write_model_folder
from speechbrain_atst.lobes.atst_sed import ATSTSED
from speechbrain_atst.quickstart.layout import read_json, write_json
from speechbrain_atst.training.own_data import read_dataset_summary
from speechbrain_atst.training.transfer import init_source

#: Training of both runs (the same for both): epochs, clips per batch and
#: recipe overrides (short crops and few validations keep it in minutes on
#: a CPU).
CUSTOM_TRAINING = {
    "epochs": 25,
    "batch_size": 12,
    "overrides": {
        "train_clip_seconds": 1.5,
        "num_workers": 0,
        "valid_batch_size": 4,
        "auto_validations": 5,
    },
}


def custom_layout(root):
    """Paths of the ``--custom`` outputs.

    Arguments
    ---------
    root : str or os.PathLike
        The quickstart folder.

    Returns
    -------
    dict
        ``{name: pathlib.Path}``.

    Example
    -------
    >>> custom_layout("qs")["finetuned"].as_posix()
    'qs/custom/finetuned'
    """
    base = Path(root) / "custom"
    return {
        "base": base,
        "data": base / "data",
        "prepared": base / "prepared",
        "scratch_init": base / "scratch_init",
        "finetuned": base / "finetuned",
        "scratch": base / "scratch",
        "summary_json": base / "summary.json",
        "summary_txt": base / "summary.txt",
    }


def _random_model(folder, classes, arch, seed):
    """A model folder with random weights (the from-scratch start)."""
    torch.manual_seed(seed)
    model = ATSTSED(n_classes=len(classes), **arch)
    return write_model_folder(
        model.state_dict(), folder, classes, median_windows=7, **arch
    )


def comparison(finetuned, scratch):
    """The comparison of the two runs' teachers, and what it shows.

    Arguments
    ---------
    finetuned : dict
        Held-out metrics of the fine-tuned teacher.
    scratch : dict
        Held-out metrics of the teacher trained from scratch.

    Returns
    -------
    str
        A table and one sentence on PSDS1 + PSDS2 (the F1 scores depend on
        the 0.5 threshold, which a short run may leave every score under).

    Example
    -------
    >>> a = {"psds1": 0.5, "psds2": 0.6}
    >>> a.update(intersection_f1_macro=0.7, collar_f1_macro=0.4)
    >>> b = {k: v - 0.1 for k, v in a.items()}
    >>> print(comparison(a, b))
    Teacher, held-out   fine-tuned   scratch  difference
    PSDS1                   0.5000    0.4000     +0.1000
    PSDS2                   0.6000    0.5000     +0.1000
    Intersection F1         0.7000    0.6000     +0.1000
    Collar F1               0.4000    0.3000     +0.1000
    PSDS1 + PSDS2 (threshold-free): fine-tuning is ahead by +0.200.
    """
    head = f"{'Teacher, held-out':<18} {'fine-tuned':>11} {'scratch':>9}"
    lines = [f"{head} {'difference':>11}"]
    for label, key in SUMMARY_METRICS:
        a, b = finetuned.get(key), scratch.get(key)
        cell = [("-" if v is None else f"{v:.4f}") for v in (a, b)]
        diff = "-" if a is None or b is None else f"{a - b:+.4f}"
        lines.append(f"{label:<18} {cell[0]:>11} {cell[1]:>9} {diff:>11}")
    gain = sum(
        finetuned.get(k, 0.0) - scratch.get(k, 0.0) for k in ("psds1", "psds2")
    )
    verdict = "ahead" if gain > 0 else "not ahead"
    lines.append(
        f"PSDS1 + PSDS2 (threshold-free): fine-tuning is {verdict} by "
        f"{gain:+.3f}."
    )
    return "\n".join(lines)


def run_custom(root, model_dir, device, seed=42, data_seed=0):
    """Runs the ``--custom`` demonstration (see the module docstring).

    Arguments
    ---------
    root : str or os.PathLike
        The quickstart folder.
    model_dir : str or os.PathLike
        The quickstart's exported DESED model.
    device : str
        Training device.
    seed : int
        Seed of the scratch model's initial weights.
    data_seed : int
        Seed of the synthesized sounds.

    Returns
    -------
    dict
        ``finetuned`` and ``scratch`` (teacher metrics), ``training``,
        ``data`` (the prepared summary) and ``text``.
    """
    paths = custom_layout(root)
    paths["base"].mkdir(parents=True, exist_ok=True)
    sounds_file = paths["data"] / "sounds.json"
    if not sounds_file.is_file():
        print("Synthesizing the custom sounds ...", flush=True)
        sounds = synthesize_custom_dataset(paths["data"], seed=data_seed)
        write_json(sounds_file, sounds)
    sounds = read_json(sounds_file)
    if not (paths["prepared"] / SUMMARY_FILE).is_file():
        prepare_custom(
            paths["prepared"],
            sounds["audio_dir"],
            strong=sounds["strong"],
            weak=sounds["weak"],
            unlabeled_dir=sounds["unlabeled_dir"],
        )
    summary = read_dataset_summary(paths["prepared"])
    arch = recipe_arch(init_source(model_dir))
    if not (paths["scratch_init"] / "model.ckpt").is_file():
        _random_model(paths["scratch_init"], summary["classes"], arch, seed)
    results = {}
    for name, init in (
        ("finetuned", model_dir),
        ("scratch", paths["scratch_init"]),
    ):
        done = paths[name] / "metrics.json"
        if not done.is_file():
            print(f"\n=== custom: {name} ===", flush=True)
            finetune(
                paths["prepared"],
                init,
                paths[name],
                epochs=CUSTOM_TRAINING["epochs"],
                device=device,
                batch_size=CUSTOM_TRAINING["batch_size"],
                overrides=CUSTOM_TRAINING["overrides"],
            )
        metrics = read_json(done)
        results[name] = metrics["held_out"].get("teacher", {})
    text = comparison(results["finetuned"], results["scratch"])
    out = {
        "finetuned": results["finetuned"],
        "scratch": results["scratch"],
        "training": CUSTOM_TRAINING,
        "data": summary,
        "text": text,
    }
    write_json(paths["summary_json"], out)
    paths["summary_txt"].write_text(text + "\n", "utf-8")
    print("\n" + text, flush=True)
    return out
