"""Run as `python -m tests.print_tokenizers_origin` from the repo root (puts the root on sys.path)."""

import tokenizers
import transformers  # noqa: F401  (imports tokenizers itself; must not pick up ./tokenizers)

print(tokenizers.__file__)
