"""kerasup's environment specs and the tool that locks them (`python -m envs.lock`)."""
