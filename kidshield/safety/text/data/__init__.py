"""Per-language lexicon data (TOML files); a package so the files ship in wheels."""
