"""Plumbing every capability shares.

Errors a person can act on, YAML files read with clear errors, telemetry and local-state
defaults, supervision of child processes.

Imports nothing from the rest of the package.
"""
