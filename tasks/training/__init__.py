"""training capability: QLoRA building blocks (config, factories, a minimal step)."""
