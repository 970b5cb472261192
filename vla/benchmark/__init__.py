"""`vla benchmark`: where the time goes on this machine, measured side by side in one run."""
