"""cadmus.tokenizer"""
