"""cadmus.tasks"""
