"""The two-way sync engine: pure decisions (mapping, conflicts) apart from I/O (pull, push)."""
