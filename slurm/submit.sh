#!/bin/bash
# Submit a specdyn study to SLURM and print the job ids on one machine-readable line.
#
#   slurm/submit.sh JOB.yaml [--ranks P] [-- sbatch options]
#       one batch job (specdyn-run.sbatch)                     -> jobs: run=ID
#   slurm/submit.sh JOB.yaml --slices N [--ranks P] [-- sbatch options]
#       an array of N slices (specdyn-array.sbatch) and a merge job (specdyn-merge.sbatch,
#       specdyn run JOB --merge) that runs when every slice succeeded (afterok; it is
#       cancelled when a slice fails)                         -> jobs: array=ID merge=ID
#   slurm/submit.sh JOB.yaml --every INTERVAL [--stop-file FILE] [--max-runs K] [--ranks P]
#                   [-- sbatch options]
#       a scheduled study (specdyn-scheduled.sbatch): a run now, then one every INTERVAL
#       (600, 90s, 30m, 1h, 2d) analysing the checkpoints written meanwhile; it ends when
#       FILE exists, after K runs, on a job error, or when its job is cancelled
#                                                             -> jobs: scheduled=ID
#   slurm/submit.sh JOB.yaml --train [--ranks P] [-- sbatch options]
#       train the runs of the job's sweep (specdyn-train.sbatch): an array with one task
#       per run of `specdyn train JOB --list`, task i runs `specdyn train JOB --run i`
#                                                             -> jobs: train=ID
#
# --ranks P sets --ntasks of every job (default: the #SBATCH line of each template).
# Options after `--` go to every sbatch call (and to the resubmissions of a scheduled
# study): --time, --partition, --account, --chdir, ...
# Environment: SPECDYN (default: build/bin/specdyn of this source tree), SPECDYN_ARGS
# (more options for specdyn run, e.g. PETSc options).
set -euo pipefail
me=submit.sh
usage() {
  sed -n '3,20p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
die() {
  echo "$me: $*" >&2
  exit 2
}

[ $# -ge 1 ] || usage
case "$1" in -h | --help) usage ;; esac
JOB=$1
shift
slices="" every="" ranks="" stopfile="" maxruns="" train=""
while [ $# -gt 0 ]; do
  case "$1" in
  --train)
    train=1
    shift
    ;;
  --slices | --every | --ranks | --stop-file | --max-runs)
    [ $# -ge 2 ] || die "$1 needs a value"
    case "$1" in
    --slices) slices=$2 ;; --every) every=$2 ;; --ranks) ranks=$2 ;;
    --stop-file) stopfile=$2 ;; --max-runs) maxruns=$2 ;;
    esac
    shift 2
    ;;
  --) shift; break ;;
  -h | --help) usage ;;
  *) die "unknown option '$1' (sbatch options go after --; see $me --help)" ;;
  esac
done
extra=("$@")

[ -f "$JOB" ] || die "job file '$JOB' not found"
JOB=$(realpath "$JOB") # the jobs may run in another folder (--chdir)
[ -z "$slices" ] || [[ $slices =~ ^[1-9][0-9]*$ ]] || die "--slices '$slices': give a positive number of slices"
[ -z "$ranks" ] || [[ $ranks =~ ^[1-9][0-9]*$ ]] || die "--ranks '$ranks': give a positive number of ranks"
[ -z "$maxruns" ] || [[ $maxruns =~ ^[0-9]+$ ]] || die "--max-runs '$maxruns': give a number of runs (0: no limit)"
[ -z "$slices" ] || [ -z "$every" ] || die "--slices and --every cannot be combined: a scheduled study runs as one job per run"
[ -z "$train" ] || [ -z "$slices$every" ] || die "--train cannot be combined with --slices or --every: a training job runs as an array of runs"
[ -n "$every" ] || [ -z "$stopfile$maxruns" ] || die "--stop-file and --max-runs belong to a scheduled study (--every)"
if [ -n "$every" ]; then
  [[ $every =~ ^[0-9]*[1-9][0-9]*\ *(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?|d|days?|w|weeks?)?$ ]] ||
    die "--every '$every': give seconds or a number with s, m, h, d, w (600, 90s, 30m, 1h, 2d)"
fi

HERE=$(cd "$(dirname "$(realpath "$0")")" && pwd)
SPECDYN=${SPECDYN:-$HERE/../build/bin/specdyn}
[ -x "$SPECDYN" ] || die "no specdyn binary at '$SPECDYN': build it (make) or set SPECDYN=/path/to/specdyn"
SPECDYN=$(realpath "$SPECDYN")
ntasks=()
[ -z "$ranks" ] || ntasks=(--ntasks="$ranks")
# SPECDYN_ARGS and the variables below reach the jobs through the environment (--export=ALL)
export JOB SPECDYN
submit() { sbatch --parsable "${ntasks[@]}" "${extra[@]}" "$@" | tail -n 1 | cut -d';' -f1; }

if [ -n "$train" ]; then
  # the runs of the sweep, as specdyn counts them (one process, no MPI launcher needed);
  # a job error (exit 2) is reported here, before anything is submitted
  # shellcheck disable=SC2086 # SPECDYN_ARGS is a list of words
  list=$(OPENBLAS_NUM_THREADS=1 "$SPECDYN" train "$JOB" --list ${SPECDYN_ARGS:-} 2>&1) ||
    die "specdyn train $JOB --list failed: $list"
  nruns=$(printf '%s\n' "$list" | grep -c $'^[0-9][0-9]*\t' || true)
  [ "$nruns" -ge 1 ] || die "specdyn train $JOB --list printed no runs: $list"
  train=$(submit --array=0-$((nruns - 1)) "$HERE/specdyn-train.sbatch")
  echo "$me: training array $train ($nruns runs of $JOB; after it: slurm/submit.sh <output>/study.yaml)" >&2
  echo "jobs: train=$train"
elif [ -n "$slices" ]; then
  array=$(submit --array=0-$((slices - 1)) --export=ALL,NSLICES="$slices" "$HERE/specdyn-array.sbatch")
  merge=$(submit --dependency=afterok:"$array" --kill-on-invalid-dep=yes "$HERE/specdyn-merge.sbatch")
  echo "$me: array $array ($slices slices of $JOB), merge $merge (runs when every slice succeeded)" >&2
  echo "jobs: array=$array merge=$merge"
elif [ -n "$every" ]; then
  opts=""
  [ ${#extra[@]} -eq 0 ] || opts=$(printf '%q ' "${extra[@]}")
  [ -z "$stopfile" ] || stopfile=$(realpath -m "$stopfile")
  export EVERY=$every STOPFILE=$stopfile MAX_RUNS=${maxruns:-0} ITERATION=1 SPD_SBATCH_OPTS=$opts \
    SPD_SCRIPT=$HERE/specdyn-scheduled.sbatch
  sched=$(submit "$HERE/specdyn-scheduled.sbatch")
  echo "$me: scheduled study $sched: runs $JOB now and then every $every${stopfile:+ until $stopfile exists}${maxruns:+ (at most $maxruns runs)}" >&2
  echo "jobs: scheduled=$sched"
else
  run=$(submit "$HERE/specdyn-run.sbatch")
  echo "$me: run $run ($JOB)" >&2
  echo "jobs: run=$run"
fi
