"""kidshield's policy for resolvers it does not run: RPZ zones and engine configurations.

A school district or an ISP keeps its Unbound, PowerDNS Recursor, BIND or Knot Resolver. This
package turns the policy that ``kidshield serve`` enforces into Response Policy Zones (one per
category, one set per profile) and the engine configuration that tags each client network
with its profile, writes them to a folder (``kidshield export rpz``) and serves them over
AXFR/IXFR with NOTIFY at schedule edges (``[fleet]`` in the configuration). For Unbound alone,
``kidshield export unbound`` hands the same zones to Unbound's Python module instead.

* ``lists.py``: the list files read again as names (the resolver's index keeps only hashes)
* ``zones.py``: the zones and their rules, built from the policy engine at one instant
* ``rpz.py``: zone text and wire records
* ``engines.py``: configuration for each engine
* ``export.py``: a folder with everything, written atomically, with a manifest
* ``xfr.py``: AXFR/IXFR and NOTIFY
* ``unbound_export.py``: the same zones as one mapped file for Unbound's Python module
  (``kidshield export unbound``), which ``unbound_module.py`` reads inside Unbound
* ``service.py``: ``kidshield serve``'s side: exports kept current, zones served, each
  export's failures and last success recorded; ``metrics.py`` shows them on ``/metrics``

docs/fleet.md explains the design and what cannot move to the fleet.
"""
