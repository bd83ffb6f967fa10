#!/usr/bin/env bash
# Evaluate a trained run on its devices' physics with a Slurm job array, then merge.
#
#   sbatch --array=0-7 simulations/slurm-evaluate.sh runs/digits-diode 8
#   # when all tasks are done:
#   almost-train evaluate --run runs/digits-diode --merge
#
# Task k solves the test images i with i % N == k and writes
# RUN/physics.shard-k-of-N.json (atomically; the run folder must be shared). Each shard
# records the hash of the trained A it ran: `--merge` refuses a missing shard or shards of
# another training, and writes RUN/physics.json, the report one machine would have written
# (the seconds add up machine time). Extra arguments go to `almost-train evaluate`
# (e.g. --samples 500, --variability 0.05).
#SBATCH --job-name=almost-evaluate
#SBATCH --cpus-per-task=8
#SBATCH --time=02:00:00
set -euo pipefail
run=${1:?usage: slurm-evaluate.sh RUN N [evaluate options]}
n=${2:?usage: slurm-evaluate.sh RUN N [evaluate options]}
shift 2
k=${SLURM_ARRAY_TASK_ID:?run under sbatch --array}
almost-train evaluate --run "$run" --physics \
    --shard "$k/$n" \
    --threads "${SLURM_CPUS_PER_TASK:-1}" \
    "$@"
