"""A Salesforce emulator for tasksync: OAuth, REST data API for Task, a web UI, fault injection.

Plain Python (stdlib http.server + ssl + sqlite3, `cryptography` for the certificate); it never
imports the sync code. Run it with `python -m salesforce_emulator` or the Django command
`run_salesforce_emulator`. See docs/emulator.md.
"""
