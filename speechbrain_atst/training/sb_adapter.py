"""The private SpeechBrain ``Brain`` methods SEDBrain changes, in one place.

SEDBrain uses SpeechBrain's public hooks everywhere it can. Three changes
have no public hook in SpeechBrain 1.1 and override private methods of
:class:`speechbrain.core.Brain`; this mixin holds them, each delegating
to a public method of the brain:

* ``_fit_valid(valid_set, epoch, enable)``, called by ``Brain.fit`` after
  every training epoch: validation runs only when
  ``is_valid_epoch(epoch)`` (ATST-SED validates every 10 epochs);
* ``_save_intra_epoch_ckpt()``, called by ``Brain._fit_train`` every
  ``ckpt_interval_steps`` / ``ckpt_interval_minutes``: the weights are
  checked by ``check_finite_weights()`` first, so that no checkpoint holds
  NaN;
* ``_wrap_distributed()``, called by ``Brain.on_fit_start``: under DDP,
  ``wrap_distributed()`` wraps only the trainable modules, with
  SyncBatchNorm on GPUs only (SpeechBrain converts BatchNorm on every
  device, which gloo cannot run).

``tests/unit/test_sb_adapter.py`` pins the SpeechBrain behaviour these rely
on (the methods exist with these signatures and are called as described),
so that a SpeechBrain upgrade that changes it fails there first.

Authors
 * speechbrain-atst team 2026
"""


class SpeechBrainAdapter:
    """Mixin of the private ``Brain`` overrides (list it before ``Brain``).

    The brain provides ``is_valid_epoch(epoch)``, ``check_finite_weights()``
    and ``wrap_distributed()``.

    Example
    -------
    >>> import speechbrain as sb
    >>> class MyBrain(SpeechBrainAdapter, sb.Brain):
    ...     def is_valid_epoch(self, epoch):
    ...         return epoch % 2 == 0
    >>> MyBrain.__mro__[1].__name__
    'SpeechBrainAdapter'
    """

    def _fit_valid(self, valid_set, epoch, enable):
        """Validates only on validation epochs (see ``is_valid_epoch``).

        Arguments
        ---------
        valid_set : DataLoader or None
            Validation data.
        epoch : int
            The epoch just trained.
        enable : bool
            Show a progress bar.
        """
        if valid_set is not None and self.is_valid_epoch(epoch):
            super()._fit_valid(valid_set, epoch, enable)

    def _save_intra_epoch_ckpt(self):
        """Intra-epoch checkpoint, after checking that weights are finite."""
        self.check_finite_weights()
        super()._save_intra_epoch_ckpt()

    def _wrap_distributed(self):
        """DDP wrapping by ``wrap_distributed()`` (SpeechBrain's otherwise:
        a single process or ``DataParallel``)."""
        if not self.distributed_launch:
            return super()._wrap_distributed()
        self.wrap_distributed()
