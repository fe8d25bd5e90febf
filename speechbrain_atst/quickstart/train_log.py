"""SpeechBrain's train log (``train_log.txt``) read back as records.

The recipe logs with ``speechbrain.utils.train_logger.FileTrainLogger``:
one line per call of ``log_stats``, its parts joined by the logger's own
separators. The meta part comes first, then each set's statistics with the
set's name before each key (one line, here cut in two)::

    epoch: 2, step: 20, lr_cnn: 1.00e-03 - train loss: 5.00e-01,
    train seconds: 22.00 - valid loss: 4.00e-01

A line is split on those separators (:data:`PART_SEPARATOR`,
:data:`ITEM_SEPARATOR`, :data:`KEY_SEPARATOR`) into ``{key: value}``. The
quickstart reads from the epoch lines its training speed
(:func:`training_speed`: the log is the only record of the time spent
training, validation excluded) and the terms of the training loss of the
first and last epochs (:func:`training_terms`: the weak BCE and the
consistency terms show that the semi-supervised half of the training ran);
the metrics come from the runs' structured ``test/metrics.json``.

Authors
 * speechbrain-atst team 2026
"""

from pathlib import Path

#: Between the meta part and each set's statistics (FileTrainLogger).
PART_SEPARATOR = " - "
#: Between the items of a part.
ITEM_SEPARATOR = ", "
#: Between a key and its value.
KEY_SEPARATOR = ": "
#: The keys of an epoch line (SEDBrain logs one at the end of every epoch).
EPOCH_KEYS = ("epoch", "step", "train seconds")
#: Epoch means of SEDBrain's training statistics that the quickstart
#: reports (``compute_objectives``): the strong and weak BCE, the
#: consistency term (mean teacher, or ICT on mixed steps), its weight and
#: the fraction of ICT steps. They are logged as ``train <term>``.
TRAINING_TERMS = (
    "loss_strong",
    "loss_weak",
    "loss_self",
    "cons_weight",
    "ict_steps",
)


def _value(text):
    """``text`` as an int or a float if it is one, else the text.

    Example
    -------
    >>> _value("20"), _value("2.20e+01"), _value("validation set")
    (20, 22.0, 'validation set')
    """
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_log_line(line):
    """The ``{key: value}`` items of one line of a train log.

    Keys keep the set's name that the logger puts before them (``train
    loss``, ``valid loss``); numbers become int or float. An item without
    a key separator continues the previous value (a value that itself
    held ``", "``, such as a list).

    Arguments
    ---------
    line : str
        One line written by ``FileTrainLogger.log_stats``.

    Returns
    -------
    dict
        The items in order (empty for a blank line).

    Example
    -------
    >>> parse_log_line(
    ...     "epoch: 2, step: 20, lr_cnn: 1.00e-03 - train loss: 5.00e-01, "
    ...     "train seconds: 22.00 - valid loss: 4.00e-01"
    ... )
    {'epoch': 2, 'step': 20, 'lr_cnn': 0.001, 'train loss': 0.5,
     'train seconds': 22.0, 'valid loss': 0.4}
    >>> parse_log_line("Test: validation set, epoch: 3 - test loss: 1.5")
    {'Test': 'validation set', 'epoch': 3, 'test loss': 1.5}
    >>> parse_log_line("epoch: 1, sizes: [1, 2] - train loss: 0.25")
    {'epoch': 1, 'sizes': '[1, 2]', 'train loss': 0.25}
    """
    items = {}
    key = None
    for part in line.strip().split(PART_SEPARATOR):
        for item in part.split(ITEM_SEPARATOR):
            name, sep, value = item.partition(KEY_SEPARATOR)
            if sep:
                key = name.strip()
                items[key] = value.strip()
            elif key is not None and item:
                items[key] += ITEM_SEPARATOR + item
    return {k: _value(v) for k, v in items.items()}


def read_train_log(path):
    """The records of a train log, one per non-empty line.

    Arguments
    ---------
    path : str or os.PathLike
        ``train_log.txt``.

    Returns
    -------
    list of dict
        See :func:`parse_log_line`; empty if the file does not exist.

    Example
    -------
    >>> log = getfixture("tmp_path") / "train_log.txt"
    >>> _ = log.write_text("epoch: 1, step: 10 - train loss: 1.0\\n\\n")
    >>> read_train_log(log)
    [{'epoch': 1, 'step': 10, 'train loss': 1.0}]
    """
    path = Path(path)
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [parse_log_line(line) for line in lines if line.strip()]


def epoch_records(train_log):
    """The epoch lines of a train log (validation and test lines left out).

    Arguments
    ---------
    train_log : str or os.PathLike
        The run's ``train_log.txt``.

    Returns
    -------
    list of dict
        The records with every key of :data:`EPOCH_KEYS`, in file order.

    Example
    -------
    >>> log = getfixture("tmp_path") / "train_log.txt"
    >>> _ = log.write_text(
    ...     "epoch: 1, step: 10 - train loss: 1.0, train seconds: 2.0\\n"
    ...     "Test: validation set, epoch: 1 - test loss: 0.3\\n"
    ... )
    >>> [r["epoch"] for r in epoch_records(log)]
    [1]
    """
    return [r for r in read_train_log(train_log) if set(EPOCH_KEYS) <= r.keys()]


def training_speed(train_log):
    """Optimizer steps and training seconds of a run, from its train log.

    The epoch lines (with ``epoch``, ``step`` and ``train seconds``) are
    summed; the test line and validation times are left out.

    Arguments
    ---------
    train_log : str or os.PathLike
        The run's ``train_log.txt``.

    Returns
    -------
    dict or None
        ``steps``, ``epochs``, ``seconds`` (training time, validation
        excluded) and ``seconds_per_step``; None without a log.

    Example
    -------
    >>> log = getfixture("tmp_path") / "train_log.txt"
    >>> _ = log.write_text(
    ...     "epoch: 1, step: 10, lr_cnn: 1e-3 - train loss: 1.0, train "
    ...     "seconds: 20.0\\nepoch: 2, step: 20, lr_cnn: 1e-3 - train "
    ...     "loss: 0.5, train seconds: 2.2e+01 - valid loss: 0.4\\n"
    ...     "Test: validation set, epoch: 2 - test loss: 0.3\\n"
    ... )
    >>> training_speed(log)
    {'steps': 20, 'epochs': 2, 'seconds': 42.0, 'seconds_per_step': 2.1}
    """
    epochs = epoch_records(train_log)
    steps = max((int(r["step"]) for r in epochs), default=0)
    if not steps:
        return None
    seconds = sum(float(r["train seconds"]) for r in epochs)
    return {
        "steps": steps,
        "epochs": max(int(r["epoch"]) for r in epochs),
        "seconds": round(seconds, 1),
        "seconds_per_step": round(seconds / steps, 3),
    }


def training_terms(train_log, terms=TRAINING_TERMS):
    """The training-loss terms of the first and the last epoch of a run.

    Each value is the epoch mean that SEDBrain logs as ``train <term>``.
    A resumed run may log an epoch twice: the first epoch is the first
    line of the lowest epoch number, the last one the last line of the
    highest. A term the log lacks is left out.

    Arguments
    ---------
    train_log : str or os.PathLike
        The run's ``train_log.txt``.
    terms : sequence of str
        The statistics (default :data:`TRAINING_TERMS`).

    Returns
    -------
    dict or None
        ``epochs`` (the last epoch's number), ``first`` and ``last``
        (``{term: value}`` of those epochs); None without an epoch line.

    Example
    -------
    >>> log = getfixture("tmp_path") / "train_log.txt"
    >>> _ = log.write_text(
    ...     "epoch: 1, step: 4 - train loss: 1.0, train loss_weak: 0.5, "
    ...     "train ict_steps: 2.50e-01, train seconds: 2.0\\n"
    ...     "epoch: 2, step: 8 - train loss: 0.5, train loss_weak: 0.25, "
    ...     "train ict_steps: 5.00e-01, train seconds: 2.0\\n"
    ... )
    >>> training_terms(log, ("loss_weak", "ict_steps", "loss_self"))
    {'epochs': 2, 'first': {'loss_weak': 0.5, 'ict_steps': 0.25},
     'last': {'loss_weak': 0.25, 'ict_steps': 0.5}}
    """
    epochs = epoch_records(train_log)
    if not epochs:
        return None
    low = min(int(r["epoch"]) for r in epochs)
    high = max(int(r["epoch"]) for r in epochs)
    first = next(r for r in epochs if int(r["epoch"]) == low)
    last = [r for r in epochs if int(r["epoch"]) == high][-1]

    def values(record):
        out = {}
        for term in terms:
            value = record.get(f"train {term}")
            if isinstance(value, (int, float)):
                out[term] = float(value)
        return out

    return {"epochs": high, "first": values(first), "last": values(last)}
