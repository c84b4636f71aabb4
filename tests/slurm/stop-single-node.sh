#!/bin/bash
# Stops what tests/slurm/start-single-node.sh started: cancels every job left, then stops slurmd, slurmctld and munged
# (by their pid files). Run as root. Idempotent.
set -uo pipefail

say() { printf 'stop-single-node: %s\n' "$*"; }

stop() {  # NAME PIDFILE
    local pid
    if [ -s "$2" ] && pid=$(cat "$2") && kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null
            say "$1 (pid $pid) killed"
        else
            say "$1 (pid $pid) stopped"
        fi
    else
        say "$1 does not run"
    fi
}

if command -v squeue >/dev/null && timeout 5 squeue -h >/dev/null 2>&1; then
    jobs=$(squeue -h -o %i | tr '\n' ' ')
    if [ -n "${jobs// /}" ]; then
        say "cancelling jobs $jobs"
        # shellcheck disable=SC2086
        scancel $jobs
        for _ in $(seq 30); do [ -z "$(squeue -h -o %i)" ] && break; sleep 1; done
    fi
fi
stop slurmd /run/slurmd.pid
stop slurmctld /run/slurmctld.pid
stop munged /run/munge/munged.pid
