"""``python -m lightning_gan`` runs the CLI."""

from lightning_gan.cli import main

if __name__ == "__main__":
    main()
