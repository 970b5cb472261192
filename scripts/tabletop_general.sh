#!/bin/bash
# The tabletop 4 x 4 with the general recipe (issues 30-32; docs/results.md): collect all 4
# robots x 4 tasks with three (task, colour) combinations left out, train recipe=general, then
# evaluate on dev seeds: 20 scenes per cell with the language conditions and the left-out
# combinations, and 10 per cell under the six perturbations, for this checkpoint and for
# checkpoints/4x4 (the scaffolded recipe) side by side. Rerunnable: finished steps are skipped,
# an interrupted collection, training or evaluation resumes.
#   scripts/tabletop_general.sh EXP_DIR [override ...]     (overrides go to vla train)
# Settings: EPISODES=60 STEPS=14000 EVAL_EPISODES=20 PERTURB_EPISODES=10 SEED=1000
# RANDOMIZE="color:0.3,distractor:2" collects with those changes drawn per episode (collection's
# own salt, so the evaluation's perturbations are other draws; SHARE=0.5: on that share only).
# BASELINE= (empty) skips the perturbation table of checkpoints/4x4 when it is already measured.
set -u
# shellcheck source=scripts/run_steps.sh
. "$(dirname "$0")/run_steps.sh"
EXP=${1:?usage: scripts/tabletop_general.sh EXP_DIR [train override ...]}; shift
VLA=${VLA:-.venv/bin/vla}
EPISODES=${EPISODES:-60} STEPS=${STEPS:-14000} SEED=${SEED:-1000}
EVAL_EPISODES=${EVAL_EPISODES:-20} PERTURB_EPISODES=${PERTURB_EPISODES:-10}
RANDOMIZE=${RANDOMIZE:-} SHARE=${SHARE:-1} BASELINE=${BASELINE-checkpoints/4x4}
export MUJOCO_GL=${MUJOCO_GL:-egl}
ROBOTS="[ur5e,sawyer,panda,so101]" TASKS="[reach,lift,place,push]"
LEAVE="lift:blue,push:red,place:green"
PERTURB="camera_move:5,camera_turn:5,light:0.6,color:0.3,start_pose:2,distractor:2"
DATA=$EXP/data RUN=$EXP/runs/general
if [ ! -f "$DATA/.complete" ]; then
  echo "== collect $(date)"
  $VLA collect recipe=general "robots=$ROBOTS" "tasks=$TASKS" episodes="$EPISODES" \
    "leave_out=[$LEAVE]" "randomize=[$RANDOMIZE]" randomize_share="$SHARE" output="$DATA" \
    workers=2 progress=false
  collected "$DATA" $? || exit 1
fi
if ! trained "$RUN" "$STEPS"; then
  echo "== train $(date)"
  $VLA train recipe=general dataset="$DATA" train.steps="$STEPS" output="$RUN" "$@" || exit 1
fi
if [ ! -f "$RUN/eval/results.json" ]; then
  echo "== eval language $(date)"
  $VLA eval policy.path="$RUN/policy" "robots=$ROBOTS" "tasks=$TASKS" episodes="$EVAL_EPISODES" \
    seed="$SEED" "combinations=[$LEAVE]" videos=0 output="$RUN/eval" progress=false || exit 1
fi
for name in general ${BASELINE:+4x4}; do
  policy=$RUN/policy
  [ "$name" = 4x4 ] && policy=$BASELINE
  out=$EXP/runs/$name/eval_perturb
  if [ ! -f "$out/results.json" ]; then
    echo "== eval perturb $name $(date)"
    $VLA eval policy.path="$policy" "robots=$ROBOTS" "tasks=$TASKS" episodes="$PERTURB_EPISODES" \
      seed="$SEED" language_checks=false videos=0 output="$out" progress=false \
      "perturb=[$PERTURB]" || exit 1
  fi
done
echo "== all done $(date)"
