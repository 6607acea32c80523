"""`python -m salesforce_emulator` — the same options as the Django command."""

from .cli import main

if __name__ == "__main__":
    main()
