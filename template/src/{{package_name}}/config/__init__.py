"""Settings, the training configuration and the readiness thresholds.

Settings come from `APP_*` variables and `.env`; the training configuration from
`config/training.yaml`; the readiness thresholds from `config/readiness.yaml`.

May import: `contract`, `core`.
"""
