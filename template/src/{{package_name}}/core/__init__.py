"""Plumbing every capability shares.

Errors a person can act on, YAML files read with clear errors, the defaults every process starts
with (telemetry off, local state), supervision of child processes.

Imports nothing from the rest of the package.
"""
