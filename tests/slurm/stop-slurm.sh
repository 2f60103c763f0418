#!/usr/bin/env bash
# stop-slurm.sh STATE_DIR — stop the cluster that start-slurm.sh STATE_DIR started.
# Cancels every job, stops slurmd, slurmctld and munged by their pid files, then ends any
# slurmstepd or job process of this cluster that is still there (found by SLURM_CONF=STATE_DIR/slurm.conf
# in its environment, by pid). Exit 0 when nothing of it is left; the state dir itself is kept.
set -uo pipefail

log() { echo "stop-slurm: $*" >&2; }
[ $# -eq 1 ] || { log "usage: $0 STATE_DIR"; exit 2; }
[ -d "$1" ] || { log "no such dir: $1"; exit 0; }
D=$(cd "$1" && pwd -P)
CONF=$D/slurm.conf
export SLURM_CONF=$CONF
unset SLURM_JOB_ID   # so no helper of this script looks like a job process

pid_of() {  # pid_of NAME -> pid if its pid file names a live process that is NAME (no pid reuse)
    local f=$D/run/$1.pid p
    [ -s "$f" ] || return 1
    p=$(cat "$f")
    [[ $p =~ ^[0-9]+$ ]] && kill -0 "$p" 2>/dev/null || return 1
    tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -q "^$1 .*$D/" || return 1
    echo "$p"
}

# Processes of this cluster besides the pid-file daemons: slurmstepd, slurmctld's ": slurmscriptd"
# helper and the jobs' own processes all carry SLURM_CONF=$CONF in their environment (jobs also
# SLURM_JOB_ID). This script and its callers (ancestors) are never counted.
ancestors=" "
a=$$
while [ -n "$a" ] && [ "$a" -gt 1 ] 2>/dev/null; do
    ancestors+="$a "
    a=$(awk '/^PPid:/{print $2}' "/proc/$a/status" 2>/dev/null)
done
strays() {
    local p env cmd
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [[ $ancestors == *" $p "* || $p == "$BASHPID" ]] && continue
        env=$(tr '\0' '\n' 2>/dev/null <"/proc/$p/environ") || continue
        grep -qxF "SLURM_CONF=$CONF" <<<"$env" || continue
        cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline")
        if [[ $cmd == slurmstepd* || $cmd == ": slurmscriptd"* || $cmd == slurmd\ * || $cmd == slurmctld\ * ]] \
            || grep -q '^SLURM_JOB_ID=' <<<"$env"; then
            echo "$p"
        fi
    done
}

wait_gone() {  # wait_gone SECONDS PID... -> 0 if all gone in time
    local t=$(( $1 * 10 )); shift
    while [ "$t" -gt 0 ]; do
        local alive=0 p
        for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ "$alive" -eq 0 ] && return 0
        sleep 0.1; t=$((t - 1))
    done
    return 1
}

# 1. cancel all jobs while the controller is still up, and give them KillWait to go
if pid_of slurmctld >/dev/null && [ -f "$CONF" ]; then
    jobs=$(timeout 10 squeue --noheader --format=%A 2>/dev/null | sort -u)
    if [ -n "$jobs" ]; then
        log "cancelling jobs: $(echo $jobs)"
        timeout 10 scancel $jobs 2>/dev/null || true
        for _ in $(seq 150); do
            [ -z "$(timeout 5 squeue --noheader --format=%A 2>/dev/null)" ] && break
            sleep 0.1
        done
    fi
fi

# 2. slurmd and slurmctld together (each takes ~2 s to exit on TERM), KILL after 10 s
daemons=""
for d in slurmd slurmctld; do p=$(pid_of $d) && daemons+=" $p"; done
if [ -n "$daemons" ]; then
    kill -TERM $daemons 2>/dev/null
    wait_gone 10 $daemons || { log "still alive after TERM: KILL$daemons"; kill -KILL $daemons 2>/dev/null; wait_gone 5 $daemons; }
fi

# 3. leftovers of jobs (slurmstepd ignores slurmd's exit)
left=$(strays)
if [ -n "$left" ]; then
    log "ending leftover job processes: $(echo $left)"
    kill -TERM $left 2>/dev/null
    wait_gone 5 $left || kill -KILL $left 2>/dev/null
    wait_gone 5 $left
fi

# 4. munged
if p=$(pid_of munged); then
    kill -TERM "$p" 2>/dev/null
    wait_gone 10 "$p" || { log "munged ($p) still alive: KILL"; kill -KILL "$p" 2>/dev/null; wait_gone 5 "$p"; }
fi

# 5. verify
rc=0
for d in slurmd slurmctld munged; do
    if p=$(pid_of $d); then log "$d ($p) is still running"; rc=1; fi
done
left=$(strays)
[ -z "$left" ] || { log "still running: $(echo $left)"; rc=1; }
[ "$rc" -eq 0 ] && log "stopped ($D)"
exit "$rc"
