"""A real single-node SLURM cluster in a temporary directory, for the tests that submit pipeline jobs to it.

Debian's packages (`make system-deps`: munge, slurmctld, slurmd, slurm-client) run here without systemd, cgroups
or accounting: munged, slurmctld and slurmd are started in the foreground as children of the test, with the munge
key, socket, slurm.conf, state, spool and logs all under one temporary directory, so nothing of the machine's own
configuration is read. ``SLURM_CONF`` (in ``LocalSlurm.environment``) points the client commands (sbatch, squeue,
scancel, scontrol) and the jobs' own processes at that configuration. One file outside the directory is needed:
snakemake-executor-plugin-slurm-jobstep (0.6.1) removes every ``SLURM_*`` variable but the job's identity, SLURM_CONF
included, before it calls ``srun`` inside a job, and srun then reads the default /etc/slurm/slurm.conf. That path is
linked to this configuration while the cluster runs; a file already there is put back afterwards.

    with local_slurm(tmp_path / "slurm") as cluster:
        subprocess.run(["sbatch", "--wrap", "true"], env=cluster.environment)

Leaving the block cancels every job, stops the three daemons and fails if any of them is still running.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("mungekey", "sbatch", "squeue", "scancel", "scontrol", "sinfo", "srun")
PACKAGES = "munge slurmctld slurmd slurm-client"
SYSTEM_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])  # daemons live in sbin
STARTUP_SECONDS = 30
DEFAULT_CONF = Path("/etc/slurm/slurm.conf")  # what srun reads without SLURM_CONF
PARTITION = "local"


def which(program: str) -> str | None:
    return shutil.which(program, path=SYSTEM_PATH)


def missing_programs() -> list[str]:
    """The programs of SLURM and munge that are not installed: empty when the cluster can be brought up."""
    return [program for program in (*DAEMONS, *CLIENTS) if which(program) is None]


def running_daemons() -> list[str]:
    """``name pid`` of every munged, slurmctld, slurmd or slurmstepd process on this machine that still runs (an
    exited slurmstepd stays a zombie until the machine's init reaps it: that one has stopped)."""
    found = []
    for name in (*DAEMONS, "slurmstepd"):
        listed = subprocess.run(["pgrep", "--exact", "--runstates", "D,R,S,T,t", name], capture_output=True,
                                text=True)
        found += [f"{name} {pid}" for pid in listed.stdout.split()]
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def memory_mb() -> int:
    """MemTotal of /proc/meminfo in MiB, as slurmd measures RealMemory."""
    with open("/proc/meminfo") as meminfo:
        kilobytes = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal:"))
    return kilobytes // 1024


def slurm_conf(root: Path, host: str, cpus: int, memory: int) -> str:
    """One controller and one node, this machine; processes tracked through /proc, no cgroups, no accounting.

    MinJobAge keeps a finished job in squeue for 10 minutes: the executor plugin reads job states from squeue
    (there is no accounting database), and the tests list every job of a run after it ended."""
    return "\n".join([
        "ClusterName=inertia-test",
        f"SlurmctldHost={host}",
        "SlurmUser=root",
        "SlurmdUser=root",
        f"SlurmctldPort={free_port()}",
        f"SlurmdPort={free_port()}",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={root / 'munge/munge.socket'}",
        f"StateSaveLocation={root / 'state'}",
        f"SlurmdSpoolDir={root / 'spool'}",
        f"SlurmctldPidFile={root / 'slurmctld.pid'}",
        f"SlurmdPidFile={root / 'slurmd.pid'}",
        f"SlurmctldLogFile={root / 'log/slurmctld.log'}",
        f"SlurmdLogFile={root / 'log/slurmd.log'}",
        "SlurmctldDebug=info",
        "SlurmdDebug=info",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "MpiDefault=none",
        "ReturnToService=2",
        "MinJobAge=600",
        "SchedulerType=sched/backfill",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core_Memory",  # jobs share the node by cores and memory
        f"NodeName={host} CPUs={cpus} RealMemory={memory} State=UNKNOWN",
        f"PartitionName={PARTITION} Nodes={host} Default=YES MaxTime=INFINITE State=UP",
        "",
    ])


class LocalSlurm:
    """The running cluster: its directory, the environment that reaches it, and the daemons' processes."""

    def __init__(self, root: Path):
        self.root = root
        self.host = socket.gethostname().split(".")[0]
        self.environment = {**os.environ, "PATH": SYSTEM_PATH, "SLURM_CONF": str(root / "slurm.conf")}
        self.processes: dict[str, subprocess.Popen] = {}
        self.saved_conf: Path | None = None

    def run(self, *command: str) -> str:
        """A client command against this cluster; its stdout (fails with its stderr)."""
        done = subprocess.run(command, env=self.environment, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} exited with {done.returncode}: {done.stderr.strip()}")
        return done.stdout

    def start(self) -> None:
        already = running_daemons()
        if already:
            raise RuntimeError(f"SLURM or munge already runs on this machine ({', '.join(already)}): stop it first")
        for folder in ("munge", "state", "spool", "log"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root / "munge", 0o700)  # munged refuses a key or socket folder that others may write
        key = self.root / "munge/munge.key"
        subprocess.run([which("mungekey"), "--create", f"--keyfile={key}"], check=True, capture_output=True)
        (self.root / "slurm.conf").write_text(slurm_conf(self.root, self.host, os.cpu_count(), memory_mb()))
        self.link_default_conf()
        self.launch("munged", "--foreground", "--force", f"--socket={self.root / 'munge/munge.socket'}",
                    f"--key-file={key}", f"--pid-file={self.root / 'munge/munged.pid'}",
                    f"--log-file={self.root / 'log/munged.log'}", f"--seed-file={self.root / 'munge/munged.seed'}")
        self.wait_for(lambda: (self.root / "munge/munge.socket").exists(), "munged's socket")
        self.launch("slurmctld", "-D", "-i")
        self.wait_for(lambda: self.quietly("scontrol", "ping") and "UP" in self.run("scontrol", "ping"),
                      "slurmctld to answer")
        self.launch("slurmd", "-D")
        self.wait_for(lambda: self.quietly("sinfo") and self.node_state() == "idle", "the node to be idle")

    def link_default_conf(self) -> None:
        """/etc/slurm/slurm.conf as a link to this cluster's configuration; an existing file is kept aside."""
        self.saved_conf = self.root / "saved-default-slurm.conf"
        if DEFAULT_CONF.exists() or DEFAULT_CONF.is_symlink():
            shutil.move(DEFAULT_CONF, self.saved_conf)
        DEFAULT_CONF.parent.mkdir(parents=True, exist_ok=True)
        DEFAULT_CONF.symlink_to(self.root / "slurm.conf")

    def restore_default_conf(self) -> None:
        if DEFAULT_CONF.is_symlink() and DEFAULT_CONF.readlink() == self.root / "slurm.conf":
            DEFAULT_CONF.unlink()
        if self.saved_conf is not None and (self.saved_conf.exists() or self.saved_conf.is_symlink()):
            shutil.move(self.saved_conf, DEFAULT_CONF)

    def launch(self, daemon: str, *arguments: str) -> None:
        log = open(self.root / "log" / f"{daemon}.out", "wb")
        self.processes[daemon] = subprocess.Popen([which(daemon), *arguments], env=self.environment, stdout=log,
                                                  stderr=subprocess.STDOUT)

    def quietly(self, *command: str) -> bool:
        """Whether a client command succeeds (while a daemon starts, it may not yet)."""
        return subprocess.run(command, env=self.environment, capture_output=True).returncode == 0

    def node_state(self) -> str:
        return self.run("sinfo", "--noheader", "--format=%T").strip()

    def wait_for(self, ready, what: str) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not ready():
            exited = {name: process.returncode for name, process in self.processes.items()
                      if process.poll() is not None}
            if exited or time.monotonic() > deadline:
                logs = "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-2000:]}"
                                 for path in sorted((self.root / "log").iterdir()))
                raise RuntimeError(f"local SLURM: no {what} after {STARTUP_SECONDS} s (exited: {exited})\n{logs}")
            time.sleep(0.2)

    def jobs(self) -> list[dict[str, str]]:
        """Every job slurmctld still knows (finished ones for MinJobAge): id, state and comment.

        The executor plugin writes the rule and wildcards of each Snakemake job into its SLURM comment."""
        listed = self.run("squeue", "--states=all", "--noheader", "--format=%i|%T|%k")
        return [dict(zip(("id", "state", "comment"), line.split("|", 2))) for line in listed.splitlines()]

    def stop(self) -> None:
        """Cancel every job, stop slurmd, slurmctld and munged (in that order), put /etc/slurm/slurm.conf back, and
        check that no daemon remains."""
        if "slurmctld" in self.processes and self.processes["slurmctld"].poll() is None:
            self.quietly("scancel", f"--partition={PARTITION}")
            deadline = time.monotonic() + STARTUP_SECONDS
            while any(job["state"] in ("PENDING", "RUNNING", "COMPLETING") for job in self.jobs()):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        for daemon in ("slurmd", "slurmctld", "munged"):
            process = self.processes.pop(daemon, None)
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=STARTUP_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.restore_default_conf()
        deadline = time.monotonic() + STARTUP_SECONDS
        while (remaining := running_daemons()) and time.monotonic() < deadline:  # job steps end after slurmd
            time.sleep(0.2)
        assert not remaining, f"still running after the local SLURM stopped: {', '.join(remaining)}"


@contextlib.contextmanager
def local_slurm(root: Path) -> Iterator[LocalSlurm]:
    """A started cluster in ``root`` (created), stopped on leaving, whatever happened inside."""
    cluster = LocalSlurm(root)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
