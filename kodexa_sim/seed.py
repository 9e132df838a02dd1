"""Deterministic demo data: the same seed gives the same ids, texts, statuses and relative times.

All times are relative to ``now`` (the simulator's start), so the data always looks fresh.
Every id comes from the seeded ``random.Random``; nothing here reads the real clock or uuid4.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .lifecycle import RunPlan
from .timeutil import iso, millis_between
from .world import World, blank_execution, blank_step, message_type_for_step

Step = tuple[str, str]  # (name, module ref)


@dataclass(frozen=True)
class AssistantTemplate:
    name: str
    description: str
    color: str
    project: str
    store: str
    steps: tuple[Step, ...]
    verbs: tuple[str, ...]


PROJECTS = ("Finance Automation", "Legal Operations", "Customer Onboarding")
STORES = {  # slug -> display name
    "invoices": "Invoices",
    "contracts": "Contracts",
    "receipts": "Expense Receipts",
    "onboarding-docs": "Onboarding Documents",
}
ASSISTANTS = (
    AssistantTemplate(
        "Invoice Extractor",
        "Extracts header, line items and totals from supplier invoices",
        "#1e88e5",
        "Finance Automation",
        "invoices",
        (
            ("Parse PDF", "module://kodexa/pdf-parser"),
            ("OCR Pages", "module://kodexa/textract-ocr"),
            ("Extract Invoice Data", "module://acme-corp/invoice-extractor:2.3.1"),
            ("Validate Totals", "module://acme-corp/invoice-validator"),
            ("Publish to ERP", "module://acme-corp/erp-publisher"),
        ),
        ("Extract data from", "Process invoice", "Re-extract totals for"),
    ),
    AssistantTemplate(
        "Contract Classifier",
        "Classifies contracts and tags key clauses",
        "#8e24aa",
        "Legal Operations",
        "contracts",
        (
            ("Parse Document", "module://kodexa/docx-parser"),
            ("Classify Contract", "module://acme-corp/contract-classifier:1.8.0"),
            ("Tag Clauses", "module://acme-corp/clause-tagger"),
            ("Store Labels", "module://kodexa/label-writer"),
        ),
        ("Classify", "Tag clauses in"),
    ),
    AssistantTemplate(
        "Receipt Scanner",
        "Reads merchant, date and amount from expense receipts",
        "#43a047",
        "Finance Automation",
        "receipts",
        (
            ("OCR Image", "module://kodexa/textract-ocr"),
            ("Extract Receipt Fields", "module://acme-corp/receipt-extractor"),
        ),
        ("Scan", "Read receipt"),
    ),
    AssistantTemplate(
        "Purchase Order Matcher",
        "Matches invoices against open purchase orders",
        "#fb8c00",
        "Finance Automation",
        "invoices",
        (
            ("Parse PDF", "module://kodexa/pdf-parser"),
            ("Lookup Purchase Orders", "module://acme-corp/po-lookup"),
            ("Match Line Items", "module://acme-corp/po-matcher:0.9.4"),
            ("Review Exceptions", "module://acme-corp/exception-review"),
            ("Export Match Report", "module://acme-corp/report-exporter"),
        ),
        ("Match PO for", "Three-way match"),
    ),
    AssistantTemplate(
        "Email Triage",
        "Routes inbound supplier email to the right queue",
        "#00acc1",
        "Customer Onboarding",
        "onboarding-docs",
        (
            ("Parse Email", "module://kodexa/email-parser"),
            ("Classify Intent", "module://acme-corp/intent-classifier"),
            ("Route to Queue", "module://acme-corp/queue-router"),
        ),
        ("Triage", "Route"),
    ),
    AssistantTemplate(
        "Bank Statement Parser",
        "Turns bank statements into transactions",
        "#3949ab",
        "Finance Automation",
        "receipts",
        (
            ("Parse PDF", "module://kodexa/pdf-parser"),
            ("Detect Tables", "module://kodexa/table-detector"),
            ("Extract Transactions", "module://acme-corp/statement-extractor"),
            ("Reconcile Balances", "module://acme-corp/balance-check"),
            ("Write Ledger Entries", "module://acme-corp/ledger-writer"),
            ("Notify Finance", "module://kodexa/notifier"),
        ),
        ("Parse statement", "Reconcile"),
    ),
    AssistantTemplate(
        "KYC Document Checker",
        "Verifies identity documents for new customers",
        "#e53935",
        "Customer Onboarding",
        "onboarding-docs",
        (
            ("OCR Image", "module://kodexa/textract-ocr"),
            ("Detect Document Type", "module://acme-corp/id-detector"),
            ("Verify Identity", "module://acme-corp/kyc-verifier:3.0.2"),
        ),
        ("Verify", "Check identity document"),
    ),
    AssistantTemplate(
        "Lease Abstractor",
        "Abstracts rent, term and renewal options from leases",
        "#6d4c41",
        "Legal Operations",
        "contracts",
        (
            ("Parse Document", "module://kodexa/docx-parser"),
            ("Extract Lease Terms", "module://acme-corp/lease-abstractor"),
            ("Review Abstract", "module://acme-corp/exception-review"),
        ),
        ("Abstract lease", "Summarise"),
    ),
)
VENDORS = ("globex", "initech", "umbrella", "stark-industries", "wayne-enterprises", "hooli", "obrien-ltd")
CUSTOMERS = ("maria-garcia", "chen-wei", "amara-okafor", "lukas-schmidt", "priya-patel", "sean-obrien")

# Base status mix for 300 executions; scaled for other sizes (every status kept while n >= 10).
STATUS_MIX = (
    ("RUNNING", 12),
    ("PENDING", 6),
    ("REQUESTED", 4),
    ("CANCELLING", 3),
    ("CANCELLED", 15),
    ("FAILED", 36),
    ("SKIPPED", 10),
    ("PENDING_REPROCESSING", 5),
    ("REPROCESSED", 8),
)
SLOW_RUNNING = 4  # RUNNING executions that stay RUNNING for 10+ minutes at speed 1
CHILDREN_PER_PARENT = (2, 3, 2)
SPECIAL_CASES_FROM = 40  # below this many executions the edge cases are left out

INJECTION_TEXT = "Review <script>alert(1)</script> <img src=x onerror=alert('xss')> \"quoted\" & {{7*7}}"
LOREM = (
    "The supplier sent a revised invoice after the purchase order was amended twice; the "
    "extraction must reconcile the new line items against the amended quantities, flag price "
    "variances above two percent, and keep the original document for the audit trail. "
)

FAILURES: tuple[dict[str, Any], ...] = (
    {
        "message": "Model raised an exception",
        "errorType": "Processing",
        "errorMessage": "KeyError: 'total'",
        "statusCode": 500,
        "advice": "Check that the invoice has a totals section; scanned credit notes often do not.",
        "help": "The extraction model could not find the document total.",
        "description": "Invoice totals extraction failed",
        "documentationUrl": "https://developer.kodexa.ai/docs/troubleshooting/extraction-errors",
        "executedVersion": "2.3.1",
        "frames": (
            ("acme_invoice/extract.py", "extract_totals", 142),
            ("acme_invoice/model.py", "process", 88),
            ("kodexa/model/runtime.py", "run_step", 311),
            ("kodexa/pipeline/executor.py", "execute", 97),
        ),
    },
    {
        "message": "Step timed out",
        "errorType": "Timeout",
        "errorMessage": "Step exceeded its 900s time limit",
        "statusCode": 504,
        "advice": "Split very large documents or raise the step timeout.",
        "help": None,
        "description": None,
        "documentationUrl": "https://developer.kodexa.ai/docs/pipelines/timeouts",
        "executedVersion": "1.8.0",
        "frames": (
            ("kodexa/pipeline/executor.py", "wait_for_step", 412),
            ("kodexa/pipeline/executor.py", "execute", 97),
        ),
    },
    {
        "message": "OCR quality too low",
        "errorType": "Validation",
        "errorMessage": "Page 3 resolution is 72 dpi (minimum 150)",
        "statusCode": 422,
        "advice": "Rescan the document at 300 dpi.",
        "help": "The OCR engine rejected the page image.",
        "description": None,
        "documentationUrl": None,
        "executedVersion": "4.1.0",
        "frames": (("kodexa_ocr/textract.py", "check_quality", 57),),
    },
    {
        "message": "Invalid step options",
        "errorType": "Configuration",
        "errorMessage": "Option 'threshold' must be between 0 and 1",
        "statusCode": 400,
        "advice": None,
        "help": "Fix the option in the assistant definition.",
        "description": None,
        "documentationUrl": "https://developer.kodexa.ai/docs/assistants/options",
        "executedVersion": "0.9.4",
        "frames": (("acme_po/matcher.py", "__init__", 23), ("kodexa/model/runtime.py", "load_module", 144)),
        "optionErrors": {"threshold": "must be between 0 and 1"},
        "validationErrors": [
            {
                "option": "threshold",
                "message": "must be between 0 and 1",
                "description": "Matching confidence threshold",
            }
        ],
    },
    {
        "message": "Upstream model unavailable",
        "errorType": "Connection",
        "errorMessage": "ConnectionError: HTTPSConnectionPool(host='llm.internal', port=443): Read timed out",
        "statusCode": 502,
        "advice": "Retry later; the model gateway was overloaded.",
        "help": None,
        "description": None,
        "documentationUrl": "https://status.kodexa.ai",
        "executedVersion": "3.0.2",
        "frames": (
            ("urllib3/connectionpool.py", "urlopen", 799),
            ("requests/adapters.py", "send", 532),
            ("acme_kyc/verify.py", "call_model", 61),
        ),
        "cause": {"type": "ReadTimeout", "message": "Read timed out. (read timeout=60)"},
    },
)
# A hostile documentation link: the panel must never render it as a clickable javascript: URL.
HOSTILE_FAILURE = {
    **FAILURES[0],
    "documentationUrl": "javascript:alert(1)",
    "advice": 'Click <a href="javascript:alert(1)">here</a> to fix',
    "frames": FAILURES[0]["frames"],
}


class _Ids:
    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def __call__(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))


def failure_details(template: dict[str, Any]) -> dict[str, Any]:
    """A full v2 exceptionDetails object, including a multi-frame stackTrace."""
    frames = [
        {
            "className": path.rsplit("/", 1)[-1].removesuffix(".py"),
            "methodName": method,
            "fileName": path,
            "lineNumber": line,
            "nativeMethod": False,
        }
        for path, method, line in template["frames"]
    ]
    return {
        "message": template["message"],
        "errorType": template["errorType"],
        "errorMessage": template["errorMessage"],
        "statusCode": template["statusCode"],
        "help": template.get("help"),
        "advice": template.get("advice"),
        "description": template.get("description"),
        "documentationUrl": template.get("documentationUrl"),
        "executedVersion": template.get("executedVersion"),
        "cause": dict(template.get("cause") or {}),
        "optionErrors": dict(template.get("optionErrors") or {}),
        "stackTrace": frames,
        "validationErrors": list(template.get("validationErrors") or []),
    }


# ---------------------------------------------------------------- reference entities


def _build_entities(rng: random.Random, ids: _Ids, now: datetime) -> World:
    def created(days: float) -> str | None:
        return iso(now - timedelta(days=days))

    org_id = ids()
    organization = {
        "id": org_id,
        "uuid": org_id.replace("-", ""),
        "name": "Acme Corp",
        "slug": "acme-corp",
        "description": "Demo tenant of the Kodexa stand-in",
        "createdOn": created(400),
        "updatedOn": created(30),
        "changeSequence": 3,
    }
    org_ref = {"id": org_id, "name": "Acme Corp", "slug": "acme-corp"}
    user_id = ids()
    world = World(
        organization=organization,
        user={
            "id": user_id,
            "uuid": user_id.replace("-", ""),
            "email": "support.bot@acme.example",
            "firstName": "Support",
            "lastName": "Bot",
            "userName": "support-bot",
            "activated": True,
            "showWelcome": False,
            "platformRole": "USER",
            "organizations": [org_ref],
            "createdOn": created(200),
        },
    )
    for name in PROJECTS:
        project_id = ids()
        world.projects[project_id] = {
            "id": project_id,
            "uuid": project_id.replace("-", ""),
            "name": name,
            "description": f"{name} workspace",
            "organization": org_ref,
            "createdOn": created(300),
            "updatedOn": created(10),
            "changeSequence": 2,
        }
    for slug, name in STORES.items():
        store_id = ids()
        world.stores[store_id] = {
            "id": store_id,
            "uuid": store_id.replace("-", ""),
            "name": name,
            "slug": slug,
            "orgSlug": "acme-corp",
            "version": "1.0.0",
            "ref": f"acme-corp/{slug}:1.0.0",
            "storeType": "DOCUMENT",
            "storePurpose": "OPERATIONAL",
            "createdOn": created(300),
            "updatedOn": created(5),
            "changeSequence": 1,
        }
    project_by_name = {p["name"]: p for p in world.projects.values()}
    for index, template in enumerate(ASSISTANTS):
        assistant_id = ids()
        project = project_by_name[template.project]
        world.assistants[assistant_id] = {
            "id": assistant_id,
            "uuid": assistant_id.replace("-", ""),
            "name": template.name,
            "description": template.description,
            "color": template.color,
            "active": index != 7,
            "project": {"id": project["id"], "name": project["name"]},
            "assistantDefinitionRef": f"acme-corp/{template.name.lower().replace(' ', '-')}:1.0.0",
            "createdOn": created(200 - index),
            "updatedOn": created(3),
            "changeSequence": 4,
        }
    store_by_slug = {s["slug"]: s for s in world.stores.values()}
    for slug in STORES:
        for number in range(1, 41):
            family_id = ids()
            path = _family_path(rng, slug, number)
            world.families[family_id] = {
                "id": family_id,
                "uuid": family_id.replace("-", ""),
                "path": path,
                "originalPath": path.rsplit("/", 1)[-1].upper() if number % 7 == 0 else path,
                "storeRef": store_by_slug[slug]["ref"],
                "storeId": store_by_slug[slug]["id"],
                "documentStatus": rng.choice(("PROCESSED",) * 6 + ("UPLOADED", "PROCESSING", "FAILED")),
                "labels": [
                    {"label": label, "color": "#f4511e"}
                    for label in rng.sample(("urgent", "reviewed", "duplicate", "vip", "needs-ocr"), rng.randint(0, 2))
                ],
                "metadata": {
                    "source": rng.choice(("email", "sftp", "upload", "api")),
                    "pages": rng.randint(1, 40),
                    "sizeBytes": rng.randint(20_000, 9_000_000),
                },
                "mixins": ["spatial"],
                "createdOn": created(rng.uniform(1, 90)),
                "updatedOn": created(rng.uniform(0, 1)),
                "changeSequence": rng.randint(1, 6),
            }
    return world


def _family_path(rng: random.Random, slug: str, number: int) -> str:
    if slug == "invoices":
        return f"invoices/2026/q{rng.randint(1, 4)}/invoice-{number * 7 + rng.randint(0, 6):04d}.pdf"
    if slug == "contracts":
        kind = rng.choice(("msa", "nda", "lease", "sow"))
        return f"contracts/2026/{rng.choice(VENDORS)}-{kind}-{number:03d}.docx"
    if slug == "receipts":
        month = rng.choice(("01-jan", "02-feb", "03-mar", "04-apr", "05-may", "06-jun"))
        return f"receipts/2026/{month}/receipt-{number:05d}.jpg"
    return f"onboarding/customers/{rng.choice(CUSTOMERS)}/passport-{number:03d}.pdf"


# ---------------------------------------------------------------- executions


class ExecutionFactory:
    """Builds executions in their various states; shared by the seed and by new arrivals."""

    def __init__(self, world: World, rng: random.Random) -> None:
        self.world = world
        self.rng = rng
        self.ids = _Ids(rng)
        self.assistants = list(world.assistants.values())
        self.stores = {s["slug"]: s for s in world.stores.values()}
        self.families_by_store: dict[str, list[dict[str, Any]]] = {}
        for family in world.families.values():
            slug = family["storeRef"].split("/", 1)[1].split(":", 1)[0]
            self.families_by_store.setdefault(slug, []).append(family)
        self.sessions = [self.ids() for _ in range(12)]

    def new(self, created: datetime, *, assistant: dict[str, Any] | None = None) -> dict[str, Any]:
        rng = self.rng
        assistant = assistant or rng.choice(self.assistants)
        template = next(t for t in ASSISTANTS if t.name == assistant["name"])
        family = rng.choice(self.families_by_store[template.store])
        store = self.stores[template.store]
        execution = blank_execution(
            execution_id=self.ids(), created=created, organization_id=self.world.organization["id"]
        )
        content_object_id = self.ids()
        execution.update(
            assistantId=assistant["id"],
            documentFamilyId=family["id"],
            sessionId=rng.choice(self.sessions) if rng.random() < 0.3 else None,
            description=f"{rng.choice(template.verbs)} {family['path'].rsplit('/', 1)[-1]}",
            priority=rng.choice((1, 3, 5, 5, 5, 5, 7, 9)),
            loggingEnabled=rng.random() < 0.9,
            deleteLoggingOnSuccess=rng.random() < 0.2,
            context={
                "eventType": rng.choice(("CONTENT_CREATED",) * 4 + ("LABEL_ADDED", "SCHEDULED")),
                "documentFamilyId": family["id"],
                "storeId": store["id"],
                "contentObjectId": content_object_id,
                "channelId": None,
                "taskId": None,
                "taxonomyRefs": [],
            },
            targets={
                "instances": [
                    {
                        "type": "DOCUMENT_STORE",
                        "ref": store["ref"],
                        "documentFamilyId": family["id"],
                        "contentObjectId": content_object_id,
                        "labelsToApply": [],
                        "taxonomyRefs": [f"acme-corp/{template.store}-taxonomy:1.0.0"],
                    }
                ]
            },
            pipeline={
                "id": self.ids(),
                "ref": assistant["assistantDefinitionRef"],
                "valid": True,
                "exceptions": [],
                "steps": [
                    blank_step(
                        step_id=self.ids(),
                        name=name,
                        ref=ref,
                        progress_max=rng.choice((1, 1, 2, 3, 5, 10)),
                        step_type="ACTION" if "publish" in ref or "writer" in ref else "MODEL",
                    )
                    for name, ref in template.steps
                ],
            },
        )
        execution["statusDetails"]["progressMax"] = len(template.steps)
        return execution

    def durations(self, count: int, *, total: tuple[float, float]) -> list[float]:
        weights = [self.rng.uniform(0.5, 2.0) for _ in range(count)]
        target = self.rng.uniform(*total)
        return [target * weight / sum(weights) for weight in weights]

    def plan(
        self,
        execution: dict[str, Any],
        start: datetime,
        *,
        total: tuple[float, float],
        fail_rate: float = 0.15,
    ) -> RunPlan:
        steps = execution["pipeline"]["steps"]
        fail_step = self.rng.randrange(len(steps)) if steps and self.rng.random() < fail_rate else None
        return RunPlan(
            start=start,
            durations=self.durations(len(steps), total=total),
            fail_step=fail_step,
            failure=failure_details(self.rng.choice(FAILURES)) if fail_step is not None else None,
            worker=f"kodexa-worker-{self.rng.randint(1, 8)}",
        )

    def settle(
        self, execution: dict[str, Any], status: str, start: datetime, failure: dict[str, Any] | None = None
    ) -> None:
        """Put a seeded execution straight into a finished state, as if its run already happened."""
        rng = self.rng
        steps = execution["pipeline"]["steps"]
        durations = self.durations(len(steps), total=(len(steps) * 2.0, len(steps) * 25.0))
        stop_at = {"FAILED": rng.randrange(len(steps)), "CANCELLED": rng.randrange(len(steps))}.get(status)
        details = execution["statusDetails"]
        moment = start
        execution["startDate"] = iso(start)
        for index, (step, seconds) in enumerate(zip(steps, durations, strict=True)):
            if status == "SKIPPED" or (stop_at is not None and index > stop_at):
                step["status"] = "SKIPPED" if status in ("SKIPPED", "FAILED") else "PENDING"
                continue
            step.update(start=iso(moment), status="SUCCEEDED", progress=step["progressMax"])
            moment += timedelta(seconds=seconds)
            step.update(end=iso(moment), processingTime=int(seconds * 1000))
            if index == stop_at and status == "FAILED":
                assert failure is not None
                step.update(
                    status="FAILED",
                    progress=max(0, step["progressMax"] - 1),
                    statusMessage=failure["errorMessage"],
                    exceptionDetails={**failure, "stackTrace": list(failure["stackTrace"])},
                )
            elif index == stop_at:
                step.update(status="CANCELLED", progress=0)
            self.world.add_message(
                execution["id"],
                at=moment - timedelta(seconds=seconds),
                title=step["name"],
                type=message_type_for_step(step["name"]),
                subtitle=step["ref"],
            )
        if status == "SKIPPED":
            moment = start + timedelta(seconds=rng.uniform(0.2, 2))
            details.update(message="Skipped: identical content already processed", stepStatus="SKIPPED")
        else:
            details.update(
                progress=sum(s["status"] == "SUCCEEDED" for s in steps),
                message={"FAILED": "Step failed", "CANCELLED": "Cancelled"}.get(status, "Completed"),
                stepStatus={"PENDING_REPROCESSING": "SUCCEEDED", "REPROCESSED": "SUCCEEDED"}.get(status, status),
            )
        execution.update(
            status=status,
            endDate=iso(moment),
            processingTime=millis_between(start, moment),
            updatedOn=iso(moment),
            changeSequence=len(steps) * 2 + 2,
        )
        if status == "FAILED":
            execution["exceptionDetails"] = failure
        if status in ("PENDING_REPROCESSING", "REPROCESSED"):
            self.world.add_message(
                execution["id"],
                at=moment,
                title="Reprocessing requested",
                type="WAITING",
                subtitle="Document family reprocess",
            )


def _status_list(count: int) -> list[str]:
    if count <= 0:
        return []
    if count < 10:
        order = [
            "RUNNING",
            "FAILED",
            "SUCCEEDED",
            "PENDING",
            "CANCELLED",
            "CANCELLING",
            "SKIPPED",
            "REQUESTED",
            "REPROCESSED",
            "PENDING_REPROCESSING",
        ]
        return order[:count]
    statuses: list[str] = []
    for status, base in STATUS_MIX:
        statuses += [status] * max(1, round(base * count / 300))
    statuses = statuses[: count - 1]
    return statuses + ["SUCCEEDED"] * (count - len(statuses))


@dataclass
class SeedResult:
    world: World
    plans: dict[str, RunPlan]
    cancelling: list[str]  # executions seeded in CANCELLING; they complete after the cancel delay
    factory: ExecutionFactory


def build_world(*, seed: int, executions: int, now: datetime) -> SeedResult:
    rng = random.Random(seed)  # noqa: S311 (demo data must be reproducible, not secret)
    ids = _Ids(rng)
    world = _build_entities(rng, ids, now)
    factory = ExecutionFactory(world, rng)
    plans: dict[str, RunPlan] = {}
    cancelling: list[str] = []
    with_specials = executions >= SPECIAL_CASES_FROM
    statuses = _status_list(executions - (sum(CHILDREN_PER_PARENT) if with_specials else 0))
    slow_left = SLOW_RUNNING
    failed_seen = 0
    succeeded: list[dict[str, Any]] = []

    for status in statuses:
        if status in ("RUNNING", "PENDING", "REQUESTED", "CANCELLING"):
            created = now - timedelta(seconds=rng.uniform(2, 600 if status == "RUNNING" else 90))
        else:
            created = now - timedelta(seconds=rng.uniform(900, 7 * 86400))
        execution = factory.new(created)
        world.executions[execution["id"]] = execution
        start = created + timedelta(seconds=rng.uniform(0.5, 20))
        if status == "RUNNING":
            slow = slow_left > 0
            slow_left -= 1
            # Slow runs keep a RUNNING execution around for demos and cancel tests.
            start = now - timedelta(seconds=rng.uniform(5, 60 if slow else 90))
            execution["createdOn"] = execution["updatedOn"] = iso(start - timedelta(seconds=rng.uniform(1, 10)))
            total = (900.0, 1800.0) if slow else (120.0, 480.0)
            plans[execution["id"]] = factory.plan(execution, start, total=total, fail_rate=0 if slow else 0.2)
            execution["status"] = "RUNNING"
            execution["startDate"] = iso(start)
            if slow:
                execution["description"] = f"{execution['description']} (large batch)"
                for step in execution["pipeline"]["steps"]:
                    step["progressMax"] = 20
        elif status in ("PENDING", "REQUESTED"):
            execution["status"] = status
            plans[execution["id"]] = factory.plan(
                execution, now + timedelta(seconds=rng.uniform(5, 60)), total=(20.0, 180.0)
            )
        elif status == "CANCELLING":
            execution.update(status="CANCELLING", startDate=iso(start), updatedOn=iso(now), changeSequence=5)
            steps = execution["pipeline"]["steps"]
            steps[0].update(status="RUNNING", start=iso(start))
            execution["statusDetails"].update(message="Cancelling", stepStatus="RUNNING")
            cancelling.append(execution["id"])
        else:
            failure = None
            if status == "FAILED":
                template = HOSTILE_FAILURE if failed_seen == 0 else FAILURES[(failed_seen - 1) % len(FAILURES)]
                failure = failure_details(template)
                failed_seen += 1
            factory.settle(execution, status, start, failure)
            if status == "SUCCEEDED":
                succeeded.append(execution)

    if with_specials:
        _add_special_cases(ids, factory, succeeded)
    # Newest first in the dict too, so an unsorted walk looks like the default order.
    world.executions = dict(sorted(world.executions.items(), key=lambda item: item[1]["createdOn"], reverse=True))
    return SeedResult(world=world, plans=plans, cancelling=cancelling, factory=factory)


def _add_special_cases(ids: _Ids, factory: ExecutionFactory, succeeded: list[dict[str, Any]]) -> None:
    """Edge cases a UI must survive. They reuse SUCCEEDED slots so the status mix stays as planned."""
    world = factory.world
    pool = iter(succeeded)
    next(pool)["description"] = INJECTION_TEXT
    next(pool)["description"] = "Invoice for O'Brien Ltd (ref 'Q3-77')"
    next(pool)["description"] = "Renewal notice from O'Brien & Sons \\ legal"
    for _ in range(2):
        long_one = next(pool)
        long_one["description"] = "Long batch note: " + LOREM * 12
    next(pool)["assistantId"] = ids()  # assistant that does not exist -> lookup 404
    next(pool)["documentFamilyId"] = ids()  # family that does not exist -> lookup 404
    sparse = next(pool)
    sparse.update(description=None, documentFamilyId=None, priority=None, sessionId=None, context=None)
    sparse.pop("targets")
    bare = next(pool)
    for key in ("sessionId", "parentExecutionId", "exceptionDetails", "processingTime", "statusDetails"):
        bare.pop(key)
    bare["pipeline"] = None
    # Parents with children: each child is created shortly after its parent.
    for children in CHILDREN_PER_PARENT:
        parent = next(pool)
        for number in range(children):
            created = datetime.fromisoformat(parent["createdOn"].replace("Z", "+00:00")) + timedelta(seconds=5 + number)
            child = factory.new(created)
            child["parentExecutionId"] = parent["id"]
            child["description"] = f"Child {number + 1} of {parent['description']}"
            status = "FAILED" if number == 2 else "SUCCEEDED"
            failure = failure_details(FAILURES[1]) if status == "FAILED" else None
            factory.settle(child, status, created + timedelta(seconds=1), failure)
            world.executions[child["id"]] = child


# ---------------------------------------------------------------- arrivals


class Arrivals:
    """New executions every ``mean_seconds`` (+-33%) of simulated time, with their own random stream."""

    def __init__(self, factory: ExecutionFactory, *, seed: int, start: datetime, mean_seconds: float) -> None:
        self._factory = ExecutionFactory(factory.world, random.Random(seed * 7919 + 17))  # noqa: S311
        self._rng = random.Random(seed * 104729 + 3)  # noqa: S311
        self.mean_seconds = mean_seconds
        self._next: datetime | None = None
        self.restart(start)

    def restart(self, at: datetime) -> None:
        self._next = at + timedelta(seconds=self._gap()) if self.mean_seconds > 0 else None

    def _gap(self) -> float:
        return self._rng.uniform(self.mean_seconds * 0.66, self.mean_seconds * 1.33)

    def next_time(self) -> datetime | None:
        return self._next

    def create(self, world: World, at: datetime) -> tuple[dict[str, Any], RunPlan]:
        execution = self._factory.new(at)
        self._next = at + timedelta(seconds=self._gap()) if self.mean_seconds > 0 else None
        plan = self._factory.plan(execution, at + timedelta(seconds=self._rng.uniform(2, 10)), total=(15.0, 120.0))
        world.add_message(
            execution["id"],
            at=at,
            title="Execution queued",
            type="WAITING",
            subtitle=execution["description"],
        )
        return execution, plan
