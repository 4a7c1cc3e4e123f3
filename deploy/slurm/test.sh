#!/usr/bin/env bash
# test.sh: the Slurm deployment, end to end, on a real single-node cluster.
# Installs Debian's slurm-wlm and munge (if missing), starts munged,
# slurmctld and slurmd with a configuration in a temporary directory,
# builds starc, converts stories260K, submits the tiny grid (stories260K,
# 2 methods × 2 budgets + full, 2 perplexity texts) through submit.sh as a
# 3-task array with the merge as a dependent job, waits, and checks the
# merge equals a single-process run byte for byte. Needs root (CI runs as
# root). Daemons are stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
shared=${STARC_SHARED:-$repo/../shared}
start=$(date +%s)
if [ "$(id -u)" != 0 ] && [ -z "${CI:-}" ]; then
  echo "slurm test: skipped (needs root to install and run Slurm; CI runs it)"
  exit 0
fi

if ! command -v slurmctld > /dev/null || ! command -v munged > /dev/null; then
  echo "slurm test: installing slurm-wlm and munge"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge > /dev/null
fi

work=$(mktemp -d /tmp/starc-slurm-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2> /dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# munge: the package made the key; without systemd there is no /run/munge.
mkdir -p /run/munge && chown munge:munge /run/munge && chmod 0755 /run/munge
if ! munge -n 2> /dev/null | unmunge > /dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged --foreground > "$work/munged.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do munge -n 2> /dev/null | unmunge > /dev/null 2>&1 && break; sleep 0.1; done
fi
munge -n | unmunge > /dev/null || { cat "$work/munged.log"; echo "slurm test: munged did not start" >&2; exit 1; }

for port in 6817 6818; do
  if ss -ltn 2> /dev/null | grep -q ":$port "; then
    echo "slurm test: port $port is taken (another slurm running?)" >&2
    exit 1
  fi
done

node=$(hostname -s)
cpus=$(nproc)
mem=$(( $(free -m | awk '/^Mem:/ {print $2}') * 3 / 4 ))
mkdir -p "$work/state" "$work/spool" "$work/log"
cat > "$work/slurm.conf" <<EOF
ClusterName=starc-test
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
DependencyParameters=kill_invalid_depend
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$work/slurm.conf
slurmctld -D -f "$SLURM_CONF" > "$work/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" > "$work/log/slurmd.out" 2>&1 &
pids+=($!)
for _ in $(seq 200); do
  [ "$(sinfo -h -o %t 2> /dev/null)" = idle ] && break
  sleep 0.1
done
if [ "$(sinfo -h -o %t 2> /dev/null)" != idle ]; then
  tail -20 "$work"/log/*
  echo "slurm test: the node did not become idle" >&2
  exit 1
fi
echo "slurm test: cluster up ($node, $cpus CPUs) after $(( $(date +%s) - start )) s"

# starc and the tiny grid.
go build -o "$work/bin/starc" ./cmd/starc
export STARC=$work/bin/starc
"$STARC" convert --dtype f32 "$shared/models/stories260K/stories260K.gguf" "$work/stories" > /dev/null
cat > "$work/tiny.json" <<EOF
{
  "name": "tiny",
  "models": ["stories"],
  "methods": ["full", "starc", "quest"],
  "budgets": [8, 16],
  "attention": {"dense_layers": 1, "window": 16, "cluster_size": 4, "recluster": 16, "page_size": 4, "kv": "dense"},
  "perplexity": [
    {"name": "shakespeare", "file": "$shared/data/tinyshakespeare_first20000.txt", "tokens": 24, "windows": 2},
    {"name": "austen", "file": "$shared/data/pg1342_pride_and_prejudice.txt", "prefill": 16, "tokens": 24, "windows": 2}
  ]
}
EOF

# The reference: one process, the whole grid.
"$STARC" grid run "$work/tiny.json" --out "$work/one" 2> "$work/one.log"
"$STARC" grid merge "$work/one" --csv "$work/one.csv" --json-out "$work/one.json" --md "$work/one.md"

# The cluster: 3 array tasks and the dependent merge.
read -r array merge < <(deploy/slurm/submit.sh "$work/tiny.json" "$work/cluster" 3)
echo "slurm test: submitted array $array and merge $merge"
for _ in $(seq 600); do
  [ -z "$(squeue -h -o %i 2> /dev/null)" ] && break
  sleep 0.2
done
if [ -n "$(squeue -h -o %i)" ]; then
  squeue; tail -5 "$work"/cluster/logs/*
  echo "slurm test: jobs still queued after 2 minutes" >&2
  exit 1
fi
state=$(scontrol show job "$merge" 2> /dev/null | grep -o 'JobState=[A-Z_]*' || true)
if [ "$state" != JobState=COMPLETED ]; then
  for f in "$work"/cluster/logs/*; do echo "== $f"; cat "$f"; done
  echo "slurm test: merge job $merge ended with ${state:-no state}" >&2
  exit 1
fi
logs=$(ls "$work"/cluster/logs/"${array}"_*.out | wc -l)
[ "$logs" = 3 ] || { ls "$work/cluster/logs"; echo "slurm test: $logs array task logs, want 3 (%A_%a)" >&2; exit 1; }
for ext in csv json md; do
  if ! cmp -s "$work/one.$ext" "$work/cluster/merged.$ext"; then
    diff "$work/one.$ext" "$work/cluster/merged.$ext" | head -20
    echo "slurm test: merged.$ext from the array differs from the single-process run" >&2
    exit 1
  fi
done
ran=$(grep -ho '[0-9]* run now' "$work"/cluster/logs/"${array}"_*.out | awk '{s += $1} END {print s}')
[ "$ran" = 10 ] || { echo "slurm test: the array tasks ran $ran cells, want each of the 10 once" >&2; exit 1; }
echo "ok   slurm: 3-task array + dependent merge = single-process run (csv, json, md) in $(( $(date +%s) - start )) s"
