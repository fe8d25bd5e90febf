#!/usr/bin/env python3
"""Recipe for fine-tuning ATST-SED on your own sounds and classes.

The data folder is written by ``speechbrain-atst prepare-custom`` (any
class list; strong, weak and unlabeled parts, each optional; files of any
length, rate and channel count; held-out strong files). The model starts
from a trained ATST-SED (a model folder, a run, an official checkpoint):
every weight is transferred except the two class-dependent output layers.
Training is ATST-SED's semi-supervised fine-tuning (mean teacher, ICT,
mixup, frequency warping; Shao, Li, Li, ICASSP 2024) on 10 s crops;
validation and test score the held-out files whole, windowed as the
exported model scores them.

To run this recipe:

    > python train.py hparams/finetune.yaml --data_folder=PREPARED_DIR \
          --init_model=MODEL_FOLDER

From the pretrained transformer alone (``atst_as2M.ckpt``), run the two
stages of the paper:

    > python train.py hparams/stage1.yaml --data_folder=PREPARED_DIR \
          --init_model=atst_as2M.ckpt
    > python train.py hparams/finetune.yaml --data_folder=PREPARED_DIR \
          --init_model=results/Custom/stage1/42

``speechbrain-atst finetune`` runs this recipe, exports the model and
prints a summary. Rerunning a command resumes the run from its last
checkpoint. Several GPUs: ``torchrun --nproc_per_node=N train.py ...``.

Authors
 * speechbrain-atst team 2026
"""

import os
import sys

import speechbrain as sb
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.utils.distributed import run_on_main
from speechbrain.utils.logger import get_logger

from speechbrain_atst.checkpoints import (
    RUN_CONFIG,
    read_run_config,
    run_resumes,
)
from speechbrain_atst.training import write_model_config
from speechbrain_atst.training.own_data import (
    PreparedDataError,
    build_own_datasets,
    resolve_schedule,
    steps_per_epoch,
)
from speechbrain_atst.training.runner import fit_and_test
from speechbrain_atst.training.runtime import apply_matmul_precision
from speechbrain_atst.training.transfer import (
    TransferError,
    check_architecture,
    check_run_classes,
    init_source,
    transfer_weights,
)
from speechbrain_atst.training.whole_files import WholeFileSEDBrain

logger = get_logger(__name__)


def main(argv):
    """Runs one fine-tuning stage.

    Arguments
    ---------
    argv : list of str
        Command-line arguments (hparams file, run options, overrides).

    Returns
    -------
    WholeFileSEDBrain
        The trained brain.
    """
    hparams_file, run_opts, overrides = sb.parse_arguments(argv)
    sb.utils.distributed.ddp_init_group(run_opts)
    with open(hparams_file, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, overrides)

    try:
        # An earlier run in the output folder (resumed) has its config.
        if os.path.isfile(os.path.join(hparams["output_folder"], RUN_CONFIG)):
            check_run_classes(
                read_run_config(hparams["output_folder"]),
                hparams["classes"],
                hparams["data_folder"],
            )
        source = init_source(hparams["init_model"], hparams["trust_checkpoint"])
        check_architecture(
            source,
            hparams["atst_embed_dim"],
            hparams["atst_depth"],
            hparams["atst_num_heads"],
        )
        if source["kind"] == "atst_checkpoint" and hparams["stage"] != 1:
            logger.warning(
                f"{source['path']} is a transformer alone: fine-tuning starts "
                "from a random CRNN (hparams/stage1.yaml first is the paper's "
                "way)"
            )
        data = build_own_datasets(
            hparams["data_folder"],
            hparams["classes"],
            hparams["batch_size"],
            hparams["train_clip_seconds"],
        )
    except (TransferError, PreparedDataError, FileNotFoundError) as err:
        sys.exit(f"ERROR: {err}")

    hparams["batch_sizes"] = data["batch_sizes"]
    plan = resolve_schedule(
        hparams, steps_per_epoch(data["lengths"], data["batch_sizes"])
    )
    logger.info(
        f"Training parts {data['lengths']} (strong, synthetic, weak, "
        f"unlabeled), batches of {data['batch_sizes']}; schedule {plan}"
    )

    apply_matmul_precision(hparams["float32_matmul_precision"])
    if hparams["cpu_threads"]:
        torch.set_num_threads(int(hparams["cpu_threads"]))
    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )

    if not run_resumes(hparams["checkpointer"], run_opts["debug"]):
        logger.info(
            "Initial weights: "
            + transfer_weights(
                hparams["student"],
                hparams["teacher"],
                source,
                hparams["classes"],
                hparams["trust_checkpoint"],
            )
        )
    run_on_main(write_model_config, args=[hparams])

    # The held-out files validate, then test the best checkpoint.
    return fit_and_test(
        WholeFileSEDBrain,
        hparams,
        run_opts,
        data["train"],
        data["valid"],
        data["valid"],
    )


if __name__ == "__main__":
    main(sys.argv[1:])
