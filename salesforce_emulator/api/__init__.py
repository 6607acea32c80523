"""REST data API under /services/data/vNN.N/, one module per concern:

- routing: which endpoint a path names (the call counter's key) and the dispatch;
- sobjects: the single-record Task resource (by id, by external id, upsert);
- writes: task create/update/delete shared by every caller (API, collections, composite, UI);
- sobject_collections: sObject Collections (create, update, upsert, delete, retrieve);
- composite: /composite and /composite/batch;
- query: query, queryAll and their next pages;
- replication: getUpdated / getDeleted;
- describe, limits: the org's metadata and limits; common: shared errors and rendering.

Salesforce pages are cited in each module by title (REST API Developer Guide unless said
otherwise); "Status Codes and Error Responses":
https://developer.salesforce.com/docs/platform/api-rest/guide/errorcodes.html
"""

from .routing import classify, handle
from .writes import create_task, delete_task, load_task, update_task

__all__ = ["classify", "create_task", "delete_task", "handle", "load_task", "update_task"]
