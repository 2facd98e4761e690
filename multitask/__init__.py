"""Multi-task generalist agents trained from per-task distilled datasets, with no further
environment interaction, and task-transfer evaluation."""
