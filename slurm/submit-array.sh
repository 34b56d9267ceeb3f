#!/bin/bash
# Kept for older instructions: the same as slurm/submit.sh JOB.yaml --slices N -- [sbatch options]
#   slurm/submit-array.sh JOB.yaml N [extra sbatch options]
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: submit-array.sh JOB.yaml N [sbatch options] (or: submit.sh JOB.yaml --slices N -- [sbatch options])" >&2; exit 2; }
job=$1 n=$2
shift 2
exec "$(dirname "$(realpath "$0")")/submit.sh" "$job" --slices "$n" -- "$@"
