"""Who may use customer care: the ``crm`` role (and admins). Planners see aggregates only."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from server.api.deps import require
from server.auth import Role
from server.queries.credentials import Principal

CrmDep = Annotated[Principal, Depends(require(Role.CRM))]
