from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.unit.registry.helpers import TAP
from vostack.registry.config import RegistryConfigError, load_registry_config, parse_registry_config

TOML = """
[registry]
authority = "ivo://example.org"
organisation = "Example Data Centre"
title = "Example archive"
description = "What the data centre publishes."
reference_url = "https://example.org/"
created = 2024-01-15T00:00:00Z
updated = 2025-03-01T12:00:00+01:00
subjects = ["Astrometry"]
facilities = ["Gaia"]

[registry.contact]
name = "Archive staff"
email = "vo@example.org"

[[registry.creators]]
name = "Lovelace, A."
alt_identifiers = ["https://orcid.org/0000-0002-1825-0097"]

[[registry.rights]]
text = "CC BY 4.0"
uri = "https://creativecommons.org/licenses/by/4.0/"

[registry.services.tap]
title = "Example TAP service"
dois = ["https://doi.org/10.5072/example.cat"]
subjects = ["Catalogs"]
updated = 2025-04-01T00:00:00Z

[[registry.deleted]]
ivoid = "ivo://example.org/old-cone"
datestamp = 2025-02-01T00:00:00Z
"""


def _section(text: str = TOML) -> dict[str, object]:
    data = tomllib.loads(text)["registry"]
    assert isinstance(data, dict)
    return data


def test_registry_section_describes_the_site(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(TOML)
    config = load_registry_config(path)
    site = config.site
    assert site.authority == "ivo://example.org"
    assert site.organisation_ivoid == "ivo://example.org/org"
    assert site.contact.email == "vo@example.org"
    assert site.emails == ("vo@example.org",)
    assert site.creators[0].alt_identifiers == ("https://orcid.org/0000-0002-1825-0097",)
    assert site.rights[0].uri == "https://creativecommons.org/licenses/by/4.0/"
    assert site.updated == datetime(2025, 3, 1, 11, 0, tzinfo=UTC)
    assert site.facilities[0].name == "Gaia"
    assert config.deleted[0].ivoid == "ivo://example.org/old-cone"


def test_service_table_is_merged_into_the_service_description() -> None:
    config = parse_registry_config(_section())
    tap = config.describe(TAP)
    assert tap.title == "Example TAP service"
    assert tap.description == TAP.description  # not overridden
    assert tap.alt_identifiers == (*TAP.alt_identifiers, "doi:10.5072/example.cat")
    assert tap.subjects == ("Catalogs",)
    assert tap.updated == datetime(2025, 4, 1, tzinfo=UTC)
    assert tap.capabilities is TAP.capabilities


def test_service_without_table_is_unchanged() -> None:
    config = parse_registry_config(_section())
    other = config.describe(type(TAP)(key="ssa", title="t", description="d", capabilities=TAP.capabilities))
    assert other.title == "t"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('authority = "ivo://example.org"\n', "", "authority is required"),
        ('authority = "ivo://example.org"', 'authority = "ivo://example.org/sub"', "bare authority"),
        ("created = 2024-01-15T00:00:00Z", "created = 2024-01-15T00:00:00", "with an offset"),
        ('subjects = ["Astrometry"]', 'subjects = "Astrometry"', "must be a list"),
        ('title = "Example archive"', 'title = "Example archive"\ncolour = "red"', "unknown key"),
        ('dois = ["https://doi.org/10.5072/example.cat"]', 'dois = ["example"]', "not a DOI"),
        ('email = "vo@example.org"\n', "", "admin email"),
        ('ivoid = "ivo://example.org/old-cone"', 'ivoid = "example.org/old-cone"', "IVOA identifier"),
        ('title = "Example TAP service"', 'titel = "Example TAP service"', "unknown key"),
    ],
)
def test_invalid_registry_section_is_reported(old: str, new: str, message: str) -> None:
    assert old in TOML
    with pytest.raises(RegistryConfigError, match=message):
        parse_registry_config(_section(TOML.replace(old, new, 1)))


def test_missing_registry_section_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text("[service]\ntitle = 'x'\n")
    with pytest.raises(RegistryConfigError, match=r"no \[registry\] table"):
        load_registry_config(path)
