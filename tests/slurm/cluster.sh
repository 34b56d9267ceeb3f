#!/usr/bin/env bash
# A private single-node SLURM cluster for the tests (FACTS.md: a configuration known to
# work on these machines). Everything lives under one folder; only the daemons started
# here are stopped, by their PID files.
#   cluster.sh up DIR      start munged, slurmctld, slurmd; wait for the node
#   cluster.sh down DIR    stop them
#   source DIR/env         SLURM_CONF for the clients
set -euo pipefail
cmd=${1:?up|down}
D=${2:?folder}

down() {
  for p in slurmd slurmctld munged; do
    if [ -f "$D/$p.pid" ]; then
      pid=$(cat "$D/$p.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$D/$p.pid"
    fi
  done
}

if [ "$cmd" = down ]; then
  down
  exit 0
fi

umask 022 # munged refuses group/world-writable folders
mkdir -p "$D"/{state,spool,log,munge,munge-key}
chmod 755 "$D/munge"   # the socket's folder must be searchable by all
chmod 700 "$D/munge-key"
dd if=/dev/urandom of="$D/munge-key/munge.key" bs=1024 count=1 status=none
chmod 400 "$D/munge-key/munge.key"
cat >"$D/slurm.conf" <<CONF
ClusterName=spdtest
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$D/munge/munge.socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# test cluster only: look at pending jobs every second (defaults 60 s / 30 s), so that
# a scheduled study's --begin=now+10 starts within about a second of its begin time
SchedulerParameters=sched_interval=1,bf_interval=1
MpiDefault=pmix
ReturnToService=2
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
echo "export SLURM_CONF=$D/slurm.conf" >"$D/env"

munged -F --key-file="$D/munge-key/munge.key" --socket="$D/munge/munge.socket" --pid-file="$D/munged.pid" \
  --log-file="$D/log/munged.log" --seed-file="$D/munge-key/seed" >"$D/log/munged.out" 2>&1 &
for _ in $(seq 50); do [ -S "$D/munge/munge.socket" ] && break; sleep 0.1; done
[ -S "$D/munge/munge.socket" ] || { echo "cluster.sh: munged did not start"; cat "$D/log/munged.out"; exit 1; }
[ -f "$D/munged.pid" ] || echo $! >"$D/munged.pid"
export SLURM_CONF="$D/slurm.conf"
slurmctld -D -c -i -f "$D/slurm.conf" >"$D/log/slurmctld.out" 2>&1 &
echo $! >"$D/slurmctld.pid"
slurmd -D -N localhost -f "$D/slurm.conf" >"$D/log/slurmd.out" 2>&1 &
echo $! >"$D/slurmd.pid"
for _ in $(seq 100); do
  state=$(sinfo -h -o %T 2>/dev/null || true)
  case "$state" in idle*) break ;; esac
  sleep 0.2
done
case "$state" in idle*) ;; *)
  echo "cluster.sh: the node did not come up (state '$state')"
  tail -n 20 "$D"/log/*.log "$D"/log/*.out
  down
  exit 1
  ;;
esac
echo "cluster.sh: SLURM up in $D"
