#!/usr/bin/env bash
# submit.sh SPEC DIR SHARDS [sbatch options...]: submits a starc grid as a
# Slurm job array of SHARDS tasks (one per shard, logs in DIR/logs/%A_%a.out)
# and its merge as a job that runs once every task has succeeded; prints
# the two job IDs ("ARRAY_ID MERGE_ID"). Extra options (--partition,
# --time, --account, ...) go to both sbatch calls. $STARC names the starc
# binary the jobs run (default: starc on the PATH of the compute nodes).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
spec=${1:?usage: submit.sh SPEC DIR SHARDS [sbatch options]}
dir=${2:?usage: submit.sh SPEC DIR SHARDS [sbatch options]}
shards=${3:?usage: submit.sh SPEC DIR SHARDS [sbatch options]}
shift 3
case $shards in (*[!0-9]*|'') echo "submit.sh: SHARDS must be a positive integer, not '$shards'" >&2; exit 2;; esac
[ "$shards" -ge 1 ] || { echo "submit.sh: SHARDS must be at least 1" >&2; exit 2; }
spec=$(cd "$(dirname "$spec")" && pwd)/$(basename "$spec")
mkdir -p "$dir/logs"   # Slurm does not create the log directory
dir=$(cd "$dir" && pwd)
export STARC=${STARC:-starc}
# Check the spec (and the model and texts it names) before queuing anything.
"$STARC" grid plan "$spec" > "$dir/logs/plan.txt"
array=$(sbatch --parsable --export=ALL --array="0-$((shards - 1))" -o "$dir/logs/%A_%a.out" "$@" "$here/grid.sbatch" "$spec" "$dir")
array=${array%%;*}
merge=$(sbatch --parsable --export=ALL --dependency="afterok:$array" --kill-on-invalid-dep=yes -o "$dir/logs/%j-merge.out" "$@" \
  "$here/merge.sbatch" "$dir")
merge=${merge%%;*}
echo "$array $merge"
