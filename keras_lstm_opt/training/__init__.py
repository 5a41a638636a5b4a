"""Training: Trainer, the strategy-aware loop, backups, blow-up guard, signals, run artifacts."""
