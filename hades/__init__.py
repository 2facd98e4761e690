"""HaDES: behaviour distillation by evolving tiny synthetic datasets (Lupu et al., ICLR 2024)."""
