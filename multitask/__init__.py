"""Multi-task generalist trained from per-task distilled datasets (issue 4; not built yet)."""
