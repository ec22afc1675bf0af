"""``/campaigns``: triggered contacts (the crm role; admins too). Trigger rules, the frequency
cap, runs and their contact lists (JSON or CSV; every listed member's read is logged), the
outbox and its delivery to the store's messaging service, and the uplift of each run and rule.
The uplift figures hold no personal data, so planners may read them too."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from server.api.deps import ConnDep, RulesDep, SettingsDep, require
from server.api.tables import FormatQ, respond
from server.auth import Role
from server.crm.access import CrmDep
from server.crm.schedule import deliver_to
from server.errors import Conflict, InvalidRequest
from server.queries import campaigns as q
from server.queries.credentials import Principal
from server.queries.privacy import log_reads
from storeflow.api.campaigns import (
    CampaignFile,
    ContactOut,
    DeliveryOut,
    FrequencyCap,
    ImportOut,
    OutboxEntry,
    RuleOut,
    RuleUplift,
    RunIn,
    RunOut,
    RunUplift,
    TriggerRule,
)
from storeflow.yamlconf import parse_yaml

router = APIRouter(prefix="/campaigns", tags=["campaigns"])

FiguresDep = Annotated[Principal, Depends(require(Role.CRM, Role.PLANNER))]
RunId = Annotated[int, Query(ge=1, le=2**62)]
DaysQ = Annotated[
    int | None, Query(ge=1, le=365, description="window in days (default: the rule's)")
]


@router.get("/rules", response_model=list[RuleOut])
async def rules(conn: ConnDep, _: CrmDep) -> list[RuleOut]:
    return await q.list_rules(conn)


@router.put("/rules", response_model=RuleOut)
async def put_rule(body: TriggerRule, conn: ConnDep, _: CrmDep) -> RuleOut:
    """Add a trigger rule, or change the one with that name."""
    return await q.put_rule(conn, body)


@router.post(
    "/rules/import",
    response_model=ImportOut,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/yaml": {"schema": {"type": "string"}},
                "application/json": {"schema": CampaignFile.model_json_schema()},
            },
            "required": True,
        }
    },
)
async def import_rules(request: Request, conn: ConnDep, _: CrmDep) -> ImportOut:
    """Store the rules of a rules file (config/campaigns.example.yaml; YAML or the same as
    JSON) by name, and its frequency cap."""
    body = await request.body()
    try:
        if "yaml" in request.headers.get("content-type", ""):
            parsed = parse_yaml(body.decode("utf-8"), CampaignFile, source="campaigns")
        else:
            parsed = CampaignFile.model_validate_json(body)
    except ValueError as exc:  # ConfigError and ValidationError; a bad UTF-8 byte too
        raise InvalidRequest(str(exc)) from exc
    return await q.import_file(conn, parsed)


@router.get("/rules/{rule_id}", response_model=RuleOut)
async def rule(rule_id: int, conn: ConnDep, _: CrmDep) -> RuleOut:
    return await q.get_rule(conn, rule_id)


@router.get("/cap", response_model=FrequencyCap)
async def cap(conn: ConnDep, _: CrmDep) -> FrequencyCap:
    """The frequency cap: at most ``contacts`` per member in any ``days`` days, every rule."""
    return await q.get_cap(conn)


@router.put("/cap", response_model=FrequencyCap)
async def put_cap(body: FrequencyCap, conn: ConnDep, _: CrmDep) -> FrequencyCap:
    return await q.put_cap(conn, body)


@router.post("/runs", response_model=RunOut, status_code=201)
async def run(
    body: RunIn,
    conn: ConnDep,
    settings: SettingsDep,
    loyalty: RulesDep,
    who: CrmDep,
    response: Response,
) -> RunOut:
    """Run a rule on a day: its contact list with a hold-out group. 201 for a new run; the run
    made before for that rule and day (200) otherwise."""
    out = await q.run(
        conn,
        body,
        tiers=loyalty.tiers,
        staleness_s=settings.rollup_staleness_s,
        actor=who.name,
    )
    if not out.created:
        response.status_code = 200
    return out


@router.get("/runs", response_model=list[RunOut])
async def runs(
    conn: ConnDep,
    _: CrmDep,
    rule_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    store_id: Annotated[str | None, Query(description="that store's rules and the chain's")] = None,
) -> list[RunOut]:
    return await q.list_runs(conn, rule_id=rule_id, store_id=store_id)


@router.get("/runs/{run_id}", response_model=RunOut)
async def get_run(run_id: int, conn: ConnDep, _: CrmDep) -> RunOut:
    return await q.get_run(conn, run_id)


@router.get("/runs/{run_id}/contacts", response_model=list[ContactOut])
async def contacts(
    run_id: int,
    conn: ConnDep,
    who: CrmDep,
    group: Annotated[
        Literal["contacted", "held_out", "all"],
        Query(description="contacted (default: the list to send), held_out, or all"),
    ] = "contacted",
    format: FormatQ = "json",
) -> Any:
    """The run's contact list with names, phones and e-mails (``format=csv``: a file)."""
    got = await q.contacts(conn, run_id, group=None if group == "all" else group)
    await log_reads(
        conn, who, [c.member_id for c in got], f"GET /campaigns/runs/{{id}}/contacts ({format})"
    )
    return respond(got, format, name=f"campaign-run-{run_id}-{group}")


@router.get("/runs/{run_id}/uplift", response_model=RunUplift)
async def run_uplift(run_id: int, conn: ConnDep, _: FiguresDep, days: DaysQ = None) -> RunUplift:
    """Purchase rate and spend per member, contacted against held out, within the window."""
    return await q.run_uplift(conn, run_id, days=days)


@router.get("/uplift", response_model=list[RuleUplift])
async def uplift(
    conn: ConnDep,
    _: FiguresDep,
    store_id: Annotated[str | None, Query(description="that store's rules and the chain's")] = None,
    days: DaysQ = None,
) -> list[RuleUplift]:
    """Per rule, its runs pooled: purchase rate and spend per member, contacted against held
    out, each difference with a 95 % interval."""
    return await q.rule_uplift(conn, store_id=store_id, days=days)


@router.get("/outbox", response_model=list[OutboxEntry])
async def outbox(
    conn: ConnDep,
    _: CrmDep,
    run_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    status: Annotated[Literal["pending", "delivered", "withdrawn"] | None, Query()] = None,
) -> list[OutboxEntry]:
    """What is to be (or was) handed to the messaging service, per contacted member."""
    return await q.outbox(conn, run_id=run_id, status=status)


@router.post(
    "/runs/{run_id}/deliver",
    response_model=DeliveryOut,
    responses={502: {"model": DeliveryOut, "description": "the webhook did not take them"}},
)
async def deliver(run_id: int, conn: ConnDep, settings: SettingsDep, _: CrmDep) -> Any:
    """Post the run's pending contacts to ``STOREFLOW_CAMPAIGN_WEBHOOK`` in one JSON batch
    (Storeflow sends no message itself); 502 when the webhook fails (they stay pending)."""
    url = settings.campaign_webhook
    if not url:
        raise Conflict(
            "no webhook is configured (STOREFLOW_CAMPAIGN_WEBHOOK): the messaging service "
            "reads the contact list or the outbox instead"
        )
    out = await deliver_to(conn, run_id, url)
    if out.error is not None:
        return JSONResponse(out.model_dump(mode="json"), status_code=502)
    return out
