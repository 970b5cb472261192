#!/bin/bash
# The MT10 proxy of the general recipe (docs/results.md rows 40-50): one collection, then each
# lever trained 4000 steps and evaluated on 10 dev scenes per task (seeds 1000-1009, training
# phrasings). Rerunnable: finished steps are skipped; an interrupted training resumes exactly.
#   scripts/mt10_proxy.sh EXP "general" "no_world policy.parts.world=null" ...
# Each lever is a run name followed by its overrides. The fixed settings can be changed for a
# whole experiment folder (the same script runs the MT50 training of the chosen recipe):
#   TASKS=mt10 EPISODES=50 IMAGE=64 STEPS=4000 EVAL_EPISODES=10 SEED=1000 DATA=EXP/mt10_world
# RANDOMIZE="start_pose:2,color:0.3" collects with those changes drawn per episode (a new DATA),
# (SHARE=0.5: on that share of the episodes only, chosen by their seeds), and
# PERTURB="start_pose:2,color:0.3" evaluates each perturbation beside the unperturbed scenes,
# INSTRUCTIONS=train_wide collects with more phrasings per task (a new DATA),
# ACTION_NOISE=0 collects without the recipe's DART noise on the executed actions (metres; a new
# DATA), NOISE_RETRIES=2 tries a seed whose noisy expert failed again with less noise (a new
# DATA), and ATTEMPTS=3 lets a task try three times its episodes before it gives up (default 2).
set -u
# shellcheck source=scripts/run_steps.sh
. "$(dirname "$0")/run_steps.sh"
EXP=${1:?usage: scripts/mt10_proxy.sh EXP_DIR "NAME [override ...]" ...}; shift
VLA=${VLA:-.venv/bin/vla}
TASKS=${TASKS:-mt10} EPISODES=${EPISODES:-50} IMAGE=${IMAGE:-64}
STEPS=${STEPS:-4000} EVAL_EPISODES=${EVAL_EPISODES:-10} SEED=${SEED:-1000}
RANDOMIZE=${RANDOMIZE:-} SHARE=${SHARE:-1} PERTURB=${PERTURB:-} INSTRUCTIONS=${INSTRUCTIONS:-train}
ATTEMPTS=${ATTEMPTS:-2}
NOISE=()  # the recipe's own unless asked
[ -n "${ACTION_NOISE:-}" ] && NOISE=("action_noise=$ACTION_NOISE")
[ -n "${NOISE_RETRIES:-}" ] && NOISE+=("action_noise_retries=$NOISE_RETRIES")
export MUJOCO_GL=${MUJOCO_GL:-egl}
DATA=${DATA:-$EXP/mt10_world}
if [ ! -f "$DATA/.complete" ]; then
  $VLA collect recipe=general suite=metaworld "tasks=[$TASKS]" episodes="$EPISODES" \
    image_size="$IMAGE" output="$DATA" workers=2 progress=false "randomize=[$RANDOMIZE]" \
    randomize_share="$SHARE" instruction_set="$INSTRUCTIONS" \
    max_attempts_factor="$ATTEMPTS" "${NOISE[@]}"
  collected "$DATA" $? || exit 1
fi
for spec in "$@"; do
  read -r name overrides <<< "$spec"
  out=$EXP/runs/$name
  if ! trained "$out" "$STEPS"; then
    echo "== train $name $(date)"
    # shellcheck disable=SC2086  # the overrides are words
    $VLA train recipe=general dataset="$DATA" train.steps="$STEPS" policy.image_size="$IMAGE" \
      output="$out" $overrides || exit 1
  fi
  if [ ! -f "$out/eval/results.json" ]; then
    echo "== eval $name $(date)"
    $VLA eval policy.path="$out/policy" suite=metaworld "tasks=[$TASKS]" episodes="$EVAL_EPISODES" \
      seed="$SEED" language_checks=false videos=0 "perturb=[$PERTURB]" output="$out/eval" \
      progress=false || exit 1
  fi
  echo "== done $name $(date)"
done
