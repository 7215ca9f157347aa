"""The monitoring job and its alerts, and the production-readiness scorecard.

Drift with Evidently, champion against challenger on live requests, the report and its alerts;
the scorecard read from the registry, the prediction log and the project's files.

May import: `audit`, `models`, `data`, `config`, `contract`, `core`. Never `serving`,
`training` or `cli`.
"""
