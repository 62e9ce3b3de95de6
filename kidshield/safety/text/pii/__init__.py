"""Structured personal information: numbers that identify a person, checked where a check exists.

The personal_info signal uses the lexicon's patterns for what words give away (an address, a
school, a handle) and this package for numbers, where a pattern alone cannot tell a phone from a
date or a card from an order number.
"""

from kidshield.safety.text.pii.numbers import NumberFind, find_numbers
from kidshield.safety.text.pii.words import NumberWords, load_number_words

__all__ = ["NumberFind", "NumberWords", "find_numbers", "load_number_words"]
