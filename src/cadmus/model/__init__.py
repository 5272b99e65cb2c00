"""cadmus.model"""
