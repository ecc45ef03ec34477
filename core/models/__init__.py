"""The tables of the control plane; importing this package registers all of them."""

from sqlmodel import SQLModel

from core.models.audit import AuditEvent
from core.models.auth import (
    ApiToken,
    AuthSession,
    Invitation,
    LoginThrottle,
    RateLimit,
    SignupRequest,
)
from core.models.base import utcnow
from core.models.billing import RateDeckEntry, Service, ServiceDeckEntry, ServicePlan
from core.models.call_record import (
    CallCollection,
    CallDirection,
    CallLeg,
    CallLegRevision,
    CallLegSide,
    CallRecord,
    CallState,
    CallUsageDay,
    RatingDeck,
    VendorRateEntry,
)
from core.models.carrier import DEFAULT_SIP_PORT, Carrier, Gateway
from core.models.customer import Customer, CustomerStatus
from core.models.dialplan import DialPlan, DialPlanRule
from core.models.directory import (
    DirectoryConsentRequest,
    DirectoryLink,
    DirectoryLinkStatus,
    DirectoryPreviewRow,
    DirectoryProvider,
    DirectorySyncPending,
    DirectoryWatchChannel,
)
from core.models.email import EmailMessage, EmailStatus
from core.models.files import StoredFile
from core.models.identity import Administrator, Role, RoleGrant, Scope
from core.models.isp import Isp, IspLogo, IspStatus, VerifiedDomain, VerifiedDomainStatus
from core.models.job import ACTIVE_JOB_STATUSES, Job, JobStatus, PeriodicTaskRun
from core.models.number import Number, NumberState, NumberType
from core.models.prepaid import PrepaidBalance, PrepaidEntryKind, PrepaidLedgerEntry
from core.models.routing import (
    RoutingChanges,
    RoutingChangeSubject,
    RoutingDatabase,
    RoutingIdentifier,
    RoutingIspChange,
    SipProxy,
)
from core.models.subscriber import (
    SecurityGroup,
    SecurityGroupDestination,
    Subscriber,
    SubscriberSource,
    SubscriberStatus,
)
from core.models.tenant import Smbc, Tenant, TenantSmbc, TenantStatus

metadata = SQLModel.metadata

__all__ = [
    "ACTIVE_JOB_STATUSES",
    "DEFAULT_SIP_PORT",
    "Administrator",
    "ApiToken",
    "AuditEvent",
    "AuthSession",
    "CallCollection",
    "CallDirection",
    "CallLeg",
    "CallLegRevision",
    "CallLegSide",
    "CallRecord",
    "CallState",
    "CallUsageDay",
    "Carrier",
    "Customer",
    "CustomerStatus",
    "DialPlan",
    "DialPlanRule",
    "DirectoryConsentRequest",
    "DirectoryLink",
    "DirectoryLinkStatus",
    "DirectoryPreviewRow",
    "DirectoryProvider",
    "DirectorySyncPending",
    "DirectoryWatchChannel",
    "EmailMessage",
    "EmailStatus",
    "Gateway",
    "Invitation",
    "Isp",
    "IspLogo",
    "IspStatus",
    "Job",
    "JobStatus",
    "LoginThrottle",
    "Number",
    "NumberState",
    "NumberType",
    "PeriodicTaskRun",
    "PrepaidBalance",
    "PrepaidEntryKind",
    "PrepaidLedgerEntry",
    "RateDeckEntry",
    "RateLimit",
    "RatingDeck",
    "Role",
    "RoleGrant",
    "RoutingChangeSubject",
    "RoutingChanges",
    "RoutingDatabase",
    "RoutingIdentifier",
    "RoutingIspChange",
    "Scope",
    "SecurityGroup",
    "SecurityGroupDestination",
    "Service",
    "ServiceDeckEntry",
    "ServicePlan",
    "SignupRequest",
    "SipProxy",
    "Smbc",
    "StoredFile",
    "Subscriber",
    "SubscriberSource",
    "SubscriberStatus",
    "Tenant",
    "TenantSmbc",
    "TenantStatus",
    "VendorRateEntry",
    "VerifiedDomain",
    "VerifiedDomainStatus",
    "metadata",
    "utcnow",
]
