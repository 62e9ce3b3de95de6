"""kidshield: self-hostable child online protection."""

__version__ = "0.1.0"
