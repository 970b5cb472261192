# Shared by the experiment scripts (source it): what a rerun may skip.
# trained OUT STEPS: the run in OUT saved its checkpoint at step STEPS. policy/ is refreshed at
# every checkpoint, so only the last step's checkpoint says that training ended.
trained() { [ "$(cat "$1/checkpoints/LATEST" 2>/dev/null)" = "$(printf step_%06d "$2")" ]; }
