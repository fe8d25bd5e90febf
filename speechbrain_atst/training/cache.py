"""Cache of frozen-transformer outputs for stage-1 training.

In stage 1 the ATST-Frame transformer is frozen and sees unaugmented input,
so its output for a clip depends only on the audio window: the file and the
crop start. :class:`EmbeddingCache` keeps these outputs (exactly, in
float32) so that later epochs skip the transformer, about 80 % of the
compute of a stage-1 step with the base model. Entries live in memory or,
with a folder, on disk (one file per window, shared by DDP processes and
kept across restarts). A fingerprint of the transformer weights is stored
with the disk cache; a cache written by other weights is discarded.

Authors
 * speechbrain-atst team 2026
"""

import hashlib
import os
import shutil
import tempfile

import torch


def weights_fingerprint(module):
    """A short digest of a module's parameter and buffer values.

    Arguments
    ---------
    module : torch.nn.Module
        The module (e.g. the frozen transformer).

    Returns
    -------
    str
        40 hex digits; equal modules give equal digests.

    Example
    -------
    >>> a = torch.nn.Linear(2, 2)
    >>> weights_fingerprint(a) == weights_fingerprint(a)
    True
    """
    digest = hashlib.sha1()
    for name, tensor in module.state_dict().items():
        t = tensor.detach().to("cpu", torch.float64)
        digest.update(name.encode())
        digest.update(str(tuple(t.shape)).encode())
        digest.update(
            f"{float(t.sum()):.12e}{float(t.abs().sum()):.12e}".encode()
        )
        flat = t.flatten()
        if flat.numel():
            idx = torch.linspace(0, flat.numel() - 1, 17).long()
            digest.update(flat[idx].numpy().tobytes())
    return digest.hexdigest()


class EmbeddingCache:
    """Per-window cache of transformer outputs.

    Arguments
    ---------
    folder : str, optional
        Disk cache folder; None keeps entries in memory (per process).
    fingerprint : str, optional
        Identifies the weights that produced the entries; with a disk
        cache, a folder written with another fingerprint is emptied.

    Example
    -------
    >>> cache = EmbeddingCache()
    >>> keys = ["a.wav@0", "b.wav@0"]
    >>> calls = []
    >>> def encode(idx):
    ...     calls.append(list(idx))
    ...     return torch.ones(len(idx), 3, 2) * torch.tensor(idx)[:, None, None]
    >>> cache.get_or_compute(keys, encode).shape
    torch.Size([2, 3, 2])
    >>> out = cache.get_or_compute(["b.wav@0", "c.wav@0"], encode)
    >>> calls
    [[0, 1], [1]]
    >>> float(out[0, 0, 0]), cache.hits, cache.misses
    (1.0, 1, 3)
    """

    def __init__(self, folder=None, fingerprint=None):
        self.folder = folder
        self.fingerprint = fingerprint
        self.memory = {}
        self.hits = 0
        self.misses = 0
        if folder is not None:
            self._prepare_folder()

    def _prepare_folder(self):
        """Creates the folder and clears it if written by other weights."""
        os.makedirs(self.folder, exist_ok=True)
        stamp = os.path.join(self.folder, "FINGERPRINT")
        if self.fingerprint is None:
            return
        old = None
        if os.path.isfile(stamp):
            with open(stamp, encoding="utf-8") as fin:
                old = fin.read().strip()
        if old != self.fingerprint:
            for entry in os.listdir(self.folder):
                path = os.path.join(self.folder, entry)
                if os.path.isdir(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.remove(path)
            with open(stamp, "w", encoding="utf-8") as fout:
                fout.write(self.fingerprint)

    def __len__(self):
        if self.folder is None:
            return len(self.memory)
        return sum(
            name.endswith(".pt")
            for _, _, names in os.walk(self.folder)
            for name in names
        )

    def _path(self, key):
        """File of a key in the disk cache."""
        name = hashlib.sha1(key.encode()).hexdigest()
        return os.path.join(self.folder, name[:2], name + ".pt")

    def _load(self, key):
        """Cached tensor of ``key`` or None."""
        if self.folder is None:
            return self.memory.get(key)
        path = self._path(key)
        if not os.path.isfile(path):
            return None
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception:
            return None  # a partly written or corrupt entry: recompute

    def _store(self, key, value):
        """Stores one entry (atomically on disk)."""
        value = value.detach().to("cpu", torch.float32).contiguous().clone()
        if self.folder is None:
            self.memory[key] = value
            return
        path = self._path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        os.close(fd)
        torch.save(value, tmp)
        os.replace(tmp, path)

    def get_or_compute(self, keys, encode, device=None):
        """Returns the stacked entries of ``keys``, computing the misses.

        Arguments
        ---------
        keys : list of str
            One key per batch item.
        encode : callable
            ``encode(indices) -> tensor [len(indices), ...]`` computes the
            entries of the listed batch items.
        device : torch.device, optional
            Device of the result (the one of the computed entries by
            default).

        Returns
        -------
        torch.Tensor
            ``[len(keys), ...]``, float32.
        """
        found = [self._load(k) for k in keys]
        missing = [i for i, v in enumerate(found) if v is None]
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        if missing:
            fresh = encode(missing).float()
            if device is None:
                device = fresh.device
            for j, i in enumerate(missing):
                self._store(keys[i], fresh[j])
                found[i] = fresh[j]
        if device is None:
            device = "cpu"
        return torch.stack([v.to(device, non_blocking=True) for v in found])
