"""One client for every Salesforce call, built from a user's stored connection.

It wraps unmodified simple-salesforce: a ``requests.Session`` with timeouts that trusts
``SALESFORCE_CA_BUNDLE``; one token refresh and one retry on 401 INVALID_SESSION_ID (R12); every
error classified by ``accounts.salesforce.errors``; every call counted, and the org's
``Sforce-Limit-Info`` usage kept (R13).

The layers, each a module: ``session`` (HTTP, the usage and Date headers), ``values`` (SOQL
literals, Salesforce's datetimes), ``core`` (one call, plain reads and writes), ``composite``
(the Composite call and the writes packed into it), ``chained`` (query pages chained through
Composite, prefetched). ``SALESFORCE_COMPOSITE`` off makes the same reads and writes without
Composite, one plain call each.
"""

from accounts.salesforce.client.chained import Chained, ChainingClient
from accounts.salesforce.client.composite import COMPOSITE_HEAVY, COMPOSITE_SUBREQUESTS
from accounts.salesforce.client.core import COLLECTION_LIMIT, IN_RUN_BACKOFF_CAP, TASK_STATUS_SOQL
from accounts.salesforce.client.session import SalesforceSession, salesforce_session
from accounts.salesforce.client.values import sf_datetime, soql_datetime, soql_id

__all__ = [
    "COLLECTION_LIMIT",
    "COMPOSITE_HEAVY",
    "COMPOSITE_SUBREQUESTS",
    "IN_RUN_BACKOFF_CAP",
    "TASK_STATUS_SOQL",
    "Chained",
    "SalesforceClient",
    "SalesforceSession",
    "salesforce_session",
    "sf_datetime",
    "soql_datetime",
    "soql_id",
]


class SalesforceClient(ChainingClient):
    """Every Salesforce call of one user's sync goes through here."""
