# Shared by the experiment scripts (source it): what a rerun may skip.
# trained OUT STEPS: the run in OUT saved its checkpoint at step STEPS. policy/ is refreshed at
# every checkpoint, so only the last step's checkpoint says that training ended.
trained() { [ "$(cat "$1/checkpoints/LATEST" 2>/dev/null)" = "$(printf step_%06d "$2")" ]; }
# collected DATA RC: a `vla collect` that ended (0) or left some cells short of episodes (3: their
# attempts spent, the log names them) is training data; anything else stops the caller.
collected() { { [ "$2" -eq 0 ] || [ "$2" -eq 3 ]; } && touch "$1/.complete"; }
