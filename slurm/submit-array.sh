#!/bin/bash
# Submit a study as a SLURM array of N slices plus a merge job that runs when every
# slice succeeded, and print the two job ids.
#   slurm/submit-array.sh JOB.yaml N [extra sbatch options]
set -euo pipefail
JOB=${1:?usage: submit-array.sh JOB.yaml N [sbatch options]}
N=${2:?usage: submit-array.sh JOB.yaml N [sbatch options]}
shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
SPECDYN=${SPECDYN:-$HERE/../build/bin/specdyn}
array=$(sbatch --parsable "$@" --array=0-$((N - 1)) --export=ALL,JOB="$JOB",NSLICES="$N",SPECDYN="$SPECDYN" "$HERE/specdyn-array.sbatch")
merge=$(sbatch --parsable "$@" --dependency=afterok:"$array" --ntasks=1 --job-name=specdyn-merge \
  --output=specdyn-merge-%j.out --wrap "\"$SPECDYN\" run \"$JOB\" --index-only")
echo "array $array ($N slices), merge $merge (after the array succeeds)"
