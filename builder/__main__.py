"""`python -m builder` runs the muscle-deck command."""

from .cli import run

run()
