"""Multi-GPU data-parallel training (DDP) on one instance, under torchrun or one spawned process per GPU.

SageMaker starts train.py once per instance; with SM_NUM_GPUS > 1 the script spawns one process per
GPU (NCCL). Under `torchrun` (WORLD_SIZE set) the processes already exist and only join the group.
On CPU the same code runs with the gloo backend, which is how it can be tried without a GPU.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistributedContext:
    """This process's place in the training group (a single process when world_size is 1)."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def join_process_group() -> DistributedContext:
    """Join the group described by RANK/LOCAL_RANK/WORLD_SIZE (set by torchrun or `spawn_per_gpu`)."""
    context = DistributedContext(
        rank=int(os.environ["RANK"]),
        local_rank=int(os.environ.get("LOCAL_RANK", os.environ["RANK"])),
        world_size=int(os.environ["WORLD_SIZE"]),
    )
    if torch.cuda.is_available():
        torch.cuda.set_device(context.local_rank)
    dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    return context


def leave_process_group(context: DistributedContext) -> None:
    if context.enabled and dist.is_initialized():
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _spawned_entry(local_rank: int, world_size: int, target: Callable[[], None]) -> None:
    os.environ.update(RANK=str(local_rank), LOCAL_RANK=str(local_rank), WORLD_SIZE=str(world_size))
    target()


def spawn_per_gpu(num_processes: int, target: Callable[[], None]) -> None:
    """Run `target` in `num_processes` processes on this host, one per GPU, then return."""
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", str(_free_port()))
    torch.multiprocessing.spawn(_spawned_entry, args=(num_processes, target), nprocs=num_processes, join=True)
