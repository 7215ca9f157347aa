"""The BentoML service, batch scoring and the service's clients.

Inside the service: authentication, request guards, metrics, micro-batching, following the
registry's aliases, canary rollout. Clients: the smoke test and simulated traffic.

May import: `audit`, `models`, `data`, `config`, `contract`, `core`. Never `monitoring`,
`training` or `cli`.
"""
