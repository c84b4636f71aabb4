#!/bin/bash
# A single-node Slurm on this machine, for tests/executors/test_slurm.py (and for trying docs/hpc.md by hand).
#
# Run as root (a CI job with root, a container): installs Slurm and MUNGE with apt when they are missing, writes
# /etc/slurm/slurm.conf (one node: this host, its CPUs and memory as `slurmd -C` sees them, no cgroups) and gres.conf
# (HETFLOW_SLURM_GPUS stand-in GPUs, 2 by default, so that `--gres=gpu:N` can be asked for on a machine without GPUs:
# slurmd drops GPUs without a device file, so each is a character device like /dev/null under
# /var/spool/hetflow-fake-gpus/nvidiaN, and Slurm sets CUDA_VISIBLE_DEVICES from N as it would for real ones), then
# starts munged, slurmctld and slurmd unless they run already (restarting them when the configuration changed), and
# waits for the node to be idle. Idempotent: run again, it only says what is there already.
# tests/slurm/stop-single-node.sh stops the three daemons.
set -euo pipefail

say() { printf 'start-single-node: %s\n' "$*"; }
die() { say "error: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (it writes /etc/slurm and starts daemons)"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null \
    || ! command -v munged >/dev/null; then
    say "installing slurmctld slurmd slurm-client munge (apt)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurmctld slurmd slurm-client munge >/dev/null
fi

host=$(hostname)
gpus=${HETFLOW_SLURM_GPUS:-2}
node=$(slurmd -C | head -n1)                       # NodeName=HOST CPUs=2 Boards=1 ... RealMemory=MB
case "$node" in NodeName=*) ;; *) die "slurmd -C said: $node" ;; esac
gres=""
gres_conf=""
if [ "$gpus" -gt 0 ]; then
    fake=/var/spool/hetflow-fake-gpus
    install -d -m 0755 "$fake"
    for ((i = 0; i < gpus; i++)); do
        [ -c "$fake/nvidia$i" ] || mknod -m 0666 "$fake/nvidia$i" c 1 3 \
            || die "cannot make $fake/nvidia$i (mknod); run with HETFLOW_SLURM_GPUS=0 for a node without GPUs"
    done
    gres=" Gres=gpu:$gpus"
    gres_conf="NodeName=$host Name=gpu File=$fake/nvidia[0-$((gpus - 1))]"
    [ "$gpus" -eq 1 ] && gres_conf="NodeName=$host Name=gpu File=$fake/nvidia0"
fi

# ---- munge --------------------------------------------------------------------------------------------------------
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
    say "creating /etc/munge/munge.key"
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    say "munged runs already"
else
    say "starting munged"
    runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
    munge -n | unmunge >/dev/null || die "munged does not answer (see /var/log/munge/munged.log)"
fi

# ---- slurm.conf ---------------------------------------------------------------------------------------------------
install -d -m 0755 /etc/slurm /var/log/slurm
install -d -o root -g root -m 0755 /var/spool/slurmctld /var/spool/slurmd
conf=$(cat <<EOF
# written by hetflow tests/slurm/start-single-node.sh: one node, this host; no cgroups, no accounting
ClusterName=hetflow-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=30
KillWait=5
Waittime=0
$node$gres State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
)
changed=0
if [ "$(cat /etc/slurm/slurm.conf 2>/dev/null)" != "$conf" ]; then
    printf '%s\n' "$conf" > /etc/slurm/slurm.conf
    say "wrote /etc/slurm/slurm.conf ($node$gres)"
    changed=1
else
    say "/etc/slurm/slurm.conf is as it should be"
fi
if [ "$(cat /etc/slurm/gres.conf 2>/dev/null)" != "$gres_conf" ]; then
    printf '%s\n' "$gres_conf" > /etc/slurm/gres.conf
    say "wrote /etc/slurm/gres.conf (${gres_conf:-no GPUs})"
    changed=1
fi

# ---- the daemons --------------------------------------------------------------------------------------------------
running() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
stop() {  # NAME PIDFILE: a daemon started with another configuration (some settings need a restart)
    local pid
    pid=$(cat "$2")
    say "restarting $1 (pid $pid): its configuration changed"
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}
if [ "$changed" -eq 1 ]; then
    running /run/slurmd.pid && stop slurmd /run/slurmd.pid
    running /run/slurmctld.pid && stop slurmctld /run/slurmctld.pid
fi

if running /run/slurmctld.pid; then
    say "slurmctld runs already (pid $(cat /run/slurmctld.pid))"
else
    say "starting slurmctld"
    slurmctld
fi
if running /run/slurmd.pid; then
    say "slurmd runs already (pid $(cat /run/slurmd.pid))"
else
    say "starting slurmd"
    slurmd
fi

for _ in $(seq 60); do
    state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
    case "$state" in
        idle*|mixed*|allocated*) break ;;
        down*|drain*|inval*) scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 1
done
case "$state" in
    idle*|mixed*|allocated*) ;;
    *) die "node $host is '${state:-unknown}' (see /var/log/slurm/slurmctld.log and slurmd.log)" ;;
esac
pids="munged $(cat /run/munge/munged.pid 2>/dev/null || echo '?'), slurmctld $(cat /run/slurmctld.pid)"
say "Slurm $(sinfo -V | awk '{print $2}') is up: node $host is $state; $pids, slurmd $(cat /run/slurmd.pid)"
sinfo -N -o '%N %T %c %m %G'
