"""cadmus.eval"""
