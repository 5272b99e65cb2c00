"""cadmus.train"""
