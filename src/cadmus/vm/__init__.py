"""cadmus.vm"""
