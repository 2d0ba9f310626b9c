"""Training and fine-tuning: data sources, augmentation, the training loop."""
