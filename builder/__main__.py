"""`python -m builder` runs the muscle-deck command."""

from .cli import main

main(prog_name="muscle-deck")
