"""The end of a training recipe: build the brain, train, test the best.

Both recipes (``recipes/DESED/SED`` and ``recipes/Custom/SED``) finish the
same way once their data and initial weights are ready:
:func:`fit_and_test`.

Authors
 * speechbrain-atst team 2026
"""


def fit_and_test(
    brain_class, hparams, run_opts, train_set, valid_set, test_set
):
    """Trains a brain of ``brain_class``, then tests its best checkpoint.

    Arguments
    ---------
    brain_class : type
        :class:`~speechbrain_atst.training.SEDBrain` or a subclass.
    hparams : dict
        Loaded hyperparameters (``modules``, ``opt_class``,
        ``checkpointer``, ``epoch_counter``, ``train_dataloader_opts``,
        ``valid_dataloader_opts``).
    run_opts : dict
        SpeechBrain run options.
    train_set : Dataset
        Training data.
    valid_set : Dataset or None
        Validation data.
    test_set : Dataset or None
        Tested with the best checkpoint by the stage's objective (skipped
        if None).

    Returns
    -------
    SEDBrain
        The trained brain.
    """
    brain = brain_class(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=hparams["checkpointer"],
    )
    brain.fit(
        brain.hparams.epoch_counter,
        train_set,
        valid_set,
        train_loader_kwargs=hparams["train_dataloader_opts"],
        valid_loader_kwargs=hparams["valid_dataloader_opts"],
    )
    if test_set is not None:
        brain.evaluate(
            test_set,
            test_loader_kwargs=dict(hparams["valid_dataloader_opts"]),
        )
    return brain
