"""Settings and the training configuration.

Settings come from `APP_*` variables and `.env`; the training configuration from
`config/training.yaml`.

May import: `contract`, `core`.
"""
