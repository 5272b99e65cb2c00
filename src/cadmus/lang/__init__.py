"""cadmus.lang"""
