"""The command line: one entry point that every `make` target calls.

May import every other subpackage; nothing imports it.
"""
