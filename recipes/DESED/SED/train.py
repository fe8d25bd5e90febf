#!/usr/bin/env python3
"""Recipe for training ATST-SED (CRNN + ATST-Frame) on DESED.

Two stages, each a run of this script (Shao, Li, Li, "Fine-tune the
pretrained ATST model for sound event detection", ICASSP 2024):

* stage 1: CRNN trained around the frozen pretrained transformer, mean
  teacher, mixup of the CNN input;
* stage 2: the whole model fine-tuned from the best stage-1 checkpoint,
  with interpolation consistency, mixup of both branches and frequency
  warping.

To run this recipe:

    > python train.py hparams/stage1.yaml --data_folder=/data/DESED/dataset \
          --atst_ckpt=/ckpt/atst_as2M.ckpt
    > python train.py hparams/stage2.yaml --data_folder=/data/DESED/dataset \
          --stage1_ckpt=results/ATST-SED/stage1/42

Several GPUs: ``torchrun --nproc_per_node=4 train.py hparams/stage2.yaml
...`` (batch sizes are per process). Rerunning a command resumes the run
from its last checkpoint. At the end, the best checkpoint is tested on the
DESED validation set (``<output_folder>/test/metrics.json``).

Authors
 * speechbrain-atst team 2026
"""

import sys

import speechbrain as sb
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.utils.distributed import run_on_main
from speechbrain.utils.logger import get_logger

from speechbrain_atst.checkpoints import run_resumes
from speechbrain_atst.data.desed import prepare_desed, resolve_strong_split
from speechbrain_atst.training import (
    SEDBrain,
    build_datasets,
    check_weight_sources,
    initialize_models,
    write_model_config,
)
from speechbrain_atst.training.initialization import WeightsConfigError
from speechbrain_atst.training.runner import fit_and_test
from speechbrain_atst.training.runtime import apply_matmul_precision

logger = get_logger(__name__)


def dataio_prep(hparams):
    """Creates the training, validation and test datasets.

    Arguments
    ---------
    hparams : dict
        The loaded hyperparameters.

    Returns
    -------
    dict
        ``train`` (the four training subsets, batched by SEDBrain with
        ``batch_sizes``), ``valid`` (synth_valid, weak_valid, strong_valid)
        and ``test`` (the DESED validation set, or None).
    """
    return build_datasets(
        hparams["manifest_folder"],
        hparams["data_folder"],
        hparams["batch_sizes"],
        classes=hparams["classes"],
        train_clip_seconds=hparams["train_clip_seconds"],
    )


def main(argv):
    """Runs one training stage.

    Arguments
    ---------
    argv : list of str
        Command-line arguments (hparams file, run options, overrides).

    Returns
    -------
    SEDBrain
        The trained brain.
    """
    hparams_file, run_opts, overrides = sb.parse_arguments(argv)
    sb.utils.distributed.ddp_init_group(run_opts)

    with open(hparams_file, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    try:
        check_weight_sources(hparams)
    except WeightsConfigError as err:
        sys.exit(f"ERROR: {err}")

    apply_matmul_precision(hparams["float32_matmul_precision"])
    if hparams["cpu_threads"]:
        torch.set_num_threads(int(hparams["cpu_threads"]))
    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )

    if not hparams["skip_prep"]:
        run_on_main(
            prepare_desed,
            kwargs={
                "data_folder": hparams["data_folder"],
                "save_folder": hparams["manifest_folder"],
                "classes": hparams["classes"],
                "skip_missing": hparams["skip_missing"],
                "strong_split": hparams["strong_split"],
                "strong_split_lists": resolve_strong_split(
                    hparams["strong_split_lists"]
                ),
            },
        )
    datasets = dataio_prep(hparams)

    # Initial weights (a resumed run gets its own back from the checkpoint).
    if not run_resumes(hparams["checkpointer"], run_opts["debug"]):
        logger.info(f"Initial weights: {initialize_models(hparams)}")
    run_on_main(write_model_config, args=[hparams])

    # Training, then the best checkpoint by the stage's objective is tested.
    return fit_and_test(
        SEDBrain,
        hparams,
        run_opts,
        datasets["train"],
        datasets["valid"],
        datasets["test"],
    )


if __name__ == "__main__":
    main(sys.argv[1:])
