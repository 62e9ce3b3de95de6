"""Image hash banks: PDQ hashing, exact Hamming-distance index, banks, exchange formats.

Pure code: hashing takes bytes, matching takes hashes; persistence goes through the
``MediaBankStore`` protocol in ``store.py``. Image bytes are never stored,
thumbnailed or logged: only 256-bit hashes leave this package.
"""
