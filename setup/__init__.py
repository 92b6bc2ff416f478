"""kerasup setup: the OS wrappers and the shared bootstrap (setup/bootstrap.py)."""
