"""A real one-host Slurm cluster on 127.0.0.1 for the scheduling tests: munged, slurmctld
and slurmd from Debian's munge and slurm-wlm packages (22.05 in bookworm), as root, with
no systemd and no cgroups.

Everything (slurm.conf, the munge key and socket, state and spool directories, logs) lives
in one temporary directory; slurmctld and slurmd listen on ports picked free at start; the
node is this host (its short name, address 127.0.0.1) with the CPUs this process may use.
Two partitions give priorities and pre-emption as a cluster's would: `low` (the default,
PriorityTier=1) and `high` (PriorityTier=2), with PreemptType=preempt/partition_prio and
PreemptMode=REQUEUE: a `high` job that needs the CPUs sends the `low` job SIGTERM, then
SIGKILL after KillWait, and puts it back in the queue. Slurm holds a requeued job for
`cred_expire` seconds (120 by default) before it may start again; here it is 5.

Every daemon runs in the foreground (`-D`, `-F`) as a child process tracked by PID; the
cluster is ready when `sinfo` shows the node idle. `stop()` cancels the jobs left, waits for
their processes, then ends exactly the daemons it started (SIGTERM, a grace period, SIGKILL)
and removes the directory.

Use the module-scoped `slurm` fixture (skips where the packages are missing), or by hand:

    python -m tests.slurm_cluster      # prints `export SLURM_CONF=...`, waits for Ctrl-C

KLO_SLURM_KEEP_LOGS=DIR copies the daemons' logs to DIR on stop.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator

import pytest

from keras_lstm_opt.launch.launcher import free_ports

TOOLS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "sinfo", "scancel")
# seconds a requeued job waits before it may start again (1 is too short: a job step's own
# credential expired before slurmd checked it)
CRED_EXPIRE = 5


def slurm_available() -> str | None:
    """None when munge and Slurm are installed, else why not (a pytest skip reason)."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return (
            f"needs Slurm and munge ({', '.join(missing)} not found): apt-get install "
            "slurmctld slurmd slurm-client munge"
        )
    if os.geteuid() != 0:
        return "needs root: slurmd starts each job's processes as the job's user"
    return None


class SlurmCluster:
    """munged, slurmctld and slurmd for one node, in a temporary directory."""

    def __init__(self, timeout: float = 30.0, cpus: int | None = None) -> None:
        self.timeout = timeout
        self.cpus = cpus or len(os.sched_getaffinity(0))
        self.host = socket.gethostname().split(".")[0]  # slurmctld checks it is this host
        self.node = "localhost"  # the node's name: what TF_CONFIG gets, resolvable anywhere
        self.dir = ""
        self.procs: dict[str, subprocess.Popen] = {}
        self.ports: dict[str, int] = {}
        self.start_seconds = 0.0

    def _path(self, *parts: str) -> str:
        return os.path.join(self.dir, *parts)

    def conf(self) -> str:
        """slurm.conf for this cluster (its ports and directories)."""
        p = self._path
        return f"""\
ClusterName=klo
SlurmctldHost={self.host}(127.0.0.1)
SlurmctldPort={self.ports["slurmctld"]}
SlurmdPort={self.ports["slurmd"]}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={p("munge.socket")},cred_expire={CRED_EXPIRE}
StateSaveLocation={p("state")}
SlurmdSpoolDir={p("spool")}
SlurmctldPidFile={p("slurmctld.pid")}
SlurmdPidFile={p("slurmd.pid")}
SlurmctldLogFile={p("log", "slurmctld.log")}
SlurmdLogFile={p("log", "slurmd.log")}
# no cgroups and no accounting database: processes are tracked by their parent PIDs
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
JobRequeue=1
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
KillWait=20
MinJobAge=600
NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} State=UNKNOWN
PartitionName=low Nodes={self.node} Default=YES PriorityTier=1 MaxTime=INFINITE State=UP
PartitionName=high Nodes={self.node} PriorityTier=2 MaxTime=INFINITE State=UP
"""

    def env(self) -> dict[str, str]:
        """What Slurm's commands need to reach this cluster; PATH starts with this
        Python's bin directory, so that a job's `python3` is this environment's even
        where it was not activated."""
        bin_dir = os.path.dirname(sys.executable)
        return {"SLURM_CONF": self._path("slurm.conf"), "PATH": f"{bin_dir}:{os.environ['PATH']}"}

    def run(self, *args: str, check: bool = True) -> str:
        """A Slurm command against this cluster; its stdout."""
        proc = subprocess.run(
            args,
            capture_output=True,
            text=True,
            timeout=self.timeout,
            env={**os.environ, **self.env()},
        )
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args)} exited {proc.returncode}: {(proc.stderr or proc.stdout)[-800:]}"
            )
        return proc.stdout

    def _spawn(self, name: str, *args: str) -> None:
        with open(self._path("log", f"{name}.out"), "wb") as out:
            self.procs[name] = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **self.env()},
            )

    def _wait(self, what: str, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + self.timeout
        while not ready():
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited {proc.returncode} while waiting for {what}:\n"
                        + self.log_tail()
                    )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"timed out after {self.timeout:.0f} s waiting for {what}:\n" + self.log_tail()
                )
            time.sleep(0.05)

    def _idle(self) -> bool:
        try:
            return self.run("sinfo", "-h", "-o", "%T", check=False).strip() == "idle"
        except subprocess.TimeoutExpired:
            return False

    def start(self) -> SlurmCluster:
        began = time.monotonic()
        self.dir = tempfile.mkdtemp(prefix="klo-slurm-")
        os.chmod(self.dir, 0o755)  # munged wants its socket's directory reachable
        for sub in ("state", "spool", "log"):
            os.makedirs(self._path(sub))
        key = self._path("munge.key")
        with open(key, "wb") as fh:
            fh.write(os.urandom(1024))
        os.chmod(key, 0o400)
        slurmctld, slurmd = free_ports(2)
        self.ports = {"slurmctld": slurmctld, "slurmd": slurmd}
        with open(self._path("slurm.conf"), "w", encoding="utf-8") as fh:
            fh.write(self.conf())
        try:
            self._spawn(
                "munged",
                "munged",
                "-F",
                "--force",
                f"--socket={self._path('munge.socket')}",
                f"--key-file={key}",
                f"--log-file={self._path('log', 'munged.log')}",
                f"--pid-file={self._path('munged.pid')}",
                f"--seed-file={self._path('munged.seed')}",
            )
            self._wait("munged's socket", lambda: os.path.exists(self._path("munge.socket")))
            conf = self._path("slurm.conf")
            self._spawn("slurmctld", "slurmctld", "-D", "-i", "-f", conf)
            self._spawn("slurmd", "slurmd", "-D", "-f", conf, "-N", self.node)
            self._wait("the node to be idle in sinfo", self._idle)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - began
        return self

    # --- jobs ---------------------------------------------------------------------------
    def sbatch(self, script: str, *args: str) -> int:
        """Submit `script` (a path); the job id."""
        return int(self.run("sbatch", "--parsable", *args, script).strip().split(";")[0])

    def job(self, job_id: int) -> dict[str, str]:
        """`scontrol show job` as a dict (JobState, Restarts, Reason, ...)."""
        out = self.run("scontrol", "-o", "show", "job", str(job_id))
        fields: dict[str, str] = {}
        for item in out.split():
            key, _, value = item.partition("=")
            fields.setdefault(key, value)
        return fields

    def wait_job(self, job_id: int, states: tuple[str, ...], timeout: float) -> dict[str, str]:
        """Wait until the job is in one of `states`; its fields."""
        deadline = time.monotonic() + timeout
        while True:
            fields = self.job(job_id)
            if fields.get("JobState") in states:
                return fields
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"job {job_id} is {fields.get('JobState')} ({fields.get('Reason')}) "
                    f"after {timeout:.0f} s, not {'/'.join(states)}:\n{self.log_tail()}"
                )
            time.sleep(0.2)

    # --- teardown -----------------------------------------------------------------------
    def log_tail(self, lines: int = 15) -> str:
        """The last lines of every log in the cluster's log directory."""
        logs = self._path("log")
        parts = []
        for name in sorted(os.listdir(logs)) if self.dir and os.path.isdir(logs) else []:
            with open(os.path.join(logs, name), errors="replace") as f:
                tail = f.read().splitlines()[-lines:]
            if tail:
                parts.append(f"--- {name} ---\n" + "\n".join(tail))
        return "\n".join(parts)

    def _job_processes(self) -> list[int]:
        """PIDs of this cluster's slurmstepd processes (each job's, started by its slurmd:
        they inherit its SLURM_CONF, so another cluster's on the same host are left
        alone)."""
        mine = f"SLURM_CONF={self._path('slurm.conf')}".encode()
        pids = []
        for entry in os.listdir("/proc"):
            try:
                with open(f"/proc/{entry}/comm", encoding="utf-8") as fh:
                    if fh.read().strip() != "slurmstepd":
                        continue
                with open(f"/proc/{entry}/environ", "rb") as fh:
                    if mine in fh.read().split(b"\0"):
                        pids.append(int(entry))
            except (OSError, ValueError):
                continue
        return pids

    def stop(self, grace: float = 5.0) -> None:
        """Cancel the jobs left and wait for their processes; then SIGTERM each daemon
        (slurmd, slurmctld, munged), up to `grace` seconds, then SIGKILL; then remove the
        directory (logs copied to $KLO_SLURM_KEEP_LOGS if set)."""
        ctld = self.procs.get("slurmctld")
        if ctld is not None and ctld.poll() is None:
            try:
                self.run("scancel", "--full", "--user", "root", check=False)
            except (OSError, subprocess.SubprocessError):
                pass  # the daemons still stop below
            deadline = time.monotonic() + 30
            while self._job_processes() and time.monotonic() < deadline:
                time.sleep(0.2)
        for pid in self._job_processes():  # a job that outlived its cancel
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.dir and os.path.isdir(self.dir):
            keep = os.environ.get("KLO_SLURM_KEEP_LOGS")
            if keep:
                shutil.copytree(self._path("log"), keep, dirs_exist_ok=True)
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def slurm() -> Iterator[SlurmCluster]:
    """A started cluster, its env() in os.environ for the module."""
    reason = slurm_available()
    if reason:
        pytest.skip(reason)
    cluster = SlurmCluster()
    try:
        cluster.start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    saved = {k: os.environ.get(k) for k in cluster.env()}
    os.environ.update(cluster.env())
    try:
        yield cluster
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        cluster.stop()


def main() -> int:
    reason = slurm_available()
    if reason:
        print(reason, file=sys.stderr)
        return 1
    cluster = SlurmCluster()

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    try:
        cluster.start()
        for key, value in cluster.env().items():
            print(f"export {key}={value}")
        pids = " ".join(f"{name}={proc.pid}" for name, proc in cluster.procs.items())
        print(
            f"# started in {cluster.start_seconds:.2f} s in {cluster.dir} ({pids}); "
            f"partitions low and high on {cluster.node} ({cluster.cpus} CPUs); Ctrl-C stops it",
            flush=True,
        )
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
