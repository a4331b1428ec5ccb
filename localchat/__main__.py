"""``python -m localchat`` is the ``localchat`` command."""

from localchat.app.cli import main

if __name__ == "__main__":
    main()
