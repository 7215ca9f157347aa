"""The command line: one entry point that every `make` target calls.

One module per command group (`contract`, `data`, `serving`, `monitoring`, `training`,
`settings`), imported only when one of its commands runs; `main` builds the app.

May import every other subpackage; nothing imports it.
"""
