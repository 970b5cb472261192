#!/bin/bash
# The MT10 proxy of the general recipe (docs/results.md rows 40-44): one collection, then each
# lever trained 4000 steps and evaluated on 10 dev scenes per task (seeds 1000-1009, training
# phrasings). Rerunnable: finished steps are skipped; an interrupted training resumes exactly.
#   scripts/mt10_proxy.sh EXP "general" "no_world policy.parts.world=null" ...
# Each lever is a run name followed by its overrides.
set -u
EXP=${1:?usage: scripts/mt10_proxy.sh EXP_DIR "NAME [override ...]" ...}; shift
VLA=${VLA:-.venv/bin/vla}
export MUJOCO_GL=${MUJOCO_GL:-egl}
DATA=$EXP/mt10_world
if [ ! -f "$DATA/.complete" ]; then
  $VLA collect recipe=general suite=metaworld "tasks=[mt10]" episodes=50 output="$DATA" \
    workers=2 progress=false && touch "$DATA/.complete" || exit 1
fi
for spec in "$@"; do
  read -r name overrides <<< "$spec"
  out=$EXP/runs/$name
  if [ ! -d "$out/policy" ]; then
    echo "== train $name $(date)"
    # shellcheck disable=SC2086  # the overrides are words
    $VLA train recipe=general dataset="$DATA" train.steps=4000 output="$out" $overrides || exit 1
  fi
  if [ ! -f "$out/eval/results.json" ]; then
    echo "== eval $name $(date)"
    $VLA eval policy.path="$out/policy" suite=metaworld "tasks=[mt10]" episodes=10 seed=1000 \
      language_checks=false videos=0 output="$out/eval" progress=false || exit 1
  fi
  echo "== done $name $(date)"
done
