"""The audit trail.

Every answered prediction and its feedback, in SQLite or PostgreSQL.

May import: `models`, `data`, `config`, `contract`, `core` (it needs none of them today).
"""
