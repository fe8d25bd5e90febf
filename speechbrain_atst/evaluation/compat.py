"""Compatibility of sed_scores_eval 0.0.4 with newer pandas.

Authors
 * speechbrain-atst team 2026
"""

import numpy as np


def ensure_writable_score_arrays():
    """Makes sed_scores_eval 0.0.4 work with read-only score arrays.

    Under pandas copy-on-write (the default from pandas 3)
    ``DataFrame.to_numpy()`` returns read-only views, which the Cython
    ``onset_offset_curves`` of sed_scores_eval 0.0.4 rejects ("buffer source
    array is read-only"). This wraps the function that sed_scores_eval's
    statistics module calls so that a read-only array is copied first (the
    fix sed_scores_eval made after 0.0.4). Idempotent; the original stays
    available as ``__wrapped__``.

    Example
    -------
    >>> ensure_writable_score_arrays()
    >>> from sed_scores_eval.base_modules import statistics
    >>> statistics.onset_offset_curves._writable_guard
    True
    """
    from sed_scores_eval.base_modules import statistics

    current = statistics.onset_offset_curves
    if getattr(current, "_writable_guard", False):
        return

    def onset_offset_curves(scores, *args, **kwargs):
        if isinstance(scores, np.ndarray) and not scores.flags.writeable:
            scores = np.array(scores, copy=True)
        return current(scores, *args, **kwargs)

    onset_offset_curves._writable_guard = True
    onset_offset_curves.__wrapped__ = current
    statistics.onset_offset_curves = onset_offset_curves
