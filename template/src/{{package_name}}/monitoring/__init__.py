"""The monitoring job and its alerts.

Drift with Evidently, champion against challenger on live requests, the report and its alerts.

May import: `audit`, `models`, `data`, `config`, `contract`, `core`. Never `serving`,
`training` or `cli`.
"""
