"""Publishing the site to the IVOA Registry: VOResource 1.1 records and an OAI-PMH 2.0 interface.

:mod:`vostack.registry.records` builds the records (``vg:Authority``, ``vr:Organisation``,
``vs:CatalogService``, ``vg:Registry``) from a :class:`SiteDescription` and the services'
:class:`ServiceDescription`; :class:`RegistryService` serves them over OAI-PMH
(RegistryInterface 1.1 §3).
"""

from __future__ import annotations

from vostack.registry.config import RegistryConfig, RegistryConfigError, load_registry_config, parse_registry_config
from vostack.registry.oai import METADATA_FORMATS, DeletedRecord, ErrorCode, MetadataFormat, RegistryService, Verb
from vostack.registry.records import (
    Contact,
    Content,
    Coverage,
    Creator,
    Curation,
    Date,
    Relationship,
    Resource,
    ResourceName,
    Rights,
    ServiceDescription,
    SiteDescription,
    authority_record,
    doi,
    organisation_record,
    registry_record,
    resource_document,
    resource_element,
    service_record,
    site_records,
)

__all__ = [
    "METADATA_FORMATS",
    "Contact",
    "Content",
    "Coverage",
    "Creator",
    "Curation",
    "Date",
    "DeletedRecord",
    "ErrorCode",
    "MetadataFormat",
    "RegistryConfig",
    "RegistryConfigError",
    "RegistryService",
    "Relationship",
    "Resource",
    "ResourceName",
    "Rights",
    "ServiceDescription",
    "SiteDescription",
    "Verb",
    "authority_record",
    "doi",
    "load_registry_config",
    "organisation_record",
    "parse_registry_config",
    "registry_record",
    "resource_document",
    "resource_element",
    "service_record",
    "site_records",
]
