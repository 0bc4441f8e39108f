"""The GPU run: one prepared command (run.sh) and its parts; see stages.py."""
