"""Plain dict builders for upstream JSON payloads (shapes from kodexa-api.md sections 4-5)."""

from __future__ import annotations

from typing import Any

EXEC_ID = "0f6c1e9a-3a7d-4c1e-9f0e-2b8f6d7a1c01"


def execution(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": EXEC_ID,
        "uuid": "0f6c1e9a3a7d4c1e9f0e2b8f6d7a1c01",
        "changeSequence": 4,
        "createdOn": "2026-02-25T09:59:58Z",
        "updatedOn": "2026-02-25T10:00:15.123Z",
        "organizationId": "0a0a0a0a-0000-4000-8000-000000000003",
        "assistantId": "a1b2c3d4-0000-4000-8000-000000000001",
        "documentFamilyId": "d0c0f00d-0000-4000-8000-000000000002",
        "parentExecutionId": None,
        "sessionId": None,
        "description": "Process invoice-001.pdf",
        "status": "FAILED",
        "priority": 5,
        "startDate": "2026-02-25T10:00:00Z",
        "endDate": "2026-02-25T10:00:15Z",
        "processingTime": 15000,
        "loggingEnabled": True,
        "context": {"eventType": "CONTENT_CREATED", "storeId": "5e5e5e5e"},
        "statusDetails": {
            "message": "Extract Data failed",
            "detail": None,
            "progress": 2,
            "progressMax": 2,
            "stepStatus": "FAILED",
        },
        "exceptionDetails": {
            "message": "Model raised an exception",
            "errorType": "Processing",
            "errorMessage": "KeyError: 'total'",
            "statusCode": 500,
            "documentationUrl": "https://docs.kodexa.ai/errors/1",
            "executedVersion": "1.2.0",
            "stackTrace": [
                "plain string frame",
                {
                    "className": "com.kodexa.Runner",
                    "methodName": "run",
                    "fileName": "Runner.java",
                    "lineNumber": 42,
                },
                {"weird": "frame", "depth": 3},
            ],
            "validationErrors": [{"option": "model", "message": "required", "description": "set a model"}],
        },
        "pipeline": {
            "id": "p-1",
            "exceptions": [{"message": "pipeline broke"}],
            "steps": [
                {
                    "id": "s-1",
                    "name": "Parse PDF",
                    "ref": "module://kodexa/pdf-parser",
                    "stepType": "MODEL",
                    "status": "SUCCEEDED",
                    "progress": 1,
                    "progressMax": 1,
                    "start": "2026-02-25T10:00:00Z",
                    "end": "2026-02-25T10:00:06Z",
                    "processingTime": 6000,
                    "exceptionDetails": None,
                },
                {
                    "id": "s-2",
                    "name": "Extract Data",
                    "ref": "module://kodexa/invoice-extractor",
                    "stepType": "MODEL",
                    "status": "FAILED",
                    "statusMessage": "KeyError",
                    "progress": 1,
                    "progressMax": 1,
                    "start": "2026-02-25T10:00:06Z",
                    "end": "2026-02-25T10:00:15Z",
                    "processingTime": 9000,
                    "exceptionDetails": {"message": "KeyError: 'total'"},
                },
            ],
        },
        "targets": {
            "instances": [
                {
                    "type": "DOCUMENT_STORE",
                    "ref": "acme/invoices",
                    "documentFamilyId": "d0c0f00d",
                    "contentObjectId": "c0c0",
                    "labelsToApply": ["a", "b"],
                    "taxonomyRefs": [],
                }
            ]
        },
    }
    data.update(overrides)
    return data


def page(
    items: list[Any],
    *,
    number: int = 0,
    size: int = 20,
    total: int | None = None,
    total_pages: int | None = None,
    last: bool | None = None,
) -> dict[str, Any]:
    total = len(items) if total is None else total
    pages = total_pages if total_pages is not None else max(1, -(-total // size))
    return {
        "content": items,
        "first": number == 0,
        "last": (number + 1 >= pages) if last is None else last,
        "number": number,
        "numberOfElements": len(items),
        "size": size,
        "totalElements": total,
        "totalPages": pages,
        "empty": not items,
    }
