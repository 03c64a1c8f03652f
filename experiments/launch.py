"""How one training run of an arm is started: in the arm's own process, or as torchrun processes.

    gpus <= 1, nodes = 1   experiments.train.run(config, DIR) in this process (one GPU, or the CPU)
    gpus = N > 1           torchrun --standalone --nproc-per-node N -m experiments.train --config C --out DIR
    nodes = M > 1          srun --nodes M --ntasks-per-node 1 --kill-on-bad-exit 1 \\
                               torchrun --nnodes M --nproc-per-node N --rdzv-backend c10d \\
                               --rdzv-endpoint HOST:PORT --rdzv-id JOB -m experiments.train --config C --out DIR

``gpus`` is the number of processes per node: one per GPU (``experiments.distributed`` gives each its local
rank's GPU); where CUDA is absent the same processes train on the CPU over gloo, which is how the tests run this
path. torchrun is ``python -m torch.distributed.run`` of this interpreter, so every node runs the same environment.
``--standalone`` lets torchrun pick a free port, so several multi-GPU jobs on one machine never collide. Across
nodes the rendezvous is on the first host of the SLURM allocation, on a port derived from the job id (two jobs whose
first host is the same still differ); the run directory must then be on a filesystem every node sees. Under
snakemake-executor-plugin-slurm such a job needs the resource ``mpi`` (any value): without it the job's command runs
inside an ``srun -n1`` step of one node, and the srun here could not start its tasks on the other nodes.

The run's validated config travels as YAML (``--config``, a file ``launch.yaml`` in the run directory, removed
after the run), which reads back to the same RunConfig, float for float. Either way the run writes its directory
and its summary is read back from summary.json, so the arm records the same fields however the run was started.
"""

import dataclasses
import os
import subprocess
import sys

import yaml

from experiments import distributed
from experiments import run_directory as files
from experiments.config import ConfigError, RunConfig
from experiments.train import already_finished, as_json, run

CONFIG_FILE = "launch.yaml"  # the run's config, as experiments.train --config reads it
FIRST_RENDEZVOUS_PORT = 29500  # torchrun's default; a job's port is this + (SLURM_JOB_ID mod RENDEZVOUS_PORTS)
RENDEZVOUS_PORTS = 10000


@dataclasses.dataclass(frozen=True)
class Placement:
    """Where the processes of one run go: ``gpus`` per node (one process each) on ``nodes`` nodes."""

    gpus: int = 0  # GPUs of the job on each node; 0 or 1: one process
    nodes: int = 1  # nodes of the job; more than 1 needs a SLURM allocation

    def __post_init__(self):
        for name, value, minimum in (("gpus", self.gpus, 0), ("nodes", self.nodes, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ConfigError(f"{name}={value!r} is not allowed; allowed: an integer >= {minimum}")

    @property
    def processes_per_node(self) -> int:
        return max(self.gpus, 1)

    @property
    def in_process(self) -> bool:
        return self.nodes == 1 and self.processes_per_node == 1


def train(config: RunConfig, directory: str, placement: Placement) -> dict:
    """Train ``config`` into ``directory`` as ``placement`` says (a finished run is read back, a run of another
    config in ``directory`` is started over) and return its summary."""
    if placement.in_process:
        return run(config, directory, restart_if_changed=True)
    summary_path = os.path.join(directory, files.SUMMARY)
    if already_finished(config, directory, True, distributed.this_process()):  # no processes to start
        return files.read_json(summary_path)
    os.makedirs(directory, exist_ok=True)
    config_path = os.path.join(directory, CONFIG_FILE)
    with open(config_path, "w") as file:
        yaml.safe_dump(as_json(config), file, sort_keys=True)
    try:
        sys.stdout.flush()  # the processes write to the same log: keep the order of lines
        subprocess.run(command(placement, config_path, directory), check=True)
    finally:
        os.remove(config_path)
    return files.read_json(summary_path)


def command(placement: Placement, config_path: str, directory: str, environ=os.environ) -> list[str]:
    """The command line that trains the run of ``config_path`` into ``directory`` on ``placement``'s processes;
    across nodes it reads the SLURM allocation from ``environ``."""
    training = ["-m", "experiments.train", "--config", config_path, "--out", directory, "--restart-if-changed"]
    if placement.nodes == 1:
        return [*torchrun(placement), *training]
    host, job_id = slurm_rendezvous(placement, environ)
    port = FIRST_RENDEZVOUS_PORT + int(job_id) % RENDEZVOUS_PORTS
    return ["srun", "--nodes", str(placement.nodes), "--ntasks-per-node", "1", "--kill-on-bad-exit", "1",
            *torchrun(placement, f"{host}:{port}", job_id), *training]


def torchrun(placement: Placement, endpoint: str | None = None, rendezvous_id: str | None = None) -> list[str]:
    """torchrun and its options, without the program: on one node standalone, across nodes the c10d rendezvous at
    ``endpoint`` (HOST:PORT) under ``rendezvous_id``."""
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(placement.processes_per_node)]
    if placement.nodes == 1:
        return [*launcher, "--standalone"]
    return [*launcher, "--nnodes", str(placement.nodes), "--rdzv-backend", "c10d", "--rdzv-endpoint", endpoint,
            "--rdzv-id", rendezvous_id]


def slurm_rendezvous(placement: Placement, environ) -> tuple[str, str]:
    """The first host of the SLURM allocation and the job id; ConfigError naming what is missing where there is no
    allocation, or one of fewer than ``placement.nodes`` nodes.

    The node list and size come from SLURM_JOB_NODELIST and SLURM_JOB_NUM_NODES, or where those are not set from
    ``squeue`` for SLURM_JOB_ID: snakemake-executor-plugin-slurm-jobstep (0.6.1) removes every SLURM_* variable but
    the job's identity before it starts the job's command."""
    job_id = environ.get("SLURM_JOB_ID")
    if not job_id:
        raise ConfigError(f"nodes={placement.nodes} needs a SLURM allocation of {placement.nodes} nodes, but "
                          "SLURM_JOB_ID is not set; allowed: run inside such an allocation (the SLURM profile's "
                          "job), or nodes=1")
    if not job_id.isdigit():
        raise ConfigError(f"SLURM_JOB_ID={job_id!r} is not allowed; allowed: a job number")
    node_list, node_count = environ.get("SLURM_JOB_NODELIST"), environ.get("SLURM_JOB_NUM_NODES")
    if not node_list or not node_count:
        node_list, node_count = slurm_output(["squeue", "--noheader", "--format=%N %D", f"--jobs={job_id}"],
                                             environ, f"SLURM_JOB_ID={job_id}").split()
    if int(node_count) < placement.nodes:
        raise ConfigError(f"nodes={placement.nodes} is not allowed in SLURM job {job_id} of {node_count} nodes; "
                          "allowed: at most the allocation's nodes")
    hosts = slurm_output(["scontrol", "show", "hostnames", node_list], environ, f"node list {node_list!r}").split()
    return hosts[0], job_id


def slurm_output(command: list[str], environ, about: str) -> str:
    """The output of a SLURM client command; ConfigError naming ``about`` where it fails or prints nothing."""
    try:
        output = subprocess.run(command, check=True, capture_output=True, text=True, env=dict(environ)).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        raise ConfigError(f"{about}: `{' '.join(command)}` failed ({error}); allowed: a running SLURM job") from None
    if not output.strip():
        raise ConfigError(f"{about}: `{' '.join(command)}` printed nothing; allowed: a running SLURM job")
    return output
