"""Data-parallel training across processes started by ``torchrun`` (one process per GPU, or gloo on CPU).

Each process takes its contiguous shard of the global batch; DistributedDataParallel averages the gradients, so
with equal shards every process applies the update of the whole batch. Process 0 writes the run directory; every
process reads the checkpoint when resuming, so on several nodes the run directory must be on a shared filesystem.

    torchrun --nproc-per-node 8 -m experiments.train --task ... --out DIR

The pipeline's training jobs start their runs this way when given several GPUs or nodes (``experiments.launch``).
"""

import dataclasses
import fcntl
import os
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel


@dataclasses.dataclass(frozen=True)
class Process:
    rank: int  # this process's index among all processes
    world_size: int  # number of processes
    local_rank: int  # index on this node: picks the GPU

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def this_process() -> Process:
    """Rank and world size from torchrun's environment; a lone process without torchrun."""
    return Process(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                   int(os.environ.get("LOCAL_RANK", 0)))


def choose_device(process: Process, requested: str) -> torch.device:
    """``auto`` picks a GPU when there is one, else the CPU. Under torchrun the GPU is the local rank's; a lone
    process that sees several GPUs claims a free one, so pipeline jobs started side by side never share."""
    if requested == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    if process.world_size == 1 and torch.cuda.device_count() > 1:
        index = claim_free_gpu()
    else:
        index = process.local_rank
    torch.cuda.set_device(index)
    return torch.device("cuda", index)


GPU_LOCKS = "/tmp/inertia-gpu-{uuid}.lock"  # one lock file per physical GPU on this machine
POLL_SECONDS = 10  # how often to look again when every GPU is taken
_claimed = []  # open lock files: a claim lasts until this process exits, however it ends


def claim_free_gpu() -> int:
    """The index of a visible GPU that no other process holds; waits while all are taken."""
    while True:
        for index in range(torch.cuda.device_count()):
            lock = open(GPU_LOCKS.format(uuid=torch.cuda.get_device_properties(index).uuid), "w")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            _claimed.append(lock)
            return index
        time.sleep(POLL_SECONDS)


def start(process: Process, device: torch.device) -> None:
    """Join the process group (nccl on GPUs, gloo on CPUs); nothing to do for a lone process."""
    if process.world_size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def stop() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def wrap(model: torch.nn.Module, process: Process, device: torch.device) -> torch.nn.Module:
    """The model DDP-wrapped for training when there are several processes (it then averages gradients)."""
    if process.world_size == 1:
        return model
    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def sum_over_processes(tensor: torch.Tensor) -> torch.Tensor:
    if dist.is_initialized():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def mean_over_processes(tensor: torch.Tensor) -> torch.Tensor:
    if dist.is_initialized():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        tensor /= dist.get_world_size()
    return tensor


def gather_objects(value) -> list:
    """``value`` of every process, in rank order (a one-element list for a lone process)."""
    if not dist.is_initialized():
        return [value]
    gathered = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, value)
    return gathered


def shard(indices: list[int], process: Process) -> list[int]:
    """This process's contiguous share of a global batch whose size divides by the world size."""
    size = len(indices) // process.world_size
    return indices[process.rank * size:(process.rank + 1) * size]
