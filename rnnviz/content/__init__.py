"""What the app teaches with: the lessons, the papers' registry and texts, and the shipped data."""

from pathlib import Path

DATA = Path(__file__).parent / "data"  # the shipped results (JSON), made by the project's own commands
