"""The configuration file: every problem at once, sorted by line, as ``file:line key: message``."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from kidshield.config import load_config, parse_config
from kidshield.errors import ConfigError
from kidshield.profiles import ClientMatcher, compile_profiles


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="k.toml")
    return info.value.problems


MANY = """\
[server]
timezone = "Mars/Base"
colour = "blue"

[dns]
listen = ["127.0.0.1:99999"]
allow_networks = [
  "10.0.0.0/8",
  "192.168.1.300",
]

[profiles.mia]
birth_date = 2015-04-12
bedtime = "25:00"
wake_up = "07:00"
favourite = "x"

[[profiles.mia.schedules]]
from = "16:00"
to = "18:70"
days = "someday"
"""


def test_several_problems_are_reported_at_once_sorted_by_line() -> None:
    assert problems(MANY) == [
        "k.toml:2 server.timezone: 'Mars/Base' is not an IANA time zone (e.g. 'Europe/London', "
        "'America/New_York')",
        "k.toml:3 server.colour: unknown setting (valid here: builtin_lists, country, "
        "data_dir, default_profile, helpline_max_age_months, storage, timezone)",
        "k.toml:6 dns.listen[0]: '127.0.0.1:99999': the port must be a number from 0 to 65535",
        "k.toml:9 dns.allow_networks[1]: '192.168.1.300' is not an IP address or CIDR range",
        "k.toml:14 profiles.mia.bedtime: '25:00' is not a time (HH:MM)",
        "k.toml:16 profiles.mia.favourite: unknown setting (valid here: age_band, allow, "
        "allow_free_time, bedtime, bedtime_days, birth_date, blocked_categories, "
        "blocked_services, budgets, bypass_protection, deny, extra_blocked_categories, "
        "extra_blocked_services, filtering, keep_filtering_after_18, learning_sites, name, "
        "safe_search, "
        "schedules, shared, timezone, unblocked_categories, unblocked_services, wake_up, youtube)",
        "k.toml:20 profiles.mia.schedules[0].to: '18:70' is not a time (HH:MM)",
        "k.toml:21 profiles.mia.schedules[0].days: 'someday' is not a day (use mon..sun, "
        "'mon-fri', 'weekend', 'school-nights', 'daily')",
    ]


def test_unknown_top_level_section_lists_the_valid_ones() -> None:
    [problem] = problems('[sever]\ntimezone = "UTC"\n')
    assert problem == ("k.toml:1 sever: unknown setting (valid here: clients, dns, fleet, "
                       "helplines, lists, logging, media, metrics, profiles, reports, server, "
                       "smtp, web)")


def test_unknown_key_in_a_schedule_lists_the_valid_ones() -> None:
    text = ('[profiles.leo]\nage_band = "9-12"\n\n[[profiles.leo.schedules]]\nfrom = "16:00"\n'
            'to = "18:00"\nactoin = "block"\n')
    assert problems(text) == [
        "k.toml:7 profiles.leo.schedules[0].actoin: unknown setting (valid here: action, "
        "categories, days, from, name, services, to)"]


def test_unknown_key_in_a_list_lists_the_valid_ones() -> None:
    text = '[[lists]]\nname = "x"\nsource = "x.txt"\ncategory = "adult"\nurl = "y"\n'
    [problem] = problems(text)
    assert problem.startswith("k.toml:5 lists[0].url: unknown setting (valid here: allow, ")


def test_bad_time_is_reported_at_its_line() -> None:
    text = '[profiles.mia]\nage_band = "9-12"\n\n\nbedtime = "25:00"\nwake_up = "07:00"\n'
    assert problems(text) == ["k.toml:5 profiles.mia.bedtime: '25:00' is not a time (HH:MM)"]


def test_bad_client_address_is_reported_at_its_line() -> None:
    text = ('[profiles.mia]\nage_band = "9-12"\n\n[[clients]]\nname = "tablet"\n'
            'profile = "mia"\naddresses = ["192.168.1.23", "fe80::zz"]\n')
    assert problems(text) == [
        "k.toml:7 clients[0].addresses[1]: 'fe80::zz' is not an IP address or CIDR range"]


def test_device_secrets_are_long_random_labels_used_by_one_device_only() -> None:
    short = """\
[[clients]]
name = "phone"
profile = "mia"
secret_ids = ["short"]

[profiles.mia]
age_band = "9-12"
"""
    found = problems(short)
    assert len(found) == 1 and found[0].startswith("k.toml:4 clients[0].secret_ids[0]")
    assert "16 to 63 lower-case letters and digits" in found[0]
    shared = """\
[[clients]]
name = "tablet"
profile = "mia"
client_ids = ["miatablet0000000"]

[[clients]]
name = "laptop"
profile = "mia"
secret_ids = ["miatablet0000000"]

[profiles.mia]
age_band = "9-12"
"""
    assert problems(shared) == ["k.toml:9 clients[1].secret_ids[0]: 'miatablet0000000' is "
                                "already used by clients[0]"]


def test_cross_section_problems_are_sorted_by_line() -> None:
    text = """\
[[lists]]
name = "adult"
source = "a.txt"
category = "adult"

[[lists]]
name = "adult"
source = "b.txt"
category = "adult"

[server]
default_profile = "nobody"

[[clients]]
name = "tablet"
profile = "leo"
addresses = ["192.168.1.23"]

[[clients]]
name = "no way to match"
profile = "mia"

[profiles.mia]
age_band = "9-12"
"""
    assert problems(text) == [
        "k.toml:7 lists[1].name: 'adult' is already used by lists[0]",
        "k.toml:12 server.default_profile: no profile named 'nobody' (mia)",
        "k.toml:16 clients[0].profile: no profile named 'leo' (mia)",
        "k.toml:19 clients[1]: a client needs addresses, macs, client_ids or secret_ids "
        "to be matched",
    ]


def test_client_pointing_at_a_missing_profile_when_none_are_defined() -> None:
    text = '[[clients]]\nname = "t"\nprofile = "mia"\naddresses = ["10.0.0.2"]\n'
    assert problems(text) == ["k.toml:3 clients[0].profile: no profile named 'mia' (none defined)"]


def test_invalid_toml_names_the_line() -> None:
    [problem] = problems('[server]\ntimezone = "Europe/London"\ncountry = GB\n')
    assert problem == "k.toml:3:11: not valid TOML: Invalid value"


def test_invalid_toml_at_the_end_of_the_file_names_the_line_and_column() -> None:
    # tomllib says only "at end of document" here; the end is the place to point at
    assert problems('[server]\ncountry = ') == ["k.toml:2:11: not valid TOML: Invalid value"]


def test_invalid_profile_id_is_reported() -> None:
    assert problems('[profiles.Mia]\nage_band = "9-12"\n') == [
        "k.toml:1 profiles.Mia: 'Mia' is not a valid name (lower-case letters, digits, '-' "
        "and '_')"]


def test_profile_needs_an_age_and_complete_bedtime() -> None:
    assert problems('[profiles.mia]\nname = "Mia"\nbedtime = "21:00"\n') == [
        "k.toml:1 profiles.mia: give a birth_date (YYYY-MM-DD) or an age_band ('under-9', "
        "'9-12', '13-15', '16-17', 'adult')"]
    assert problems('[profiles.mia]\nage_band = "9-12"\nbedtime = "21:00"\n') == [
        "k.toml:1 profiles.mia: bedtime and wake_up go together: set both or neither "
        "(or bedtime = \"off\" for no bedtime at all)"]


def test_budget_out_of_range_is_reported_in_an_inline_table() -> None:
    assert problems('[profiles.leo]\nage_band = "9-12"\nbudgets = { youtube = 2000 }\n') == [
        "k.toml:3 profiles.leo.budgets.youtube: 2000: input should be less than or equal to 1440"]


def test_block_list_needs_a_category() -> None:
    [problem] = problems('[[lists]]\nname = "x"\nsource = "x.txt"\n')
    assert problem.startswith("k.toml:1 lists[0]: list 'x' needs a category")


def test_bad_domain_in_allow_list_is_reported_at_its_line() -> None:
    text = '[profiles.mia]\nage_band = "9-12"\nallow = [\n  "ok.example",\n  "not a name",\n]\n'
    [problem] = problems(text)
    assert problem.startswith("k.toml:5 profiles.mia.allow[1]: 'not a name' is not a valid ")


def test_domains_in_the_config_are_normalised() -> None:
    config = parse_config('[profiles.mia]\nage_band = "9-12"\nallow = ["Bücher.DE."]\n')
    assert config.profiles["mia"].allow == ["xn--bcher-kva.de"]


def test_missing_file_suggests_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such file \(create one with 'kidshield init"):
        load_config(tmp_path / "nope.toml")


def test_problems_name_the_file_path(tmp_path: Path) -> None:
    path = tmp_path / "kidshield.toml"
    path.write_text('[server]\ntimezone = "Nowhere"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems[0].startswith(f"{path}:2 server.timezone: ")


def test_each_commented_table_of_the_example_is_there_once() -> None:
    # `kidshield init` wrote "# [metrics]" twice (under [web] and again after [logging]):
    # uncommenting both, as each comment invites, is a duplicate table (README walk, session 14)
    text = resources.files("kidshield").joinpath("example.toml").read_text(encoding="utf-8")
    headers = [line.lstrip("# ").strip() for line in text.splitlines()
               if line.lstrip("# ").startswith("[") and not line.lstrip("# ").startswith("[[")
               and line.rstrip().endswith("]") and "=" not in line]
    assert "[metrics]" in headers
    assert len(headers) == len(set(headers)), sorted(h for h in headers if headers.count(h) > 1)


def test_example_config_is_valid_and_compiles(tmp_path: Path) -> None:
    text = resources.files("kidshield").joinpath("example.toml").read_text(encoding="utf-8")
    config = parse_config(text, source="example.toml", base_dir=tmp_path)
    assert set(config.profiles) == {"mia", "leo", "family"}
    profiles = compile_profiles(config)
    mia = profiles["mia"]
    assert mia.bedtime is not None and mia.bedtime.window.label() == "school nights 21:00-07:00"
    assert mia.bedtime.source is not None
    assert mia.bedtime.source.line == config.line_of("profiles", "mia", "bedtime")
    assert mia.budget_sources["youtube"].line == config.line_of("profiles", "mia", "budgets")
    assert mia.allow.match("www.khanacademy.org") is not None
    [rule] = profiles["leo"].schedules
    assert (rule.action, rule.services) == ("allow_only", frozenset({"minecraft"}))
    assert rule.source is not None and rule.source.line == text.splitlines().index(
        "[[profiles.leo.schedules]]") + 1
    clients = ClientMatcher(config)
    assert clients.profile_for("192.168.1.23") == "mia"
    assert clients.profile_for("fd00::24") == "leo"
    assert clients.profile_for("::ffff:192.168.1.24") == "leo"
    assert clients.profile_for("192.168.1.99") == "family"


def test_client_matcher_most_specific_range_wins() -> None:
    text = """
[profiles.a]
age_band = "adult"
[profiles.b]
age_band = "9-12"
[[clients]]
name = "house"
profile = "a"
addresses = ["192.168.1.0/24"]
[[clients]]
name = "kid"
profile = "b"
addresses = ["192.168.1.16/28"]
client_ids = ["kid-phone"]
"""
    clients = ClientMatcher(parse_config(text))
    assert clients.profile_for("192.168.1.20") == "b"
    assert clients.profile_for("192.168.1.2") == "a"
    assert clients.profile_for("10.0.0.1") is None
    assert clients.profile_for("10.0.0.1", "kid-phone") == "b"
    assert clients.profile_for("not-an-address") is None


def test_missing_required_setting_is_reported_at_its_table() -> None:
    text = ('[profiles.mia]\nage_band = "9-12"\n\n[[clients]]\nname = "t"\n'
            'addresses = ["10.0.0.2"]\n')
    assert problems(text) == ["k.toml:4 clients[0].profile: this setting is required"]


def test_problem_in_the_second_schedule_names_its_line() -> None:
    text = ('[profiles.leo]\nage_band = "9-12"\n\n[[profiles.leo.schedules]]\nfrom = "16:00"\n'
            'to = "18:00"\n\n[[profiles.leo.schedules]]\nfrom = "19:00"\nto = "7pm"\n')
    assert problems(text) == ["k.toml:10 profiles.leo.schedules[1].to: '7pm' is not a time (HH:MM)"]


def test_bad_mac_and_upstream_are_reported() -> None:
    text = ('[dns]\nupstreams = ["udp://dns.quad9.net"]\n\n[profiles.mia]\nage_band = "9-12"\n\n'
            '[[clients]]\nname = "t"\nprofile = "mia"\nmacs = ["aa:bb:cc"]\n')
    assert problems(text) == [
        "k.toml:2 dns.upstreams[0]: 'udp://dns.quad9.net': plain DNS upstreams need an IP "
        "address, not a name",
        "k.toml:10 clients[0].macs[0]: 'aa:bb:cc' is not a MAC address like 'aa:bb:cc:dd:ee:ff'",
    ]


def test_birth_date_and_age_band_together_is_an_error_naming_the_profile_line() -> None:
    found = problems('[profiles.mia]\nbirth_date = 2015-04-12\nage_band = "adult"\n')
    assert len(found) == 1
    assert found[0].startswith("k.toml:1 profiles.mia: give a birth_date or an age_band, not both")


def test_bedtime_off_is_accepted_and_compiles_to_no_bedtime() -> None:
    config = parse_config('[profiles.mia]\nage_band = "9-12"\nbedtime = "off"\n')
    assert compile_profiles(config)["mia"].bedtime_off is True
    assert problems('[profiles.mia]\nage_band = "9-12"\nbedtime = "off"\nwake_up = "07:00"\n')


def test_ut1_list_from_a_url_is_refused_with_advice() -> None:
    found = problems('[[lists]]\nname = "ut1"\nsource = "https://example.org/ut1.tar.gz"\n'
                     'format = "ut1"\n')
    assert "download and unpack it" in found[0]


def test_block_page_address_must_be_of_the_right_family() -> None:
    found = problems('[dns]\nblock_page_ipv4 = "::1"\nblock_page_ipv6 = "10.0.0.0/8"\n')
    assert [p.split(": ", 1)[0] for p in found] == ["k.toml:2 dns.block_page_ipv4",
                                                    "k.toml:3 dns.block_page_ipv6"]


def test_cache_min_ttl_above_max_is_an_error() -> None:
    found = problems("[dns]\ncache_min_ttl = 600\ncache_max_ttl = 60\n")
    assert "cache_min_ttl (600) is larger than cache_max_ttl (60)" in found[0]


def test_proxy_protocol_sources_are_networks_and_never_everyone() -> None:
    text = '[dns]\nallow_networks = ["10.0.0.0/8"]\nproxy_protocol_from = ["10.0.0.2", "::/0"]\n'
    assert problems(text) == [
        "k.toml:3 dns.proxy_protocol_from: '::/0' would require a PROXY header from every "
        "device and believe any address one claims: list only your load balancers' addresses, "
        "e.g. '10.0.0.2/32'"]
    text = '[dns]\nproxy_protocol_from = ["dnsdist.lan"]\n'
    assert problems(text) == ["k.toml:2 dns.proxy_protocol_from[0]: 'dnsdist.lan' is not an IP "
                              "address or CIDR range"]
    config = parse_config('[dns]\nproxy_protocol_from = ["10.0.0.2", "fd00::2/128"]\n')
    assert config.dns.proxy_protocol_from == ["10.0.0.2/32", "fd00::2/128"]


@pytest.mark.parametrize("value, says", [
    ("0", "greater than or equal to 0.05"), ("600", "less than or equal to 30"),
    ('"2s"', "a valid number")])
def test_a_bad_upstream_timeout_names_its_line(value: str, says: str) -> None:
    found = problems(f"[dns]\nserve_stale = true\nupstream_timeout = {value}\n")
    assert len(found) == 1 and found[0].startswith("k.toml:3 dns.upstream_timeout:"), found
    assert says in found[0], found


def test_the_upstream_timeout_defaults_to_two_seconds_and_takes_a_fraction() -> None:
    assert parse_config("").dns.upstream_timeout == 2.0
    assert parse_config("[dns]\nupstream_timeout = 0.5\n").dns.upstream_timeout == 0.5


# One bad setting per case: the problem names the file, the line and the setting, and says what
# is wrong (the validators no other test reached).
@pytest.mark.parametrize("text, expected", [
    ('[server]\ncountry = "GBR"\n',
     "k.toml:2 server.country: 'GBR' is not a two-letter country code like 'GB'"),
    ('[server]\ncountry = "XX"\n',
     "k.toml:2 server.country: 'XX' is not an ISO 3166-1 country code like 'GB' (or '*' for a "
     "service that works from anywhere)"),
    ('[dns]\nlisten = ["localhost:53"]\n',
     "k.toml:2 dns.listen[0]: 'localhost:53': 'localhost' is not an IP address"),
    ('[dns]\nupstreams = ["tls://:853"]\n',
     "k.toml:2 dns.upstreams[0]: 'tls://:853': upstream needs a host"),
    ('[dns]\nupstreams = ["quic://9.9.9.9"]\n',
     "k.toml:2 dns.upstreams[0]: 'quic://9.9.9.9': upstream must start with udp://, tcp://, "
     "tls:// or https://"),
    ('[dns]\ntls_certificate = "c.pem"\n',
     "k.toml:1 dns: tls_certificate and tls_key go together: set both or neither"),
    ('[dns]\ndoh_listen = ["127.0.0.1:443"]\n',
     "k.toml:1 dns: doh_listen needs tls_certificate and tls_key (DNS over HTTPS)"),
    ('[web]\npublic_url = "kidshield.lan"\n',
     "k.toml:2 web.public_url: 'kidshield.lan' is not a web address like "
     "'http://kidshield.lan:8080'"),
    ('[web]\npublic_url = "http://kidshield.lan/?a=1"\n',
     "k.toml:2 web.public_url: 'http://kidshield.lan/?a=1': give the address only (no ?query, "
     "#part or user)"),
    ('[web]\nblock_https_listen = "127.0.0.1:443"\n',
     "k.toml:1 web: block_https_listen needs local_ca = true: without a certificate the device "
     "trusts, no block page can show over HTTPS"),
    ('[reports]\nsite_url = "ftp://x"\n',
     "k.toml:2 reports.site_url: 'ftp://x' is not a web address like "
     "'https://ntfy.example.org/topic'"),
    ('[reports]\nterritorial_scope = ["US"]\n',
     "k.toml:2 reports.territorial_scope[0]: 'US' is not an EU/EEA country code (like 'DE' or "
     "'IE')"),
    ('[reports]\nmisuse_warn_after = 5\nmisuse_suspend_after = 2\n',
     "k.toml:1 reports: misuse_suspend_after must not be below misuse_warn_after (a source is "
     "warned before it is suspended)"),
    ('[reports.on_call]\nemails = ["nobody"]\n',
     "k.toml:2 reports.on_call.emails[0]: 'nobody' is not an e-mail address"),
    ('[smtp]\nhost = "mail.example.org"\n',
     "k.toml:1 smtp: an SMTP host needs a sender address (sender = ...)"),
    ('[smtp]\nhost = "mail.example.org"\nsender = "x"\n',
     "k.toml:1 smtp: 'x' is not an e-mail address"),
])
def test_each_bad_setting_is_one_problem_naming_its_line(text: str, expected: str) -> None:
    assert problems(text) == [expected]


def test_alert_emails_without_smtp_name_the_emails_line() -> None:
    # was "k.toml : [reports.on_call] ...": a check over two tables had no line to point at
    text = '[server]\ntimezone = "UTC"\n\n[reports.on_call]\nemails = ["oncall@example.org"]\n'
    assert problems(text) == [
        "k.toml:5 reports.on_call.emails: alert e-mails need an SMTP server: set [smtp] host "
        "and sender (or use ntfy or webhooks)"]
    smtp = '[smtp]\nhost = "mail.example.org"\nsender = "kidshield@example.org"\n'
    assert parse_config(text + smtp).reports.on_call.emails == ["oncall@example.org"]


def test_addresses_are_kept_in_one_spelling() -> None:
    config = parse_config('[server]\ncountry = "gb"\n'
                          '[web]\npublic_url = " https://kidshield.lan:8080/ "\n'
                          '[reports]\nterritorial_scope = ["de", "IE"]\n'
                          'site_url = "https://r.example.org/"\n'
                          '[dns]\nlisten = ["127.0.0.1", "[::1]:5353"]\n')
    assert config.server.country == "GB"
    assert config.web.public_url == "https://kidshield.lan:8080"
    assert config.reports.territorial_scope == ["DE", "IE"]
    assert config.reports.site_url == "https://r.example.org"
    assert config.dns.listen == ["127.0.0.1", "[::1]:5353"]


def test_a_file_that_is_not_utf8_is_a_problem_naming_the_file(tmp_path: Path) -> None:
    file = tmp_path / "kidshield.toml"
    file.write_bytes(b'[server]\ntimezone = "Europe/Z\xfcrich"\n')
    with pytest.raises(ConfigError) as info:
        load_config(file)
    assert len(info.value.problems) == 1
    assert info.value.problems[0].startswith(f"{file}: cannot be read: ")
