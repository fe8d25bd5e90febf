"""The untrained baseline: metrics of the model before any training.

The model is the student the stage-1 recipe starts from with the run's
seed (same architecture, random initialisation, nothing trained), scored
on the synthetic "real" validation split as the recipe's test pass scores
the trained ones: 10 s clips through both front-ends, then
:func:`~speechbrain_atst.evaluation.evaluate_clip_scores` (median filter,
PSDS and F1 scores).

Authors
 * speechbrain-atst team 2026
"""

import sys
from pathlib import Path

from speechbrain_atst.quickstart.layout import (
    baseline_metrics_path,
    write_json,
)
from speechbrain_atst.quickstart.recipe import load_stage_hparams

#: What the baseline is, as written in its metrics file.
BASELINE_MODEL = "stage-1 starting weights (random initialisation)"


def validation_loader(hparams):
    """Batches of the validation manifest, as the recipe's test reads it.

    Arguments
    ---------
    hparams : dict
        Recipe hyperparameters (``classes``, ``manifest_folder``,
        ``data_folder``, ``valid_batch_size``).

    Returns
    -------
    torch.utils.data.DataLoader
        ``PaddedBatch`` batches with ``id`` and ``sig``.
    """
    import torch
    from speechbrain.dataio.batch import PaddedBatch

    from speechbrain_atst.labels import ManyHotEncoder
    from speechbrain_atst.training.dataio import make_dataset

    dataset = make_dataset(
        str(Path(hparams["manifest_folder"]) / "validation.json"),
        "strong",
        ManyHotEncoder(list(hparams["classes"])),
        hparams["data_folder"],
        train=False,
        name="validation",
    )
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=int(hparams["valid_batch_size"]),
        collate_fn=PaddedBatch,
    )


def clip_scores(model, hparams, device):
    """Raw frame scores of every validation clip.

    Arguments
    ---------
    model : ATSTSED
        The model (put in eval mode on ``device``).
    hparams : dict
        Recipe hyperparameters (see :func:`validation_loader`, plus
        ``cnn_features`` and ``atst_features``).
    device : str
        The device.

    Returns
    -------
    dict
        ``{clip_id: array (frames, classes)}``.
    """
    import torch
    from tqdm import tqdm

    cnn_fe = hparams["cnn_features"].to(device)
    atst_fe = hparams["atst_features"].to(device)
    model = model.to(device).eval()
    scores = {}
    loader = validation_loader(hparams)
    with torch.inference_mode():
        for batch in tqdm(loader, desc="untrained", file=sys.stdout):
            wav = batch.sig.data.to(device)
            strong, _ = model(cnn_fe(wav), atst_fe(wav))
            for clip_id, clip in zip(batch.id, strong.float().cpu().numpy()):
                scores[clip_id] = clip
    return scores


def evaluate_model(model, hparams, device, scores_dir=None):
    """Metrics of a model on the validation split, as the recipe's test.

    The clips of ``<manifest_folder>/validation.json`` are scored in 10 s
    windows by the model in eval mode; the scores are median-filtered with
    ``median_windows`` and evaluated against the ground truth written by
    ``prepare_desed`` with ``evaluate_clip_scores``, as in the recipe's test
    pass.

    Arguments
    ---------
    model : ATSTSED
        The model.
    hparams : dict
        Recipe hyperparameters (``classes``, ``manifest_folder``,
        ``data_folder``, ``median_windows``, ``valid_batch_size``,
        ``cnn_features``, ``atst_features``).
    device : str
        The device.
    scores_dir : str or os.PathLike, optional
        Where to write the score TSVs.

    Returns
    -------
    dict or None
        The metrics of ``evaluate_clip_scores`` (None if no clip has an
        event).
    """
    from speechbrain_atst import evaluation

    folder = Path(hparams["manifest_folder"])
    frames, metrics = evaluation.evaluate_clip_scores(
        clip_scores(model, hparams, device),
        evaluation.read_ground_truth(folder / "validation_gt.tsv"),
        evaluation.read_durations(folder / "validation_durations.tsv"),
        list(hparams["classes"]),
        hparams["median_windows"],
        name="validation",
    )
    if scores_dir is not None:
        evaluation.write_scores(frames, scores_dir)
    return metrics


def run_untrained(layout, seed, device, overrides):
    """Evaluates the untrained model and writes ``untrained/metrics.json``.

    Arguments
    ---------
    layout : dict
        See :func:`~speechbrain_atst.quickstart.layout.output_layout`.
    seed : int
        Training seed.
    device : str
        The device.
    overrides : dict
        Recipe overrides of stage 1.

    Returns
    -------
    dict
        The metrics.
    """
    hparams = load_stage_hparams(layout, seed, overrides, stage=1)
    metrics = evaluate_model(
        hparams["student"],
        hparams,
        device,
        scores_dir=layout["untrained"] / "scores",
    )
    record = {
        "untrained": metrics,
        "seed": int(seed),
        "median_windows": list(hparams["median_windows"]),
        "model": BASELINE_MODEL,
    }
    write_json(baseline_metrics_path(layout), record)
    print(
        f"untrained model: PSDS1 {metrics['psds1']:.3f}, "
        f"PSDS2 {metrics['psds2']:.3f}"
    )
    return metrics
