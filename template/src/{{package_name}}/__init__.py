"""Production-first ML service built around a data contract."""
