"""Multi-process (DDP) training of ATST-SED: wrapping and synchronisation.

* Only the trainable modules (the student) are wrapped in
  ``DistributedDataParallel``; the teacher follows the student by EMA on
  every process and is never wrapped (:func:`wrap_trainable`).
* BatchNorm layers become ``SyncBatchNorm`` on GPUs when asked
  (statistics over the whole multi-process batch, as one process with the
  full batch would compute them); on CPU (gloo) each process keeps its own.
* The teacher, in train mode, updates its BatchNorm statistics with each
  process's batches; :func:`broadcast_buffers` gives every process those
  of process 0 at the end of an epoch.

Everything here is a no-op without an initialised process group.

Authors
 * speechbrain-atst team 2026
"""

import torch
from speechbrain.utils.distributed import is_distributed_initialized
from speechbrain.utils.logger import get_logger

logger = get_logger(__name__)


def rank():
    """Rank of this process (0 without DDP).

    Returns
    -------
    int
        The rank.

    Example
    -------
    >>> rank()
    0
    """
    if is_distributed_initialized():
        return torch.distributed.get_rank()
    return 0


def world_size():
    """Number of processes (1 without DDP).

    Returns
    -------
    int
        The world size.

    Example
    -------
    >>> world_size()
    1
    """
    if is_distributed_initialized():
        return torch.distributed.get_world_size()
    return 1


def all_processes_agree(flag, device):
    """Whether ``flag`` is True on every process.

    Arguments
    ---------
    flag : bool
        This process's value.
    device : str or torch.device
        Device of the collective (that of the process group's backend).

    Returns
    -------
    bool
        The logical AND over processes.

    Example
    -------
    >>> all_processes_agree(True, "cpu"), all_processes_agree(False, "cpu")
    (True, False)
    """
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    if is_distributed_initialized():
        torch.distributed.all_reduce(value, op=torch.distributed.ReduceOp.MIN)
    return bool(value.item() > 0)


def barrier():
    """Waits for every process (no-op without DDP)."""
    if is_distributed_initialized():
        torch.distributed.barrier()


@torch.no_grad()
def broadcast_buffers(module):
    """Gives every process the buffers of process 0 (no-op without DDP).

    Arguments
    ---------
    module : torch.nn.Module
        A module replicated on every process (e.g. the teacher).

    Example
    -------
    >>> broadcast_buffers(torch.nn.BatchNorm1d(2))
    """
    if not is_distributed_initialized():
        return
    for buf in module.buffers():
        torch.distributed.broadcast(buf, src=0)


def wrap_trainable(
    modules, device, sync_batchnorm, find_unused_parameters, also_sync=()
):
    """Wraps every module with trainable parameters in DDP.

    Arguments
    ---------
    modules : torch.nn.ModuleDict
        The Brain's modules (replaced in place).
    device : str
        The process's device (``"cpu"`` or ``"cuda:N"``).
    sync_batchnorm : bool
        Convert BatchNorm layers to ``SyncBatchNorm`` (GPUs only; ignored
        with a message on the CPU).
    find_unused_parameters : bool
        Passed to DDP.
    also_sync : sequence of torch.nn.Module
        Modules that are not wrapped but whose BatchNorm layers are
        converted too (the teacher), in place.
    """
    device_type = torch.device(device).type
    sync = bool(sync_batchnorm)
    if sync and device_type != "cuda":
        logger.info("SyncBatchNorm needs GPUs: BatchNorm stays per process")
        sync = False
    for name, module in modules.items():
        if not any(p.requires_grad for p in module.parameters()):
            continue
        if sync:
            module = torch.nn.SyncBatchNorm.convert_sync_batchnorm(module)
        modules[name] = torch.nn.parallel.DistributedDataParallel(
            module,
            device_ids=None if device_type == "cpu" else [device],
            find_unused_parameters=find_unused_parameters,
        )
    if sync:
        for module in also_sync:
            torch.nn.SyncBatchNorm.convert_sync_batchnorm(module)
