"""``python -m benchmarks [options]``: the ``benchmark_sync`` command, run from the repository.

The test settings are the default (DEBUG off, fixed development keys, no ``.env``), as for every
figure in docs/PERFORMANCE.md; set DJANGO_SETTINGS_MODULE to use others.
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tasksync.settings_test")
    import django

    django.setup()
    from benchmarks.command import Command

    argv = sys.argv[1:] if argv is None else argv
    Command().run_from_argv(["python -m", "benchmarks", *argv])


if __name__ == "__main__":
    main()
