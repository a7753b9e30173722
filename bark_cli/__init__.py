"""bark-cli: Suno's Bark text-to-audio from the command line."""

__version__ = "0.1.0"
