"""muscle-deck: Anki decks of human muscle anatomy, built from cited YAML fact files."""

__version__ = "0.2.0"
