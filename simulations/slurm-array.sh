#!/usr/bin/env bash
# Generate one dataset on N machines with a Slurm job array, then merge.
#
#   sbatch --array=0-7 simulations/slurm-array.sh simulations/diode-node.toml 8
#   # when all tasks are done:
#   almost-simulate merge --out datasets/diode-node datasets/diode-node.shard-*
#
# Each task k writes shards s with s % N == k into its own folder (or point --out at one
# shared folder: shard files are distinct and written atomically). Re-submitting a task
# resumes it. The plan (device, design, seed, solver) is identical in every task, so the
# merged dataset equals a single-machine run bit for bit.
#SBATCH --job-name=almost-simulate
#SBATCH --cpus-per-task=8
#SBATCH --time=04:00:00
set -euo pipefail
config=${1:?usage: slurm-array.sh CONFIG N}
n=${2:?usage: slurm-array.sh CONFIG N}
k=${SLURM_ARRAY_TASK_ID:?run under sbatch --array}
name=$(basename "$config" .toml)
almost-simulate generate "$config" \
    --shard "$k/$n" \
    --threads "${SLURM_CPUS_PER_TASK:-1}" \
    --out "datasets/$name.shard-$k"
