"""cadmus.data"""
