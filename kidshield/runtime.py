"""The policy runtime: a configuration with its lists loaded, profiles compiled and the engine
built. What the resolver, ``kidshield check`` and the web pages decide with; rebuilt on reload."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from kidshield.config import Config, load_config, own_helplines
from kidshield.errors import InputError
from kidshield.lists.loader import REPORTED_CATEGORY, LoadResult, load_lists
from kidshield.policy.catalog import Catalog, default_catalog
from kidshield.policy.coverage import CategoryGap, category_gaps
from kidshield.policy.engine import PolicyEngine
from kidshield.policy.model import Profile
from kidshield.profiles import ClientMatcher, compile_profiles, unrestricted_profile


@dataclass
class PolicyRuntime:
    config: Config
    catalog: Catalog
    loaded: LoadResult
    engine: PolicyEngine
    profiles: dict[str, Profile]
    clients: ClientMatcher
    fallback: Profile

    @classmethod
    def build(cls, config: Config, catalog: Catalog | None = None,
              isolated: bool = False, loaded: LoadResult | None = None) -> PolicyRuntime:
        """``isolated``: build the list index in a child process (see lists/isolated.py);
        ``loaded``: lists already loaded (e.g. from the index cache, lists/indexcache.py)."""
        catalog = catalog or default_catalog()
        catalog = catalog.with_helplines(own_helplines(config, catalog.helplines))
        if loaded is not None:
            pass
        elif isolated:
            from kidshield.lists.isolated import load_lists_isolated

            loaded = load_lists_isolated(config)
        else:
            loaded = load_lists(config)
        return cls(
            config=config,
            catalog=catalog,
            loaded=loaded,
            engine=PolicyEngine(catalog, loaded.lists),
            profiles=compile_profiles(config),
            clients=ClientMatcher(config),
            fallback=unrestricted_profile(config),
        )

    def with_config(self, config: Config) -> PolicyRuntime:
        """The same lists and engine with other profiles, devices and settings (dashboard
        edits change nothing else): no list is loaded again."""
        return replace(self, config=config, profiles=compile_profiles(config),
                       clients=ClientMatcher(config), fallback=unrestricted_profile(config))

    @classmethod
    def from_file(cls, path: str | Path) -> PolicyRuntime:
        return cls.build(load_config(path))

    def profile(self, pid: str) -> Profile:
        try:
            return self.profiles[pid]
        except KeyError:
            names = ", ".join(sorted(self.profiles)) or "none defined"
            raise InputError(f"no profile named {pid!r} (profiles: {names})") from None

    def category_gaps(self, now: datetime) -> list[CategoryGap]:
        """Categories some profile (or the default for unknown devices) blocks at ``now`` that
        no loaded list provides; for `config check` and the dashboard's Lists page."""
        profiles = list(self.profiles.values())
        if self.config.server.default_profile is None:
            profiles.append(self.fallback)
        return category_gaps(self.engine, profiles, now, frozenset({REPORTED_CATEGORY}))

    def profile_for_client(self, address: str, client_id: str | None = None) -> Profile:
        pid = self.clients.profile_for(address, client_id)
        return self.profiles.get(pid, self.fallback) if pid else self.fallback
